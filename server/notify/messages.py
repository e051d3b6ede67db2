"""Composing a notification e-mail: the text in the user's language, the macros filled in,
plain text or HTML, and headers that cannot be used to inject more headers.

Nothing here sends: `Mailer` delivers what `compose` returns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from typing import TypeVar

from pwreset.config.notify_settings import MailText

from .errors import NotifyError

FALLBACK_LANGUAGE = "en"
T = TypeVar("T")
_HTML_MARKER = re.compile(r"<html[\s>]", re.IGNORECASE)
_MACRO = re.compile(r"\[[A-Z_]+\]")
# One mailbox@domain: no spaces, brackets, separators or control characters, so a value
# from the directory or the enrollment can never become a second recipient or a header.
_ADDR_SPEC = re.compile(r"^[^\s@<>;,\"()\[\]\\]+@[^\s@<>;,\"()\[\]\\]+$")
_NAMED = re.compile(r"^(?P<name>[^<>@]*)<(?P<addr>[^<>]+)>$")
_LINE_BREAKS = re.compile(r"[\r\n\x00\x0b\x0c\x85\u2028\u2029]")


def pick_text(texts: Mapping[str, T], language: str) -> T:
    """The text for `language` ("de-CH" also matches "de"), else the English one: a mail
    or an SMS text.

    The config schema requires an English text, so the fallback always exists.
    """
    wanted = language.strip().lower()
    by_lower = {lang.lower(): text for lang, text in texts.items()}
    for candidate in (wanted, re.split(r"[-_]", wanted)[0], FALLBACK_LANGUAGE):
        if candidate in by_lower:
            return by_lower[candidate]
    raise NotifyError(f"no {FALLBACK_LANGUAGE!r} text configured", code="notify_config")


def is_html(body: str) -> bool:
    """The original product's rule: a body containing <html> is an HTML document."""
    return bool(_HTML_MARKER.search(body))


def fill(template: str, values: Mapping[str, str], *, escape: bool = False) -> str:
    """Replace the [MACRO]s of `values` in one pass, so a value that happens to look like a
    macro is never expanded again. Unknown bracketed words are left as written. With
    `escape`, values are HTML-escaped (a user name like <b> stays text in an HTML body)."""

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(0))
        if value is None:
            return match.group(0)
        return html.escape(value) if escape else value

    return _MACRO.sub(replace, template)


class _TextExtractor(HTMLParser):
    """HTML to readable plain text for the text/plain alternative: tags dropped, block
    elements on their own lines, script/style/head contents skipped, link targets kept."""

    _BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}
    )
    _SKIPPED = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._href:
            self.parts.append(f" <{self._href}>")
            self._href = ""

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(document: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(document)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _address(entry: str) -> Address:
    """One recipient, as `mailbox@domain` or `Name <mailbox@domain>`; anything else (two
    addresses, a line break, a stray bracket) is refused with a message that names the
    problem but not the value, as the value may come from the user."""
    if _LINE_BREAKS.search(entry):
        raise NotifyError("a recipient contains a line break", code="notify_bad_address")
    name, addr_spec = "", entry
    if not _ADDR_SPEC.match(entry):
        named = _NAMED.match(entry)
        if named:
            name = named.group("name").strip().strip('"').strip()
            addr_spec = named.group("addr").strip()
    if not _ADDR_SPEC.match(addr_spec):
        raise NotifyError("a recipient is not a single e-mail address", code="notify_bad_address")
    try:
        return Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError) as exc:
        raise NotifyError(
            "a recipient is not a single e-mail address", code="notify_bad_address"
        ) from exc


def compose(
    *,
    sender: str,
    to: Sequence[str],
    bcc: Sequence[str] = (),
    text: MailText,
    values: Mapping[str, str],
) -> EmailMessage:
    """Build the message: `text` with `values` filled in, UTF-8, HTML (with a generated
    plain-text alternative) when the body asks for it, else plain text.

    Bcc is set as a header so `Mailer` can route it (smtplib sends to it and strips it; a
    pickup-folder MTA does the same); it never reaches the To/Cc a recipient sees.
    """
    if not to and not bcc:
        raise NotifyError("no recipient", code="notify_no_recipient")
    subject = fill(text.subject, values)
    if _LINE_BREAKS.search(subject):
        raise NotifyError("the subject contains a line break", code="notify_bad_subject")
    message = EmailMessage()
    from_address = _address(sender.strip())
    message["From"] = from_address
    if to:
        message["To"] = [_address(entry) for entry in to]
    if bcc:
        message["Bcc"] = [_address(entry) for entry in bcc]
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=from_address.domain or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    if is_html(text.body):
        document = fill(text.body, values, escape=True)
        message.set_content(html_to_text(document), charset="utf-8")
        message.add_alternative(document, subtype="html", charset="utf-8")
    else:
        message.set_content(fill(text.body, values), charset="utf-8")
    return message
