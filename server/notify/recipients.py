"""Who a notification is about, and the To/Bcc macros that turn that into addresses.

The macros are the original product's, so an admin can paste old templates: the directory
address ([AD_EMAIL]), the address given at enrollment ([APR_EMAIL]; [NPR_EMAIL] is the later
product name's spelling), and the two fallbacks between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipient:
    """The user an e-mail or SMS is about. The addresses and phone are read by the server from
    the directory and the database, never taken from the browser."""

    username: str
    domain: str
    directory_email: str = ""  # the original's [AD_EMAIL]
    enrolled_email: str = ""  # given at enrollment: [APR_EMAIL]
    phone: str = ""
    # Stored preference, else the page language; texts fall back to "en" when missing.
    language: str = "en"


def _first(*candidates: str) -> str:
    return next((value for value in candidates if value), "")


_ADDRESS_MACROS: dict[str, Callable[[Recipient], str]] = {
    "[AD_EMAIL]": lambda r: r.directory_email.strip(),
    "[APR_EMAIL]": lambda r: r.enrolled_email.strip(),
    "[AD_OR_APR_EMAIL]": lambda r: _first(r.directory_email.strip(), r.enrolled_email.strip()),
    "[APR_OR_AD_EMAIL]": lambda r: _first(r.enrolled_email.strip(), r.directory_email.strip()),
}
for _name in list(_ADDRESS_MACROS):
    _ADDRESS_MACROS[_name.replace("APR_", "NPR_")] = _ADDRESS_MACROS[_name]


def expand_recipients(field: str, to: Recipient) -> list[str]:
    """Turn a ';'-separated To or Bcc field into addresses.

    An entry that is one of the macros becomes the user's address (dropped when the user has
    none); any other entry is kept as written. Duplicates (compared without case) are
    removed, keeping the first. The result is not validated here: the message builder
    rejects anything that is not a single address, after expansion, as that is where the
    values from the directory and the enrollment are finally known.
    """
    addresses: list[str] = []
    seen: set[str] = set()
    for entry in field.split(";"):
        entry = entry.strip()
        macro = _ADDRESS_MACROS.get(entry.upper())
        address = macro(to) if macro else entry
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            addresses.append(address)
    return addresses
