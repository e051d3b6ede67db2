"""The event ids (pwreset.server.siem.events): one table, unique ids and MSGIDs, the table
in docs/operations.md, and an id of its own for every audit text the product writes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pwreset.config.notify_settings import ALERT_EVENTS
from pwreset.console.web import signin
from pwreset.server.flows import admin, change, helpdesk
from pwreset.server.flows.pending import RESTORED
from pwreset.server.siem.events import EVENTS, classify, markdown_table
from pwreset.server.storage import AuditEvent

from support import source_tree

ROOT = Path(__file__).resolve().parents[3]
# The help desk writes its rows through a Step too (source helpdesk).
FLOW_SOURCES = ("enroll", "reset", "unlock", "change", "helpdesk")
OTHER = {9998, 9999}


def _id(source: str, outcome: str, text: str) -> int:
    return classify(AuditEvent(outcome, source, "u", "D", text))[0].id


def test_ids_and_msgids_are_unique_and_fit_rfc_5424():
    assert len({k.id for k in EVENTS}) == len(EVENTS)
    assert len({k.msgid for k in EVENTS}) == len(EVENTS)
    for kind in EVENTS:
        assert kind.msgid.isascii() and kind.msgid.isprintable() and " " not in kind.msgid
        assert 1 <= len(kind.msgid) <= 32
        # Failures are numbered from x100 in their flow's thousand.
        if kind.id not in OTHER:
            assert (kind.id % 1000 >= 100) == (kind.outcome == "failure"), kind


def test_the_operations_guide_shows_the_table():
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert markdown_table() in guide, (
        "docs/operations.md: paste the table printed by "
        "python -c 'from pwreset.server.siem.events import markdown_table as t; print(t())'"
    )


def test_each_kind_classifies_its_own_text():
    for kind in EVENTS:
        if kind.id in OTHER:
            continue
        text = kind.text.replace("{number}", "2").replace("{count}", "5")
        text = text.replace("{code}", "constraint_violation").replace("{rules}", "length")
        text = text.replace("{days}", "8").replace("{alert}", kind.source)
        text = text.replace("{date}", "2026-12-01").replace("{channels}", "email to 1")
        text = text.replace("{what}", "users").replace("{query}", "q=a").replace("{format}", "CSV")
        assert _id(kind.source, kind.outcome, text) == kind.id
        # A row restored at start-up has the id of the outcome it records.
        assert classify(AuditEvent(kind.outcome, kind.source, "u", "D", text + RESTORED)) == (
            kind,
            True,
        )


def test_an_unknown_text_still_gets_an_id():
    assert _id("reset", "failure", "something new") == 9999
    assert _id("expiry", "success", "notice sent") == 9998


# --- every audit text of the product --------------------------------------------------------

_WRITERS = {"failed", "succeeded", "_refused"}


def _sample(node: ast.expr, names: dict[str, str]) -> str | None:
    """A literal text (or a module's constant), with each varying part filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "2" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _sample(node.left, names)
        return None if left is None else left + (_sample(node.right, names) or "x")
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's NAME = "text" constants."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _literal_texts() -> list[tuple[str, tuple[str, ...], str]]:
    """(file, sources, text) of each audit text written as a literal in the product."""
    found = []
    for folder in ("server", "console", "pwreset"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = source_tree.parse(path)
            names = _constants(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = (
                    node.func.attr
                    if isinstance(node.func, ast.Attribute)
                    else getattr(node.func, "id", "")
                )
                where = str(path.relative_to(ROOT))
                if name in _WRITERS and node.args and (text := _sample(node.args[0], names)):
                    found.append((where, FLOW_SOURCES, text))
                elif name == "_count_failure" and len(node.args) > 1:
                    if text := _sample(node.args[1], names):
                        found.append((where, ("reset", "unlock"), text))
                elif name == "AuditEvent" and len(node.args) >= 5:
                    source, text = _sample(node.args[1], names), _sample(node.args[4], names)
                    if source and text:
                        found.append((where, (source,), text))
    return found


def _dynamic_texts() -> list[tuple[str, tuple[str, ...], str]]:
    """The texts the flows pick from tables or build from parts."""
    from pwreset.server.flows.enroll import _failure_text
    from pwreset.server.flows.factors import recovery_codes

    codes = ("wrong_password", "account_locked", "account_disabled", "not_permitted", "x")
    texts = [("change", ("change",), text) for text in change._FAILURES.values()]
    texts += [("enroll", ("enroll",), _failure_text(code)) for code in codes]
    texts += [("admin", ("admin",), admin.UNLOCK_EVENT)]
    done = (helpdesk.LIFTED_EVENT, helpdesk.UNLOCKED, helpdesk.RESET_DONE)
    texts += [("helpdesk", ("helpdesk",), text) for text in (*done, helpdesk.RESET_DONE_NO_CHANGE)]
    for what in ("wrong answer to question 2", "locked out after 5 wrong answers"):
        texts.append(("helpdesk", ("helpdesk",), what))
    texts += [("admin", ("admin",), "user deleted by an administrator (pwreset users delete)")]
    console = (
        signin.SIGNED_IN,
        signin.SIGNED_OUT,
        "exported 3 users rows as CSV (q=a)",
        "exported 2 locked rows as HTML (name=locked&days=7)",
    )
    texts += [("console", ("console",), text) for text in console]
    texts += [
        ("console", ("console",), text.format(code="account_disabled"))
        for text in signin.REFUSAL_TEXTS
    ]
    for event in ALERT_EVENTS:
        sources = {
            "lockout": ("reset",),
            "recovery_code": ("reset", "unlock"),
            "factor_change": ("enroll",),
        }
        texts.append(("alerts", sources.get(event, (event,)), f"{event} alert e-mail not sent"))
    for what in (
        "wrong verification code",
        "verification code dead after too many wrong tries",
        "a dead verification code was tried",
        "password reset",
        "account unlocked",
    ):
        texts.append(("recovery", ("reset", "unlock"), what))  # fmt: skip
    texts.append(("recovery_codes", ("reset", "unlock"), recovery_codes.used_text(3)))
    return texts


def test_every_audit_text_of_the_product_has_its_own_id():
    literal = _literal_texts()
    assert len(literal) > 20  # the scan finds the flows' texts
    assert any(source == ("notice",) for _, source, _ in literal)  # and built ones
    for where, sources, text in literal + _dynamic_texts():
        for outcome in ("success", "failure"):
            if any(_id(s, outcome, text) not in OTHER for s in sources):
                break
        else:
            pytest.fail(f"{where}: the audit text {text!r} has no event id in EVENTS")
