"""The harness's own tests: it must reproduce the facts of pg-locks.md on a real PostgreSQL.

If one of these fails, the observation library (or the server) disagrees with pg-locks.md,
and no MG3 rule test built on it can be trusted until that is resolved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .cluster import Cluster, ClusterError
from .observe import DEFAULT_PROBES, Probe, compile_upgrade, connect, observe

NO_PROBES: tuple[Probe, ...] = ()

CIC = """
with op.get_context().autocommit_block():
    op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)
"""


# --- add_column ------------------------------------------------------------------------------

def test_add_column_nullable_takes_access_exclusive_without_rewrite(pg_url: str) -> None:
    obs = observe(pg_url, 'op.add_column("t", sa.Column("extra", sa.Text(), nullable=True))')
    assert obs.error is None, obs.describe()
    assert obs.sql == ["ALTER TABLE t ADD COLUMN extra TEXT"]
    assert obs.locks["t"] == {"AccessExclusive"}, obs.describe()
    assert obs.blocks_reads("t") and obs.blocks_writes("t"), obs.describe()
    assert obs.blocked("t", "insert") and obs.blocked("t", "update")
    assert not obs.blocks_reads("p") and not obs.blocks_writes("p"), obs.describe()
    assert obs.rewritten == set() and obs.rebuilt_indexes == set(), obs.describe()
    assert obs.seq_tup_read == {}, obs.describe()


def test_add_column_not_null_without_default_fails_on_a_non_empty_table(pg_url: str) -> None:
    source = 'op.add_column("t", sa.Column("extra", sa.Text(), nullable=False))'
    obs = observe(pg_url, source, probes=NO_PROBES)
    assert obs.sqlstate == "23502", obs.describe()
    assert obs.error is not None
    assert obs.error.message == 'column "extra" of relation "t" contains null values'
    assert obs.sql == ["ALTER TABLE t ADD COLUMN extra TEXT NOT NULL"]
    assert obs.before_commit is None
    with pytest.raises(AssertionError, match="upgrade failed"):
        obs.locks  # noqa: B018 - a failed upgrade has no locks to ask about

    empty = observe(pg_url, source, rows=0, probes=NO_PROBES)
    assert empty.error is None, empty.describe()
    assert empty.locks["t"] == {"AccessExclusive"}


# --- indexes ---------------------------------------------------------------------------------

def test_create_index_takes_share_and_blocks_writes_not_reads(pg_url: str) -> None:
    obs = observe(pg_url, 'op.create_index("ix_t_n", "t", ["n"])')
    assert obs.sql == ["CREATE INDEX ix_t_n ON t (n)"]
    assert obs.locks["t"] == {"Share"}, obs.describe()
    assert obs.strongest("t") == "Share"
    assert not obs.blocks_reads("t"), obs.describe()
    assert obs.blocked("t", "insert") and obs.blocked("t", "update"), obs.describe()
    assert obs.seq_tup_read["t"] == 20_000, obs.describe()  # the build scans the table
    assert obs.indexes_after["ix_t_n"] is True


def test_create_index_concurrently_inside_the_transaction_fails(pg_url: str) -> None:
    obs = observe(pg_url, 'op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)',
                  probes=NO_PROBES)
    assert obs.sqlstate == "25001", obs.describe()
    assert obs.error is not None
    assert obs.error.message == "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
    assert "ix_t_n" not in obs.indexes_after


def test_create_index_concurrently_in_autocommit_block_blocks_nothing(pg_url: str) -> None:
    obs = observe(pg_url, CIC)
    assert obs.error is None, obs.describe()
    assert obs.sql == ["CREATE INDEX CONCURRENTLY ix_t_n ON t (n)"]
    assert obs.indexes_after["ix_t_n"] is True  # built and valid
    assert "t" not in obs.locks, obs.describe()  # nothing held once the block has ended
    assert not obs.blocks_reads("t") and not obs.blocks_writes("t"), obs.describe()


def test_create_index_concurrently_holds_share_update_exclusive_while_it_waits(
        pg_url: str) -> None:
    # An open writing transaction makes CONCURRENTLY wait (for its virtualxid); meanwhile the
    # lock it holds on t is visible, and other sessions can still read and write t.
    obs = observe(pg_url, CIC, hold="INSERT INTO t DEFAULT VALUES")
    assert obs.error is None, obs.describe()
    waiting = obs.while_waiting
    assert waiting is not None, obs.notes
    assert waiting.locks["t"] == {"ShareUpdateExclusive"}, obs.describe()
    assert waiting.waiting == {"virtualxid": {"Share"}}, obs.describe()
    assert not waiting.blocks_reads("t") and not waiting.blocks_writes("t"), obs.describe()
    assert obs.indexes_after["ix_t_n"] is True


def test_autocommit_block_commits_what_came_before_it(pg_url: str) -> None:
    # As in Alembic: the block commits the revision's transaction so far, so the ADD COLUMN's
    # AccessExclusive is gone afterwards (and the column stays even though the rest fails).
    source = """
    op.add_column("t", sa.Column("extra", sa.Text()))
    with op.get_context().autocommit_block():
        op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)
    op.drop_column("t", "code")
    """
    obs = observe(pg_url, source)
    assert obs.error is None, obs.describe()
    assert obs.locks["t"] == {"AccessExclusive"}, obs.describe()  # from DROP COLUMN only
    failing = source.replace('op.drop_column("t", "code")', 'op.drop_column("t", "nope")')
    failed = observe(pg_url, failing, probes=NO_PROBES)
    assert failed.sqlstate == "42703", failed.describe()
    with connect(pg_url) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0")}
    assert "extra" in columns


# --- column types ----------------------------------------------------------------------------

def test_int_to_bigint_rewrites_the_table_and_its_indexes(pg_url: str) -> None:
    obs = observe(pg_url,
                  'op.alter_column("t", "n", type_=sa.BigInteger(), existing_type=sa.Integer())',
                  probes=DEFAULT_PROBES[:1])
    assert obs.sql == ["ALTER TABLE t ALTER COLUMN n TYPE BIGINT"]
    assert obs.rewritten == {"t"}, obs.describe()
    assert obs.rebuilt_indexes == {"t_pkey", "t_name_idx"}, obs.describe()
    assert obs.strongest("t") == "AccessExclusive"
    assert obs.blocks_reads("t")
    assert obs.seq_tup_read["t"] == 3 * 20_000, obs.describe()  # table + two index builds


def test_varchar_widening_rewrites_nothing(pg_url: str) -> None:
    obs = observe(pg_url,
                  'op.alter_column("t", "name", type_=sa.String(100), existing_type=sa.String(50))',
                  probes=NO_PROBES)
    assert obs.sql == ["ALTER TABLE t ALTER COLUMN name TYPE VARCHAR(100)"]
    assert obs.rewritten == set() and obs.rebuilt_indexes == set(), obs.describe()
    assert obs.recreated_indexes == {"t_name_idx"}, obs.describe()  # storage kept
    assert obs.strongest("t") == "AccessExclusive"
    assert "t" not in obs.seq_tup_read


# --- foreign keys ----------------------------------------------------------------------------

def test_create_foreign_key_takes_share_row_exclusive_on_both_tables(pg_url: str) -> None:
    obs = observe(pg_url, 'op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"])')
    assert obs.error is None, obs.describe()
    assert obs.strongest("t") == "ShareRowExclusive", obs.describe()
    assert obs.strongest("p") == "ShareRowExclusive", obs.describe()
    assert not obs.blocks_reads("t") and not obs.blocks_reads("p"), obs.describe()
    assert obs.blocks_writes("t") and obs.blocks_writes("p"), obs.describe()
    assert obs.seq_tup_read["t"] == 20_000, obs.describe()  # validation scans t


def test_drop_column_with_a_foreign_key_locks_the_parent_access_exclusive(pg_url: str) -> None:
    obs = observe(pg_url, 'op.drop_column("t", "parent_id")', fk=True)
    assert obs.error is None, obs.describe()
    assert obs.locks["p"] == {"AccessExclusive"}, obs.describe()
    assert obs.locks["t"] == {"AccessExclusive"}, obs.describe()
    assert obs.blocks_reads("p") and obs.blocks_writes("p"), obs.describe()


# --- enums -----------------------------------------------------------------------------------

def test_enum_add_value_works_in_a_transaction_but_the_value_is_unusable_until_commit(
        pg_url: str) -> None:
    added = observe(pg_url, """op.execute("ALTER TYPE mood ADD VALUE 'happy'")""", enum=True,
                    probes=(*DEFAULT_PROBES[:3],
                            Probe("t", "insert", "INSERT INTO t (mood) VALUES ('sad')")))
    assert added.error is None, added.describe()
    assert added.locks == {"type mood": {"Exclusive"}}, added.describe()
    assert not added.blocks_reads("t") and not added.blocks_writes("t"), added.describe()

    used = observe(pg_url, """
        op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        op.execute("UPDATE t SET mood = 'happy' WHERE id = 1")
    """, enum=True, probes=NO_PROBES)
    assert used.sqlstate == "55P04", used.describe()
    assert used.error is not None
    assert used.error.message == 'unsafe use of new value "happy" of enum type mood'
    assert used.error.statement == "UPDATE t SET mood = 'happy' WHERE id = 1"


# --- lock_timeout and the lock queue ---------------------------------------------------------

def test_set_local_lock_timeout_shows_in_the_migration_session(pg_url: str) -> None:
    obs = observe(pg_url, """
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.add_column("t", sa.Column("extra", sa.Text()))
    """, probes=NO_PROBES)
    assert obs.error is None, obs.describe()
    assert obs.settings["lock_timeout"] == "5s"
    assert observe(pg_url, "pass", probes=NO_PROBES).settings["lock_timeout"] == "0"
    env = observe(pg_url, "pass", session=["SET LOCAL lock_timeout = '3s'"], probes=NO_PROBES)
    assert env.settings["lock_timeout"] == "3s"


def test_a_waiting_alter_blocks_reads_and_lock_timeout_bounds_the_wait(pg_url: str) -> None:
    add = 'op.add_column("t", sa.Column("extra", sa.Text()))'
    reader = "SELECT 1 FROM t LIMIT 1"  # an open transaction that has read t
    queued = observe(pg_url, add, hold=reader, probes=DEFAULT_PROBES[:1])
    assert queued.while_waiting is not None, queued.notes
    assert queued.while_waiting.waiting == {"t": {"AccessExclusive"}}, queued.describe()
    assert queued.while_waiting.blocks_reads("t"), queued.describe()  # queued behind the ALTER
    assert queued.error is None  # it went through once the reader finished

    bounded = observe(pg_url, "op.execute(\"SET LOCAL lock_timeout = '2s'\")\n" + add,
                      hold=reader, hold_until_done=True, probes=DEFAULT_PROBES[:1])
    assert bounded.while_waiting is not None, bounded.notes
    assert bounded.while_waiting.blocks_reads("t"), bounded.describe()
    assert bounded.sqlstate == "55P03", bounded.describe()
    assert bounded.error is not None
    assert bounded.error.message == "canceling statement due to lock timeout"


# --- the harness itself ----------------------------------------------------------------------

def test_a_whole_revision_file_runs_with_alembic_s_own_op(pg_url: str) -> None:
    source = '''
"""add extra"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade() -> None:
    op.add_column("t", sa.Column("extra", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("t", "extra")
'''
    obs = observe(pg_url, source, probes=NO_PROBES)
    assert obs.error is None, obs.describe()
    assert obs.sql == ["ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT '0' NOT NULL"]
    assert obs.rewritten == set()  # a constant default is stored in the catalog
    assert obs.server_version.split(".")[0].isdigit()


def test_asking_about_a_probe_that_was_not_run_is_an_error(pg_url: str) -> None:
    obs = observe(pg_url, "pass", rows=10, probes=DEFAULT_PROBES[:1])
    assert not obs.blocks_reads("t")
    with pytest.raises(LookupError):
        obs.blocks_writes("t")


def test_python_errors_in_the_upgrade_are_raised_not_recorded(pg_url: str) -> None:
    with pytest.raises(NameError):
        observe(pg_url, "op.add_column(undefined_name)", rows=10, probes=NO_PROBES)
    with pytest.raises(SyntaxError):
        compile_upgrade("op.add_column(")


def test_missing_postgresql_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("MIGLS_PG_BINDIR", str(tmp_path))
    with pytest.raises(ClusterError, match="apt-get install postgresql"):
        Cluster()


def test_a_cluster_starts_on_loopback_and_leaves_nothing_behind() -> None:
    import psycopg

    cluster = Cluster()
    dsn = cluster.start()
    root = cluster.root
    assert root is not None and root.exists()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            settings: dict[str, str] = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses',"
                " 'fsync', 'synchronous_commit', 'full_page_writes', 'unix_socket_directories')"
            ).fetchall())
    finally:
        cluster.stop()
    assert settings == {"listen_addresses": "127.0.0.1", "fsync": "off",
                        "synchronous_commit": "off", "full_page_writes": "off",
                        "unix_socket_directories": str(root)}
    assert not root.exists()
    cluster.stop()  # idempotent
