"""A bad download is refused with the file, the line and the reason, and an import that
fails (or is cut off) leaves the file it would replace exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pwreset.server.passwords import BreachedList, SourceError, read_ranges, write_breached_file

from support.pwned import SAMPLE, write_ranges

GOOD = "0" * 35 + ":3\r\n"


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """An output file from an earlier, successful import."""
    out = tmp_path / "breached.bin"
    write_breached_file(out, read_ranges(SAMPLE))
    return out


def import_fails(source: Path, out: Path) -> SourceError:
    before = out.read_bytes()
    with pytest.raises(SourceError) as caught:
        write_breached_file(out, read_ranges(source))
    assert out.read_bytes() == before
    assert [
        p.name for p in out.parent.iterdir() if p.name.endswith(".tmp") or "tmp-" in p.name
    ] == []
    return caught.value


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0123456789ABCDEF0123456789ABCDEF012 3", "found no ':'"),
        (
            "0123456789ABCDEF0123456789ABCDEF01:3",
            "expected 35 hex digits before ':' in a range file, found 34",
        ),
        ("0123456789ABCDEF0123456789ABCDEF01G:3", "not hex digits"),
        ("0123456789ABCDEF0123456789ABCDEF012:many", "not a whole number"),
        ("0123456789ABCDEF0123456789A:3", "NTLM"),
    ],
)
def test_a_malformed_range_line_is_named_and_the_old_file_kept(tmp_path, existing, line, reason):
    source = shutil.copytree(SAMPLE, tmp_path / "download")
    # The last range of the download, so every earlier range was already written.
    last = sorted(source.iterdir())[-1]
    last.write_text(GOOD * 4 + line + "\r\n" + GOOD, newline="")
    error = import_fails(source, existing)
    assert (error.file, error.line) == (last, 5)
    assert reason in error.reason
    assert str(error).startswith(f"{last}, line 5: ")


def test_an_error_never_shows_the_lines_text(tmp_path, existing):
    source = tmp_path / "passwords.txt"
    source.write_text("Summer2024!\nhunter2\n")
    error = import_fails(source, existing)
    assert (error.line, "Summer2024" in str(error), "hunter2" in str(error)) == (1, False, False)


def test_one_file_of_whole_hashes_must_be_ordered_by_hash(tmp_path, existing):
    source = tmp_path / "pwned-passwords-sha1-ordered-by-count.txt"
    source.write_text("".join(f"{c * 40}:{n}\n" for c, n in (("B", 9), ("C", 5), ("A", 3))))
    error = import_fails(source, existing)
    assert error.line == 3
    assert "not ordered by hash" in error.reason


def test_a_range_line_in_a_file_of_whole_hashes(tmp_path, existing):
    source = tmp_path / "hashes.txt"
    source.write_text("A" * 40 + ":1\n" + "B" * 35 + ":1\n")
    error = import_fails(source, existing)
    assert (error.line, error.reason) == (
        2,
        "expected 40 hex digits before ':' in a file of whole hashes, found 35 characters",
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 100, "a 7-Zip archive: extract it first"),
        (b"PK\x03\x04" + b"\x00" * 100, "a ZIP archive: extract it first"),
    ],
)
def test_an_archive_is_named_as_such(tmp_path, existing, content, reason):
    source = tmp_path / "pwnedpasswords.7z"
    source.write_bytes(content)
    assert import_fails(source, existing).reason == f"not a Pwned Passwords file: {reason}"


def test_a_wrong_file_in_the_range_folder(tmp_path, existing):
    source = shutil.copytree(SAMPLE, tmp_path / "download")
    (source / "README.md").write_text("downloaded on Monday")
    error = import_fails(source, existing)
    assert error.file == source / "README.md"
    assert "five hex digits" in error.reason


def test_an_imported_file_given_as_the_source(tmp_path, existing):
    out = tmp_path / "second.bin"
    shutil.copy(existing, out)
    error = import_fails(existing, out)
    assert error.reason == "a file `pwreset policy import` wrote, not a download"


def test_a_missing_source(tmp_path, existing):
    assert import_fails(tmp_path / "nowhere", existing).reason == "no such file or folder"


def test_the_old_file_stays_in_place_while_the_import_runs(tmp_path, existing):
    """Readers (the running server) see the old file until the new one is complete."""
    before = existing.read_bytes()
    seen: list[bytes] = []
    source = write_ranges(
        tmp_path / "src", {f"{i:05X}" + "A" * 35: 2 for i in range(0, 1 << 20, 4096)}
    )
    write_breached_file(
        existing,
        read_ranges(source),
        progress=lambda done, total: (
            seen.append(existing.read_bytes()) if done == (1 << 19) + 1 else None
        ),
    )
    assert seen == [before]
    assert existing.read_bytes() != before
    assert BreachedList(existing).ranges == 256


def test_an_import_cut_off_midway_leaves_the_old_file(tmp_path, existing):
    before = existing.read_bytes()

    def ranges_then_interrupt():
        yield from list(read_ranges(SAMPLE))[:4]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_breached_file(existing, ranges_then_interrupt())
    assert existing.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["breached.bin"]
