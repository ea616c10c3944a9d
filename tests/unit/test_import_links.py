"""The ``importLinks`` property as nfvo reads it, and which driver errors count as the VIM refusing a link."""

from __future__ import annotations

import nfvo_plugin_sdk as sdk
import pytest

from nfvo.db.models import VimInstance
from nfvo.services.links import refused
from nfvo.services.vims import import_links


@pytest.mark.parametrize(("stored", "mode"), [
    (None, "auto"), ("", "auto"), ("auto", "auto"), ("Always", "always"), (" NEVER ", "never"),
    ("sometimes", "auto"),  # registration refuses it; a row from before the property existed reads as the default
])
def test_import_links_reads_the_property_in_any_case(stored, mode):
    properties = {} if stored is None else {"importLinks": stored}
    assert import_links(VimInstance(fields={"properties": properties})) == mode
    assert import_links(VimInstance(fields=None)) == "auto"


class ImportTaskFailed(sdk.DriverError):
    """A driver's own error of no more specific kind, like the OpenStack driver's ImageImportFailed."""


@pytest.mark.parametrize("error", [sdk.Unsupported("no web-download"), ImportTaskFailed("task failed"),
                                   sdk.DriverError("HTTP 400 refused"), sdk.ImageNotFound("gone")])
def test_refusals_and_failed_imports_are_refused(error):
    assert refused(error)


@pytest.mark.parametrize("error", [sdk.VimUnavailable("down"), sdk.VimAuthFailed("401"), sdk.DriverConflict("quota"),
                                   sdk.ChecksumMismatch("other bytes"), sdk.InvalidVimSpec("bad region")])
def test_errors_that_say_nothing_against_the_link_are_not_refusals(error):
    assert not refused(error)
