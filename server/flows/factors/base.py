"""The factor interface: every kind of proof a reset or unlock can ask for, and the enroll
step its enroll actions get."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pwreset.config.factor_settings import KINDS
from pwreset.server.directory.base import Directory
from pwreset.server.flows.context import Outcome, Step
from pwreset.server.storage import UserRecord

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery

__all__ = ["KINDS", "EnrollStep", "Factor", "NothingToAsk"]  # KINDS: the config's, one source


class Factor(Protocol):
    kind: ClassVar[str]

    def has(self, record: UserRecord) -> bool:
        """Whether the user of `record` enrolled this kind."""
        ...

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        """The reply step asking for this factor, e.g. {"kind": "totp"} or
        {"kind": "passkey", "options": {...}}. record None or not has(): a decoy, whose reply
        must be indistinguishable (same keys, same shape, same work)."""
        ...

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        """Called under the user's lock with the step's body. None: the factor is proven.
        A mapping: the next step of the same factor (questions asks several). A wrong try:
        count it (recovery.count_failure(...) / decoy count), audit, raise FlowError with
        the factor's code. Decoys (record None or not has()) always fail the same way."""
        ...


@dataclass
class EnrollStep(Step):
    """One `enroll.factor` request: the enroll session's user (password proven when the
    session started) in `directory`, and the request's body (`request.body`). An action
    reads the record under `locked()` and stores it with `save()`."""

    directory: Directory
    now: float

    @contextlib.contextmanager
    def locked(self) -> Iterator[UserRecord]:
        """The user's record (a new one if there is none), under the user's lock."""
        users = self.ctx.db.users
        with users.locked(self.domain, self.username):
            yield users.get(self.domain, self.username) or UserRecord(
                domain=self.domain, username=self.username
            )

    def factors_changed(self) -> None:
        """Tell the user that a factor was added, replaced or removed (the `factor_change`
        alert): someone who knows the password must not add their own way in unnoticed."""
        self.alert("factor_change", Outcome.SUCCESS, self.addressee(self.directory, self.username))

    def remove(self, kind: str, audited: str) -> Mapping[str, Any]:
        """The `<kind>.remove` action of a factor kept whole in the enrollment under `kind`:
        it stops being one of the user's (audited as `audited`, alerted); the kinds left."""
        with self.locked() as record:
            held = (record.enrollment or {}).pop(kind, None)
            if held is not None:
                self.save(record)
        if held is not None:
            self.succeeded(audited)
            self.factors_changed()
        return {"factors": list(record.factors)}

    def save(self, record: UserRecord) -> None:
        """Store `record` with its `factors` brought up to date (hold `locked()`)."""
        # Imported here: the registry imports every factor module, and they import this one.
        from pwreset.server.flows.factors.registry import refresh_kinds

        if record.enrollment is not None and set(record.enrollment) <= {"v"}:
            record.enrollment = None  # its last factor removed: not enrolled any more
        refresh_kinds(record)
        # Never back: an action that began before another one's save ends after it.
        record.last_enroll = max(record.last_enroll or 0.0, self.now)
        self.ctx.db.users.save(record)


class NothingToAsk(Exception):  # noqa: N818 - a turn of the flow, not an error
    """Raised by `Factor.ask` when the factor counts as proven without a step (a code that
    could not be sent, where the admin lets the flow go on without one): `why` is audited."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
