"""The page's rule check (policy_check.js, run in Node) agrees with the server's on every
rule the page checks: one definition, so the page never ticks off what the server refuses."""

from __future__ import annotations

import json
import subprocess
from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.server.passwords import DirectoryRules, PasswordPolicy, UserContext

SCRIPT = resources.files("pwreset.server.passwords").joinpath("policy_check.js").read_text()
HARNESS = """
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const out = cases.map(([policy, password, username]) =>
    pwresetBrokenRules(policy, password, username).map((rule) => rule.id));
  process.stdout.write(JSON.stringify(out));
});
"""
# Letters of many scripts and cases, digits, symbols, and the names/words below.
ALPHABET = st.characters(exclude_categories=("Cs", "Cn", "Co"))
PIECES = st.sampled_from(["jdoe", "JDoe", "Müller", "acme", "ACME", "密码", "Σίσυφος", "١٢"])
PASSWORDS = st.lists(st.one_of(st.text(ALPHABET, max_size=4), PIECES), max_size=6).map("".join)


def in_node(cases: list[list[object]]) -> list[list[str]]:
    result = subprocess.run(
        ["node", "-e", SCRIPT + HARNESS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 16),
    st.integers(0, 4),
    st.lists(st.sampled_from(["acme", "müller", "σίσυφος"]), max_size=2),
    st.booleans(),
    st.lists(
        st.tuples(PASSWORDS, st.sampled_from(["", "jd", "jdoe", "JDOE", "müller"])),
        min_size=50,
        max_size=50,
    ),
)
def test_page_and_server_break_the_same_rules(length, classes, words, complexity, cases):
    policy = PasswordPolicy.build(
        PasswordPolicySettings(
            min_length=length, min_character_classes=classes, forbidden_words=words
        ),
        DirectoryRules(complexity=complexity),
    )
    described = policy.describe()
    page = in_node([[described, password, username] for password, username in cases])
    for (password, username), page_broken in zip(cases, page, strict=True):
        server = [r.id for r in policy.check(password, UserContext(username=username))]
        assert page_broken == server, (password, username)


def test_the_page_sees_the_users_names_from_the_step():
    policy = PasswordPolicy.build(PasswordPolicySettings(min_length=8))
    step = policy.describe(UserContext("jdoe", "John Doe"))
    assert in_node([[step, "Doe-2024x", ""], [step, "Correct-horse", ""]]) == [["user_names"], []]
