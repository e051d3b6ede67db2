"""The syntax tree of a source file, for the tests that read the product's code (the import
rules, the SIEM event registry)."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

# Reads the source on stdin, writes its pickled tree on stdout.
_PARSE = (
    "import ast, pickle, sys; sys.stdout.buffer.write(pickle.dumps(ast.parse(sys.stdin.read())))"
)


def parse(path: Path) -> ast.Module:
    """`ast.parse` of `path`. CPython 3.11 sometimes refuses a parse in a process whose
    other threads parse too, with SystemError "AST constructor recursion depth mismatch"
    (python/cpython#106905, seen in the suite's parallel workers): such a file is parsed
    again in an interpreter of its own."""
    source = path.read_text(encoding="utf-8")
    try:
        return ast.parse(source)
    except SystemError:
        done = subprocess.run(
            [sys.executable, "-c", _PARSE], input=source.encode(), capture_output=True, check=True
        )
        tree: ast.Module = pickle.loads(done.stdout)
        return tree
