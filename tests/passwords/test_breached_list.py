"""The imported breached-password list finds every hash it was given, and no other."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from make_pwned_sample import BREACHED

from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.server.passwords import (
    BreachedFileError,
    BreachedList,
    PasswordPolicy,
    read_ranges,
    write_breached_file,
)

from support.pwned import write_ranges

# Hashes in a few ranges, so each range holds many (as the real ones hold ~900).
HASHES = st.dictionaries(
    st.tuples(
        st.sampled_from(["00000", "5BAA6", "FFFFF", "7C4A8"]),
        st.binary(min_size=18, max_size=18).map(lambda b: b.hex().upper()[:35]),
    ).map("".join),
    st.integers(1, 100_000),
    min_size=1,
    max_size=300,
)


def test_the_sample_holds_the_well_known_breached_passwords(sample_list: BreachedList):
    for password, count in BREACHED.items():
        assert sample_list.count(password) == min(count, 65535), password
    assert sample_list.count("correct horse battery staple 7!") == 0
    assert sample_list.ranges == 8


def test_a_breached_password_is_refused_by_the_policy(sample_list: BreachedList):
    policy = PasswordPolicy.build(PasswordPolicySettings(), breached=sample_list)
    (rule,) = policy.check("P@ssw0rd")
    assert (rule.id, rule.message, rule.checked_by) == ("breached", "RES_RULE_BREACHED", "server")
    assert policy.check("Tr0ub4dor&3-horse-staple") == []


def test_breached_min_count_of_the_settings(tmp_path: Path):
    seen = {"rare-password": 1, "common-password": 5}
    hashes = {hashlib.sha1(p.encode()).hexdigest().upper(): c for p, c in seen.items()}
    write_breached_file(tmp_path / "out.bin", read_ranges(write_ranges(tmp_path / "src", hashes)))
    breached = BreachedList(tmp_path / "out.bin")
    policy = PasswordPolicy.build(PasswordPolicySettings(breached_min_count=2), breached=breached)
    assert [r.id for r in policy.check("common-password")] == ["breached"]
    assert policy.check("rare-password") == []
    breached.close()


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(HASHES, st.sampled_from(["ranges", "shuffled ranges", "one file"]))
def test_every_imported_hash_is_found_and_absent_ones_are_not(tmp_path_factory, hashes, layout):
    folder = tmp_path_factory.mktemp("import")
    if layout != "one file":
        source = write_ranges(folder / "ranges", hashes, shuffle=layout.startswith("shuffled"))
    else:
        source = folder / "pwned-passwords-sha1-ordered-by-hash.txt"
        source.write_text("".join(f"{h}:{c}\r\n" for h, c in sorted(hashes.items())))
    out = folder / "breached.bin"
    summary = write_breached_file(out, read_ranges(source))
    # Hashes equal in their first 17 hex digits (the stored bits) share one entry.
    stored: dict[str, int] = {}
    for digest, count in hashes.items():
        stored[digest[:17]] = min(65535, stored.get(digest[:17], 0) + count)
    assert summary.entries == len(stored)
    breached = BreachedList(out)
    try:
        for digest in hashes:
            assert breached.count_hex(digest) == stored[digest[:17]]
        rng = random.Random(len(hashes))
        for _ in range(500):
            absent = rng.choice(["00000", "5BAA6"]) + f"{rng.getrandbits(140):035X}"
            assert breached.count_hex(absent) == stored.get(absent[:17], 0)
        # A hash differing from a stored one in its last stored digit is another hash; one
        # differing only after the stored bits is taken for it (the documented trade-off).
        digest = next(iter(hashes))
        for position in (16, 17):
            other = "0" if digest[position] != "0" else "1"
            neighbour = digest[:position] + other + digest[position + 1 :]
            assert breached.count_hex(neighbour) == stored.get(neighbour[:17], 0)
    finally:
        breached.close()


def test_min_count_of_the_import_leaves_rare_hashes_out(tmp_path: Path):
    rare, common = "A" * 40, "B" * 40
    source = write_ranges(tmp_path / "src", {rare: 1, common: 5})
    summary = write_breached_file(tmp_path / "out.bin", read_ranges(source), min_count=2)
    assert (summary.entries, summary.skipped) == (1, 1)
    breached = BreachedList(tmp_path / "out.bin")
    assert (breached.count_hex(rare), breached.count_hex(common), breached.min_count) == (0, 5, 2)
    breached.close()


def test_a_lookup_takes_well_under_a_millisecond(sample_list: BreachedList):
    passwords = [f"not-breached-{i}" for i in range(2000)] + list(BREACHED) * 250
    started = time.perf_counter()
    for password in passwords:
        sample_list.count(password)
    assert (time.perf_counter() - started) / len(passwords) < 0.001


def test_a_file_that_is_not_an_import_is_refused(tmp_path: Path, sample_list: BreachedList):
    other = tmp_path / "other.bin"
    other.write_bytes(b"\0" * 9_000_000)
    with pytest.raises(
        BreachedFileError, match=r"other.bin: not a file written by `pwreset policy import`"
    ):
        BreachedList(other)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(sample_list.path.read_bytes()[8:])
    with pytest.raises(BreachedFileError, match="truncated or damaged"):
        BreachedList(truncated)
    tiny = tmp_path / "tiny.bin"
    tiny.write_bytes(b"PWRBRCH1")
    with pytest.raises(BreachedFileError, match="too short"):
        BreachedList(tiny)
    with pytest.raises(BreachedFileError, match=r"missing\.bin: cannot be read"):
        BreachedList(tmp_path / "missing.bin")


def test_sha1_of_the_password_is_what_is_looked_up(sample_list: BreachedList):
    digest = hashlib.sha1(b"Password1").hexdigest()
    assert sample_list.count_hex(digest.upper()) == sample_list.count("Password1") > 0
