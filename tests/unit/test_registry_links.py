"""docker:// registry links: which registry they pull from, and the link policy applied to it."""

import pytest

from nfvo.errors import FetchRefused
from nfvo.fetch import DOCKER_HUB, FetchPolicy, check_link, registry_of


@pytest.mark.parametrize(("link", "registry"), [
    ("docker://busybox:1.36", (DOCKER_HUB, 443)),
    ("docker://library/busybox", (DOCKER_HUB, 443)),
    ("docker://127.0.0.1:5000/busybox:1.0", ("127.0.0.1", 5000)),
    ("docker://localhost/busybox", ("localhost", 443)),
    ("docker://registry.example.com/a/b@sha256:" + "0" * 64, ("registry.example.com", 443)),
    ("docker://[::1]:5000/x", ("::1", 5000)),
])
def test_registry_of(link, registry):
    assert registry_of(link) == registry


def resolver(mapping):
    return lambda host, port: mapping[host]


def test_registry_on_a_private_address_is_refused_unless_allowed():
    private = resolver({"127.0.0.1": ["127.0.0.1"], "registry.example.com": ["10.1.2.3"]})
    for link in ("docker://127.0.0.1:5000/busybox", "docker://registry.example.com/busybox"):
        with pytest.raises(FetchRefused):
            check_link(link, FetchPolicy(), resolver=private)
    check_link("docker://127.0.0.1:5000/busybox", FetchPolicy(allow=("127.0.0.1",)), resolver=private)
    check_link("docker://registry.example.com/busybox", FetchPolicy(allow=("10.0.0.0/8",)), resolver=private)


def test_public_registry_and_http_links_pass_through_the_same_policy():
    public = resolver({DOCKER_HUB: ["54.1.2.3"], "images.example.com": ["93.184.216.34"]})
    check_link("docker://busybox:1.36", FetchPolicy(), resolver=public)
    check_link("https://images.example.com/disk.img", FetchPolicy(), resolver=public)


@pytest.mark.parametrize("link", ["docker://user:pw@registry.example.com/x", "docker://reg istry/x", "dockerx://a/b"])
def test_malformed_registry_links_are_refused(link):
    with pytest.raises(FetchRefused):
        check_link(link, FetchPolicy(), resolver=resolver({}))
