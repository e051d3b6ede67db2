"""Masked destinations for the "enter the code" step: enough for users to recognise their
own address or phone, too little to tell a stranger where the code went."""

from __future__ import annotations

_STARS = "***"


def mask_email(address: str) -> str:
    """'jane.doe@example.org' -> 'j***@ex***.org'.

    The first letter of the mailbox, the first two of the domain and its top-level label
    stay; the rest is hidden. Anything that is not mailbox@domain is hidden entirely.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return _STARS
    name, dot, top = domain.rpartition(".")
    if not dot or not name:
        # A domain without a dot (e.g. an intranet host): nothing is safe to show but a hint.
        return f"{local[0]}{_STARS}@{domain[:2]}{_STARS}"
    return f"{local[0]}{_STARS}@{name[:2]}{_STARS}.{top}"


def mask_phone(phone: str) -> str:
    """'+15550199' -> '*****0199': every character but the last four digits is a star.

    Separators (spaces, dashes, brackets) are dropped first so their layout gives nothing
    away; a number with four digits or fewer is hidden entirely.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    compact = ("+" if phone.strip().startswith("+") else "") + digits
    if len(digits) <= 4:
        return "*" * max(len(compact), 4)
    return "*" * (len(compact) - 4) + digits[-4:]
