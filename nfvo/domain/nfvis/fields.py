"""Reading typed values out of XML elements, appending an Issue (file, line, element path) for each bad one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from nfvo.domain.nfvis.xmltree import XmlElement
from nfvo.errors import WARNING, Issue

_TRUE, _FALSE = ("true",), ("false",)


@dataclass
class FieldReader:
    """Reads the children of XML elements of ``file``; every problem goes to ``issues``."""

    file: str
    issues: list[Issue]

    def error(self, element: XmlElement, message: str, *, attribute: str | None = None) -> None:
        self.issues.append(element.issue(message, self.file, attribute=attribute))

    def warning(self, element: XmlElement, message: str, *, attribute: str | None = None) -> None:
        self.issues.append(element.issue(message, self.file, severity=WARNING, attribute=attribute))

    def single(self, parent: XmlElement, tag: str) -> XmlElement | None:
        """The child ``tag`` of ``parent``; a repeated one is an error (the first is read)."""
        found = parent.named(tag)
        for extra in found[1:]:
            self.error(extra, f"<{tag}> is given more than once (first at line {found[0].line})")
        return found[0] if found else None

    def text(self, parent: XmlElement, tag: str, *, required: bool = False) -> str | None:
        """The stripped text of child ``tag``; None when absent or empty (an error if ``required``)."""
        element = self.single(parent, tag)
        if element is not None and element.text:
            return element.text
        if required:
            self.issues.append(Issue(f"<{tag}> is required", self.file, (element or parent).line,
                                     element.path if element is not None else f"{parent.path}/{tag}"))
        return None

    def integer(self, parent: XmlElement, tag: str, *, minimum: int | None = None, maximum: int | None = None,
                also: Iterable[int] = (), required: bool = False) -> int | None:
        """Child ``tag`` as a decimal integer within ``minimum``..``maximum`` (or one of ``also``)."""
        text = self.text(parent, tag, required=required)
        if text is None:
            return None
        return self.integer_of(parent.child(tag), text, minimum=minimum, maximum=maximum, also=also)

    def integer_of(self, element: XmlElement, text: str, *, minimum: int | None = None,
                   maximum: int | None = None, also: Iterable[int] = (), attribute: str | None = None,
                   what: str | None = None) -> int | None:
        """``text`` (of ``element`` or one of its attributes) as a bounded decimal integer, or None."""
        what = what or f"<{element.tag}>"
        allowed = tuple(also)
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
            self.error(element, f"{what} must be an integer (got {text[:40]!r})", attribute=attribute)
            return None
        value = int(text)
        if value in allowed:
            return value
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = (f"{minimum}..{maximum}" if minimum is not None and maximum is not None
                      else f">= {minimum}" if minimum is not None else f"<= {maximum}")
            extra = "".join(f" or {a}" for a in allowed)
            self.error(element, f"{what} must be {bounds}{extra} (got {value})", attribute=attribute)
            return None
        return value

    def boolean(self, parent: XmlElement, tag: str) -> bool | None:
        text = self.text(parent, tag)
        if text is None:
            return None
        return self.boolean_of(parent.child(tag), text)

    def boolean_of(self, element: XmlElement, text: str, *, attribute: str | None = None) -> bool | None:
        folded = text.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        what = f"attribute {attribute}" if attribute else f"<{element.tag}>"
        self.error(element, f"{what} must be true or false (got {text[:40]!r})", attribute=attribute)
        return None

    def choice(self, parent: XmlElement, tag: str, allowed: tuple[str, ...], *,
               required: bool = False) -> str | None:
        text = self.text(parent, tag, required=required)
        if text is None:
            return None
        return self.choice_of(parent.child(tag), text, allowed)

    def choice_of(self, element: XmlElement, text: str, allowed: tuple[str, ...], *,
                  attribute: str | None = None) -> str | None:
        """One of ``allowed``; a different case is read as the listed spelling, with a warning."""
        what = f"attribute {attribute}" if attribute else f"<{element.tag}>"
        if text in allowed:
            return text
        same = next((a for a in allowed if a.lower() == text.lower()), None)
        if same is not None:
            self.warning(element, f"{what} '{text}' is read as '{same}'", attribute=attribute)
            return same
        self.error(element, f"{what} must be one of {', '.join(allowed)} (got {text[:60]!r})", attribute=attribute)
        return None


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is a likely misspelling of, or None."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
    return close[0] if close else None
