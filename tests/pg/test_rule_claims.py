"""Every MG3 rule's message, checked against a real PostgreSQL.

For each rule: a flagged upgrade written against the fixture tables (``t`` with rows, ``p``) is
linted, the rule's message is read, and the same upgrade is run through Alembic
(``observe()``) to check what the message claims -- the lock mode in ``pg_locks``, a rewrite
in ``relfilenode``, blocked reads/writes of a second session, a full scan, the SQLSTATE of a
failure. Then the safe alternative from the rule's docstring (the code block its page shows),
adapted to ``t``/``p``, must not be flagged, and the database must show that it really avoids
the problem. A few negative cases guard against crying wolf.

A rule whose claim the database contradicts is a bug in the rule: fix the rule, not the test.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from migls.config import Settings
from migls.engine import lint_sources
from migls.rule import Diagnostic, Severity

from .observe import Observation, Probe, connect, observe

ROWS = 20_000
T_INDEXES = frozenset({"t_pkey", "t_name_idx"})  # every index of the fixture's t

SELECT_T = Probe("t", "select", "SELECT * FROM t WHERE id = 1")
INSERT_T = Probe("t", "insert", "INSERT INTO t DEFAULT VALUES")
SELECT_P = Probe("p", "select", "SELECT * FROM p WHERE id = 1")
INSERT_P = Probe("p", "insert", "INSERT INTO p DEFAULT VALUES")
T_PROBES = (SELECT_T, INSERT_T)
NO_PROBES: tuple[Probe, ...] = ()

READER_ON_T = "SELECT 1 FROM t LIMIT 1"  # an open transaction that has read t
WRITER_ON_T = "INSERT INTO t DEFAULT VALUES"  # an open transaction that has written t

# The fixture's history, for rules that need to know what earlier revisions created (MG314).
BASE_REVISION = """
op.create_table("p", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("label", sa.Text()))
op.create_table(
    "t",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("n", sa.Integer()),
    sa.Column("name", sa.String(50), index=True),
    sa.Column("code", sa.Text()),
    sa.Column("parent_id", sa.Integer(), sa.ForeignKey("p.id", name="fk_t_parent")),
    sa.Column("created_at", sa.DateTime()),
)
"""


# --------------------------------------------------------------------------------------------
# linting
# --------------------------------------------------------------------------------------------

def revision(body: str, rev: str = "x", down: str | None = None) -> str:
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return (f'revision = "{rev}"\ndown_revision = {down!r}\n\ndef upgrade():\n{body}\n'
            "\ndef downgrade():\n    pass\n")


def lint(body: str, *, history: Sequence[str] = (), settings: Settings | None = None,
         ) -> list[Diagnostic]:
    """Diagnostics of ``body`` as the upgrade of the last revision of a linear history."""
    sources, down = {}, None
    for i, earlier in enumerate(history):
        sources[f"000{i}_h{i}.py"] = revision(earlier, f"h{i}", down)
        down = f"h{i}"
    path = f"000{len(history)}_x.py"
    sources[path] = revision(body, "x", down)
    return [d for d in lint_sources(sources, settings).diagnostics if d.path == path]


def _matches(d: Diagnostic, code: str) -> bool:
    # MG313 reports another rule's check on SQL, naming it at the end of the message.
    return d.code == code or (d.code == "MG313" and d.message.endswith(f"({code})"))


def flagged(code: str, body: str, says: Sequence[str] = (), **kw: Any) -> str:
    """The message of ``code`` on ``body``; it must contain every phrase of ``says``."""
    diagnostics = lint(body, **kw)
    found = [d for d in diagnostics if d.code == code]
    assert found, f"{code} not reported on:\n{body}\ngot: " + "".join(
        f"\n  {d.code} {d.message}" for d in diagnostics)
    message = found[0].message
    for phrase in says:
        assert phrase in message, f"{code}'s message no longer claims {phrase!r}: {message}"
    return message


def not_flagged(code: str, body: str, **kw: Any) -> None:
    diagnostics = lint(body, **kw)
    wrong = [d for d in diagnostics if _matches(d, code)]
    assert not wrong, f"{code} reported on:\n{body}\n" + "\n".join(
        f"  {d.code} {d.message}" for d in wrong)


# --------------------------------------------------------------------------------------------
# what a message claims, and checking it on the database
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """What the database must show; ``None`` / absent = the message says nothing about it."""

    sqlstate: str | None = None  # the upgrade fails with this SQLSTATE
    locks: Mapping[str, str] = field(default_factory=dict)  # table -> strongest mode held
    reads_blocked: Mapping[str, bool] = field(default_factory=dict)
    writes_blocked: Mapping[str, bool] = field(default_factory=dict)
    rewrites: bool | None = None  # t rewritten and every index of t rebuilt
    scans: bool | None = None  # t read in full by sequential scan (or not at all)

    @property
    def probes(self) -> tuple[Probe, ...]:
        out = [{"t": SELECT_T, "p": SELECT_P}[table] for table in self.reads_blocked]
        out += [{"t": INSERT_T, "p": INSERT_P}[table] for table in self.writes_blocked]
        return tuple(out)


def check(obs: Observation, claim: Claim, rows: int = ROWS) -> None:
    if claim.sqlstate is not None:
        assert obs.sqlstate == claim.sqlstate, obs.describe()
        return
    assert obs.error is None, obs.describe()
    for table, mode in claim.locks.items():
        assert obs.strongest(table) == mode, obs.describe()
    for table, blocked in claim.reads_blocked.items():
        assert obs.blocks_reads(table) is blocked, obs.describe()
    for table, blocked in claim.writes_blocked.items():
        assert obs.blocks_writes(table) is blocked, obs.describe()
    if claim.rewrites is True:
        assert obs.rewritten == {"t"}, obs.describe()
        assert obs.rebuilt_indexes >= T_INDEXES, obs.describe()
    elif claim.rewrites is False:
        assert obs.rewritten == set() and obs.rebuilt_indexes == set(), obs.describe()
    if claim.scans is True:
        assert obs.seq_tup_read.get("t", 0) >= rows, obs.describe()
    elif claim.scans is False:
        assert "t" not in obs.seq_tup_read, obs.describe()


def run(url: str, body: str, claim: Claim, **kw: Any) -> Observation:
    kw.setdefault("probes", claim.probes)
    obs = observe(url, body, **kw)
    check(obs, claim, kw.get("rows", ROWS))
    return obs


def steps(body: str, *, unwrap: bool) -> list[str]:
    """``body`` cut at its top-level ``autocommit_block()``s: the transactions it runs as.

    ``unwrap=True`` gives a block's body without the ``with`` (run in a transaction, so its
    locks can be seen before COMMIT); otherwise the block is kept as it is.
    """
    src = textwrap.dedent(body).strip("\n")
    lines = src.splitlines()

    def text(nodes: Sequence[ast.stmt]) -> str:
        return textwrap.dedent("\n".join(lines[nodes[0].lineno - 1:nodes[-1].end_lineno]))

    out: list[str] = []
    pending: list[ast.stmt] = []
    for node in ast.parse(src).body:
        if isinstance(node, ast.With) and "autocommit_block" in ast.unparse(node.items[0]):
            if pending:
                out.append(text(pending))
                pending = []
            out.append(text(node.body) if unwrap else text([node]))
        else:
            pending.append(node)
    if pending:
        out.append(text(pending))
    return out


def run_steps(url: str, body: str, claims: Sequence[Claim | None], *, unwrap: bool = True,
              **fixture: Any) -> list[Observation]:
    """Each transaction of ``body`` observed on its own, in order, on the same database."""
    parts = steps(body, unwrap=unwrap)
    assert len(parts) == len(claims), parts
    out = []
    for i, (part, claim) in enumerate(zip(parts, claims, strict=True)):
        kw = dict(fixture) if i == 0 else {"fixture": False}
        out.append(run(url, part, claim or Claim(), **kw))
    return out


def query(url: str, sql: str) -> Any:
    with connect(url) as conn:
        return conn.execute(sql).fetchone()[0]  # type: ignore[index]


def constraint_validated(url: str, name: str) -> bool | None:
    validated: bool | None = query(url, "SELECT (SELECT convalidated FROM pg_constraint"
                                        f" WHERE conname = '{name}')")
    return validated


# --------------------------------------------------------------------------------------------
# MG301 add-column-not-null-without-default
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", [
    'sa.Column("status", sa.Text(), nullable=False)',
    'sa.Column("status", sa.Text(), primary_key=True)',
])
def test_mg301_not_null_column_without_default_fails_when_the_table_has_rows(
        pg_url: str, column: str) -> None:
    body = f'op.add_column("t", {column})'
    flagged("MG301", body, says=["fails when t has rows", "SQLSTATE 23502"])
    obs = run(pg_url, body, Claim(sqlstate="23502"))
    assert obs.error is not None
    assert obs.error.message == 'column "status" of relation "t" contains null values'
    run(pg_url, body, Claim(locks={"t": "AccessExclusive"}), rows=0)  # "when t has rows"


def test_mg301_safe_alternative_constant_server_default(pg_url: str) -> None:
    body = ('op.add_column("t", sa.Column("status", sa.Text(), nullable=False,\n'
            '                             server_default="active"))')
    not_flagged("MG301", body)
    not_flagged("MG302", body)
    run(pg_url, body, Claim(rewrites=False, scans=False))
    assert query(pg_url, "SELECT count(*) FROM t WHERE status = 'active'") == ROWS


# --------------------------------------------------------------------------------------------
# MG302 add-column-volatile-default
# --------------------------------------------------------------------------------------------

MG302_REWRITE = Claim(locks={"t": "AccessExclusive"}, reads_blocked={"t": True},
                      writes_blocked={"t": True}, rewrites=True)


@pytest.mark.parametrize("column", [
    'sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"))',
    'sa.Column("at", sa.DateTime(), server_default=sa.text("clock_timestamp()"))',
    'sa.Column("seq", sa.Integer(), sa.Identity())',
    'sa.Column("n2", sa.Integer(), sa.Computed("n * 2", persisted=True))',
    'sa.Column("id2", sa.Integer(), primary_key=True)',  # SERIAL
])
def test_mg302_volatile_default_rewrites_the_table_and_every_index(
        pg_url: str, column: str) -> None:
    body = f'op.add_column("t", {column})'
    flagged("MG302", body, says=[
        "rewrites t and rebuilds every index on it under ACCESS EXCLUSIVE",
        "blocking reads and writes of t"])
    not_flagged("MG301", body)  # the column fills itself: NOT NULL or not, nothing fails
    run(pg_url, body, MG302_REWRITE)


def test_mg302_safe_alternative_default_for_new_rows_and_batched_backfill(pg_url: str) -> None:
    body = """
    op.add_column("t", sa.Column("token", sa.Uuid(), nullable=True))
    op.alter_column("t", "token", server_default=sa.text("gen_random_uuid()"))
    with op.get_context().autocommit_block():
        for low in range(1, 20_001, 10_000):
            op.execute(f"UPDATE t SET token = gen_random_uuid()"
                       f" WHERE id BETWEEN {low} AND {low + 9_999} AND token IS NULL")
    """
    not_flagged("MG302", body)
    run(pg_url, body, Claim(rewrites=False))
    assert query(pg_url, "SELECT count(DISTINCT token) FROM t") == ROWS
    run_steps(pg_url, body, [Claim(rewrites=False, scans=False), Claim(rewrites=False)],
              probes=NO_PROBES)


@pytest.mark.parametrize("column", [
    'sa.Column("at", sa.DateTime(), server_default=sa.text("now()"))',
    'sa.Column("at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"))',
    'sa.Column("flag", sa.Integer(), nullable=False, server_default="0")',
    'sa.Column("flag", sa.Boolean(), nullable=False, server_default=sa.false())',
])
def test_mg302_not_flagged_for_stable_or_constant_defaults_which_do_not_rewrite(
        pg_url: str, column: str) -> None:
    body = f'op.add_column("t", {column})'
    not_flagged("MG302", body)
    run(pg_url, body, Claim(rewrites=False, scans=False), probes=NO_PROBES)


# --------------------------------------------------------------------------------------------
# MG303 create-index-not-concurrently
# --------------------------------------------------------------------------------------------

MG303_SHARE = Claim(locks={"t": "Share"}, reads_blocked={"t": False},
                    writes_blocked={"t": True}, scans=True)
AE_BUILD = Claim(locks={"t": "AccessExclusive"}, reads_blocked={"t": True},
                 writes_blocked={"t": True}, scans=True)


@pytest.mark.parametrize(("body", "says", "claim"), [
    ('op.create_index("ix_t_n", "t", ["n"])',
     ["takes SHARE on t", "writes to t are blocked (reads are not) for the whole build"],
     MG303_SHARE),
    ('op.add_column("t", sa.Column("extra", sa.Integer(), index=True))',
     ["ACCESS EXCLUSIVE lock is still held", "reads and writes of t are blocked"],
     AE_BUILD),
], ids=["create_index", "add_column_index"])
def test_mg303_index_build_blocks_writes(pg_url: str, body: str, says: list[str],
                                        claim: Claim) -> None:
    flagged("MG303", body, says=says)
    run(pg_url, body, claim)


def test_mg303_safe_alternative_concurrently_blocks_neither_reads_nor_writes(
        pg_url: str) -> None:
    body = """
    with op.get_context().autocommit_block():
        op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)
    """
    not_flagged("MG303", body)
    not_flagged("MG304", body)
    # An open writer makes the build wait; meanwhile it holds its lock and others go on.
    obs = observe(pg_url, body, hold=WRITER_ON_T, probes=T_PROBES + (SELECT_P,))
    assert obs.error is None, obs.describe()
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.strongest("t") == "ShareUpdateExclusive", obs.describe()
    assert not waiting.blocks_reads("t") and not waiting.blocks_writes("t"), obs.describe()
    assert obs.indexes_after["ix_t_n"] is True


def test_mg303_not_flagged_on_a_table_created_earlier_in_the_upgrade(pg_url: str) -> None:
    body = """
    op.create_table("newt", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("n", sa.Integer()))
    op.create_index("ix_newt_n", "newt", ["n"])
    """
    not_flagged("MG303", body)
    obs = run(pg_url, body, Claim(reads_blocked={"t": False, "p": False},
                                  writes_blocked={"t": False, "p": False}, scans=False))
    assert "t" not in obs.locks and "p" not in obs.locks, obs.describe()


# --------------------------------------------------------------------------------------------
# MG304 concurrently-in-transaction
# --------------------------------------------------------------------------------------------

def test_mg304_is_reported_and_fails_on_a_table_created_in_the_same_revision(
        pg_url: str) -> None:
    body = """
    op.create_table("newt", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("n", sa.Integer()))
    op.create_index("ix_newt_n", "newt", ["n"], postgresql_concurrently=True)
    """
    flagged("MG304", body, says=["SQLSTATE 25001"])
    run(pg_url, body, Claim(sqlstate="25001"))


@pytest.mark.parametrize(("call", "statement"), [
    ('op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)', "CREATE INDEX"),
    ('op.drop_index("t_name_idx", table_name="t", postgresql_concurrently=True)', "DROP INDEX"),
], ids=["create", "drop"])
def test_mg304_concurrently_fails_inside_the_transaction(pg_url: str, call: str,
                                                         statement: str) -> None:
    flagged("MG304", call, says=["fails inside the migration's transaction", "SQLSTATE 25001"])
    obs = run(pg_url, call, Claim(sqlstate="25001"))
    assert obs.error is not None
    assert obs.error.message == f"{statement} CONCURRENTLY cannot run inside a transaction block"

    safe = f"with op.get_context().autocommit_block():\n    {call}"
    not_flagged("MG304", safe)
    done = run(pg_url, safe, Claim(), probes=NO_PROBES)
    if statement == "CREATE INDEX":
        assert "ix_t_n" not in obs.indexes_after
        assert done.indexes_after["ix_t_n"] is True
    else:
        assert obs.indexes_after["t_name_idx"] is True
        assert "t_name_idx" not in done.indexes_after


# --------------------------------------------------------------------------------------------
# MG305 foreign-key-without-not-valid
# --------------------------------------------------------------------------------------------

MG305_SCAN = Claim(locks={"t": "ShareRowExclusive", "p": "ShareRowExclusive"},
                   reads_blocked={"t": False, "p": False},
                   writes_blocked={"t": True, "p": True}, scans=True)
MG305_ADD_COLUMN_SCAN = Claim(locks={"t": "AccessExclusive", "p": "ShareRowExclusive"},
                              reads_blocked={"t": True, "p": False},
                              writes_blocked={"t": True, "p": True}, scans=True)
VALIDATE_FK = Claim(locks={"t": "ShareUpdateExclusive", "p": "RowShare"},
                    reads_blocked={"t": False, "p": False},
                    writes_blocked={"t": False, "p": False}, scans=True)


@pytest.mark.parametrize(("body", "says", "claim"), [
    ('op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"])',
     ["scanning t under SHARE ROW EXCLUSIVE on t and p",
      "writes to t and p are blocked for the scan"],
     MG305_SCAN),
    ('op.add_column("t", sa.Column("p2_id", sa.Integer(), sa.ForeignKey("p.id")))',
     ["validated by scanning t while ADD COLUMN's ACCESS EXCLUSIVE lock is held",
      "reads and writes of t, and writes to p, are blocked for the scan"],
     MG305_ADD_COLUMN_SCAN),
], ids=["create_foreign_key", "add_column_foreign_key"])
def test_mg305_foreign_key_scans_while_writes_to_both_tables_are_blocked(
        pg_url: str, body: str, says: list[str], claim: Claim) -> None:
    flagged("MG305", body, says=says)
    run(pg_url, body, claim)


def test_mg305_safe_alternative_not_valid_then_validate_separately(pg_url: str) -> None:
    body = """
    op.add_column("t", sa.Column("p2_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_t_p2", "t", "p", ["p2_id"], ["id"], postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT fk_t_p2")
    """
    not_flagged("MG305", body)
    not_flagged("MG315", body)
    run(pg_url, body, Claim(), probes=NO_PROBES)
    assert constraint_validated(pg_url, "fk_t_p2") is True
    # The ADD skips the scan; the VALIDATE scans but blocks neither reads nor writes.
    run_steps(pg_url, body, [Claim(scans=False), VALIDATE_FK])


# --------------------------------------------------------------------------------------------
# MG306 check-constraint-without-not-valid
# --------------------------------------------------------------------------------------------

AE_SCAN = Claim(locks={"t": "AccessExclusive"}, reads_blocked={"t": True},
                writes_blocked={"t": True}, scans=True)
VALIDATE_CHECK = Claim(locks={"t": "ShareUpdateExclusive"}, reads_blocked={"t": False},
                       writes_blocked={"t": False}, scans=True)


def test_mg306_check_constraint_scans_under_access_exclusive(pg_url: str) -> None:
    body = 'op.create_check_constraint("ck_t_n_positive", "t", "n > 0")'
    flagged("MG306", body, says=["validated by scanning t under ACCESS EXCLUSIVE",
                                 "reads and writes of t are blocked for the scan"])
    run(pg_url, body, AE_SCAN)


def test_mg306_safe_alternative_not_valid_then_validate_separately(pg_url: str) -> None:
    body = """
    op.create_check_constraint("ck_t_n_positive", "t", "n > 0", postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_t_n_positive")
    """
    not_flagged("MG306", body)
    not_flagged("MG315", body)
    run(pg_url, body, Claim(), probes=NO_PROBES)
    assert constraint_validated(pg_url, "ck_t_n_positive") is True
    # The ADD is still ACCESS EXCLUSIVE (as the docstring says) but does not scan.
    run_steps(pg_url, body, [Claim(locks={"t": "AccessExclusive"}, scans=False),
                             VALIDATE_CHECK])


# --------------------------------------------------------------------------------------------
# MG307 set-not-null
# --------------------------------------------------------------------------------------------

def test_mg307_set_not_null_scans_under_access_exclusive(pg_url: str) -> None:
    body = 'op.alter_column("t", "n", nullable=False)'
    flagged("MG307", body, says=["scans t under ACCESS EXCLUSIVE",
                                 "reads and writes of t are blocked for the scan"])
    run(pg_url, body, AE_SCAN)


def test_mg307_a_not_valid_check_does_not_help(pg_url: str) -> None:
    body = """
    op.create_check_constraint("ck_t_n_not_null", "t", "n IS NOT NULL",
                               postgresql_not_valid=True)
    op.alter_column("t", "n", nullable=False)
    """
    flagged("MG307", body, says=["scans t under ACCESS EXCLUSIVE", "is NOT VALID and does not help"])
    run(pg_url, body, AE_SCAN)


def test_mg307_not_flagged_for_a_column_that_is_already_not_null(pg_url: str) -> None:
    body = 'op.alter_column("t", "n", nullable=False, existing_nullable=False)'
    not_flagged("MG307", body)
    run(pg_url, body, Claim(scans=False), setup=["ALTER TABLE t ALTER COLUMN n SET NOT NULL"],
        probes=NO_PROBES)


def test_mg307_safe_alternative_validated_check_first(pg_url: str) -> None:
    body = """
    op.create_check_constraint("ck_t_n_not_null", "t", "n IS NOT NULL",
                               postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_t_n_not_null")
    op.alter_column("t", "n", nullable=False)
    op.drop_constraint("ck_t_n_not_null", "t", type_="check")
    """
    not_flagged("MG307", body)
    not_flagged("MG315", body)
    run(pg_url, body, Claim(), probes=NO_PROBES)
    assert query(pg_url, "SELECT attnotnull FROM pg_attribute"
                         " WHERE attrelid = 't'::regclass AND attname = 'n'") is True
    assert constraint_validated(pg_url, "ck_t_n_not_null") is None  # dropped
    # No step scans under ACCESS EXCLUSIVE: SET NOT NULL skips the scan after the VALIDATE.
    run_steps(pg_url, body, [Claim(scans=False), VALIDATE_CHECK,
                             Claim(locks={"t": "AccessExclusive"}, scans=False)])


# --------------------------------------------------------------------------------------------
# MG308 column-type-change
# --------------------------------------------------------------------------------------------

REWRITE = Claim(locks={"t": "AccessExclusive"}, reads_blocked={"t": True},
                writes_blocked={"t": True}, rewrites=True)
NOT_UTC = ["SET LOCAL TimeZone = 'Europe/Berlin'"]  # the server's own zone is not known


@pytest.mark.parametrize("body", [
    'op.alter_column("t", "n", type_=sa.BigInteger(), existing_type=sa.Integer())',
    'op.alter_column("t", "code", type_=sa.String(10), existing_type=sa.Text())',
    ('op.alter_column("t", "created_at", type_=sa.DateTime(timezone=True),\n'
     '                existing_type=sa.DateTime())'),
], ids=["int_bigint", "text_varchar10", "timestamp_timestamptz"])
def test_mg308_type_change_rewrites_the_table_and_its_indexes(pg_url: str, body: str) -> None:
    flagged("MG308", body, says=["rewrites t and all its indexes under ACCESS EXCLUSIVE",
                                 "blocking reads and writes"])
    run(pg_url, body, REWRITE, session=NOT_UTC)


def test_mg308_safe_alternative_timestamptz_with_utc_session(pg_url: str) -> None:
    body = """
    op.execute("SET LOCAL TimeZone = 'UTC'")
    op.alter_column("t", "created_at", type_=sa.DateTime(timezone=True),
                    existing_type=sa.DateTime())
    """
    not_flagged("MG308", body)
    run(pg_url, body, Claim(rewrites=False, scans=False), session=NOT_UTC)


def test_mg308_safe_alternative_narrow_with_a_check_constraint(pg_url: str) -> None:
    body = """
    op.create_check_constraint("ck_t_code_len", "t", "char_length(code) <= 10",
                               postgresql_not_valid=True)
    with op.get_context().autocommit_block():  # VALIDATE blocks neither reads nor writes
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_t_code_len")
    """
    not_flagged("MG308", body)
    not_flagged("MG306", body)
    run(pg_url, body, Claim(rewrites=False), probes=NO_PROBES)
    assert constraint_validated(pg_url, "ck_t_code_len") is True
    run_steps(pg_url, body, [Claim(rewrites=False, scans=False),
                             replace(VALIDATE_CHECK, rewrites=False)])


AMOUNT = ["ALTER TABLE t ADD COLUMN amount numeric(10, 2)", "UPDATE t SET amount = n / 100.0"]
TS3 = ["ALTER TABLE t ALTER COLUMN created_at TYPE timestamp(3)"]


@pytest.mark.parametrize(("body", "setup"), [
    ('op.alter_column("t", "name", type_=sa.String(100), existing_type=sa.String(50))', []),
    ('op.alter_column("t", "name", type_=sa.Text(), existing_type=sa.String(50))', []),
    ('op.alter_column("t", "code", type_=sa.String(), existing_type=sa.Text())', []),
    ('op.alter_column("t", "amount", type_=sa.Numeric(14, 2), existing_type=sa.Numeric(10, 2))',
     AMOUNT),
    (('op.alter_column("t", "created_at", type_=postgresql.TIMESTAMP(precision=6),'
      ' existing_type=postgresql.TIMESTAMP(precision=3))'), TS3),
    (('op.alter_column("t", "created_at", type_=sa.DateTime(),'
      ' existing_type=postgresql.TIMESTAMP(precision=3))'), TS3),
], ids=["varchar_widening", "varchar_text", "text_varchar", "numeric_precision",
        "timestamp_precision_raised", "timestamp_precision_unconstrained"])
def test_mg308_not_flagged_for_binary_coercible_changes_which_do_not_rewrite(
        pg_url: str, body: str, setup: list[str]) -> None:
    not_flagged("MG308", body)
    obs = run(pg_url, body, Claim(rewrites=False, scans=False), setup=setup, probes=NO_PROBES)
    if '"name"' in body:
        assert obs.recreated_indexes == {"t_name_idx"}, obs.describe()  # storage kept


# --------------------------------------------------------------------------------------------
# MG309 unique-or-primary-key-on-existing-table
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "pk"), [
    ('op.create_unique_constraint("uq_t_name", "t", ["name"])', True),
    ('op.create_primary_key("t_pk", "t", ["id"])', False),
    ('op.add_column("t", sa.Column("extra", sa.Integer(), unique=True))', True),
], ids=["unique", "primary_key", "add_column_unique"])
def test_mg309_constraint_index_is_built_under_access_exclusive(pg_url: str, body: str,
                                                                pk: bool) -> None:
    flagged("MG309", body, says=["under ACCESS EXCLUSIVE",
                                 "reads and writes of t are blocked for the whole build"])
    run(pg_url, body, AE_BUILD, pk=pk)


@pytest.mark.parametrize(("body", "pk"), [
    ("""
    with op.get_context().autocommit_block():
        op.create_index("uq_t_name", "t", ["name"], unique=True,
                        postgresql_concurrently=True)
    op.execute("ALTER TABLE t ADD CONSTRAINT uq_t_name UNIQUE USING INDEX uq_t_name")
    """, True),
    ("""
    with op.get_context().autocommit_block():
        op.create_index("t_pk", "t", ["id"], unique=True, postgresql_concurrently=True)
    op.execute("ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_pk")
    """, False),
], ids=["unique", "primary_key"])
def test_mg309_safe_alternative_concurrent_index_then_using_index(pg_url: str, body: str,
                                                                  pk: bool) -> None:
    not_flagged("MG309", body)
    not_flagged("MG303", body)
    not_flagged("MG304", body)
    # The index is built concurrently; attaching it takes ACCESS EXCLUSIVE without a build.
    _, attach = run_steps(pg_url, body, [Claim(), Claim(locks={"t": "AccessExclusive"},
                                                        scans=False)],
                          unwrap=False, pk=pk, probes=NO_PROBES)
    assert attach.rebuilt_indexes == set(), attach.describe()
    name = "t_pk" if not pk else "uq_t_name"
    assert query(pg_url, f"SELECT contype FROM pg_constraint WHERE conname = '{name}'") \
        == ("p" if not pk else "u")


# --------------------------------------------------------------------------------------------
# MG310 drop-index-not-concurrently (off by default)
# --------------------------------------------------------------------------------------------

MG310 = Settings(extend_select=("MG310",))


def test_mg310_drop_index_blocks_reads_and_writes_from_the_queue_to_commit(
        pg_url: str) -> None:
    body = 'op.drop_index("t_name_idx", table_name="t")'
    flagged("MG310", body, settings=MG310, says=[
        "takes ACCESS EXCLUSIVE on t",
        ("reads and writes of t are blocked from the moment it queues for the lock"
         " until the transaction commits")])
    obs = observe(pg_url, body, hold=READER_ON_T, probes=T_PROBES)
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.waiting == {"t": {"AccessExclusive"}}, obs.describe()
    assert waiting.blocks_reads("t") and waiting.blocks_writes("t"), obs.describe()
    check(obs, Claim(locks={"t": "AccessExclusive"}, reads_blocked={"t": True},
                     writes_blocked={"t": True}))


def test_mg310_safe_alternative_drop_index_concurrently(pg_url: str) -> None:
    body = """
    with op.get_context().autocommit_block():
        op.drop_index("t_name_idx", table_name="t", postgresql_concurrently=True)
    """
    not_flagged("MG310", body, settings=MG310)
    not_flagged("MG304", body, settings=MG310)
    obs = observe(pg_url, body, hold=READER_ON_T, probes=T_PROBES)
    assert obs.error is None, obs.describe()
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.strongest("t") == "ShareUpdateExclusive", obs.describe()
    assert "t" not in waiting.waiting, obs.describe()
    assert not waiting.blocks_reads("t") and not waiting.blocks_writes("t"), obs.describe()
    assert "t_name_idx" not in obs.indexes_after


# --------------------------------------------------------------------------------------------
# MG311 enum-add-value-in-transaction
# --------------------------------------------------------------------------------------------

def test_mg311_new_enum_value_used_in_the_same_transaction_fails(pg_url: str) -> None:
    body = """
    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
    op.execute("UPDATE t SET mood = 'happy' WHERE id = 1")
    """
    flagged("MG311", body, says=["used in the same transaction",
                                 "PostgreSQL rejects the use (55P04)"])
    obs = run(pg_url, body, Claim(sqlstate="55P04"), enum=True)
    assert obs.error is not None
    assert obs.error.message == 'unsafe use of new value "happy" of enum type mood'


def test_mg311_add_value_alone_locks_only_the_type(pg_url: str) -> None:
    body = """op.execute("ALTER TYPE mood ADD VALUE 'happy'")"""
    flagged("MG311", body, says=["cannot be used until the revision commits"])
    probes = (*T_PROBES, Probe("t", "insert", "INSERT INTO t (mood) VALUES ('sad')"))
    obs = observe(pg_url, body, enum=True, probes=probes)
    assert obs.error is None, obs.describe()
    assert obs.locks == {"type mood": {"Exclusive"}}, obs.describe()
    assert not obs.blocks_reads("t") and not obs.blocks_writes("t"), obs.describe()


def test_mg311_safe_alternative_add_value_in_autocommit_block(pg_url: str) -> None:
    body = """
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE mood ADD VALUE 'happy'")
    op.execute("UPDATE t SET mood = 'happy' WHERE id = 1")
    """
    not_flagged("MG311", body)
    run(pg_url, body, Claim(), enum=True, probes=NO_PROBES)
    assert query(pg_url, "SELECT mood::text FROM t WHERE id = 1") == "happy"


# --------------------------------------------------------------------------------------------
# MG312 missing-lock-timeout
# --------------------------------------------------------------------------------------------

def test_mg312_alter_without_lock_timeout_queues_every_new_query_behind_it(
        pg_url: str) -> None:
    body = 'op.add_column("t", sa.Column("note", sa.Text(), nullable=True))'
    flagged("MG312", body, says=["takes ACCESS EXCLUSIVE on t without a lock_timeout",
                                 "behind any open transaction it waits",
                                 "every new query on t queues behind it"])
    obs = observe(pg_url, body, hold=READER_ON_T, probes=(SELECT_T,))
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.waiting == {"t": {"AccessExclusive"}}, obs.describe()
    assert waiting.blocks_reads("t"), obs.describe()  # a plain SELECT queues behind the ALTER
    assert obs.error is None and obs.settings["lock_timeout"] == "0", obs.describe()
    assert obs.strongest("t") == "AccessExclusive"


def test_mg312_safe_alternative_lock_timeout_bounds_the_wait(pg_url: str) -> None:
    # The docstring's '5s', shortened to keep the test fast.
    body = """
    op.execute("SET LOCAL lock_timeout = '1s'")
    op.add_column("t", sa.Column("note", sa.Text(), nullable=True))
    """
    not_flagged("MG312", body)
    obs = observe(pg_url, body, hold=READER_ON_T, hold_until_done=True, probes=(SELECT_T,))
    assert obs.while_waiting is not None, obs.notes
    assert obs.sqlstate == "55P03", obs.describe()  # fails instead of queueing forever
    assert obs.error is not None
    assert obs.error.message == "canceling statement due to lock timeout"
    assert 900 <= obs.ms < 10_000, obs.describe()
    run(pg_url, body, Claim(rewrites=False, scans=False), probes=NO_PROBES)  # no holder: fine


def test_mg312_not_flagged_when_no_access_exclusive_lock_is_taken(pg_url: str) -> None:
    # CREATE INDEX takes SHARE: behind an open writer it waits too, but reads do not queue.
    body = 'op.create_index("ix_t_n", "t", ["n"])'
    not_flagged("MG312", body)
    obs = observe(pg_url, body, hold=WRITER_ON_T, probes=(SELECT_T,))
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.waiting == {"t": {"Share"}}, obs.describe()
    assert not waiting.blocks_reads("t"), obs.describe()
    assert "AccessExclusive" not in obs.locks["t"], obs.describe()


# --------------------------------------------------------------------------------------------
# MG313 unsafe-raw-sql: the named rule's claim, for SQL given to op.execute
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "rule", "says", "claim"), [
    ("CREATE INDEX ix_t_n ON t (n)", "MG303",
     "blocks writes (not reads) for the whole build", MG303_SHARE),
    ("CREATE INDEX CONCURRENTLY ix_t_n ON t (n)", "MG304", "PostgreSQL rejects",
     Claim(sqlstate="25001")),
    ("ALTER TABLE t ADD COLUMN x integer NOT NULL", "MG301", "fails when t has rows",
     Claim(sqlstate="23502")),
    ("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()", "MG302",
     "rewrites the table and its indexes under ACCESS EXCLUSIVE", MG302_REWRITE),
    ("ALTER TABLE t ADD CONSTRAINT fk_t_parent FOREIGN KEY (parent_id) REFERENCES p (id)",
     "MG305", "scans t while writes to both tables are blocked", MG305_SCAN),
    ("ALTER TABLE t ADD CONSTRAINT ck_t_n_positive CHECK (n > 0)", "MG306",
     "scans the table under ACCESS EXCLUSIVE", AE_SCAN),
    ("ALTER TABLE t ALTER COLUMN n SET NOT NULL", "MG307",
     "scans the whole table under ACCESS EXCLUSIVE", AE_SCAN),
    ("ALTER TABLE t ALTER COLUMN n TYPE bigint", "MG308",
     "rewrites the table and its indexes under ACCESS EXCLUSIVE", REWRITE),
    ("ALTER TABLE t ADD CONSTRAINT uq_t_name UNIQUE (name)", "MG309",
     "builds the index under ACCESS EXCLUSIVE, blocking reads and writes", AE_BUILD),
    ("CREATE UNIQUE INDEX uq_t_name ON t (name)", "MG303",
     "blocks writes (not reads) for the whole build", MG303_SHARE),
], ids=["MG303", "MG304", "MG301", "MG302", "MG305", "MG306", "MG307", "MG308", "MG309",
        "MG303-unique"])
def test_mg313_raw_sql_has_the_named_rule_s_effect(pg_url: str, sql: str, rule: str,
                                                  says: str, claim: Claim) -> None:
    body = f'op.execute("{sql}")'
    message = flagged("MG313", body, says=[says, f"({rule})"])
    assert message.endswith(f"({rule})"), message
    run(pg_url, body, claim)


def test_mg313_safe_alternative_create_index_concurrently_in_sql(pg_url: str) -> None:
    body = """
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY ix_t_n ON t (n)")
    """
    not_flagged("MG313", body)
    not_flagged("MG303", body)
    not_flagged("MG304", body)
    obs = observe(pg_url, body, hold=WRITER_ON_T, probes=T_PROBES)
    assert obs.error is None, obs.describe()
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.strongest("t") == "ShareUpdateExclusive", obs.describe()
    assert not waiting.blocks_reads("t") and not waiting.blocks_writes("t"), obs.describe()
    assert obs.indexes_after["ix_t_n"] is True


# --------------------------------------------------------------------------------------------
# MG314 drop-locks-referenced-table
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    'op.drop_column("t", "parent_id")',
    'op.drop_table("t")',
], ids=["drop_column", "drop_table"])
def test_mg314_dropping_a_foreign_key_locks_the_referenced_table_against_reads(
        pg_url: str, body: str) -> None:
    flagged("MG314", body, history=[BASE_REVISION], says=[
        "PostgreSQL takes ACCESS EXCLUSIVE on p too",
        "reads of it wait until the migration commits"])
    run(pg_url, body, Claim(locks={"p": "AccessExclusive"}, reads_blocked={"p": True}),
        fk=True)


def test_mg314_safe_alternative_drop_the_foreign_key_first(pg_url: str) -> None:
    drop_fk = """
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.drop_constraint("fk_t_parent", "t", type_="foreignkey")
    """
    drop_column = 'op.drop_column("t", "parent_id")'  # the next revision
    not_flagged("MG314", drop_fk, history=[BASE_REVISION])
    not_flagged("MG314", drop_column, history=[BASE_REVISION, drop_fk])
    # Dropping the FK still locks p (briefly, bounded by lock_timeout) ...
    first = run(pg_url, drop_fk, Claim(locks={"p": "AccessExclusive"}), fk=True,
                probes=NO_PROBES)
    assert first.settings["lock_timeout"] == "2s"
    # ... and then dropping the column no longer touches p.
    then = run(pg_url, drop_column, Claim(reads_blocked={"p": False},
                                          writes_blocked={"p": False}), fixture=False)
    assert "p" not in then.locks, then.describe()


# --------------------------------------------------------------------------------------------
# MG315 validate-in-same-transaction
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "claim"), [
    ("""
    op.create_check_constraint("ck_t_n_positive", "t", "n > 0", postgresql_not_valid=True)
    op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_t_n_positive")
    """, AE_SCAN),
    ("""
    op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"],
                          postgresql_not_valid=True)
    op.execute("ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent")
    """, MG305_SCAN),
], ids=["check", "foreign_key"])
def test_mg315_validate_in_the_same_transaction_scans_under_the_add_s_lock(
        pg_url: str, body: str, claim: Claim) -> None:
    flagged("MG315", body, says=["in the transaction that added it NOT VALID",
                                 "the ADD's lock is still held during the validation scan"])
    run(pg_url, body, claim)


def test_mg315_safe_alternative_validate_in_autocommit_block(pg_url: str) -> None:
    body = """
    op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"],
                          postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent")
    """
    not_flagged("MG315", body)
    not_flagged("MG305", body)
    run(pg_url, body, Claim(), probes=NO_PROBES)
    assert constraint_validated(pg_url, "fk_t_parent") is True
    run_steps(pg_url, body, [Claim(locks={"t": "ShareRowExclusive", "p": "ShareRowExclusive"},
                                   scans=False), VALIDATE_FK])


# --------------------------------------------------------------------------------------------
# Where the database once contradicted a rule: each case asserts what the database shows and
# that the rule now says the same (regressions of the bugs these tests found).
# --------------------------------------------------------------------------------------------

def reads_claim(message: str) -> bool:
    """Whether a message says reads of t are blocked (``True``) or not (``False``)."""
    if "(reads are not)" in message or "(not reads)" in message:
        return False
    if "reads and writes" in message:
        return True
    raise AssertionError(f"the message says nothing about reads: {message}")



@pytest.mark.parametrize(("code", "body"), [
    pytest.param("MG303", """
    op.add_column("t", sa.Column("extra", sa.Integer()))
    op.create_index("ix_t_n", "t", ["n"])
    """, id="MG303-after-add_column"),
    pytest.param("MG303", """
    op.execute("ALTER TABLE t ADD COLUMN extra integer")
    op.create_index("ix_t_n", "t", ["n"])
    """, id="MG303-after-sql"),
    pytest.param("MG313", """
    op.add_column("t", sa.Column("extra", sa.Integer()))
    op.execute("CREATE INDEX ix_t_n ON t (n)")
    """, id="MG313-after-add_column"),
    pytest.param("MG313", """
    op.execute("ALTER TABLE t ADD COLUMN extra integer; CREATE INDEX ix_t_n ON t (n)")
    """, id="MG313-after-sql"),
])
def test_index_build_after_access_exclusive_in_the_same_transaction(
        pg_url: str, code: str, body: str) -> None:
    message = flagged(code, body, says=["writes"])
    run(pg_url, body, Claim(locks={"t": "AccessExclusive"},
                            reads_blocked={"t": reads_claim(message)},
                            writes_blocked={"t": True}, scans=True))


@pytest.mark.parametrize("check", [
    pytest.param("n IS NOT NULL", id="is_not_null"),
    pytest.param("n IS NOT NULL AND n > 0", id="conjunction"),
    pytest.param("NOT (n IS NULL)", id="not_is_null"),
])
def test_mg307_not_flagged_after_a_validated_check_that_implies_not_null(
        pg_url: str, check: str) -> None:
    history = [BASE_REVISION, f'op.create_check_constraint("ck_t_n", "t", "{check}")']
    body = 'op.alter_column("t", "n", nullable=False)'
    setup = [f"ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK ({check})"]
    run(pg_url, body, Claim(scans=False), setup=setup, probes=NO_PROBES)
    not_flagged("MG307", body, history=history)


def test_mg307_flagged_after_a_check_that_does_not_imply_not_null(pg_url: str) -> None:
    history = [BASE_REVISION, 'op.create_check_constraint("ck_t_n", "t", "n > 0")']
    body = 'op.alter_column("t", "n", nullable=False)'
    flagged("MG307", body, history=history, says=["scans t under ACCESS EXCLUSIVE"])
    run(pg_url, body, AE_SCAN, setup=["ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n > 0)"])


TIME_AT = ["ALTER TABLE t ADD COLUMN at time", "UPDATE t SET at = created_at::time"]


@pytest.mark.parametrize(("body", "setup", "session"), [
    pytest.param('op.alter_column("t", "created_at", type_=postgresql.TIMESTAMP(precision=3),'
                 ' existing_type=sa.DateTime())', [], [], id="timestamp_precision_lowered"),
    pytest.param('op.alter_column("t", "created_at",'
                 ' type_=postgresql.TIMESTAMP(timezone=True, precision=3),'
                 ' existing_type=sa.DateTime())', [], ["SET LOCAL TimeZone = 'UTC'"],
                 id="timestamptz_precision_lowered_in_utc"),
    pytest.param('op.alter_column("t", "at", type_=postgresql.TIME(precision=0),'
                 ' existing_type=sa.Time())', TIME_AT, [], id="time_precision_lowered"),
    pytest.param('op.alter_column("t", "name", type_=sa.String(20), existing_type=sa.String(50))',
                 [], [], id="varchar_shrink"),
])
def test_mg308_flagged_for_changes_that_rewrite(pg_url: str, body: str, setup: list[str],
                                               session: list[str]) -> None:
    run(pg_url, body, REWRITE, setup=setup, session=session)
    flagged("MG308", body, says=["rewrites t and all its indexes under ACCESS EXCLUSIVE"])


ADD_NOTE = 'op.add_column("t", sa.Column("note", sa.Text(), nullable=True))'


@pytest.mark.parametrize("body", [
    pytest.param(f"""
    op.execute("SET LOCAL lock_timeout = '5s'")
    with op.get_context().autocommit_block():
        op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)
    {ADD_NOTE}
    """, id="set_local_before_autocommit_block"),
    pytest.param(f"""
    with op.get_context().autocommit_block():
        op.execute("SET LOCAL lock_timeout = '5s'")
    {ADD_NOTE}
    """, id="set_local_inside_autocommit_block"),
    pytest.param(f"""
    op.execute("SET LOCAL lock_timeout = 0")
    {ADD_NOTE}
    """, id="zero"),
])
def test_mg312_flagged_when_the_alter_runs_without_a_lock_timeout(pg_url: str,
                                                                 body: str) -> None:
    obs = observe(pg_url, body, hold=READER_ON_T, probes=(SELECT_T,))
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.waiting == {"t": {"AccessExclusive"}}, obs.describe()
    assert waiting.blocks_reads("t"), obs.describe()
    assert obs.error is None and obs.settings["lock_timeout"] == "0", obs.describe()
    flagged("MG312", body, says=["without a lock_timeout"])


def test_mg311_a_use_after_an_autocommit_block_is_not_in_the_add_value_s_transaction(
        pg_url: str) -> None:
    body = """
    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
    with op.get_context().autocommit_block():
        op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)
    op.execute("UPDATE t SET mood = 'happy' WHERE id = 1")
    """
    run(pg_url, body, Claim(), enum=True, probes=NO_PROBES)
    assert query(pg_url, "SELECT mood::text FROM t WHERE id = 1") == "happy"
    errors = [d for d in lint(body) if d.code == "MG311" and d.severity == Severity.ERROR]
    assert not errors, errors


def test_mg311_a_use_through_bulk_insert_fails(pg_url: str) -> None:
    body = """
    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
    op.bulk_insert(sa.table("t", sa.column("mood")), [{"mood": "happy"}])
    """
    run(pg_url, body, Claim(sqlstate="55P04"), enum=True)
    errors = [d for d in lint(body) if d.code == "MG311" and d.severity == Severity.ERROR]
    assert errors, lint(body)
