"""The VIM connection guard covers a driver's properties as well as its methods (real sockets)."""

import socket

import pytest

from nfvo.errors import VimEndpointRefused
from nfvo.services import vims


class Driver:
    """A driver whose ``capabilities`` property logs in over the network, as the OpenStack driver's does."""

    def __init__(self, port: int):
        self.port = port

    @property
    def capabilities(self) -> frozenset:
        socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        return frozenset({"import-url"})

    def list_images(self) -> list:
        socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        return []


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    count = 0
    try:
        while True:
            server.accept()[0].close()
            count += 1
    except TimeoutError:
        return count


@pytest.mark.parametrize("attribute", ["capabilities", "list_images"])
def test_a_refused_address_is_not_connected_from_a_property_or_a_method(listener, attribute):
    vims._install_hook()
    guarded = vims._Guarded(Driver(listener.getsockname()[1]), vims.EndpointPolicy(), "lab")
    with pytest.raises(VimEndpointRefused, match="127.0.0.1 is a loopback address"):
        value = getattr(guarded, attribute)
        value()
    assert connections(listener) == 0


def test_an_allowed_address_is_connected_from_a_property(listener):
    vims._install_hook()
    guarded = vims._Guarded(Driver(listener.getsockname()[1]), vims.EndpointPolicy(allow=("127.0.0.1",)), "lab")
    assert guarded.capabilities == frozenset({"import-url"})
    assert connections(listener) == 1
