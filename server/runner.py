"""Starting the backend from a loaded configuration: keys, directories, the UDP socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.schema import Config, parse_address
from pwreset.config.secrets import database_password
from pwreset.protocol.keys import Keyring, read_private_key, read_secret_key
from pwreset.server.directory import Directory, open_directory
from pwreset.server.endpoint import open_endpoint
from pwreset.server.enrollment_drive import EnrollmentDrive
from pwreset.server.expiry_notices import NoticeRound, next_round
from pwreset.server.flows import pending
from pwreset.server.flows.admin import admin_key
from pwreset.server.flows.codes import SendLimits
from pwreset.server.flows.context import FlowContext, factor_key
from pwreset.server.flows.lockout import AnswerPrints, DecoyStrikes
from pwreset.server.flows.questions import Decoys
from pwreset.server.flows.tokens import TokenSealer
from pwreset.server.notify import Notifier, NotifyError
from pwreset.server.passwords import BreachedFileError, BreachedList
from pwreset.server.reports import ReportMail, Reports, next_report_round
from pwreset.server.service import Flows, ResetService
from pwreset.server.siem import AuditExport, ExportingStore
from pwreset.server.siem.destinations import DestinationError
from pwreset.server.storage import Database, StorageError
from pwreset.server.storage.purge import purge_missing
from pwreset.server.storage.replay_journal import REPLAY_DIR, ReplayJournal
from pwreset.server.storage.store import AuditTrail, RequestJournal, Store

log = logging.getLogger("pwreset.server")


_NO_RELAY_KEY = (
    "not set, so anyone who can reach the server's UDP port and read its public key "
    'would be served; set relay_key_file = "keys/relay.key" here and in [web] (an '
    "instance made before relay keys gets one with `pwreset init --relay-key DIR`), or "
    "accept that risk with allow_unauthenticated_relays = true"
)


def prepare(
    config: Config, *, clock: Callable[[], float] = time.time
) -> tuple[Flows, Keyring, bytes | None]:
    """Everything the service needs, with every configuration problem reported at once.

    The database is opened last (it takes the data folder's owner lock), and only when
    everything else is in order."""
    file = config.source or config.base_dir / "pwreset.toml"
    problems: list[Problem] = []
    if not config.domains:
        problems.append(Problem(file, "domains", "configure at least one [[domains]] entry"))
    directories: dict[str, Directory] = {}
    for index in range(len(config.domains)):
        try:
            directory = open_directory(config, index)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        directories[directory.name] = directory
        # Read once here, so no page's `meta` waits for it (see Directory.password_rules).
        directory.password_rules()
    keys = []
    for index, path in enumerate(config.server.private_keys):
        try:
            keys.append(read_private_key(config.path(path)))
        except ValueError as exc:
            problems.append(Problem(file, f"server.private_keys[{index}]", str(exc)))
    relay_key = None
    if config.server.relay_key_file:
        try:
            relay_key = read_secret_key(config.path(config.server.relay_key_file))
        except ValueError as exc:
            problems.append(Problem(file, "server.relay_key_file", str(exc)))
    elif not config.server.allow_unauthenticated_relays:
        problems.append(Problem(file, "server.relay_key_file", _NO_RELAY_KEY))
    data_key = b""
    try:
        data_key = read_secret_key(config.path(config.server.data_key_file))
    except ValueError as exc:
        problems.append(Problem(file, "server.data_key_file", str(exc)))
    breached = None
    breached_file = config.password_policy.breached_file
    if breached_file is not None:
        try:
            breached = BreachedList(config.path(breached_file))
        except BreachedFileError as exc:
            problems.append(Problem(file, "password_policy.breached_file", str(exc)))
    export = None
    try:
        export = _audit_export(config)
    except ConfigError as exc:
        problems += exc.problems

    def close_early() -> None:
        if breached is not None:
            breached.close()
        if export is not None:
            export.close()

    if problems:
        close_early()
        raise ConfigError(problems)
    try:
        opened = open_store(config, data_key)
    except (StorageError, ConfigError) as exc:
        close_early()
        if isinstance(exc, ConfigError):
            raise
        key = "storage.dsn" if config.storage.backend == "postgresql" else "server.data_dir"
        raise ConfigError([Problem(file, key, str(exc))]) from None
    if isinstance(opened, Database):
        _warn_if_open(config.path(config.server.data_dir))
    # Rows restored below are exported too; closing the store closes the export.
    db: Store = opened if export is None else ExportingStore(opened, export)
    if db.unclean_stop:
        try:
            # Directory writes cut short first: they may add records the next step checks.
            pending.settle(db, directories)
            pending.restore_missing_audit(db)
        except (StorageError, OSError):
            # The flows can run without: the operator sees why in the log.
            log.exception("audit rows lost in the unclean stop could not be restored")
    try:
        notifier = Notifier.from_config(config)
    except NotifyError as exc:
        db.close()
        if breached is not None:
            breached.close()
        raise ConfigError([Problem(file, "email", str(exc))]) from None
    context = FlowContext(
        config=config,
        directories=directories,
        db=db,
        notifier=notifier,
        tokens=TokenSealer(data_key),
        decoys=Decoys(data_key),
        limits=SendLimits(data_key),
        decoy_strikes=DecoyStrikes(db.strikes, data_key, config.security, clock),
        answer_prints=AnswerPrints(data_key),
        factor_key=factor_key(data_key),
        clock=clock,
        admin_key=admin_key(data_key),
        breached=breached,
    )
    return Flows(context), Keyring(keys), relay_key


def open_store(config: Config, data_key: bytes) -> Store:
    """The store `storage.backend` names: the embedded one in server.data_dir (taking its
    owner lock), or PostgreSQL at storage.dsn."""
    if config.storage.backend == "postgresql":
        from pwreset.server.storage.postgres import PostgresStore

        assert config.storage.dsn is not None  # the schema requires it with this backend
        store = PostgresStore.open(
            config.storage.dsn,
            password=database_password(config),
            data_key=data_key,
            audit_retention_days=config.storage.audit_retention_days,
            workers=config.server.workers,
        )
        log.info("store: PostgreSQL at %s", store.connections.shown)
        return store
    return Database.open(
        config.path(config.server.data_dir),
        data_key=data_key,
        audit_retention_days=config.storage.audit_retention_days,
        compact_min_records=config.storage.compact_min_records,
    )


def open_exporting_store(config: Config, data_key: bytes) -> Store:
    """`open_store`, whose audit rows also go to the `[siem]` destinations: for the commands
    that write audit rows beside (or without) a server, such as `pwreset notices`."""
    export = _audit_export(config)
    try:
        store = open_store(config, data_key)
    except BaseException:
        if export is not None:
            export.close()
        raise
    return store if export is None else ExportingStore(store, export)


def _audit_export(config: Config) -> AuditExport | None:
    """The `[siem]` export, or None; ConfigError naming each destination's problem."""
    try:
        return AuditExport.configured(config.siem, config.path)
    except DestinationError as exc:
        file = config.source or config.base_dir / "pwreset.toml"
        raise ConfigError(
            [Problem(file, f"siem.{key}", reason) for key, reason in exc.problems]
        ) from None


async def serve(
    config: Config,
    *,
    ready: asyncio.Event | None = None,
    handle_signals: bool = True,
    clock: Callable[[], float] = time.time,
) -> None:
    """Run until cancelled, or until SIGINT/SIGTERM when `handle_signals`. `clock` is the
    flows' notion of now (tests move it to expire codes and sessions)."""
    flows, keyring, relay_key = prepare(config, clock=clock)
    try:
        journal = _open_journal(config, flows.context.db)
    except BaseException:
        flows.context.close()
        raise
    host, port = parse_address(config.server.listen)
    loop = asyncio.get_running_loop()
    service = ResetService(
        flows,
        keyring,
        relay_key=relay_key,
        allow_unauthenticated=config.server.allow_unauthenticated_relays,
        journal=journal,
        clock_skew=config.server.clock_skew,
        max_datagram=config.server.max_datagram,
        workers=config.server.workers,
    )
    try:
        endpoint = await open_endpoint(service, host, port)
    except BaseException:
        await service.drain()
        flows.context.close()
        raise
    if config.server.allow_unauthenticated_relays:
        log.warning(
            "relays are not authenticated (server.allow_unauthenticated_relays = true): "
            "anyone who can reach udp %s:%d and read the public key is served; the client "
            "address and web user of such requests are not believed and not audited",
            host,
            port,
        )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    log.info(
        "pwreset server listening on udp %s:%d for %d domain(s)", host, port, len(config.domains)
    )
    if ready is not None:
        ready.set()
    housekeeping = [loop.create_task(_daily_purge(flows, config))]
    if config.expiry_notices.enabled:
        hour = config.expiry_notices.hour
        notices = _daily_messages(flows, hour, NoticeRound, "the password expiry notices")
        housekeeping.append(loop.create_task(notices))
    if config.report_mail.enabled:
        housekeeping.append(loop.create_task(_daily_reports(flows, config)))
    if config.enrollment_drive.enabled:
        hour = config.enrollment_drive.hour
        drive = _daily_messages(flows, hour, EnrollmentDrive, "the enrollment reminders")
        housekeeping.append(loop.create_task(drive))
    try:
        await stop.wait()
    finally:
        for task in housekeeping:
            task.cancel()
        # Requests in flight are answered before the socket closes (issue 9).
        await service.drain()
        endpoint.close()
        flows.context.close()
        log.info("pwreset server stopped")


def _warn_if_open(data_dir: Path) -> None:
    """New data folders are 0700; one made by an older `init` may still be 0755."""
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "the data folder %s is open to group or others (mode %04o); run: chmod 700 %s",
            data_dir,
            mode,
            shlex.quote(str(data_dir)),
        )


def _open_journal(config: Config, db: Store) -> RequestJournal:
    """The replay journal: in the data folder (whose owner lock the database holds), or in
    PostgreSQL, where every server sharing the database sees it."""
    if isinstance(db, ExportingStore):
        db = db.stored
    if not isinstance(db, Database):
        from pwreset.server.storage.postgres import PostgresStore
        from pwreset.server.storage.postgres.replay import PostgresReplayJournal

        assert isinstance(db, PostgresStore)
        return PostgresReplayJournal(db.connections, float(config.server.clock_skew))
    directory = config.path(config.server.data_dir) / REPLAY_DIR
    try:
        return ReplayJournal(directory, float(config.server.clock_skew))
    except (StorageError, OSError) as exc:
        file = config.source or config.base_dir / "pwreset.toml"
        reason = (
            f"{exc}; the folder only guards against replays, so once the server has been "
            f"stopped for {2 * config.server.clock_skew} seconds it may be deleted"
        )
        raise ConfigError([Problem(file, "server.data_dir", reason)]) from None


_PURGE_EVERY = 24 * 3600.0
_KEYED_KEPT = 2 * 24 * 3600.0
_FIRST_PURGE_AFTER = 3600.0  # not at start-up: restarts should be quick and quiet
# How often the schedule looks at the flows' clock: a clock that jumps (a resumed VM, a
# test moving it) is noticed within this.
_HOUSEKEEPING_TICK = 60.0


async def _daily_purge(flows: Flows, config: Config) -> None:
    """Remove users gone from their directory for `storage.purge_after_days` days, once a
    day by the flows' clock."""
    context = flows.context

    def exists(domain: str, username: str) -> bool | None:
        directory = context.directories.get(domain)
        return None if directory is None else directory.user_exists(username)

    def run() -> None:
        now = context.clock()
        # Code-sending counts look back one day; older keyed records are of no use (an
        # expiry notice's record is touched until its password expires).
        expired = context.db.keyed.expire(now - _KEYED_KEPT)
        log.info("housekeeping: %d stale keyed records removed", expired)
        report = purge_missing(
            context.db.users,
            context.db.audit,
            exists,
            grace_days=config.storage.purge_after_days,
            now=now,
        )
        log.info(
            "purge: %d checked, %d newly missing, %d removed",
            report.checked,
            len(report.marked),
            len(report.removed),
        )

    clock = context.clock
    await _daily(
        clock, clock() + _FIRST_PURGE_AFTER, lambda now: now + _PURGE_EVERY, run,
        # A directory that does not answer stops this round; the next one tries again.
        "the purge of users gone from the directory",
    )  # fmt: skip


class _UserRound(Protocol):
    """A daily round that messages users: NoticeRound, EnrollmentDrive."""

    def plan(self, now: float) -> Any: ...
    def send(self, report: Any, notifier: Notifier, audit: AuditTrail, now: float) -> Any: ...


async def _daily_messages(
    flows: Flows, hour: int, make: Callable[..., _UserRound], what: str
) -> None:
    """A round of messages to users (expiry notices, enrollment reminders), once a day at
    `hour` by the flows' clock."""
    context = flows.context
    messages = make(
        context.config, context.directories, context.db.users, context.db.keyed, context.limits
    )

    def run() -> None:
        now = context.clock()
        messages.send(messages.plan(now), context.notifier, context.db.audit, now)

    clock = context.clock
    await _daily(clock, next_round(clock(), hour), lambda now: next_round(now, hour), run, what)


async def _daily_reports(flows: Flows, config: Config) -> None:
    """`[report_mail]`: the reports mailed to the admins at its hour (and weekday)."""
    context = flows.context
    reports = Reports(config, context.directories, context.db.users, context.db.audit)
    mail = ReportMail(reports)
    hour, weekday = config.report_mail.hour, config.report_mail.weekday

    def run() -> None:
        mail.send(context.notifier, context.db.audit, context.clock())

    clock = context.clock
    await _daily(
        clock, next_report_round(clock(), hour, weekday),
        lambda now: next_report_round(now, hour, weekday), run, "the report mail",
    )  # fmt: skip


async def _daily(
    clock: Callable[[], float],
    due: float,
    after: Callable[[float], float],
    run: Callable[[], None],
    what: str,
) -> None:
    """Run `run` in a worker thread once `clock` reaches `due`, then again at `after(start)`
    of the round that started, until cancelled. A failed round is logged; the next one
    tries again."""
    while True:
        started = clock()
        if started < due:
            await asyncio.sleep(min(due - started, _HOUSEKEEPING_TICK))
            continue
        try:
            await asyncio.get_running_loop().run_in_executor(None, run)
        except Exception:
            log.exception("%s failed", what)
        # From the start: a round's own length (or a clock moved meanwhile) shifts no other.
        due = after(started)
