"""The unsafe fixes that rewrite operations produce upgrades that run on PostgreSQL.

Each test lints a small revision on the fixture table ``t``, applies the finding's fix, and
runs the fixed ``upgrade()`` through Alembic on a real server (``observe``).
"""

from __future__ import annotations

import textwrap

from migls.config import parse_settings
from migls.engine import lint_sources
from migls.fixes import apply_edits

from .observe import observe

HEADER = 'revision = "a1"\ndown_revision = None\n\n\n'


def fixed(code: str, body: str, settings: dict[str, object] | None = None) -> str:
    """The revision with ``body`` as ``upgrade()``, after the fix of its ``code`` finding."""
    source = HEADER + "def upgrade():\n" + textwrap.indent(textwrap.dedent(body).strip("\n"),
                                                            "    ") + "\n"
    result = lint_sources({"0001_a1.py": source},
                          parse_settings(dict(settings or {}), None, "test"))
    found = [d for d in result.diagnostics if d.code == code and d.fix is not None]
    assert found, [d.code for d in result.diagnostics]
    text = apply_edits(source, found[0].fix.edits)  # type: ignore[union-attr]
    again = lint_sources({"0001_a1.py": text}, parse_settings(dict(settings or {}), None, "test"))
    assert code not in [d.code for d in again.diagnostics], text
    return text


def test_mg303_fix_builds_a_valid_index_concurrently(pg_url: str) -> None:
    text = fixed("MG303", '''
        op.create_index(
            "ix_t_n",
            "t",
            ["n"],
        )
    ''')
    assert "postgresql_concurrently=True," in text and "autocommit_block()" in text
    obs = observe(pg_url, text, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["CREATE INDEX CONCURRENTLY ix_t_n ON t (n)"], obs.describe()
    assert obs.indexes_after["ix_t_n"] is True  # built and valid


def test_mg310_fix_drops_the_index_concurrently(pg_url: str) -> None:
    text = fixed("MG310", 'op.drop_index("ix_t_n", table_name="t")',
                 {"extend-select": ["MG310"]})
    obs = observe(pg_url, text, probes=(), setup=["CREATE INDEX ix_t_n ON t (n)"])
    assert obs.error is None, obs.describe()
    assert obs.sql == ["DROP INDEX CONCURRENTLY ix_t_n"], obs.describe()
    assert "ix_t_n" not in obs.indexes_after


def test_mg312_fix_sets_lock_timeout_and_the_upgrade_still_runs(pg_url: str) -> None:
    text = fixed("MG312", '''
        """Add a note."""
        op.add_column("t", sa.Column("note", sa.Text(), nullable=True))
    ''')
    assert text.index('"""Add a note."""') < text.index("SET LOCAL lock_timeout")
    obs = observe(pg_url, text, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["SET LOCAL lock_timeout = '5s'", "ALTER TABLE t ADD COLUMN note TEXT"], \
        obs.describe()


def test_mg305_fix_adds_the_foreign_key_not_valid_then_validates_it(pg_url: str) -> None:
    text = fixed("MG305", '''
        op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"])
    ''')
    assert "postgresql_not_valid=True" in text and "VALIDATE CONSTRAINT fk_t_parent" in text
    obs = observe(pg_url, text, probes=(), setup=["UPDATE t SET parent_id = 1 + id % 1000"])
    assert obs.error is None, obs.describe()
    assert any(s.endswith("NOT VALID") for s in obs.sql), obs.describe()
    assert "ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent" in obs.sql, obs.describe()
    assert not obs.before_commit.locks.get("p"), obs.describe()  # nothing left holding p


def test_mg306_fix_adds_the_check_not_valid_then_validates_it(pg_url: str) -> None:
    text = fixed("MG306", 'op.create_check_constraint("ck_t_n", "t", "n >= 0")')
    obs = observe(pg_url, text, probes=(), setup=["UPDATE t SET n = 1"])
    assert obs.error is None, obs.describe()
    assert "ALTER TABLE t VALIDATE CONSTRAINT ck_t_n" in obs.sql, obs.describe()
    assert not obs.before_commit.locks.get("t"), obs.describe()
