"""A driver whose dependency is not installed: importing it fails."""

import nfvo_vendor_sdk_that_does_not_exist  # noqa: F401


class Driver:
    pass
