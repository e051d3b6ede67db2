"""The contract's field limits: the most characters each field of a request may hold.

One definition for every side: the relay validates the pages' bodies with it
(pwreset.api.bodies), the backend checks again (pwreset.server.flows.fields: the relay is
never trusted), the settings refuse longer questions (pwreset.config), and the build hands
it to the page script (pwreset.builder.assets). Generous for real names and passphrases,
small enough to stop abuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# What the pages send (the HTTP API's request bodies and path names).
PAGE_FIELDS: Mapping[str, int] = MappingProxyType(
    {
        "domain": 255,
        "username": 256,
        "old_password": 512,
        "new_password": 512,
        "password": 512,
        "email": 254,
        "lang": 16,
        "flow": 2048,
        "answer": 256,
        "code": 32,
        "question": 64,
        "upn": 512,
        "factor": 32,  # a kind of factor (server/flows/factors/base.py KINDS)
        "enroll": 2048,  # an enroll session's token
        "action": 64,  # an enroll action, "<kind>.<verb>"
        "name": 64,  # a name the user gives a factor (a passkey's)
        "credential_id": 1024,  # a passkey's credential id, base64url
        "pending": 256,  # an authenticator secret waiting for its confirming code, sealed
        # A WebAuthn credential (the PublicKeyCredential's JSON), as characters of JSON.
        "credential": 16384,
    }
)
# What only the relay (the web server's user) or the console's admin requests add.
INTERNAL_FIELDS: Mapping[str, int] = MappingProxyType(
    {
        "web_user": 256,
        "by": 256,  # who sent an admin request (console:<login>)
        "proof": 64,  # an admin request's HMAC-SHA256, hex
        "trace_id": 128,  # the request id in the logs (pwreset.protocol.trace)
        "type": 16,  # a web console audit row's outcome (success, failure, info)
        "event": 512,  # its text
        "ip": 64,  # the admin's address
        "case": 2048,  # a help desk case, sealed by the server (pwreset.server.flows.helpdesk)
    }
)
FIELD_LIMITS: Mapping[str, int] = MappingProxyType({**PAGE_FIELDS, **INTERNAL_FIELDS})

# The most questions a site may ask, so the most answers an enrollment carries.
MAX_QUESTIONS = 10
