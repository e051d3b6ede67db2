"""`[factors]`: each mistake is refused with the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config


def _problems(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "pwreset.toml"
    path.write_text(f"[sites.hr]\n\n[factors]\n{body}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p).split(": ", 1)[1] for p in info.value.problems]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("weights = { sms = 1 }",
         "factors.weights: unknown factor 'sms'; the kinds are questions, code, "
         "totp, recovery_code, passkey"),
        ("weights = { totp = 11 }",
         "factors.weights: weights.totp must be 0 to 10 (0: not offered)"),
        ('mandatory = ["sms"]',
         "factors.mandatory[0]: Input should be 'questions', 'code', 'totp', 'recovery_code' "
         "or 'passkey'"),
        ('mandatory = ["totp"]\nweights = { totp = 0 }',
         "factors: mandatory lists 'totp', whose weight is 0"),
        ('questions = false\nmandatory = ["questions"]',
         "factors: mandatory lists questions, switched off"),
        ('[factors.sites.hr]\nquestions = false\nmandatory = ["questions"]',
         "factors: sites.hr.mandatory lists questions, switched off"),
        ("[factors.sites.nope]\nthreshold = 3",
         "factors.sites.nope: no site by that name in [sites]"),
        ("[[factors.policy]]\nthreshold = 3",
         "factors.policy[0]: a policy needs groups or ous to say whom it is for"),
        ('[[factors.conditions]]\naddresses = ["10.0.0.300/8"]\nblock = true',
         "factors.conditions[0].addresses: '10.0.0.300/8' is not an address or "
         "range (10.0.0.0/8)"),
        ('[[factors.conditions]]\nhours = "8-18"\nblock = true',
         "factors.conditions[0].hours: hours '8-18' must look like 08:00-18:00"),
        ('[[factors.conditions]]\ndays = ["sat"]\ntimezone = "Mars/Olympus"\nblock = true',
         "factors.conditions[0].timezone: unknown time zone 'Mars/Olympus' (e.g. "
         "Europe/Berlin)"),
        ('[[factors.conditions]]\ndays = ["sat"]',
         "factors.conditions[0]: a condition either blocks (block = true) or sets "
         "a threshold"),
        ("[[factors.conditions]]\nblock = true",
         "factors.conditions[0]: a condition needs addresses, hours or days"),
        ('[[factors.conditions]]\ndays = ["sat"]\noutside = true\nthreshold = 3',
         "factors.conditions[0]: outside = true needs addresses"),
        ("colour = 1",
         "factors.colour: unknown key (known keys: admin_groups, conditions, mandatory, "
         "policy, questions, sites, threshold, weights)"),
    ],
)  # fmt: skip
def test_each_mistake_is_named(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _problems(tmp_path, body)
