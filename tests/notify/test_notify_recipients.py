"""To/Bcc macro expansion and masked destinations (pure functions)."""

from __future__ import annotations

import pytest

from pwreset.server.notify import Recipient, expand_recipients, mask_email, mask_phone

BOTH = Recipient("jdoe", "EXAMPLE", directory_email="ad@example.org", enrolled_email="me@home.net")
AD_ONLY = Recipient("jdoe", "EXAMPLE", directory_email="ad@example.org")
ENROLLED_ONLY = Recipient("jdoe", "EXAMPLE", enrolled_email="me@home.net")
NEITHER = Recipient("jdoe", "EXAMPLE")


@pytest.mark.parametrize(
    ("field", "to", "expected"),
    [
        ("[AD_EMAIL]", BOTH, ["ad@example.org"]),
        ("[APR_EMAIL]", BOTH, ["me@home.net"]),
        ("[AD_OR_APR_EMAIL]", BOTH, ["ad@example.org"]),
        ("[AD_OR_APR_EMAIL]", ENROLLED_ONLY, ["me@home.net"]),
        ("[APR_OR_AD_EMAIL]", BOTH, ["me@home.net"]),
        ("[APR_OR_AD_EMAIL]", AD_ONLY, ["ad@example.org"]),
        ("[AD_EMAIL]", ENROLLED_ONLY, []),
        ("[APR_EMAIL]", AD_ONLY, []),
        ("[AD_OR_APR_EMAIL]", NEITHER, []),
        ("[APR_OR_AD_EMAIL]", NEITHER, []),
        ("[NPR_EMAIL]", BOTH, ["me@home.net"]),
        ("[AD_OR_NPR_EMAIL]", ENROLLED_ONLY, ["me@home.net"]),
        ("[NPR_OR_AD_EMAIL]", AD_ONLY, ["ad@example.org"]),
    ],
)
def test_macro_fallback_order(field: str, to: Recipient, expected: list[str]) -> None:
    """apr checklist 84: each macro, with the directory/enrolled fallback order."""
    assert expand_recipients(field, to) == expected


def test_literal_addresses_kept_duplicates_and_empties_dropped() -> None:
    """apr checklist 84, 85: literals are kept, empty entries and duplicates are dropped, and
    the order is that of the field."""
    field = (
        " helpdesk@example.org ; [AD_EMAIL];;[AD_OR_APR_EMAIL]; [APR_EMAIL] ;HELPDESK@example.org; "
    )
    assert expand_recipients(field, BOTH) == [
        "helpdesk@example.org",
        "ad@example.org",
        "me@home.net",
    ]
    assert expand_recipients(field, NEITHER) == ["helpdesk@example.org"]
    assert expand_recipients("", BOTH) == []


def test_macros_are_case_insensitive() -> None:
    """apr checklist 84: a pasted template with lower-case macro names still works."""
    assert expand_recipients("[ad_email]", BOTH) == ["ad@example.org"]


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane.doe@example.org", "j***@ex***.org"),
        ("j@example.co.uk", "j***@ex***.uk"),
        ("admin@intranet", "a***@in***"),
        ("not-an-address", "***"),
        ("", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    """The "enter the code" step shows a masked address (verification tab, masking)."""
    assert mask_email(address) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+15550199", "*****0199"),
        ("+1 (555) 010-0199", "********0199"),
        ("07700900123", "*******0123"),
        ("1234", "****"),
        ("", "****"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    """The "enter the code" step shows a masked phone: only the last four digits."""
    assert mask_phone(phone) == masked
