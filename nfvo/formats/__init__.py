"""Package formats, as plugins: the contract (:mod:`nfvo.formats.base`), the registry
(:mod:`nfvo.formats.registry`), and the built-in formats registered through it
(:mod:`nfvo.formats.openbaton`, :mod:`nfvo.formats.etsi`, :mod:`nfvo.formats.nfvis`,
:mod:`nfvo.formats.sonata`, :mod:`nfvo.formats.convirt`). See docs/formats.md."""

from nfvo.formats.base import (
    API_VERSION,
    Checkout,
    Day0,
    Fetchers,
    Files,
    Members,
    Package,
    PackageFormat,
    Record,
    VimChoice,
)

__all__ = ["API_VERSION", "Checkout", "Day0", "Fetchers", "Files", "Members", "Package", "PackageFormat", "Record",
           "VimChoice"]
