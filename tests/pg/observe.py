"""Observe what an Alembic upgrade really does on PostgreSQL.

``observe(url, upgrade_source)`` builds a fixture (table ``t`` with rows, parent ``p``), runs the
upgrade the way Alembic runs a revision -- ``MigrationContext`` + ``Operations`` on a live
connection, inside the transaction ``begin_transaction()`` opens (transactional DDL), with
``op.get_context().autocommit_block()`` working for real -- and, before COMMIT, records:

* the locks the migration's backend holds, per relation (``pg_locks``, catalogs left out),
* whether a relation's storage changed (``pg_class.relfilenode``: table rewrite, index rebuild),
* the rows this transaction read by sequential scan (``pg_stat_xact_user_tables``),
* the migration session's settings (``lock_timeout``, ``TimeZone``, ...),
* probes from a second connection with ``lock_timeout = '200ms'``: SELECT / INSERT / UPDATE on
  ``t``, SELECT / INSERT on ``p``; a probe that fails with SQLSTATE 55P03 was blocked.

If the upgrade fails, the SQLSTATE and message of the error instead. The SQL Alembic emitted
is captured either way.

With ``hold="<sql>"`` a third connection runs that SQL in a transaction it keeps open, the
migration runs on a worker thread, and once its backend waits for a lock, the locks it holds and
awaits plus the probes are recorded as ``while_waiting`` (this is how a CONCURRENTLY operation,
which commits inside ``autocommit_block()``, is seen holding its lock; and how the lock queue
behind a waiting ALTER is seen). Every wait has a deadline; nothing sleeps unbounded.
"""

from __future__ import annotations

import ast
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import NullPool

PROBE_LOCK_TIMEOUT = "200ms"
LOCK_NOT_AVAILABLE = "55P03"
DEADLINE_S = 30.0  # any single wait of the harness (a lock wait, the migration thread)
POLL_S = 0.005

LOCK_MODES = (  # weakest first
    "AccessShare", "RowShare", "RowExclusive", "ShareUpdateExclusive",
    "Share", "ShareRowExclusive", "Exclusive", "AccessExclusive",
)
SETTINGS = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout",
            "TimeZone", "search_path")


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """A statement a second session tries while the migration holds its locks."""

    table: str
    kind: str  # "select" | "insert" | "update" (anything else is fine too)
    sql: str


DEFAULT_PROBES: tuple[Probe, ...] = (
    Probe("t", "select", "SELECT * FROM t WHERE id = 1"),
    Probe("t", "insert", "INSERT INTO t DEFAULT VALUES"),
    Probe("t", "update", "UPDATE t SET n = n WHERE id = 1"),
    Probe("p", "select", "SELECT * FROM p WHERE id = 1"),
    Probe("p", "insert", "INSERT INTO p DEFAULT VALUES"),
)


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    blocked: bool  # hit lock_timeout (SQLSTATE 55P03)
    sqlstate: str | None  # of any error (55P03 when blocked)
    error: str | None
    ms: float


@dataclass(frozen=True)
class PgError:
    sqlstate: str | None
    message: str  # the server's primary message
    statement: str | None = None

    def __str__(self) -> str:
        return f"{self.message} [SQLSTATE {self.sqlstate}]"


def _strength(mode: str) -> int:
    return LOCK_MODES.index(mode) if mode in LOCK_MODES else -1


@dataclass(frozen=True)
class Snapshot:
    """The migration backend's locks at one moment, and what other sessions could do then.

    ``locks`` / ``waiting``: target -> lock modes without the ``Lock`` suffix
    (``{"t": {"AccessExclusive"}}``). A target is a relation name (``"<name> (dropped)"`` for
    one the migration dropped), an object (``"type mood"``) or a lock type (``"virtualxid"``).
    """

    locks: Mapping[str, frozenset[str]]
    waiting: Mapping[str, frozenset[str]]
    probes: tuple[ProbeResult, ...]

    def strongest(self, target: str) -> str | None:
        modes = self.locks.get(target)
        return max(modes, key=_strength) if modes else None

    def _probes(self, table: str, kinds: Iterable[str]) -> list[ProbeResult]:
        kinds = tuple(kinds)
        found = [r for r in self.probes if r.probe.table == table and r.probe.kind in kinds]
        if not found:
            raise LookupError(f"no {'/'.join(kinds)} probe on {table!r} was run")
        return found

    def blocked(self, table: str, kind: str) -> bool:
        return any(r.blocked for r in self._probes(table, (kind,)))

    def blocks_reads(self, table: str = "t") -> bool:
        return any(r.blocked for r in self._probes(table, ("select",)))

    def blocks_writes(self, table: str = "t") -> bool:
        """Any INSERT/UPDATE probe on ``table`` was blocked."""
        return any(r.blocked for r in self._probes(table, ("insert", "update")))

    def describe(self) -> str:
        def fmt(locks: Mapping[str, frozenset[str]]) -> str:
            return "; ".join(f"{k}: " + "+".join(sorted(v, key=_strength, reverse=True))
                             for k, v in sorted(locks.items()))
        probes = ", ".join(f"{r.probe.table}.{r.probe.kind}={'BLOCKED' if r.blocked else 'ok'}"
                           for r in self.probes)
        waiting = f" waiting[{fmt(self.waiting)}]" if self.waiting else ""
        return f"locks[{fmt(self.locks)}]{waiting} probes[{probes}]"


@dataclass
class Observation:
    sql: list[str]  # what Alembic sent, whitespace-normalised, in order
    error: PgError | None  # the upgrade failed (the transaction was rolled back)
    before_commit: Snapshot | None  # None when the upgrade failed
    while_waiting: Snapshot | None  # only with hold=, once the migration waited for a lock
    settings: dict[str, str]  # the migration session's, before COMMIT
    rewritten: frozenset[str]  # tables whose relfilenode changed
    rebuilt_indexes: frozenset[str]  # indexes whose relfilenode changed
    recreated_indexes: frozenset[str]  # re-created in the catalog, storage (relfilenode) kept
    # rows read by sequential scans (pg_stat_xact_user_tables of the migration's own backend,
    # fresh per observe()). Exact for an upgrade that runs in one transaction. After an
    # autocommit_block() it may or may not include the block's statements: PG 15 keeps
    # committed counts in this view until the backend flushes them (at most once a second).
    seq_tup_read: dict[str, int]
    indexes_after: dict[str, bool]  # index -> indisvalid, after COMMIT / ROLLBACK
    ms: float  # wall time of the upgrade body
    pid: int  # backend of the migration
    server_version: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def sqlstate(self) -> str | None:
        return self.error.sqlstate if self.error else None

    def _snap(self) -> Snapshot:
        if self.before_commit is None:
            raise AssertionError(f"the upgrade failed: {self.error}\nSQL: {self.sql}")
        return self.before_commit

    @property
    def locks(self) -> Mapping[str, frozenset[str]]:
        return self._snap().locks

    def strongest(self, target: str) -> str | None:
        return self._snap().strongest(target)

    def blocks_reads(self, table: str = "t") -> bool:
        return self._snap().blocks_reads(table)

    def blocks_writes(self, table: str = "t") -> bool:
        return self._snap().blocks_writes(table)

    def blocked(self, table: str, kind: str) -> bool:
        return self._snap().blocked(table, kind)

    def describe(self) -> str:
        """One paragraph for assertion messages."""
        parts = [f"sql={self.sql}"]
        if self.error:
            parts.append(f"error={self.error}")
        if self.while_waiting:
            parts.append(f"while_waiting: {self.while_waiting.describe()}")
        if self.before_commit:
            parts.append(f"before_commit: {self.before_commit.describe()}")
        parts.append(f"rewritten={sorted(self.rewritten)} rebuilt={sorted(self.rebuilt_indexes)}"
                     f" recreated={sorted(self.recreated_indexes)} seq_read={self.seq_tup_read}"
                     f" settings={self.settings}")
        return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# connections and catalog reads
# --------------------------------------------------------------------------------------------

def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq URL for psycopg."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def connect(url: str, autocommit: bool = True) -> psycopg.Connection[Any]:
    # prepare_threshold=None: no server-side prepared statements, which would go stale when
    # the fixture is rebuilt.
    return psycopg.connect(libpq_url(url), autocommit=autocommit, prepare_threshold=None)


Execute = Callable[..., list[tuple[Any, ...]]]

RELATIONS_SQL = """
SELECT c.oid, c.relname, c.relkind, c.relfilenode
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND c.relkind IN ('r', 'p', 'i', 'I', 'S', 'm')
"""

LOCKS_SQL = """
SELECT l.locktype, l.relation, c.relname, n.nspname, l.mode, l.granted,
       CASE WHEN l.locktype = 'object'
            THEN pg_describe_object(l.classid, l.objid, l.objsubid) END
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = %s
  AND (l.locktype NOT IN ('virtualxid', 'transactionid') OR NOT l.granted)
"""

SEQ_READ_SQL = "SELECT relname, seq_tup_read FROM pg_stat_xact_user_tables WHERE seq_tup_read > 0"

INDEXES_SQL = """
SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
"""

Relations = dict[int, tuple[str, str, int]]  # oid -> (name, relkind, relfilenode)


def _relations(execute: Execute) -> Relations:
    return {oid: (name, kind, node) for oid, name, kind, node in execute(RELATIONS_SQL)}


def _lock_snapshot(execute: Execute, pid: int, known: Relations
                   ) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    held: dict[str, set[str]] = {}
    waiting: dict[str, set[str]] = {}
    for locktype, rel, relname, nsp, mode, granted, obj in execute(LOCKS_SQL, (pid,)):
        if locktype == "relation":
            if nsp in ("pg_catalog", "information_schema", "pg_toast"):
                continue
            if relname is None:
                if rel not in known:  # e.g. the transient heap of a rewrite
                    continue
                relname = known[rel][0] + " (dropped)"
            target = relname
        elif locktype == "object":
            if obj is None:
                continue
            target = obj
        else:
            target = locktype
        mode = mode.removesuffix("Lock")
        (held if granted else waiting).setdefault(target, set()).add(mode)
    return ({k: frozenset(v) for k, v in held.items()},
            {k: frozenset(v) for k, v in waiting.items()})


def _compare(before: Relations, after: Relations
             ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    by_name = {name: (oid, node) for oid, (name, _kind, node) in before.items()}
    rewritten, rebuilt, recreated = set(), set(), set()
    for oid, (name, kind, node) in after.items():
        if kind in ("r", "p", "m") and oid in before and before[oid][2] != node:
            rewritten.add(name)
        if kind in ("i", "I") and name in by_name:
            old_oid, old_node = by_name[name]
            if old_node != node:
                rebuilt.add(name)
            elif old_oid != oid:
                recreated.add(name)
    return frozenset(rewritten), frozenset(rebuilt), frozenset(recreated)


def _pg_error(exc: BaseException) -> PgError:
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None)
               or (str(orig).strip().splitlines() or [repr(orig)])[0])
    return PgError(getattr(orig, "sqlstate", None), message, getattr(exc, "statement", None))


def run_probes(url: str, probes: Sequence[Probe]) -> tuple[ProbeResult, ...]:
    """Each probe in its own transaction (rolled back) with lock_timeout = 200ms."""
    results = []
    with connect(url) as conn:
        for probe in probes:
            started = time.perf_counter()
            sqlstate = error = None
            try:
                conn.execute("BEGIN")
                conn.execute(f"SET LOCAL lock_timeout = '{PROBE_LOCK_TIMEOUT}'")
                conn.execute("SET LOCAL statement_timeout = '10s'")
                conn.execute(probe.sql)
            except psycopg.Error as exc:
                sqlstate = exc.sqlstate
                error = exc.diag.message_primary or str(exc)
            finally:
                conn.execute("ROLLBACK")
            results.append(ProbeResult(probe, sqlstate == LOCK_NOT_AVAILABLE, sqlstate, error,
                                       round((time.perf_counter() - started) * 1000, 1)))
    return tuple(results)


# --------------------------------------------------------------------------------------------
# fixture
# --------------------------------------------------------------------------------------------

def build_fixture(url: str, rows: int = 20_000, *, parent_rows: int = 1000, pk: bool = True,
                  fk: bool = False, enum: bool = False, setup: Sequence[str] = ()) -> None:
    """(Re)create schema ``public`` with::

        p(id int identity PK, label text)                      -- parent_rows rows
        t(id int identity PK, n int, name varchar(50), code text,
          parent_id int, created_at timestamp [, mood mood])   -- rows rows; index t_name_idx
        [type mood AS ENUM ('sad', 'ok')]                      -- enum=True
        [fk_t_parent: t.parent_id -> p.id]                     -- fk=True

    then runs ``setup`` and VACUUM ANALYZE.
    """
    pk_sql = " PRIMARY KEY" if pk else ""
    mood = ", mood mood DEFAULT 'ok'" if enum else ""
    parent = f"1 + g % {parent_rows}" if parent_rows else "NULL"
    statements = [
        "DROP SCHEMA IF EXISTS public CASCADE",
        "CREATE SCHEMA public",
        "CREATE TABLE p (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, label text)",
        f"INSERT INTO p (label) SELECT 'p' || g FROM generate_series(1, {parent_rows}) g",
        *(["CREATE TYPE mood AS ENUM ('sad', 'ok')"] if enum else []),
        (f"CREATE TABLE t (id integer GENERATED BY DEFAULT AS IDENTITY{pk_sql}, n integer,"
         f" name varchar(50), code text, parent_id integer, created_at timestamp{mood})"),
        ("INSERT INTO t (n, name, code, parent_id, created_at)"
         f" SELECT g, 'name' || g, 'c' || (g % 1000), {parent},"
         " timestamp '2024-01-01' + g * interval '1 second'"
         f" FROM generate_series(1, {rows}) g"),
        "CREATE INDEX t_name_idx ON t (name)",
        *(["ALTER TABLE t ADD CONSTRAINT fk_t_parent FOREIGN KEY (parent_id) REFERENCES p (id)"]
          if fk else []),
        *setup,
        "VACUUM ANALYZE p",
        "VACUUM ANALYZE t",
    ]
    with connect(url) as conn:
        for stmt in statements:
            conn.execute(stmt)


# --------------------------------------------------------------------------------------------
# running an upgrade
# --------------------------------------------------------------------------------------------

def compile_upgrade(source: str) -> Callable[[], None]:
    """``upgrade`` from a revision file's source, or from the body of ``upgrade()`` alone.

    The namespace has ``op`` (also importable: ``from alembic import op`` works while the
    upgrade runs), ``sa`` and ``postgresql`` (``sqlalchemy.dialects.postgresql``).
    """
    src = textwrap.dedent(source).strip("\n")
    tree = ast.parse(src)
    if not any(isinstance(n, ast.FunctionDef) and n.name == "upgrade" for n in tree.body):
        src = "def upgrade():\n" + textwrap.indent(src or "pass", "    ")
    namespace: dict[str, Any] = {"__name__": "migls_pg_revision", "sa": sa,
                                 "postgresql": postgresql, "op": _OP_PROXY}
    exec(compile(src, "<upgrade>", "exec"), namespace)  # noqa: S102 - running it is the point
    upgrade: Callable[[], None] = namespace["upgrade"]
    return upgrade


def _op_proxy() -> Any:
    from alembic import op

    return op


_OP_PROXY = _op_proxy()


class _Recorder:
    def __init__(self) -> None:
        self.active = False
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.active:
            self.statements.append(" ".join(statement.split()))


@dataclass
class _Run:
    """What the migration thread found (filled in by ``_run_migration``)."""

    pid: int = 0
    error: PgError | None = None
    before_commit: Snapshot | None = None
    settings: dict[str, str] = field(default_factory=dict)
    after: Relations = field(default_factory=dict)
    seq_tup_read: dict[str, int] = field(default_factory=dict)
    ms: float = 0.0
    exception: BaseException | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _run_migration(url: str, upgrade: Callable[[], None], session: Sequence[str],
                   probes: Sequence[Probe], before: Relations, recorder: _Recorder,
                   run: _Run) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    sa.event.listen(engine, "before_cursor_execute", recorder)
    try:
        with engine.connect() as conn:
            run.pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            run.connected.set()
            # As env.py does: configure on a connection that is not in a transaction yet, then
            # begin_transaction() opens the real one (transactional DDL) that autocommit_block()
            # commits and re-opens.
            assert not conn.in_transaction()
            ctx = MigrationContext.configure(conn)
            with Operations.context(ctx):
                txn = ctx.begin_transaction()
                with txn:
                    for stmt in session:
                        conn.exec_driver_sql(stmt)
                    recorder.active = True
                    started = time.perf_counter()
                    try:
                        upgrade()
                    except sa.exc.DBAPIError as exc:
                        run.error = _pg_error(exc)
                    finally:
                        run.ms = round((time.perf_counter() - started) * 1000, 1)
                        recorder.active = False
                    if run.error is not None:
                        txn.rollback()  # type: ignore[union-attr]
                        return
                    # alembic's own connection (autocommit_block swaps and restores it)
                    live = ctx.connection
                    assert live is not None

                    def execute(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
                        return list(live.exec_driver_sql(sql, params).fetchall())

                    locks, waiting = _lock_snapshot(execute, run.pid, before)
                    run.after = _relations(execute)
                    run.seq_tup_read = {name: n for name, n in execute(SEQ_READ_SQL)}
                    run.settings = {name: execute(f"SELECT current_setting('{name}')")[0][0]
                                    for name in SETTINGS}
                    run.before_commit = Snapshot(locks, waiting, run_probes(url, probes))
                # leaving the block commits, as Alembic does after the revision
    except BaseException as exc:  # noqa: BLE001 - re-raised by observe() on the caller's thread
        run.exception = exc
    finally:
        run.connected.set()
        run.done.set()
        engine.dispose()


def observe(url: str, upgrade_source: str, *, rows: int = 20_000, parent_rows: int = 1000,
            pk: bool = True, fk: bool = False, enum: bool = False, setup: Sequence[str] = (),
            fixture: bool = True, session: Sequence[str] = (),
            probes: Sequence[Probe] = DEFAULT_PROBES, hold: str | None = None,
            hold_until_done: bool = False) -> Observation:
    """Run ``upgrade_source`` through Alembic against a fresh fixture and observe it.

    ``upgrade_source``: the body of ``upgrade()`` (``op.add_column("t", sa.Column(...))``) or a
        whole revision file; ``op``, ``sa`` and ``postgresql`` are in scope.
    ``rows``, ``parent_rows``, ``pk``, ``fk``, ``enum``, ``setup``: the fixture
        (``build_fixture``); ``fixture=False`` keeps the database as it is.
    ``session``: SQL run on the migration connection inside its transaction before the upgrade
        (what an ``env.py`` might do).
    ``probes``: what the second session tries (default: SELECT/INSERT/UPDATE on t,
        SELECT/INSERT on p), before COMMIT and, with ``hold``, while the migration waits.
    ``hold``: SQL a third session runs in a transaction it keeps open while the migration
        starts; ``while_waiting`` is then recorded once the migration's backend waits for a lock.
        The hold is released right after that, or, with ``hold_until_done``, only once the
        migration has finished (e.g. failed on its own lock_timeout).
    """
    if fixture:
        build_fixture(url, rows, parent_rows=parent_rows, pk=pk, fk=fk, enum=enum, setup=setup)
    upgrade = compile_upgrade(upgrade_source)
    with connect(url) as admin:

        def admin_execute(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            return admin.execute(sql, params).fetchall()

        server_version = admin_execute("SHOW server_version")[0][0]
        before = _relations(admin_execute)
        recorder, run = _Recorder(), _Run()
        notes: list[str] = []
        while_waiting: Snapshot | None = None
        args = (url, upgrade, session, probes, before, recorder, run)
        if hold is None:
            _run_migration(*args)
        else:
            holder = connect(url, autocommit=False)
            try:
                holder.execute(hold)  # the transaction stays open
                worker = threading.Thread(target=_run_migration, args=args, daemon=True)
                worker.start()
                if not run.connected.wait(DEADLINE_S):
                    raise AssertionError("the migration did not connect")
                deadline = time.monotonic() + DEADLINE_S
                while not run.done.is_set() and time.monotonic() < deadline:
                    locks, waiting = _lock_snapshot(admin_execute, run.pid, before)
                    if waiting:
                        while_waiting = Snapshot(locks, waiting, run_probes(url, probes))
                        break
                    run.done.wait(POLL_S)
                if while_waiting is None:
                    notes.append("the migration never waited for a lock behind the hold")
                if hold_until_done:
                    run.done.wait(DEADLINE_S)
            finally:
                holder.rollback()
                holder.close()
            if not run.done.wait(DEADLINE_S):
                admin_execute("SELECT pg_terminate_backend(%s)", (run.pid,))
                worker.join(DEADLINE_S)
                raise AssertionError(f"the migration did not finish within {DEADLINE_S}s")
            worker.join(DEADLINE_S)
        if run.exception is not None:
            raise run.exception
        rewritten, rebuilt, recreated = _compare(before, run.after)
        indexes = dict(admin_execute(INDEXES_SQL))
    return Observation(
        sql=recorder.statements, error=run.error, before_commit=run.before_commit,
        while_waiting=while_waiting, settings=run.settings, rewritten=rewritten,
        rebuilt_indexes=rebuilt, recreated_indexes=recreated, seq_tup_read=run.seq_tup_read,
        indexes_after=indexes, ms=run.ms, pid=run.pid, server_version=server_version,
        notes=notes,
    )
