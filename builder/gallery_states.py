"""The states the gallery shows, as scripted visits: what to type into each step, and the
replies a made-up server gives. The real page script runs them, so the gallery shows
exactly what users would see, without a server and without a line of page markup of its own.

A state is JSON for the gallery player (builder/tools/pwreset-gallery.js):
  actions   one dict per submit: field name -> value (a list fills same-named fields);
            "@form": the form to fill instead of the visible step, "@click": what to click
            instead of submitting
  replies   "METHOD path" -> replies in order: {"status", "body"}, {"hold": true} (never
            answers: the busy state) or {"network": true} (the request fails)
  meta      the reply to GET meta, for the enroll page
  query     added to the page link instead (the error page reads ?message=)
  settles   false when the page never becomes idle after the last action
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import segno

from pwreset.protocol.codes import ERRORS, page_message, problem_body
from pwreset.protocol.limits import PAGE_FIELDS

Reply = dict[str, Any]
Params = dict[str, str]

SAMPLE_QUESTIONS = {
    "en": [
        "Which city was your grandmother born in?",
        "What was the name of your first teacher?",
        "What was the first film you saw in a cinema?",
        "What is your favourite childhood book?",
    ],
    "de": [
        "In welcher Stadt wurde Ihre Großmutter geboren?",
        "Wie hieß Ihre erste Lehrerin oder Ihr erster Lehrer?",
        "Welchen Film haben Sie als ersten im Kino gesehen?",
        "Welches ist Ihr liebstes Kinderbuch?",
    ],
}
USER = {"username": "jsmith", "domain": "EXAMPLE"}
# The kinds a sample site offers besides the questions (a `[factors]` site).
FACTOR_OFFER = ["code", "totp", "recovery_code", "passkey"]
# The passkeys a user has, as the enroll page lists them.
SAMPLE_PASSKEYS: list[dict[str, Any]] = [
    {"id": "cGhvbmUtcGFzc2tleQ", "name": "Phone", "added": 1764300000.0, "used": None},
    {"id": "a2V5LXBhc3NrZXk", "name": "Blue security key", "added": 1764310000.0,
     "used": 1764320000.0},
]  # fmt: skip
# A passkey step's options as the server sends them (the same for every user).
SAMPLE_PASSKEY_OPTIONS: dict[str, Any] = {
    "rpId": "example.org",
    "challenge": "c2FtcGxlLWNoYWxsZW5nZS1mb3ItdGhlLWdhbGxlcnk",
    "timeout": 300000,
    "allowCredentials": [],
    "userVerification": "required",
}
# A password policy as `meta` and the password step carry it (docs/passwords.md).
POLICY: dict[str, Any] = {
    "version": 1,
    "rules": [
        {"id": "min_length", "message": "RES_RULE_MIN_LENGTH", "params": {"n": 12},
         "checked_by": "page"},
        {"id": "char_classes", "message": "RES_RULE_CHAR_CLASSES",
         "params": {"n": 3, "classes": ["lower", "upper", "digit", "symbol", "letter"]},
         "checked_by": "page"},
        {"id": "user_names", "message": "RES_RULE_USER_NAMES",
         "params": {"min_token": 3, "tokens": ["jsmith", "john", "smith"]}, "checked_by": "page"},
        {"id": "breached", "message": "RES_RULE_BREACHED", "params": {}, "checked_by": "server"},
        {"id": "history", "message": "RES_RULE_HISTORY", "params": {"n": 5},
         "checked_by": "directory"},
    ],
}  # fmt: skip

# Error replies by code (pwreset.protocol.codes) with their parameters: each reply is the
# relay's problem body for that code, so status and message id come from the registry.
# The request that never reaches the service comes first (the gallery fails it).
NETWORK_FAILURE = "server_unreachable"
SERVICE_ERRORS: tuple[tuple[str, Params], ...] = (
    (NETWORK_FAILURE, {}),
    ("server_error", {}),
    ("storage_full", {}),
    ("bad_request", {}),
    ("rate_limited", {}),
    ("field_too_long", {}),
    ("unknown_domain", {}),
    ("directory_unreachable", {}),
    ("directory_refused", {}),
)
POLICY_ERRORS: tuple[tuple[str, Params], ...] = (
    ("password_rule", {"rules": "min_length,breached"}),
    ("password_too_short", {}),
    ("password_in_history", {}),
    ("password_complexity", {}),
    ("password_too_young", {}),
    ("password_rejected", {"reason": "The password contains the user's display name."}),
)
# What the directory says to a wrong or refused account, in change and enroll.
ACCOUNT_ERRORS: tuple[tuple[str, Params], ...] = (
    ("wrong_password", {}),
    ("account_locked", {}),
    ("account_disabled", {}),
    ("not_permitted", {}),
)


@dataclass(frozen=True)
class State:
    name: str
    title: str
    actions: Sequence[dict[str, Any]] = ()
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    meta: dict[str, Any] | None = None
    query: dict[str, str] | None = None
    settles: bool = True

    def script(self) -> dict[str, Any]:
        return {
            "actions": list(self.actions),
            "replies": self.replies,
            "meta": self.meta,
            "settles": self.settles,
        }


def problem(code: str, params: Params | None = None) -> Reply:
    """The relay's reply for error `code` (its status and body, from the registry)."""
    kind = ERRORS[code]
    return {"status": kind.status, "body": problem_body(kind, kind.detail, params or {})}


def message_of(code: str, params: Params | None = None) -> str:
    """The message id the page shows for `code`: a state is named after it."""
    return page_message(ERRORS[code], params or {})


def done(message_id: str) -> Reply:
    return {"status": 200, "body": {"status": "done", "message": message_id}}


def step(kind: str, **fields: Any) -> Reply:
    return {"status": 200, "body": {"flow": "gallery-flow-token", "step": {"kind": kind, **fields}}}


def sample_meta(
    domains: Sequence[str],
    flows: Sequence[str],
    *,
    email: str = "optional",
    custom: bool = False,
    questions: bool = True,
) -> dict[str, Any]:
    """A plausible GET meta reply (the real one comes from the server's settings)."""
    offer = [*(["questions"] if questions else []), *FACTOR_OFFER]
    return {
        "site": "gallery",
        "title": "",
        "language": "en",
        "flows": list(flows),
        "domains": list(domains),
        "free_domain": not domains,
        "enroll": {
            "questions": 3,
            "min_answer_chars": 3,
            "email": email,
            "custom_questions": custom,
            "max_question_length": PAGE_FIELDS["question"],
            "question_list": SAMPLE_QUESTIONS,
        },
        "verification": {"enabled": True},
        "factors": {"offer": offer, "questions": questions},
        "password_policy": POLICY,
    }


def _user(domains: Sequence[str], **more: Any) -> dict[str, Any]:
    """The identity fields as a user types them (the domain only when it is a text box)."""
    values = {"username": USER["username"], **more}
    if not domains:
        values["domain"] = USER["domain"]
    return values


def change_states(domains: Sequence[str]) -> list[State]:
    old = {"old_password": "Current-Secret-1"}
    new = {"new_password": "New-Secret-2024!", "confirm_password": "New-Secret-2024!"}
    full = _user(domains, **old, **new)
    states = [
        State("start", "The form, empty"),
        State("RES_EMPTY_FIELD_USERNAME", "Checked in the page: no username", [{"username": ""}]),
        State(
            "RES_EMPTY_FIELD_OLD_PASSWORD",
            "Checked in the page: no current password",
            [_user(domains)],
        ),
        State(
            "RES_EMPTY_FIELD_NEW_PASSWORD",
            "Checked in the page: no new password",
            [_user(domains, **old)],
        ),
        State(
            "RES_PASSWORDS_DIFFER",
            "Checked in the page: the two new passwords differ",
            [{**full, "confirm_password": "Something-else"}],
        ),
        State(
            "busy",
            "Waiting for the server",
            [full],
            {"POST change": [{"hold": True}]},
            settles=False,
        ),
    ]
    if not domains:
        states.insert(
            2,
            State(
                "RES_EMPTY_FIELD_DOMAIN",
                "Checked in the page: no domain",
                [{"username": USER["username"], "domain": ""}],
            ),
        )
    errors = [ACCOUNT_ERRORS[0], *POLICY_ERRORS, *ACCOUNT_ERRORS[1:], *SERVICE_ERRORS]
    states += [_server_error(code, params, "POST change", [full]) for code, params in errors]
    states += [
        State(
            "RES_FINISHED_CHANGE",
            "Finished",
            [full],
            {"POST change": [done("RES_FINISHED_CHANGE")]},
        ),
        State(
            "RES_FINISHED_CHANGE_INVITE",
            "Finished, with an invitation to enroll",
            [full],
            {"POST change": [done("RES_FINISHED_CHANGE_INVITE")]},
        ),
    ]
    return states


def enroll_states(
    domains: Sequence[str], flows: Sequence[str], questions: bool = True
) -> list[State]:
    if not questions:
        return no_questions_states(domains, flows)
    meta = sample_meta(domains, flows)
    typed = sample_meta(domains, flows, email="required", custom=True)
    # The first three questions listed, by place: the page lists them in its language.
    picked = ["#1", "#2", "#3"]
    answers = ["Lisbon", "Mrs Okafor", "The Lion King"]
    account = _user(domains, password="Current-Secret-1")
    full = {**account, "question": picked, "answer": answers}

    def at(name: str, title: str, values: dict[str, Any], use: dict[str, Any] = meta) -> State:
        return State(name, title, [values], meta=use)

    states = [
        State("start", "The form, with questions to pick from", meta=meta),
        State("own-questions", "Users write their own questions; e-mail required", meta=typed),
        State("loading", "Waiting for the server's settings", meta={"hold": True}, settles=False),
        State("meta-failed", "The server's settings could not be loaded", meta={"network": True}),
        at("RES_EMPTY_FIELD_USERNAME", "Checked in the page: no username", {"username": ""}),
        at("RES_EMPTY_FIELD_PASSWORD", "Checked in the page: no password", _user(domains)),
        at(
            "RES_EMPTY_FIELD_EMAIL",
            "Checked in the page: required e-mail address missing",
            {**account, "email": ""},
            typed,
        ),
        at(
            "RES_INVALID_EMAIL",
            "Checked in the page: not an e-mail address",
            {**account, "email": "jsmith at example"},
        ),
        at("RES_EMPTY_FIELD_QUESTION", "Checked in the page: a question not chosen", account),
        at(
            "RES_IDENTICAL_QUESTIONS",
            "Checked in the page: the same question twice",
            {**full, "question": [picked[0], picked[1], picked[0]]},
        ),
        at(
            "RES_ANSWER_TOO_SHORT",
            "Checked in the page: an answer too short",
            {**full, "answer": ["Lisbon", "ok", "The Lion King"]},
        ),
    ]
    if not domains:
        states.insert(
            5,
            at(
                "RES_EMPTY_FIELD_DOMAIN",
                "Checked in the page: no domain",
                {"username": "jsmith", "domain": ""},
            ),
        )
    # The server's own checks of what the page checked already: named apart from the
    # page's states of the same message.
    rechecked: list[tuple[str, Params]] = [
        ("empty_field", {"field": "question", "1": "2"}),
        ("identical_questions", {"1": "1", "2": "3"}),
        ("answer_too_short", {"1": "2", "2": "3"}),
    ]
    for code, params in [*ACCOUNT_ERRORS, *rechecked, *SERVICE_ERRORS]:
        state = _server_error(code, params, "POST enroll", [full])
        name = f"server.{state.name}" if (code, params) in rechecked else state.name
        states.append(State(name, state.title, state.actions, state.replies, meta=meta))
    states += [
        State(
            "busy",
            "Waiting for the server",
            [full],
            {"POST enroll": [{"hold": True}]},
            meta=meta,
            settles=False,
        ),
        State(
            "RES_FINISHED_ENROLL",
            "Finished",
            [full],
            {"POST enroll": [done("RES_FINISHED_ENROLL")]},
            meta=meta,
        ),
    ]
    return states + factor_states(account, meta)


def no_questions_states(domains: Sequence[str], flows: Sequence[str]) -> list[State]:
    """Enroll on a site without security questions: the account fields open the session of
    the other factors at once (the form asks nothing else)."""
    meta = sample_meta(domains, flows, questions=False)
    account = _user(domains, password="Current-Secret-1")
    states = [
        State("start", "No security questions on this site: the account only", meta=meta),
        State("RES_EMPTY_FIELD_USERNAME", "Checked in the page: no username",
              [{"username": ""}], meta=meta),
        State("RES_EMPTY_FIELD_PASSWORD", "Checked in the page: no password",
              [_user(domains)], meta=meta),
    ]  # fmt: skip
    return states + factor_states(account, meta)


# A made-up authenticator key and the recovery codes a session shows.
SAMPLE_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SAMPLE_CODES = [
    "K7M2P-9QX4T", "3HWZR-M8D2C", "Q5YNV-7KJ3B", "P4TXE-W2R9M", "8GDHA-6ZQ1N",
    "V9CK2-T4MXS", "R2B7J-YN5QE", "6WFAD-3PM8H", "T1XQG-J7VZ4", "ZC5NE-K9W2R",
]  # fmt: skip


def factor_states(account: dict[str, Any], meta: dict[str, Any]) -> list[State]:
    """The enroll page's other factors, in an enroll session the account fields open."""
    offer = meta["factors"]["offer"]
    opened: dict[str, Any] = {"enroll": "gallery", "has": [], "needs": [], "offer": offer}
    session = {"status": 200, "body": opened}
    # A policy that needs an authenticator app (and, with questions, the questions too).
    needed = ["questions", "totp"] if "questions" in offer else ["totp"]
    needy = {"status": 200, "body": {**opened, "needs": needed}}
    having = {"status": 200, "body": {**opened, "has": ["totp", "recovery_code"]}}
    drop = {"@click": "[data-pw-totp-remove]"}
    dropped = {"status": 200, "body": {"factors": ["recovery_code"], "needs": []}}
    uri = f"otpauth://totp/HR:{USER['username']}@{USER['domain']}?secret={SAMPLE_KEY}&issuer=HR"
    qr = ["".join("1" if dark else "0" for dark in row) for row in segno.make_qr(uri).matrix]
    key = " ".join(SAMPLE_KEY[i : i + 4] for i in range(0, len(SAMPLE_KEY), 4))
    begun = {"status": 200, "body": {"pending": "gallery-pending", "secret": key, "uri": uri,
                                     "qr": qr, "period": 30, "digits": 6}}  # fmt: skip
    added = {"status": 200, "body": {"factors": ["totp"]}}
    made = {"status": 200, "body": {"codes": SAMPLE_CODES, "factors": ["recovery_code"]}}
    open_ = {**account, "@click": "[data-pw-factors-start]"}
    begin = {"@click": "[data-pw-totp-begin]"}
    confirm = {"@form": "[data-pw-totp-form]", "code": "483920"}
    generate = {"@click": "[data-pw-codes-generate]"}
    drop_codes = {"@click": "[data-pw-codes-remove]"}
    codes_dropped = {"status": 200, "body": {"factors": ["totp"], "needs": []}}
    start, factor = "POST enroll/start", "POST enroll/factor"

    # An opened session first lists the user's passkeys (passkeys.js).
    listed = {"status": 200, "body": {"passkeys": [], "factors": []}}
    two = {"status": 200, "body": {"passkeys": SAMPLE_PASSKEYS, "factors": ["passkey"]}}
    one = {"status": 200, "body": {"passkeys": SAMPLE_PASSKEYS[1:], "factors": ["passkey"]}}
    remove = {"@click": "[data-pw-passkey-remove]"}
    rename = {"@click": "[data-pw-passkey-rename]"}
    new_name = {"@form": "[data-pw-passkey-rename-form]", "name": "Work phone"}
    renamed = {
        "status": 200,
        "body": {
            "passkeys": [{**SAMPLE_PASSKEYS[0], "name": "Work phone"}, *SAMPLE_PASSKEYS[1:]],
            "factors": ["passkey"],
        },
    }

    def at(
        name: str,
        title: str,
        actions: list[dict[str, Any]],
        replies: list[Reply],
        passkeys: Reply = listed,
        opened: Reply = session,
    ) -> State:
        steps = {start: [opened], factor: [passkeys, *replies]}
        return State(name, title, actions, steps, meta=meta)

    left = [kind for kind in needed if kind != "totp"]
    set_up = {"status": 200, "body": {"factors": ["totp"], "needs": left}}

    return [
        at("factors", "More ways: the enroll session opened", [open_], []),
        at("totp", "An authenticator app: the QR code and the key", [open_, begin], [begun]),
        at(
            "totp.RES_WRONG_CODE",
            "The code typed to confirm the app is wrong",
            [open_, begin, confirm],
            [begun, problem("wrong_code")],
        ),
        at("RES_TOTP_ENROLLED", "The app is set up", [open_, begin, confirm], [begun, added]),
        at(
            "needs",
            "The policy needs an authenticator app: marked, and said",
            [open_],
            [],
            opened=needy,
        ),
        at(
            "totp.has",
            "A user who has an app: replace it, or remove it",
            [open_],
            [],
            opened=having,
        ),
        at("ENROLL_TOTP_REMOVED", "The app removed", [open_, drop], [dropped], opened=having),
        at(
            "needs.set_up",
            "The needed app set up: its mark gone, the status line updated",
            [open_, begin, confirm],
            [begun, set_up],
            opened=needy,
        ),
        at("recovery_codes", "Ten recovery codes, shown once", [open_, generate], [made]),
        at(
            "ENROLL_RECOVERY_CODES_REMOVED",
            "The recovery codes removed",
            [open_, drop_codes],
            [codes_dropped],
            opened=having,
        ),
        at("passkeys", "Passkeys: the two a user has, and a new one to add", [open_], [], two),
        # The browser's own dialog opens on "Add a passkey": the gallery shows the list only.
        at("RES_PASSKEY_REMOVED", "A passkey removed", [open_, remove], [one], two),
        at("passkey.rename", "A passkey's row as a form for a new name", [open_, rename], [], two),
        at("RES_PASSKEY_RENAMED", "A passkey renamed", [open_, rename, new_name], [renamed], two),
        State(
            "factors.RES_WRONG_PASSWORD",
            "More ways: the password is wrong",
            [open_],
            {start: [problem("wrong_password")]},
            meta=meta,
        ),
    ]


def stepwise_states(flow: str, domains: Sequence[str], questions: bool = True) -> list[State]:
    """Reset and unlock: account, questions one by one, code, then (reset) new password. A
    site without questions ([factors] questions = false) starts with the code, and has no
    question states."""
    start, next_ = f"POST {flow}/start", f"POST {flow}/step"
    user = _user(domains)
    q1 = step("question", index=1, total=3, prompt=SAMPLE_QUESTIONS["en"][0])
    q2 = step("question", index=2, total=3, prompt=SAMPLE_QUESTIONS["en"][1])
    code = step("code", destinations=["j***@ex*****.org", "*******0199"])
    passkey = step("passkey", options=SAMPLE_PASSKEY_OPTIONS)
    choose = step("choose", factors=[*(["questions"] if questions else []), "code", "totp"])
    password = step("password", policy=POLICY)
    answer, the_code = {"answer": "Lisbon"}, {"code": "483920"}
    new = {"new_password": "New-Secret-2024!", "confirm_password": "New-Secret-2024!"}
    finished = f"RES_FINISHED_{flow.upper()}"
    # The steps before the code, and what the user gives them: none without questions.
    ask, said = ([q1], [answer]) if questions else ([], [])
    # The first step and its answer, where a wrong one or a pause ends the flow.
    first, first_said = (q1, answer) if questions else (code, the_code)

    def visit(
        name: str, title: str, actions: list[dict[str, Any]], steps: list[Reply], **more: Any
    ) -> State:
        replies: dict[str, list[Reply]] = {start: steps[:1], next_: steps[1:]}
        return State(name, title, [user, *actions], replies, **more)

    states = [
        State("start", "Step A: the account"),
        State("RES_EMPTY_FIELD_USERNAME", "Checked in the page: no username", [{"username": ""}]),
    ]
    if questions:
        states += [
            visit("question", "A security question (1 of 3)", [], [q1]),
            visit("question-2", "The next question (2 of 3)", [answer], [q1, q2]),
            visit(
                "RES_EMPTY_FIELD_ANSWER", "Checked in the page: no answer", [{"answer": ""}], [q1]
            ),
            visit("RES_WRONG_ANSWER", "A wrong answer", [answer], [q1, problem("wrong_answer")]),
        ]
    states += [
        visit(
            "RES_LOCKED_OUT",
            f"Too many wrong {'answers' if questions else 'codes'}: self-service locked "
            "(advice to enroll again)",
            [first_said],
            [first, problem("locked_out")],
        ),
        visit(
            "RES_SESSION_EXPIRED",
            "Idle too long: start again",
            [first_said],
            [first, problem("session_expired")],
        ),
        visit("choose", "The choice of how to prove who you are ([factors])", [], [choose]),
        visit("choose.code", "A code chosen: sent", [{"factor": "code"}], [choose, code]),
        visit(
            "RES_FACTOR_NOT_OFFERED",
            "A kind the site does not offer",
            [{"factor": "totp"}],
            [choose, problem("factor_not_offered")],
        ),
        visit(
            "RES_POLICY_NOT_MET",
            "Proven, but not enough for this account (an admin group's two gates)",
            [first_said],
            [first, problem("policy_not_met")],
        ),
        visit(
            "RES_SELF_SERVICE_BLOCKED",
            "Self-service blocked from this address or at this time",
            [],
            [problem("self_service_blocked")],
        ),
        visit("code", "Verification code sent", said, [*ask, code]),
        # The browser's own dialog opens on the button: the gallery shows the step only.
        visit("passkey", "A passkey asked for", said, [*ask, passkey]),
        visit(
            "RES_EMPTY_FIELD_CODE",
            "Checked in the page: no code",
            [*said, {"code": ""}],
            [*ask, code],
        ),
        visit(
            "RES_WRONG_CODE",
            "A wrong code",
            [*said, the_code],
            [*ask, code, problem("wrong_code")],
        ),
        visit(
            "RES_CODE_EXPIRED",
            "The code expired: start again",
            [*said, the_code],
            [*ask, code, problem("code_expired")],
        ),
        visit(
            "RES_CODE_DEAD",
            "Too many wrong codes: start again",
            [*said, the_code],
            [*ask, code, problem("code_dead")],
        ),
        visit(
            "RES_RECOVERY_LIMIT",
            "Identity proved, but reset or unlocked as often as allowed lately",
            [*said, the_code],
            [*ask, code, problem("recovery_limit", {"retry_after": "43200"})],
        ),
    ]
    if questions:
        # A code sent after the questions; a code-only start sends it after its reply, so
        # it never answers this (docs/api.md).
        states.append(
            visit(
                "RES_CODE_NOT_SENT",
                "No code could be sent: contact the help desk",
                [answer],
                [q1, problem("code_not_sent")],
            )
        )
    # The other factors a policy may ask for, in place of the questions and the code.
    app, recovery_code = step("totp"), step("recovery_code")
    states += [
        visit("totp", "A code from the authenticator app", [], [app]),
        visit(
            "totp.RES_WRONG_CODE",
            "A wrong (or already used) authenticator app code",
            [{"code": "123456"}],
            [app, problem("wrong_code")],
        ),
        visit("recovery_code", "One of the recovery codes", [], [recovery_code]),
        visit(
            "recovery_code.RES_WRONG_CODE",
            "A wrong (or already used) recovery code",
            [{"code": "K7M2P-9QX4T"}],
            [recovery_code, problem("wrong_code")],
        ),
    ]
    last = [*said, the_code]
    if flow == "reset":
        states += [
            visit(
                "password",
                "Step D: the new password, under the password rules",
                last,
                [*ask, code, password],
            ),
            visit(
                "RES_EMPTY_FIELD_NEW_PASSWORD",
                "Checked in the page: no new password",
                [*last, {"new_password": ""}],
                [*ask, code, password],
            ),
            visit(
                "RES_PASSWORDS_DIFFER",
                "Checked in the page: the two new passwords differ",
                [*last, {**new, "confirm_password": "Something-else"}],
                [*ask, code, password],
            ),
        ]
        states += [
            visit(
                f"password.{message_of(error)}",
                f"The directory refused the new password: {message_of(error)}",
                [*last, new],
                [*ask, code, password, problem(error, params)],
            )
            for error, params in POLICY_ERRORS
        ]
        last = [*last, new]
        flow_end = [*ask, code, password, done(finished)]
    else:
        states.append(
            visit(
                "code.RES_DIRECTORY_REFUSED",
                "The directory refused to unlock the account",
                last,
                [*ask, code, problem("directory_refused")],
            )
        )
        flow_end = [*ask, code, done(finished)]
    states += [_server_error(error, params, start, [user]) for error, params in SERVICE_ERRORS]
    states += [
        visit(
            "busy", "Waiting for the server", [first_said], [first, {"hold": True}], settles=False
        ),
        visit(finished, "Finished", last, flow_end),
    ]
    return states


def menu_states() -> list[State]:
    return [State("start", "The menu")]


def error_states() -> list[State]:
    return [
        State("start", "A critical error, without details"),
        State(
            "RES_UNKNOWN_SITE",
            "The relay does not know this site",
            query={"message": "RES_UNKNOWN_SITE"},
        ),
        State(
            "RES_FLOW_DISABLED",
            "The flow is switched off on the server",
            query={"message": "RES_FLOW_DISABLED"},
        ),
    ]


def page_states(
    page: str, domains: Sequence[str], flows: Sequence[str], questions: bool = True
) -> list[State]:
    """The states of `page` on a site with these domains and flows, and with security
    questions or without ([factors] questions = false)."""
    if page == "change":
        # The change form shows the password rules from GET meta.
        meta = sample_meta(domains, flows)
        return [replace(state, meta=meta) for state in change_states(domains)]
    if page == "enroll":
        return enroll_states(domains, flows, questions)
    if page in ("reset", "unlock"):
        return stepwise_states(page, domains, questions)
    if page == "error":
        return error_states()
    return menu_states()


def _server_error(code: str, params: Params, endpoint: str, actions: list[dict[str, Any]]) -> State:
    name = message_of(code, params)
    if code == NETWORK_FAILURE:
        reply: Reply = {"network": True}
        title = "The request did not reach the service"
    else:
        reply = problem(code, params)
        shown = [value for key, value in params.items() if key != "field"]
        title = f"The server replied {name}" + (f" ({', '.join(shown)})" if shown else "")
    return State(name, title, actions, {endpoint: [reply]})
