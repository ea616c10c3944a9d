"""Drivers that import but are not what nfvo can use."""

from nfvo_plugin_sdk import VimDriver


class NotADriver:
    """Not a VimDriver subclass."""


class OldApiDriver(VimDriver):
    """Built for a driver API nfvo does not speak."""

    api_version = 0

    def check_connection(self):
        pass

    def list_images(self):
        return []

    def upload_image(self, spec, stream, *, size=None, sha256=None):
        raise NotImplementedError

    def delete_image(self, image_id):
        pass
