"""The passkey factor at the server's level, with a software authenticator: registration,
the reset ceremony's checks (single-use challenges bound to the flow, the user's own
credential and user handle, the signature counter) and decoys that fail the same way."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pwreset.config.loader import parse_config
from pwreset.protocol.messages import Request
from pwreset.server.flows.codes import SendLimits
from pwreset.server.flows.context import FlowContext, factor_key
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors import passkeys, policy
from pwreset.server.flows.factors.base import EnrollStep
from pwreset.server.flows.lockout import AnswerPrints, DecoyStrikes
from pwreset.server.flows.questions import Decoys
from pwreset.server.flows.tokens import FlowState, TokenSealer, new_flow_id
from pwreset.server.notify import Notifier
from pwreset.server.storage import UserRecord
from pwreset.server.storage.database import Database

from support.authenticator import SoftAuthenticator, b64, unb64

ORIGIN = "https://pw.example.org"
KEY = bytes(range(32))


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[FlowContext]:
    config = parse_config(
        {"sites": {"hr": {"passkey_rp_id": "example.org", "passkey_origins": [ORIGIN]}}},
        tmp_path / "pwreset.toml",
    )
    db = Database.open(tmp_path / "data", data_key=KEY)
    notifier = Notifier(email=config.email, code_mail=config.code_mail, alerts={},
                        verification=config.verification)  # fmt: skip
    context = FlowContext(
        config=config, directories={}, db=db, notifier=notifier, tokens=TokenSealer(KEY),
        decoys=Decoys(KEY), limits=SendLimits(KEY),
        decoy_strikes=DecoyStrikes(db.strikes, KEY, config.security, lambda: 1000.0),
        answer_prints=AnswerPrints(KEY), factor_key=factor_key(KEY), clock=lambda: 1000.0,
    )  # fmt: skip
    try:
        yield context
    finally:
        context.close()


class _Directory:
    name = "LAB"

    def find_user(self, name: str) -> None:
        return None


def enroll_step(ctx: FlowContext, username: str, **body: Any) -> EnrollStep:
    request = Request(op="enroll.factor", vdir="hr", client_ip="192.0.2.1", body=body)
    return EnrollStep(ctx, request, "enroll", "LAB", username, "en", _Directory(), 1000.0)  # type: ignore[arg-type]


def register(ctx: FlowContext, username: str, authenticator: SoftAuthenticator,
             name: str = "") -> dict[str, Any]:  # fmt: skip
    options = passkeys.begin(enroll_step(ctx, username))["options"]
    credential = authenticator.create(options)
    return dict(passkeys.finish(enroll_step(ctx, username, credential=credential, name=name)))


@dataclass
class FakeRecovery:
    """What the factor uses of recovery.Recovery."""

    ctx: FlowContext
    state: FlowState
    now: float = 1000.0
    body: dict[str, Any] = field(default_factory=dict)
    counted: list[str] = field(default_factory=list)
    decoy: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)

    @property
    def request(self) -> Request:
        return Request(op="reset.step", vdir="hr", client_ip="192.0.2.1", body=self.body)

    def count_failure(self, record: UserRecord, what: str) -> None:
        self.counted.append(what)

    def decoy_failure(self, what: str) -> None:
        self.decoy.append(what)

    def decoy_check(self, *, counted: bool) -> None:
        pass

    def succeeded(self, what: str) -> None:
        self.audit.append(what)


def recovery(ctx: FlowContext, username: str) -> FakeRecovery:
    state = FlowState(kind="reset", site="hr", domain="LAB", username=username,
                      mode="questions", step="passkey", index=0, total=0, lang="en",
                      flow_id=new_flow_id(), started=1000.0, touched=1000.0)  # fmt: skip
    return FakeRecovery(ctx, state)


def record_of(ctx: FlowContext, username: str) -> UserRecord | None:
    return ctx.db.users.get("LAB", username)


def use(ctx: FlowContext, flow: FakeRecovery, credential: dict[str, Any]) -> None:
    flow.body = {"flow": "token", "credential": credential}
    with ctx.db.users.locked("LAB", flow.state.username):
        passkeys.FACTOR.check(flow, record_of(ctx, flow.state.username))  # type: ignore[arg-type]


def options(ctx: FlowContext, flow: FakeRecovery) -> dict[str, Any]:
    step = passkeys.FACTOR.ask(flow, record_of(ctx, flow.state.username))  # type: ignore[arg-type]
    return dict(step["options"])


def test_a_user_registers_passkeys_lists_and_removes_one(ctx: FlowContext) -> None:
    phone, key = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    begun = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    assert begun["rp"] == {"id": "example.org", "name": "Password self-service"}
    assert begun["authenticatorSelection"]["residentKey"] == "required"
    assert begun["authenticatorSelection"]["userVerification"] == "required"
    assert begun["user"]["name"] == "jane" and begun["user"]["id"] != "jane"
    first = register(ctx, "jane", phone, "Phone")
    second = register(ctx, "jane", key)
    assert [p["name"] for p in second["passkeys"]] == ["Phone", "Passkey 2"]
    record = record_of(ctx, "jane")
    assert record is not None and passkeys.FACTOR.has(record)
    # The second registration excludes the first passkey and keeps the user's handle.
    again = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    assert [c["id"] for c in again["excludeCredentials"]] == [
        p["id"] for p in second["passkeys"]]  # fmt: skip
    assert again["user"]["id"] == (record.enrollment or {})["passkey_user"]
    removed = passkeys.remove(enroll_step(ctx, "jane", credential_id=first["passkeys"][0]["id"]))
    assert [p["name"] for p in removed["passkeys"]] == ["Passkey 2"]
    with pytest.raises(FlowError) as refused:
        passkeys.remove(enroll_step(ctx, "jane", credential_id=first["passkeys"][0]["id"]))
    assert refused.value.code == "passkey_unknown"
    # The removed passkey no longer resets; the other one does.
    flow = recovery(ctx, "jane")
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, phone.get(options(ctx, flow)))
    assert flow.counted == ["passkey refused: not one of the user's passkeys"]
    flow = recovery(ctx, "jane")
    use(ctx, flow, key.get(options(ctx, flow)))
    assert flow.audit == ["passkey 'Passkey 2' used"]
    # The last one removed, with nothing else enrolled (an app, say, removed before it,
    # which leaves the enrollment's version mark): not enrolled any more.
    with ctx.db.users.locked("LAB", "jane"):
        marked = record_of(ctx, "jane")
        assert marked is not None
        marked.enrollment = {**(marked.enrollment or {}), "v": 1}
        ctx.db.users.save(marked)
    passkeys.remove(enroll_step(ctx, "jane", credential_id=second["passkeys"][1]["id"]))
    record = record_of(ctx, "jane")
    assert record is not None and record.enrollment is None and record.factors == ()


def test_registration_needs_its_own_fresh_challenge_and_user_verification(
    ctx: FlowContext,
) -> None:
    authenticator = SoftAuthenticator(ORIGIN)
    options = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    credential = authenticator.create(options)
    # Another user's session cannot finish it, nor spend it for its own.
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(enroll_step(ctx, "mallory", credential=credential))
    passkeys.finish(enroll_step(ctx, "jane", credential=credential))
    # Its own only once.
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(enroll_step(ctx, "jane", credential=credential))
    spent = "passkey not added: its challenge was not issued to this user, has expired or was"
    assert [e.event for e in ctx.db.audit.query()][-1].startswith(spent)
    # A challenge older than the ceremony's time is refused too.
    options = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    late = enroll_step(ctx, "jane", credential=authenticator.create(options))
    late.now += passkeys.CHALLENGE_TTL + 30
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(late)
    unverified = SoftAuthenticator(ORIGIN, verified=False)
    options = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(enroll_step(ctx, "jane", credential=unverified.create(options)))
    elsewhere = SoftAuthenticator("https://evil.example.net")
    options = passkeys.begin(enroll_step(ctx, "jane"))["options"]
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(enroll_step(ctx, "jane", credential=elsewhere.create(options)))
    assert len(passkeys.stored(record_of(ctx, "jane"))) == 1


def test_a_challenge_is_used_once_and_only_by_its_flow(ctx: FlowContext) -> None:
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    flow = recovery(ctx, "jane")
    answer = authenticator.get(options(ctx, flow))
    use(ctx, flow, copy.deepcopy(answer))
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, answer)  # replayed
    other = recovery(ctx, "jane")
    stolen = authenticator.get(options(ctx, flow))
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, other, stolen)  # answered another flow's challenge
    why = (
        "passkey refused: its challenge was not issued for this flow, has expired or was "
        "used before"
    )
    assert flow.counted == [why] and other.counted == [why]
    late = recovery(ctx, "jane")
    answer = authenticator.get(options(ctx, late))
    late.now += passkeys.CHALLENGE_TTL + 30
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, late, answer)


def test_asking_for_options_stores_nothing(ctx: FlowContext) -> None:
    """The passkey step, which no lockout counts, asked again and again for any name cannot
    grow the store: a challenge carries its own proof, and only an answer to a genuine one
    is written down (as spent). A challenge altered by a byte is no one's."""
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    before = len(ctx.db.keyed)
    for name in ("jane", "nobody"):
        for _ in range(50):
            options(ctx, recovery(ctx, name))
    assert len(ctx.db.keyed) == before
    flow = recovery(ctx, "jane")
    altered = options(ctx, flow)
    challenge = bytearray(unb64(altered["challenge"]))
    challenge[0] ^= 1
    altered["challenge"] = b64(bytes(challenge))
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, authenticator.get(altered))
    altered["challenge"] = b64(bytes(challenge[:30]))  # cut short
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, authenticator.get(altered))
    # Issued by a clock further ahead of this one's than another server's may be: not taken.
    ahead = options(ctx, flow)
    flow.now -= passkeys.CLOCK_SKEW + 1
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, authenticator.get(ahead))
    flow.now += passkeys.CLOCK_SKEW + 1
    assert len(ctx.db.keyed) == before
    use(ctx, flow, authenticator.get(options(ctx, flow)))
    assert flow.audit == ["passkey 'Passkey 1' used"]
    assert len(ctx.db.keyed) == before + 1


def test_spent_challenges_are_swept_once_stale(ctx: FlowContext) -> None:
    """Answers write one mark each; a sweep beside the requests removes the marks of
    challenges too old to be accepted anyway, so a flood of answers over days holds only
    the last minutes' marks."""
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    ctx.passkey_sweep.settle()
    before = len(ctx.db.keyed)
    for _ in range(3):
        flow = recovery(ctx, "nobody")
        with pytest.raises(FlowError, match="passkey_refused"):
            use(ctx, flow, authenticator.get(options(ctx, flow)))
    ctx.passkey_sweep.settle()
    assert len(ctx.db.keyed) == before + 3
    lifetime = passkeys.CHALLENGE_TTL  # how long a challenge is accepted
    later = recovery(ctx, "jane")
    later.now += lifetime + 120
    # Answered as long ago as a challenge still accepted at `later.now` can be.
    edge = recovery(ctx, "jane")
    edge.now = later.now - lifetime
    answer = authenticator.get(options(ctx, edge))
    use(ctx, edge, copy.deepcopy(answer))
    use(ctx, later, authenticator.get(options(ctx, later)))
    ctx.passkey_sweep.settle()
    # The stale marks (the three and the registration's) went; the others stay.
    marks = sorted(doc["touched"] for _, doc in ctx.db.keyed.items(""))
    assert marks == [edge.now, later.now]
    # So the answer of the oldest challenge still accepted cannot be replayed.
    edge.now = later.now
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, edge, answer)
    assert edge.counted[-1].startswith("passkey refused: its challenge was not issued")


def test_a_cloned_authenticator_is_refused_and_audited(ctx: FlowContext) -> None:
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    for _ in range(3):
        flow = recovery(ctx, "jane")
        use(ctx, flow, authenticator.get(options(ctx, flow)))
    stored = passkeys.stored(record_of(ctx, "jane"))
    assert stored[0]["sign_count"] == 3
    authenticator.credentials[0].sign_count = 1  # a copy made after the first use
    flow = recovery(ctx, "jane")
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, flow, authenticator.get(options(ctx, flow)))
    assert flow.counted == ["passkey 'Passkey 1' refused: its signature counter went back "
                            "(2 after 3): a cloned authenticator?"]  # fmt: skip


def test_someone_elses_passkey_or_user_handle_is_refused(ctx: FlowContext) -> None:
    jane, john = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    register(ctx, "jane", jane)
    register(ctx, "john", john)
    flow = recovery(ctx, "jane")
    with pytest.raises(FlowError, match="passkey_refused") as refused:
        use(ctx, flow, john.get(options(ctx, flow)))
    # The refusal carries a new challenge for this flow: Jane's own passkey then works.
    use(ctx, flow, jane.get(json.loads(refused.value.params["options"])))
    assert flow.audit == ["passkey 'Passkey 1' used"]
    # John's key under Jane's handle cannot pass either: the signature is John's.
    forged = recovery(ctx, "jane")
    answer = jane.get(options(ctx, forged))
    answer["response"]["userHandle"] = john.get(options(ctx, recovery(ctx, "john")))[
        "response"]["userHandle"]  # fmt: skip
    with pytest.raises(FlowError, match="passkey_refused"):
        use(ctx, forged, answer)
    assert forged.counted == ["passkey refused: its user handle is not the user's"]


def test_decoys_get_the_same_options_and_fail_the_same_way(ctx: FlowContext) -> None:
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    ctx.db.users.save(UserRecord(domain="LAB", username="quiz", enrollment={"questions": []}))
    shapes = {}
    for name in ("jane", "quiz", "nobody"):
        flow = recovery(ctx, name)
        given = options(ctx, flow)
        shapes[name] = {k: v for k, v in given.items() if k != "challenge"}
        assert given["allowCredentials"] == []
        if name != "jane":
            with pytest.raises(FlowError) as refused:
                use(ctx, flow, authenticator.get(given))
            assert refused.value.code == "passkey_refused"
            # A name without a record counts as a decoy; an enrolled user in their record.
            counted = flow.counted if name == "quiz" else flow.decoy
            assert counted == ["passkey refused: no passkey enrolled"]
    assert shapes["jane"] == shapes["quiz"] == shapes["nobody"]


def test_a_malformed_credential_is_a_refusal(ctx: FlowContext) -> None:
    register(ctx, "jane", SoftAuthenticator(ORIGIN))
    for credential in ({}, {"id": "x", "response": {"clientDataJSON": "%%"}},
                       {"id": 1, "response": []}):  # fmt: skip
        flow = recovery(ctx, "jane")
        options(ctx, flow)
        with pytest.raises(FlowError, match="passkey_refused"):
            use(ctx, flow, credential)
    with pytest.raises(FlowError, match="field_too_long"):
        use(ctx, recovery(ctx, "jane"), {"id": "x" * 17000})


def test_the_daily_purge_keeps_a_fresh_challenge(ctx: FlowContext) -> None:
    authenticator = SoftAuthenticator(ORIGIN)
    register(ctx, "jane", authenticator)
    flow = recovery(ctx, "jane")
    answer = authenticator.get(options(ctx, flow))
    assert ctx.db.keyed.expire(flow.now - 60) == 0  # what the runner's purge removes
    use(ctx, flow, answer)
    assert flow.audit == ["passkey 'Passkey 1' used"]


def test_two_first_passkeys_begun_at_once_keep_one_user_handle(ctx: FlowContext) -> None:
    """Each begin of a first passkey names a new user handle; once one is finished, the
    other (made for another handle, which the user would never be found by) is refused."""
    first, second = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    begun = [passkeys.begin(enroll_step(ctx, "jane"))["options"] for _ in range(2)]
    assert begun[0]["user"]["id"] != begun[1]["user"]["id"]
    made = [first.create(begun[0]), second.create(begun[1])]
    passkeys.finish(enroll_step(ctx, "jane", credential=made[0]))
    with pytest.raises(FlowError, match="passkey_invalid"):
        passkeys.finish(enroll_step(ctx, "jane", credential=made[1]))
    flow = recovery(ctx, "jane")
    use(ctx, flow, first.get(options(ctx, flow)))
    assert flow.audit == ["passkey 'Passkey 1' used"]


def test_a_site_offers_passkeys_only_with_a_relying_party(tmp_path: Path) -> None:
    settings = {"factors": {"threshold": 3}}
    sites = {"hr": {"passkey_rp_id": "example.org", "passkey_origins": [ORIGIN]}, "it": {}}
    config = parse_config({**settings, "sites": sites}, tmp_path / "pwreset.toml")
    assert "passkey" in policy.site_policy(config, "hr", "enrolled").offer
    assert "passkey" not in policy.site_policy(config, "it", "enrolled").offer
