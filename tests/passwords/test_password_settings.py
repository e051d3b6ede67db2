"""`[password_policy]` in pwreset.toml: defaults, and every bad value named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config


def problems(tmp_path: Path, table: str) -> list[str]:
    config = tmp_path / "pwreset.toml"
    config.write_text("[password_policy]\n" + table)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    return [f"{p.key}: {p.reason}" for p in caught.value.problems]


def test_defaults_add_only_the_names_rule(tmp_path: Path):
    config = tmp_path / "pwreset.toml"
    config.write_text("")
    settings = load_config(config).password_policy
    assert (settings.min_length, settings.min_character_classes) == (0, 0)
    assert (settings.forbid_user_names, settings.forbidden_words) == (True, [])
    assert (settings.breached_file, settings.breached_min_count) == (None, 1)


def test_values_are_read_and_words_normalised(tmp_path: Path):
    config = tmp_path / "pwreset.toml"
    config.write_text(
        '[password_policy]\nmin_length = 12\nforbidden_words = [" Acme "]\n'
        'breached_file = "data/breached.bin"\nbreached_min_count = 10\n'
    )
    loaded = load_config(config)
    settings = loaded.password_policy
    assert (settings.min_length, settings.forbidden_words) == (12, ["acme"])
    assert loaded.path(settings.breached_file) == tmp_path / "data/breached.bin"


def test_bad_values_are_named(tmp_path: Path):
    found = problems(
        tmp_path,
        'min_lenght = 3\nmin_character_classes = 5\nforbidden_words = ["ab"]\n'
        "breached_min_count = 0\n",
    )
    assert found == [
        "password_policy.min_character_classes: Input should be less than or equal to 4",
        "password_policy.forbidden_words: 'ab': a forbidden word has 3 to 64 characters",
        "password_policy.breached_min_count: Input should be greater than or equal to 1",
        "password_policy.min_lenght: unknown key; did you mean 'min_length'?",
    ]
