"""The secrets-at-rest scan: no password, answer, code or key sent during a run may be found
in any file the run left (instance, data folder, logs, a bench's run folder).

    assert_no_secrets([stack.instance, run_folder], {password, *answers, code})

Folders are searched recursively; each secret is looked for as UTF-8 and as UTF-16-LE (what
Windows tools and AD write). Values shorter than `min_length` are skipped: a two-letter
string turns up in any ciphertext by chance.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MIN_LENGTH = 6  # a verification code's least length (digits only: still rare by chance)


def files_in(paths: Iterable[Path]) -> list[Path]:
    """The regular files among `paths` and under the folders among them (no symlinks)."""
    found: list[Path] = []
    for path in paths:
        candidates = path.rglob("*") if path.is_dir() else [path]
        found.extend(p for p in candidates if p.is_file() and not p.is_symlink())
    return found


def find_secrets(
    paths: Iterable[Path], secrets: Iterable[str], *, min_length: int = MIN_LENGTH
) -> list[str]:
    """One line per (file, secret) found: the file and the secret's first three characters."""
    forms = {
        secret: (secret.encode(), secret.encode("utf-16-le"))
        for secret in secrets
        if len(secret) >= min_length
    }
    found = []
    for path in files_in(paths):
        data = path.read_bytes()
        for secret, encoded in forms.items():
            if any(form in data for form in encoded):
                found.append(f"{path} holds {secret[:3]}…")
    return found


def assert_no_secrets(
    paths: Iterable[Path], secrets: Iterable[str], *, min_length: int = MIN_LENGTH
) -> None:
    """Fail naming every file that holds one of `secrets` (never the whole secret)."""
    paths = list(paths)
    assert files_in(paths), f"nothing to scan in {[str(p) for p in paths]}"
    leaks = find_secrets(paths, secrets, min_length=min_length)
    assert leaks == [], "secrets at rest:\n" + "\n".join(leaks)
