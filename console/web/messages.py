"""The web console's texts by message id: English here, every other language in its catalogue
(`catalogues/<language>.po`, msgid the id, as the themes' catalogues). The pages only name
ids. A text added here needs its translation in every catalogue: tests/console/
test_web_languages.py names each one missing (the page shows the English meanwhile). The
site's catalogues in themes/ stay the end users'."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from pwreset.server.storage.query import AUDIT_COLUMNS, USER_COLUMNS

DEFAULT = "en"
CATALOGUES = Path(__file__).parent / "catalogues"

EN: dict[str, str] = {
    "console.title": "pwreset console",
    "nav.label": "Console sections",
    "nav.users": "Users",
    "nav.audit": "Audit log",
    "nav.activity": "Activity",
    "nav.signout": "Sign out",
    "signin.title": "Sign in",
    "signin.intro": "Sign in with your directory account.",
    "signin.user": "User name (DOMAIN\\user or user)",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.failed": "The user name or password is wrong, or this account may not use the console.",
    "signin.throttled": "Too many failed sign-ins. Wait a few minutes and try again.",
    "signin.expired": "Your session has ended. Sign in again.",
    "signin.signed_in_as": "Signed in as",
    "csrf.refused": "This form has expired or did not come from the console. Reload and try again.",
    "forbidden": "Your account may not use this page.",
    "filters": "Filters",
    "filter.apply": "Apply filters",
    "filter.domain": "Domain",
    "filter.search": "User name or e-mail contains",
    "filter.enrolled": "Enrolled",
    "filter.locked": "Locked out by pwreset",
    "filter.any": "Any",
    "filter.yes": "Yes",
    "filter.no": "No",
    "filter.from": "From (YYYY-MM-DD)",
    "filter.to": "To (YYYY-MM-DD)",
    "filter.user": "User",
    "filter.type": "Type",
    "filter.source": "Source",
    "filter.bad": "A filter is not valid",
    "users.title": "Users",
    "users.count": "Users found:",
    "users.none": "No user matches.",
    "audit.title": "Audit log",
    "audit.count": "Events found:",
    "audit.none": "No event matches.",
    "export.csv": "Export as CSV",
    "user.title": "User",
    "user.record": "Record",
    "user.history": "History",
    "user.not_enrolled": "This user has no pwreset record.",
    "user.lift": "Lift pwreset's lockout",
    "user.lifted": "pwreset's lockout was lifted and the wrong answers forgotten.",
    "user.not_locked": "The user was not locked out by pwreset; nothing was changed.",
    "activity.title": "Activity",
    "activity.days": "Days",
    "activity.show": "Show",
    "activity.chart": "Successful flows per day",
    "activity.table": "The same counts as a table",
    "activity.day": "Day",
    "nav.reports": "Reports",
    "reports.title": "Reports",
    "reports.report": "Report",
    "reports.ou": "Container (DN the users' DNs end with)",
    "reports.group": "Group (nested members count)",
    "reports.days": "Days back (activity, failures) or ahead (expiring)",
    "reports.run": "Run the report",
    "reports.intro": (
        "The reports read the directory or the audit log when you run them; "
        "the container and the group narrow the directory's reports."
    ),
    "reports.count": "Rows:",
    "reports.none": "The report has no rows.",
    "reports.unreachable": "Not included (the directory did not answer):",
    "report.not-enrolled": "Users not enrolled",
    "report.expiring": "Passwords expiring within {days} days",
    "report.locked": "Users locked out in the directory",
    "report.activity": "Self-service activity, last {days} days",
    "report.failed-by-address": "Failed attempts by address, last {days} days",
    "export.html": "Export as HTML",
    "column.dn": "Distinguished Name",
    "column.expires": "Expires",
    "column.days_left": "Days Left",
    "column.pwreset_locked": "Locked in pwreset",
    "column.site": "Site",
    "column.flow": "Flow",
    "column.success": "Succeeded",
    "column.failure": "Failed",
    "column.failures": "Failures",
    "column.accounts": "Accounts",
    "column.last": "Last Failure",
    "helpdesk.title": "Help desk",
    "helpdesk.help": "Help this caller",
    "helpdesk.intro": (
        "Verify the caller with their own enrolled factors before you act for them. You "
        "never see their answers or codes: the caller reads them out, you type them, "
        "pwreset checks them."
    ),
    "helpdesk.open": "Open a case",
    "helpdesk.account": "Account",
    "helpdesk.display_name": "Name",
    "helpdesk.pwreset_locked": "Locked out by pwreset",
    "helpdesk.directory_locked": "Locked in the directory",
    "helpdesk.disabled": "Disabled in the directory",
    "helpdesk.not_enrolled": (
        "This user has not enrolled in pwreset: the help desk cannot verify them here."
    ),
    "helpdesk.verify": "Verify the caller",
    "helpdesk.by_code": "By a code",
    "helpdesk.send_code": "Send a code to the caller's e-mail or phone",
    "helpdesk.sent_to": "Sent to",
    "helpdesk.code": "Code the caller reads out",
    "helpdesk.check_code": "Check the code",
    "helpdesk.by_answers": "By their answers",
    "helpdesk.answers_needed": "Right answers needed",
    "helpdesk.answered": "Right so far",
    "helpdesk.question": "Ask the caller",
    "helpdesk.answer": "The caller's answer",
    "helpdesk.check_answer": "Check the answer",
    "helpdesk.locked_answers": (
        "Answers are not taken while the caller is locked out by pwreset: verify them by a code."
    ),
    "helpdesk.verified": "The caller is verified. You may act for them now.",
    "helpdesk.act": "Act for the caller",
    "helpdesk.unlock": "Unlock the account in the directory",
    "helpdesk.lift": "Lift pwreset's lockout",
    "helpdesk.reset": "Reset the password to a one-time password",
    "helpdesk.password": "One-time password",
    "helpdesk.password_once": (
        "Read it to the caller now: it is shown only this once. They must change it at "
        "their next logon."
    ),
    "helpdesk.password_no_change": (
        "Read it to the caller now: it is shown only this once. This account's password "
        "never expires, so the directory will not ask for a change: ask the caller to "
        "change it."
    ),
    "helpdesk.note.opened": "Case opened. Verify the caller.",
    "helpdesk.note.sent": "A code was sent. Ask the caller to read it out.",
    "helpdesk.note.reused": "A code sent a moment ago is still valid: ask the caller for it.",
    "helpdesk.note.limited": (
        "No code was sent: the caller has had as many codes as the limits allow. Try "
        "later, or verify by answers."
    ),
    "helpdesk.note.nowhere": "The caller has no e-mail address or phone to send a code to.",
    "helpdesk.note.failed": "The code could not be sent; the server's log says why.",
    "helpdesk.note.right_answer": "Right. Ask the next question.",
    "helpdesk.note.verified": "The caller is verified.",
    "helpdesk.note.unlocked": "The account was unlocked in the directory.",
    "helpdesk.note.lifted": "pwreset's lockout was lifted and the wrong answers forgotten.",
    "helpdesk.note.not_locked": "The caller was not locked out by pwreset; nothing was changed.",
    "helpdesk.note.wrong_code": (
        "Wrong code. It was counted: after a few wrong tries the code stops working."
    ),
    "helpdesk.note.code_dead": (
        "The code no longer works after too many wrong tries: send a new one."
    ),
    "helpdesk.note.code_expired": "The code has expired: send a new one.",
    "helpdesk.note.wrong_answer": (
        "Wrong answer. It counts toward the caller's lockout, as on the reset page."
    ),
    "helpdesk.note.locked_out": "The caller is locked out by pwreset: verify them by a code.",
    "helpdesk.note.rate_limited": "Too many wrong answers: wait a little before the next one.",
    "helpdesk.note.session_expired": "The case has ended: open it again.",
    "helpdesk.note.not_permitted": (
        "Not done: verify the caller first. Some users cannot be helped here: those not "
        "in the directory, those pwreset excludes, and your own account."
    ),
    "helpdesk.note.empty_field": "Type what the caller reads out first.",
    "helpdesk.note.refused": "The server refused; its log says why.",
    "error.server": "The pwreset server did not answer; nothing was changed.",
    "error.store": "The data cannot be read here; the console's log says why.",
    "language.label": "Language",
    "flow.enroll": "Enroll",
    "flow.reset": "Reset",
    "flow.unlock": "Unlock",
    "flow.change": "Change",
}
# The tables' column titles: the command line's (one source), by column name.
EN.update({f"column.{c.name}": c.title for c in (*USER_COLUMNS, *AUDIT_COLUMNS)})


def _read(path: Path) -> dict[str, str]:
    with path.open("rb") as file:
        catalogue = read_po(file)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


TRANSLATED: dict[str, dict[str, str]] = {
    path.stem: _read(path) for path in sorted(CATALOGUES.glob("*.po"))
}
LANGUAGES: tuple[str, ...] = (DEFAULT, *TRANSLATED)


def message(key: str, language: str = DEFAULT) -> str:
    """The text `key` in `language`; English where the catalogue lacks it (a KeyError for an
    id English lacks: a typo in a page)."""
    return TRANSLATED.get(language, {}).get(key) or EN[key]
