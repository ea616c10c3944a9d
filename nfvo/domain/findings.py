"""The outcome of checking a package: errors refuse it, warnings are kept and shown.

Every reader collects all its findings (:class:`nfvo.errors.Issue`, each with a
severity) and then calls :func:`settle` once. Strict validation turns every warning into
an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from nfvo.errors import ERROR, WARNING, Issue, ValidationFailed

MAX_LISTED = 100  # findings listed per refusal; the rest are counted


def ordered(findings: Iterable[Issue]) -> list[Issue]:
    """Each finding once, by file, line, pointer and message."""
    unique = dict.fromkeys(findings)
    return sorted(unique, key=lambda i: (i.file or "", i.line or 0, i.pointer or "", i.message, i.severity))


def settle(findings: Iterable[Issue], display_name: str, *, strict: bool = False) -> tuple[Issue, ...]:
    """The warnings of a package that may be onboarded; raises ValidationFailed when it may not.

    It may not when a finding is an error, or under ``strict`` when any finding is.  The
    refusal's ``detail`` counts the problems ("3 problems in package x.tar") and its
    ``errors`` list every finding, warnings included (each with its severity), the first
    ``MAX_LISTED`` by location, then one saying how many more there are; so are the
    warnings it returns.
    """
    found = ordered(findings)
    if strict:
        found = [replace(i, severity=ERROR) for i in found]
    errors = [i for i in found if not i.is_warning]
    if not errors:
        return tuple(_capped(found, "warnings", WARNING))
    warnings = len(found) - len(errors)
    detail = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in package {display_name}"
    if warnings:
        detail += f", and {warnings} warning{'s' if warnings != 1 else ''}"
    if strict:
        detail += " (strict validation: warnings are errors)"
    raise ValidationFailed(detail, errors=_capped(found, "problems", ERROR))


def _capped(found: list[Issue], what: str, severity: str) -> list[Issue]:
    """The first MAX_LISTED findings, then one saying how many more there are."""
    if len(found) <= MAX_LISTED:
        return found
    more = f"{len(found) - MAX_LISTED} more {what} were found; only the first {MAX_LISTED} are listed"
    return [*found[:MAX_LISTED], Issue(more, severity=severity)]


def count(findings: Iterable[Issue]) -> str:
    """``"2 warnings"``, ``"1 warning"`` or ``"no warnings"``."""
    n = sum(1 for i in findings if i.is_warning)
    return f"{n or 'no'} warning{'s' if n != 1 else ''}"
