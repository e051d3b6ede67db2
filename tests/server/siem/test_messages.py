"""The two forms of an exported row (pwreset.server.siem.messages): nothing a row holds can
break out of its field in a syslog message or a JSON line; a long UDP message keeps its
structured data."""

from __future__ import annotations

import json

from pwreset.config.siem_settings import SyslogSettings
from pwreset.protocol.printable import escape
from pwreset.server.siem.destinations import UDP_MAX, SyslogConnection
from pwreset.server.siem.events import classify
from pwreset.server.siem.messages import Exported, SyslogFormat, json_line
from pwreset.server.storage import AuditEvent

from support.syslog import SyslogReceiver, parse

# What a web user header (set by a proxy) or a directory's spelling of a name might hold.
HOSTILE = 'eve"] [forged@1 x="y"]\\ \n<13>1 - - - - - next\x1b[2J\u202e'


def _exported(**fields: str) -> Exported:
    row = AuditEvent(**{"type": "success", "source": "reset", "user": "alice",
                        "domain": "EXAMPLE", "event": "password reset", **fields})  # fmt: skip
    kind, restored = classify(row)
    return Exported(row, kind, restored, "req-1")


def _format() -> SyslogFormat:
    return SyslogFormat(SyslogSettings(address="127.0.0.1:514", transport="udp"), "host.example")


def test_a_hostile_value_stays_in_its_structured_data_field():
    raw = _format().message(_exported(web_user=HOSTILE))
    message = parse(raw)  # one message, strictly RFC 5424
    assert list(message.sd) == ["pwreset@32473", "origin"]
    params = message.sd["pwreset@32473"]
    # Quotes and brackets kept as text; controls and bidi written as escapes.
    assert params["web_user"] == escape(HOSTILE)
    assert params["web_user"].startswith('eve"] [forged@1 x="y"]\\ \\x0a<13>1')
    assert params["user"] == "alice" and params["event_id"] == "2000"
    assert b"\n" not in raw and b"\x1b" not in raw


def test_a_json_line_is_one_line_with_the_same_fields():
    line = json_line(_exported(web_user=HOSTILE), "host.example")
    assert line.count(b"\n") == 1 and line.endswith(b"\n") and line.isascii()
    event = json.loads(line)
    assert event["web_user"] == HOSTILE and event["event_id"] == 2000
    assert (event["msgid"], event["severity"], event["host"]) == ("RESET_DONE", "notice",
                                                                  "host.example")  # fmt: skip
    assert event["request_id"] == "req-1"


def test_a_udp_message_too_long_for_a_datagram_keeps_its_structured_data():
    settings = SyslogSettings(address="127.0.0.1:514", transport="udp")
    long_row = _exported(user="u" * 256, event="password reset", web_user="w" * 1600)
    assert len(_format().message(long_row)) > UDP_MAX
    with SyslogReceiver("udp") as receiver:
        sender = SyslogConnection(settings.model_copy(update={"address": receiver.address}),
                                   lambda path: path, "host.example")  # fmt: skip
        sender.send(long_row)
        sender.send(_exported())
        long, short = receiver.wait_for(lambda m: True, count=2)
        sender.close()
    assert long.sd["pwreset@32473"]["web_user"] == "w" * 1600
    assert long.msg == ""  # the free text is what goes
    assert short.msg == "reset success: alice@EXAMPLE: password reset"
