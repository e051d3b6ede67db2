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
