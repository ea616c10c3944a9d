"""Deliberately broken driver plugin distributions (tests/plugins/site) are reported clearly:
when drivers are listed, and when a VIM instance of their type is registered, never later."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.harness import assert_problem, embedded_nfvo

pytestmark = pytest.mark.integration

SITE = Path(__file__).resolve().parents[1] / "plugins" / "site"


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("broken-plugins"), PYTHONPATH=str(SITE)) as node:
        yield node


def test_drivers_listing_shows_each_broken_plugin_with_its_reason(nfvo):
    drivers = {d["type"]: d for d in nfvo.api.get("/api/v1/drivers").json()}
    assert drivers["local"]["status"] == "ok"
    for name in ("broken-import", "not-a-driver", "old-api"):
        assert drivers[name]["status"] == "broken" and drivers[name]["distribution"] == "nfvo-driver-broken"
        assert drivers[name]["capabilities"] == []
    assert "nfvo_vendor_sdk_that_does_not_exist" in drivers["broken-import"]["error"]
    assert "not a nfvo_plugin_sdk.VimDriver subclass" in drivers["not-a-driver"]["error"]
    assert "driver API 0" in drivers["old-api"]["error"]


@pytest.mark.parametrize(("vim_type", "slug", "says"), [
    ("broken-import", "driver-broken", "cannot be imported"),
    ("not-a-driver", "driver-broken", "not a nfvo_plugin_sdk.VimDriver subclass"),
    ("old-api", "driver-broken", "speaks driver API 0"),
    ("openstackk", "driver-not-installed", "installed: "),
])
def test_registering_a_vim_of_a_broken_or_missing_driver_fails_at_once(nfvo, vim_type, slug, says):
    answer = nfvo.api.post_json("/api/v1/datacenters", {"name": f"vim-{vim_type}", "type": vim_type})
    body = assert_problem(answer, 422, slug)
    assert vim_type in body["detail"] and says in body["detail"]
    names = [v["name"] for v in nfvo.api.get("/api/v1/datacenters").json()]
    assert f"vim-{vim_type}" not in names
