"""`Accept-Language` read and matched (pwreset.accept_language): the weights, the
region fallback, `*`, refusals, and headers no browser would send."""

from __future__ import annotations

import time

import pytest

from pwreset.accept_language import (
    MAX_HEADER,
    MAX_RANGES,
    LanguagePreferences,
    negotiate,
    parse_accept_language,
)

SITE = ["en", "de", "fr", "pt"]


def best(header: str, offered: list[str] = SITE) -> str:
    return negotiate(parse_accept_language(header), offered, offered[0])


def test_weights_order_the_wanted_languages_and_q0_refuses() -> None:
    assert parse_accept_language("de-CH,de;q=0.9,en;q=0.8,fr;q=0") == LanguagePreferences(
        wanted=("de-CH", "de", "en"), refused=("fr",)
    )
    # Listed order decides between equal weights; a higher weight later still comes first.
    assert parse_accept_language("en;q=0.5, fr, de;q=0.5, sv;q=1.0").wanted == (
        "fr",
        "sv",
        "en",
        "de",
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("en-US,en;q=0.9,de;q=0.8", "en"),
        ("pt-BR", "pt"),  # region fallback
        ("DE-at", "de"),  # tags are case-insensitive
        ("fi-FI, sv;q=0.8", "en"),  # nothing offered: the site's main language
        ("", "en"),
        ("de;q=0.1, fr;q=0.2", "fr"),
    ],
)
def test_the_best_offered_language(header: str, expected: str) -> None:
    assert best(header) == expected


def test_a_language_alone_finds_its_regional_variant() -> None:
    assert best("de, en;q=0.5", ["en", "de-AT"]) == "de-AT"
    assert best("fr-CH", ["en", "fr-FR"]) == "fr-FR"


def test_q0_refuses_a_language_and_its_regions() -> None:
    assert best("de;q=0, fr;q=0.5") == "fr"
    assert best("fr-CA, fr;q=0") == "en"  # only fr is offered, and it is refused
    assert best("de-CH;q=0, de-AT, de;q=0", ["en", "de-AT"]) == "en"


def test_the_wildcard() -> None:
    # "*" at weight 1 before German at 0.5: any language is wanted more, so the main one.
    assert best("de;q=0.5, *") == "en"
    assert best("fr, *;q=0.1") == "fr"
    # The main language refused: "*" takes another the site offers.
    assert best("en;q=0, *") == "de"
    # "*;q=0" refuses nothing that is named.
    assert best("*;q=0, pt") == "pt"


@pytest.mark.parametrize(
    "header",
    [
        "fr;q=2, de;q=0.5",  # weight above 1
        "fr;q=-1, de;q=0.5",
        "fr;q=nan, de;q=0.5",
        "fr;q=inf, de;q=0.5",
        "fr;q=0.12345, de;q=0.5",  # more than three decimals
        "fr;q=, de;q=0.5",
        "<script>, de;q=0.5",
        "../../etc, de;q=0.5",
        "f r, de;q=0.5",
        "toolongsubtag, de;q=0.5",
        ",,, ;;; , de;q=0.5",
        "\x00fr, de;q=0.5",
    ],
)
def test_malformed_entries_are_ignored(header: str) -> None:
    assert parse_accept_language(header).wanted == ("de",)
    assert best(header) == "de"


def test_a_huge_header_is_read_only_up_to_its_bound() -> None:
    header = ", ".join(["xx;q=0.1"] * 200_000) + ", fr"
    started = time.perf_counter()
    preferences = parse_accept_language(header)
    assert best(header) == "en"  # "fr" lies beyond the bound: never read
    assert time.perf_counter() - started < 0.5
    assert len(preferences.wanted) == MAX_RANGES
    # The cut drops a truncated last entry: "fr;q=0" cut after "fr" is not a wish for French.
    cut = "a" * (MAX_HEADER - len(", fr")) + ", fr;q=0"
    assert best(cut) == "en"
