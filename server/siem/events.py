"""The event ids: one fixed id per audited outcome, in this one table.

An audit row is (type, source, user, domain, event text, ...): the text says what happened
in words, the id says it to a SIEM. Each row of `EVENTS` names the source, the outcome and
the text (`{…}` marks a part that varies, such as a question number) that make one id.
docs/operations.md shows this table (a test checks that it is the same). Ids are never
renumbered or reused: a new outcome gets a new id.

Numbering: 1xxx enroll, 2xxx reset, 3xxx unlock (the same offsets as reset), 4xxx change,
5xxx admin (50xx the web console's own rows: sign-ins, refusals, exports), 6xxx what the
server does on its own (expiry notices, enrollment reminders, the report mail), 7xxx the
help desk; x000-x099 successes, x100 and up failures. 9998 and 9999 are any success or
failure no row names (a text added without its id here: the export still sends it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from pwreset.server.flows.pending import RESTORED
from pwreset.server.storage import AuditEvent


class Severity(IntEnum):
    """RFC 5424 section 6.2.1."""

    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6


@dataclass(frozen=True)
class EventKind:
    id: int
    msgid: str  # the syslog MSGID: at most 32 printable ASCII characters
    source: str  # the audit row's source: enroll, reset, unlock, change, admin, console,
    # notice, reminder, report, helpdesk; "*"
    outcome: str  # the audit row's type: success or failure
    severity: Severity
    text: str  # the audit row's event text; {name} marks a part that varies
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{(\w+)\}", self.text)
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(regex, re.DOTALL))


S, F = "success", "failure"
_RECOVERY = {"reset": (2000, "RESET"), "unlock": (3000, "UNLOCK")}
_HELPDESK = {"helpdesk": (7000, "HELPDESK")}


def _recovery(
    offset: int, name: str, outcome: str, severity: Severity, text: str, *, helpdesk: bool = False
) -> list[EventKind]:
    """The same outcome of a reset and of an unlock: two ids, 1000 apart; and of the help
    desk's verification (`helpdesk`), at the same offset of 7xxx."""
    sources = {**_RECOVERY, **_HELPDESK} if helpdesk else _RECOVERY
    return [
        EventKind(base + offset, f"{prefix}_{name}", source, outcome, severity, text)
        for source, (base, prefix) in sources.items()
    ]


W, N, I, E = Severity.WARNING, Severity.NOTICE, Severity.INFO, Severity.ERROR  # noqa: E741

# fmt: off
EVENTS: tuple[EventKind, ...] = (
    # --- enroll ---
    EventKind(1000, "ENROLLED", "enroll", S, N, "enrolled"),
    EventKind(1001, "ENROLL_SESSION_STARTED", "enroll", S, I, "enroll session started"),
    EventKind(1050, "PASSKEY_ADDED", "enroll", S, N, "passkey {name} added"),
    EventKind(1051, "PASSKEY_REMOVED", "enroll", S, N, "passkey {name} removed"),
    EventKind(1052, "PASSKEY_RENAMED", "enroll", S, I, "passkey {name} renamed to {new_name}"),
    EventKind(1100, "ENROLL_WRONG_PASSWORD", "enroll", F, W, "wrong password"),
    EventKind(1101, "ENROLL_ACCOUNT_LOCKED", "enroll", F, W, "account locked in the directory"),
    EventKind(1102, "ENROLL_ACCOUNT_DISABLED", "enroll", F, W, "account disabled"),
    EventKind(1103, "ENROLL_NOT_PERMITTED", "enroll", F, W, "not permitted to enroll"),
    EventKind(1104, "ENROLL_REFUSED", "enroll", F, W, "refused by the directory ({code})"),
    EventKind(1040, "TOTP_ENROLLED", "enroll", S, N, "authenticator app enrolled"),
    EventKind(1041, "TOTP_REMOVED", "enroll", S, N, "authenticator app removed"),
    EventKind(1042, "RECOVERY_CODES_MADE", "enroll", S, N, "recovery codes generated"),
    EventKind(1043, "RECOVERY_CODES_REMOVED", "enroll", S, N, "recovery codes removed"),
    EventKind(1140, "ENROLL_WRONG_TOTP", "enroll", F, W, "wrong authenticator app code"),
    EventKind(1160, "PASSKEY_NOT_ADDED", "enroll", F, W, "passkey not added: {reason}"),
    EventKind(1150, "ENROLL_ALERT_NOT_SENT", "enroll", F, E, "enroll alert e-mail not sent"),
    EventKind(
        1151, "FACTOR_ALERT_NOT_SENT", "enroll", F, E, "factor_change alert e-mail not sent"
    ),
    # --- reset (2xxx) and unlock (3xxx) ---
    EventKind(2000, "RESET_DONE", "reset", S, N, "password reset"),
    EventKind(3000, "UNLOCK_DONE", "unlock", S, N, "account unlocked"),
    *_recovery(1, "AUTO_ENROLLED", S, N, "auto-enrolled"),
    *_recovery(2, "CODE_SENT", S, I, "code sent", helpdesk=True),
    *_recovery(3, "CODE_NOT_RESENT", S, I, "code still valid; not sent again", helpdesk=True),
    *_recovery(4, "CODE_LIMIT", S, W, "code not sent: limit", helpdesk=True),
    *_recovery(5, "WITHOUT_CODE", S, W, "no code could be sent; continued without one"),
    # Before WRONG_ANSWER, whose text it starts with: the first row that matches wins.
    *_recovery(
        105,
        "WRONG_ANSWER_REPEATED",
        F,
        W,
        "wrong answer to question {number}, given before: not counted again",
        helpdesk=True,
    ),
    *_recovery(100, "WRONG_ANSWER", F, W, "wrong answer to question {number}", helpdesk=True),
    *_recovery(101, "NOT_ENROLLED", F, W, "not enrolled"),
    *_recovery(102, "LOCKED_OUT", F, E, "locked out after {count} wrong answers", helpdesk=True),
    *_recovery(
        103, "DECOY_LOCKED_OUT", F, E, "locked out after {count} wrong answers (not enrolled)"
    ),
    *_recovery(104, "REFUSED_LOCKED_OUT", F, W, "locked out by pwreset", helpdesk=True),
    *_recovery(110, "WRONG_CODE", F, W, "wrong verification code", helpdesk=True),
    *_recovery(
        111, "CODE_DEAD", F, W, "verification code dead after too many wrong tries", helpdesk=True
    ),
    *_recovery(112, "DEAD_CODE_TRIED", F, W, "a dead verification code was tried", helpdesk=True),
    *_recovery(113, "CODE_EXPIRED", F, W, "code expired", helpdesk=True),
    *_recovery(114, "CODE_NOT_SENT", F, E, "code could not be sent", helpdesk=True),
    *_recovery(115, "NO_CODE_DESTINATION", F, W, "no address or phone to send a code to"),
    *_recovery(120, "ACCOUNT_DISABLED", F, W, "account disabled"),
    *_recovery(121, "PASSWORD_TOO_YOUNG", F, W, "password too young"),
    *_recovery(122, "NOT_PERMITTED", F, W, "not permitted", helpdesk=True),
    *_recovery(123, "REFUSED", F, W, "refused by the directory ({code})", helpdesk=True),
    *_recovery(124, "PASSWORD_RULES", F, W, "new password refused by the password rules: {rules}"),
    *_recovery(
        125,
        "RECOVERY_LIMIT",
        F,
        W,
        "recovery limit reached: {count} resets and unlocks in {days} days",
    ),
    *_recovery(126, "POLICY_NOT_MET", F, W, "the factors proven do not meet the policy"),
    *_recovery(40, "TOTP_ACCEPTED", S, I, "authenticator app code accepted"),
    *_recovery(41, "RECOVERY_CODE_USED", S, N, "recovery code used, {count} left"),
    *_recovery(140, "WRONG_TOTP", F, W, "wrong authenticator app code"),
    *_recovery(141, "TOTP_REPLAYED", F, W, "authenticator app code already used"),
    *_recovery(142, "WRONG_RECOVERY_CODE", F, W, "wrong recovery code"),
    *_recovery(143, "RECOVERY_CODE_REUSED", F, W, "recovery code already used"),
    *_recovery(144, "NO_TOTP", F, W, "authenticator app code given, but no app enrolled"),
    *_recovery(145, "NO_RECOVERY_CODES", F, W, "recovery code given, but none generated"),
    *_recovery(50, "PASSKEY_USED", S, I, "passkey {name} used"),
    *_recovery(
        161,
        "PASSKEY_CLONED",
        F,
        E,
        "passkey {name} refused: its signature counter went back ({count} after {before}): "
        "a cloned authenticator?",
    ),
    *_recovery(160, "PASSKEY_REFUSED", F, W, "passkey refused: {reason}"),
    *_recovery(127, "BLOCKED", F, W, "self-service blocked by a condition"),
    *_recovery(150, "ALERT_NOT_SENT", F, E, "{alert} alert e-mail not sent"),
    # --- change ---
    EventKind(4000, "PASSWORD_CHANGED", "change", S, N, "password changed"),
    EventKind(4100, "CHANGE_WRONG_PASSWORD", "change", F, W, "wrong current password"),
    EventKind(4101, "CHANGE_ACCOUNT_DISABLED", "change", F, W, "account disabled"),
    EventKind(4102, "CHANGE_NOT_PERMITTED", "change", F, W, "not permitted to change"),
    EventKind(4103, "CHANGE_REFUSED", "change", F, W, "refused by the directory ({code})"),
    EventKind(
        4104,
        "CHANGE_PASSWORD_RULES",
        "change",
        F,
        W,
        "new password refused by the password rules: {rules}",
    ),
    EventKind(4150, "CHANGE_ALERT_NOT_SENT", "change", F, E, "change alert e-mail not sent"),
    # --- admin ---
    EventKind(
        5000,
        "LOCKOUT_LIFTED",
        "admin",
        S,
        N,
        "pwreset lockout lifted by the help desk (pwreset users unlock)",
    ),
    EventKind(
        5001,
        "USER_DELETED",
        "admin",
        S,
        N,
        "user deleted by an administrator (pwreset users delete)",
    ),
    EventKind(
        5002,
        "USER_PURGED",
        "admin",
        S,
        N,
        "user removed by the purge: missing from the directory for {days} days",
    ),
    # --- the web console (pwreset console): sign-ins, refusals, exports ---
    EventKind(5050, "CONSOLE_SIGNED_IN", "console", S, N, "signed in to the web console"),
    EventKind(5051, "CONSOLE_SIGNED_OUT", "console", S, I, "signed out of the web console"),
    EventKind(5052, "CONSOLE_EXPORTED", "console", S, N,
              "exported {count} {what} rows as {format} ({query})"),
    EventKind(5150, "CONSOLE_WRONG_PASSWORD", "console", F, W,
              "web console sign-in refused: wrong password"),
    EventKind(5151, "CONSOLE_UNKNOWN_ACCOUNT", "console", F, W,
              "web console sign-in refused: unknown account"),
    EventKind(5152, "CONSOLE_NOT_IN_GROUP", "console", F, W,
              "web console sign-in refused: not in a console group"),
    EventKind(5153, "CONSOLE_UNKNOWN_DOMAIN", "console", F, W,
              "web console sign-in refused: unknown domain"),
    EventKind(5154, "CONSOLE_EMPTY_FIELD", "console", F, W,
              "web console sign-in refused: empty user name or password"),
    EventKind(5155, "CONSOLE_THROTTLED", "console", F, E,
              "web console sign-in refused: too many failed sign-ins"),
    EventKind(5156, "CONSOLE_DIRECTORY_REFUSED", "console", F, W,
              "web console sign-in refused: refused by the directory ({code})"),
    # --- what the server does on its own ---
    EventKind(6000, "EXPIRY_NOTICE_SENT", "notice", S, I,
              "password expiry notice ({days} days): expires {date}, {channels}"),
    EventKind(6100, "EXPIRY_NOTICE_NOT_SENT", "notice", F, E,
              "password expiry notice ({days} days): expires {date}, {channels}"),
    EventKind(6001, "ENROLL_REMINDER_SENT", "reminder", S, I,
              "enrollment reminder {number} of {count}: {channels}"),
    EventKind(6101, "ENROLL_REMINDER_NOT_SENT", "reminder", F, E,
              "enrollment reminder {number} of {count}: {channels}"),
    EventKind(6002, "REPORT_MAIL_SENT", "report", S, I,
              "report mail ({reports}): to {count} address(es)"),
    EventKind(6102, "REPORT_MAIL_NOT_SENT", "report", F, E,
              "report mail ({reports}): not sent ({code})"),
    # --- the help desk (7xxx): the agent is the row's web user ---
    EventKind(7000, "HELPDESK_CASE_OPENED", "helpdesk", S, I, "help desk case opened"),
    EventKind(7006, "HELPDESK_VERIFIED_CODE", "helpdesk", S, N,
              "caller verified by the help desk with a code"),
    EventKind(7007, "HELPDESK_VERIFIED_ANSWERS", "helpdesk", S, N,
              "caller verified by the help desk with {count} answers"),
    EventKind(7010, "HELPDESK_UNLOCKED", "helpdesk", S, N, "account unlocked by the help desk"),
    EventKind(7011, "HELPDESK_LOCKOUT_LIFTED", "helpdesk", S, N,
              "pwreset lockout lifted by the help desk"),
    # Before HELPDESK_RESET, whose text it starts with: the first row that matches wins.
    EventKind(7013, "HELPDESK_RESET_NO_CHANGE", "helpdesk", S, N,
              "password reset by the help desk to a one-time password (it never expires: "
              "no change at next logon)"),
    EventKind(7012, "HELPDESK_RESET", "helpdesk", S, N,
              "password reset by the help desk to a one-time password"),
    EventKind(7120, "HELPDESK_NOT_VERIFIED", "helpdesk", F, E,
              "help desk action refused: the caller is not verified"),
    # --- anything else ---
    EventKind(9998, "OTHER_SUCCESS", "*", S, N, "{text}"),
    EventKind(9999, "OTHER_FAILURE", "*", F, W, "{text}"),
)
# fmt: on

_BY_SOURCE: dict[tuple[str, str], list[EventKind]] = {}
for _kind in EVENTS:
    _BY_SOURCE.setdefault((_kind.source, _kind.outcome), []).append(_kind)
_OTHER = {kind.outcome: kind for kind in EVENTS if kind.source == "*"}


def classify(row: AuditEvent) -> tuple[EventKind, bool]:
    """The row's kind, and whether it is a row restored at start-up (see
    pwreset.server.flows.pending): a restored row has the id of the outcome it records."""
    text = row.event.removesuffix(RESTORED)
    for kind in _BY_SOURCE.get((row.source, row.type), ()):
        if kind.pattern.fullmatch(text):
            return kind, text != row.event
    return _OTHER.get(row.type, _OTHER[F]), text != row.event


def markdown_table() -> str:
    """The table docs/operations.md shows."""
    lines = [
        "| id | MSGID | source | outcome | severity | audit text |",
        "|---:|---|---|---|---|---|",
    ]
    for kind in sorted(EVENTS, key=lambda k: k.id):
        text = kind.text.replace("|", "\\|")
        lines.append(
            f"| {kind.id} | `{kind.msgid}` | {kind.source} | {kind.outcome} | "
            f"{kind.severity.name.lower()} | {text} |"
        )
    return "\n".join(lines) + "\n"
