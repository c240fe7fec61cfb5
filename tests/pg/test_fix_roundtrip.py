"""Every fix that rewrites operations gives a revision that runs on a real PostgreSQL.

For MG301, MG303, MG304, MG305, MG306, MG310, MG311, MG312 and MG315: the finding's fix is
applied through the engine ``--unsafe-fixes`` uses (the fixed file parses, linting it again no
longer reports the finding, fixing it again changes nothing); ``observe`` runs the fixed
``upgrade()`` on the fixture table ``t`` and checks the SQL and locks the fix is about; then a
real Alembic environment runs ``upgrade``, ``downgrade``, ``upgrade`` and the schema is
compared after each step (``round_trip``). The same on SQLite, where the operations exist
there: ``tests/test_fix_sqlite_roundtrip.py``, which also holds the harness.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from migls_rules.add_column_not_null_without_default import AddColumnNotNullWithoutDefault
from test_fix_sqlite_roundtrip import (
    ENV_PY,
    PATH,
    codes,
    fix,
    project,
    revision,
    round_trip,
    rows,
    schema,
    settings_of,
)

from migls.engine import lint_files, read_file
from migls.fixes import apply_edits
from migls.rule import Context

from .observe import build_fixture, observe

ROWS = 2000


def fresh(url: str, **fixture: object) -> None:
    """The fixture of ``observe`` (tables ``p`` and ``t`` with rows), for a round trip."""
    build_fixture(url, ROWS, **fixture)  # type: ignore[arg-type]


# -- MG301 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [  # value: the placeholder as ::text
    ('sa.Column("extra", sa.Text(), nullable=False)', ""),
    ('sa.Column("extra", sa.String(length=255), nullable=False)', ""),
    ('sa.Column("extra", sa.BigInteger(), nullable=False)', "0"),
    ('sa.Column("extra", sa.Numeric(10, 2), nullable=False)', "0.00"),
    ('sa.Column("extra", sa.Float(), nullable=False)', "0"),
    ('sa.Column("extra", sa.Boolean(), nullable=False)', "false"),
    ('sa.Column("extra", sa.DateTime(timezone=True), nullable=False)', None),
    ('sa.Column("extra", sa.Date(), nullable=False)', None),
    ('sa.Column("extra", postgresql.JSONB(), nullable=False)', "{}"),
    ('sa.Column("extra", sa.ARRAY(sa.Integer()), nullable=False)', "{}"),
    (('sa.Column("extra", postgresql.ENUM("sad", "ok", name="mood", create_type=False),'
      ' nullable=False)'), "sad"),
])
def test_mg301_placeholder_adds_the_column_without_a_rewrite(
        pg_url: str, tmp_path: Path, column: str, value: str | None) -> None:
    text = revision(f'op.add_column("t", {column})', 'op.drop_column("t", "extra")')
    fixed = fix(text, "MG301")
    obs = observe(pg_url, fixed, probes=(), rows=ROWS, enum=True)
    assert obs.error is None, obs.describe()
    assert obs.rewritten == frozenset(), obs.describe()  # catalog-only: a fast default
    fresh(pg_url, enum=True)
    round_trip(project(tmp_path, pg_url, fixed))
    found = rows(pg_url, "SELECT DISTINCT extra IS NULL, extra::text FROM t")
    assert len(found) == 1 and found[0][0] is False, found
    if value is not None:  # (the clock placeholders give the migration's time)
        assert found[0][1] == value, found


def test_mg301_finding_is_real_without_the_fix(pg_url: str) -> None:
    text = revision('op.add_column("t", sa.Column("extra", sa.Text(), nullable=False))',
                    'op.drop_column("t", "extra")')
    obs = observe(pg_url, text, probes=(), rows=ROWS)
    assert obs.sqlstate == "23502", obs.describe()


@pytest.mark.parametrize(("column", "backfill"), [
    ('sa.Column("extra", sa.Text(), nullable=False)', "UPDATE t SET extra = ''"),
    ('sa.Column("extra", sa.Uuid(), nullable=False)', "UPDATE t SET extra = gen_random_uuid()"),
])
def test_mg301_second_quick_fix_adds_nullable_backfills_then_sets_not_null(
        pg_url: str, tmp_path: Path, column: str, backfill: str) -> None:
    text = revision(f'op.add_column("t", {column})', 'op.drop_column("t", "extra")')
    files = [read_file(PATH, text.encode())]
    result = lint_files(files, settings_of(None))
    finding = next(d for d in result.diagnostics if d.code == "MG301")
    ctx = Context(result.files, result.graph, settings_of(None))
    alternatives = AddColumnNotNullWithoutDefault().alternative_fixes(
        ctx, result.files[0], finding.span, finding.message)
    assert [a.safety for a in alternatives] == ["unsafe"]
    fixed = apply_edits(text, alternatives[0].edits)
    assert "nullable=True" in fixed and backfill in fixed and "nullable=False)" in fixed
    again = codes(fixed)
    # MG301 is resolved; the locks of the sequence are reported, as the rule page says
    assert "MG301" not in again and {"MG307", "MG502"} <= set(again), again
    obs = observe(pg_url, fixed, probes=(), rows=ROWS)
    assert obs.error is None, obs.describe()
    assert obs.sql[-2:] == [backfill, "ALTER TABLE t ALTER COLUMN extra SET NOT NULL"], obs.sql
    fresh(pg_url)
    _, upgraded = round_trip(project(tmp_path, pg_url, fixed))
    extra = next(c for c in upgraded["t"]["columns"] if c[0] == "extra")  # type: ignore[index]
    assert extra[2] is False  # NOT NULL
    assert rows(pg_url, "SELECT count(*) FROM t WHERE extra IS NULL") == [(0,)]


# -- indexes: MG303, MG304, MG310 --------------------------------------------------------------

def test_mg303_fix_builds_a_valid_index_concurrently(pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('''
        op.create_index(
            "ix_t_n",
            "t",
            ["n"],
        )
    ''', 'op.drop_index("ix_t_n", table_name="t")'), "MG303")
    assert "postgresql_concurrently=True," in fixed and "autocommit_block()" in fixed
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["CREATE INDEX CONCURRENTLY ix_t_n ON t (n)"], obs.describe()
    assert obs.indexes_after["ix_t_n"] is True  # built and valid
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))


def test_mg304_fix_runs_the_concurrent_build_outside_the_transaction(
        pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('op.create_index("ix_t_code", "t", ["code"], postgresql_concurrently=True)',
                         'op.drop_index("ix_t_code", table_name="t")'), "MG304")
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["CREATE INDEX CONCURRENTLY ix_t_code ON t (code)"], obs.describe()
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))


def test_mg304_finding_is_real_without_the_fix(pg_url: str) -> None:
    obs = observe(pg_url, 'op.create_index("ix_t_code", "t", ["code"], '
                          'postgresql_concurrently=True)', probes=())
    assert obs.sqlstate == "25001", obs.describe()  # active_sql_transaction


def test_mg310_fix_drops_the_index_concurrently(pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('op.drop_index("t_name_idx", table_name="t")',
                         'op.create_index("t_name_idx", "t", ["name"])'),
                "MG310", {"extend-select": ["MG310"]})
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["DROP INDEX CONCURRENTLY t_name_idx"], obs.describe()
    assert "t_name_idx" not in obs.indexes_after
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))


# -- MG312 -------------------------------------------------------------------------------------

def test_mg312_fix_sets_lock_timeout_and_the_upgrade_still_runs(pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('''
        """Add a note."""
        op.add_column("t", sa.Column("note", sa.Text(), nullable=True))
    ''', 'op.drop_column("t", "note")'), "MG312")
    assert fixed.index('"""Add a note."""') < fixed.index("SET LOCAL lock_timeout")
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["SET LOCAL lock_timeout = '5s'", "ALTER TABLE t ADD COLUMN note TEXT"], \
        obs.describe()
    assert obs.settings["lock_timeout"] == "5s"
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))


# -- constraints: MG305, MG306, MG315 ----------------------------------------------------------

def _validated(url: str, name: str) -> bool:
    found = rows(url, f"SELECT convalidated FROM pg_constraint WHERE conname = '{name}'")
    assert found, f"no constraint {name}"
    return bool(found[0][0])


@pytest.mark.parametrize("name", ['"fk_t_parent"', 'op.f("fk_t_parent")'])
def test_mg305_fix_adds_the_foreign_key_not_valid_then_validates_it(
        pg_url: str, tmp_path: Path, name: str) -> None:
    # op.f() marks a name as final (autogenerate writes it under a naming convention): the
    # constraint gets exactly that name, which VALIDATE must use.
    fixed = fix(revision(f'op.create_foreign_key({name}, "t", "p", ["parent_id"], ["id"])',
                         'op.drop_constraint("fk_t_parent", "t", type_="foreignkey")'), "MG305")
    assert "postgresql_not_valid=True" in fixed and "VALIDATE CONSTRAINT fk_t_parent" in fixed
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert any(s.endswith("NOT VALID") for s in obs.sql), obs.describe()
    assert "ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent" in obs.sql, obs.describe()
    assert not obs.before_commit.locks.get("p"), obs.describe()  # nothing left holding p
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))
    assert _validated(pg_url, "fk_t_parent")


def test_mg305_fix_quotes_a_reserved_table_name_and_keeps_its_schema(
        pg_url: str, tmp_path: Path) -> None:
    """``order`` is a reserved word and the table lives in a schema: the VALIDATE step must
    name ``shop."order"``, or PostgreSQL rejects it."""
    fresh(pg_url)
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS shop CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA shop")
        conn.exec_driver_sql('CREATE TABLE shop."order" (id int PRIMARY KEY, parent_id int)')
    engine.dispose()
    fixed = fix(revision(
        'op.create_foreign_key("fk_order_parent", "order", "p", ["parent_id"], ["id"], '
        'source_schema="shop")',
        'op.drop_constraint("fk_order_parent", "order", schema="shop", type_="foreignkey")'),
        "MG305")
    assert 'shop."order" VALIDATE CONSTRAINT fk_order_parent' in fixed, fixed
    # (the round-trip schema comparison reads the public schema only, so step by hand)
    migration = project(tmp_path, pg_url, fixed)
    migration.upgrade()
    assert _validated(pg_url, "fk_order_parent")
    migration.downgrade()
    assert not rows(pg_url, "SELECT 1 FROM pg_constraint WHERE conname = 'fk_order_parent'")
    migration.upgrade()
    assert _validated(pg_url, "fk_order_parent")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA shop CASCADE")
    engine.dispose()


def test_mg306_fix_adds_the_check_not_valid_then_validates_it(pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('op.create_check_constraint("ck_t_n", "t", "n >= 0")',
                         'op.drop_constraint("ck_t_n", "t", type_="check")'), "MG306")
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert "ALTER TABLE t VALIDATE CONSTRAINT ck_t_n" in obs.sql, obs.describe()
    assert not obs.before_commit.locks.get("t"), obs.describe()
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))
    assert _validated(pg_url, "ck_t_n")


def test_mg315_fix_validates_the_foreign_key_after_the_add_commits(
        pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('''
        op.create_foreign_key("fk_t_parent", "t", "p", ["parent_id"], ["id"],
                              postgresql_not_valid=True)
        op.execute("ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent")
    ''', 'op.drop_constraint("fk_t_parent", "t", type_="foreignkey")'), "MG315")
    assert "    with op.get_context().autocommit_block():\n        op.execute(" in fixed
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql[-1] == "ALTER TABLE t VALIDATE CONSTRAINT fk_t_parent", obs.describe()
    assert not obs.before_commit.locks.get("p"), obs.describe()  # the ADD's lock is gone
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))
    assert _validated(pg_url, "fk_t_parent")


def test_mg315_fix_splits_a_literal_of_several_statements(pg_url: str, tmp_path: Path) -> None:
    fixed = fix(revision('''
        op.execute("ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n >= 0) NOT VALID;"
                   " ALTER TABLE t VALIDATE CONSTRAINT ck_t_n;"
                   " UPDATE t SET n = n + 1 WHERE id = 1")
    ''', '''
        op.execute("UPDATE t SET n = n - 1 WHERE id = 1")
        op.drop_constraint("ck_t_n", "t", type_="check")
    '''), "MG315")
    assert 'op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_t_n")' in fixed
    obs = observe(pg_url, fixed, probes=())
    assert obs.error is None, obs.describe()
    assert obs.sql == ["ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n >= 0) NOT VALID",
                       "ALTER TABLE t VALIDATE CONSTRAINT ck_t_n",
                       "UPDATE t SET n = n + 1 WHERE id = 1"], obs.describe()
    # the ADD's ACCESS EXCLUSIVE was committed away: only the UPDATE's lock is held
    assert obs.strongest("t") == "RowExclusive", obs.describe()
    fresh(pg_url)
    round_trip(project(tmp_path, pg_url, fixed))
    assert _validated(pg_url, "ck_t_n")


# -- MG311 -------------------------------------------------------------------------------------

MOOD_DOWNGRADE = '''
    op.execute("UPDATE t SET mood = 'ok' WHERE mood = 'happy'")
    op.execute("ALTER TYPE mood RENAME TO mood_old")
    op.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    op.execute("ALTER TABLE t ALTER COLUMN mood DROP DEFAULT")
    op.execute("ALTER TABLE t ALTER COLUMN mood TYPE mood USING mood::text::mood")
    op.execute("ALTER TABLE t ALTER COLUMN mood SET DEFAULT 'ok'")
    op.execute("DROP TYPE mood_old")
'''


def test_mg311_fix_commits_the_new_value_before_it_is_used(pg_url: str, tmp_path: Path) -> None:
    text = revision('''
        op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        op.execute("UPDATE t SET mood = 'happy' WHERE id = 1")
    ''', MOOD_DOWNGRADE)
    assert observe(pg_url, text, probes=(), enum=True).sqlstate == "55P04"  # the finding
    fixed = fix(text, "MG311")
    obs = observe(pg_url, fixed, probes=(), enum=True)
    assert obs.error is None, obs.describe()
    fresh(pg_url, enum=True)
    _, upgraded = round_trip(project(tmp_path, pg_url, fixed))
    assert ("mood", ("sad", "ok", "happy")) in upgraded["enums"]  # type: ignore[operator]
    assert rows(pg_url, "SELECT mood::text FROM t WHERE id = 1") == [("happy",)]


# -- the example project -----------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blog"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


def test_fixed_example_project_still_runs(pg_url: str, tmp_path: Path) -> None:
    """``migls lint --fix`` then ``--unsafe-fixes`` on a copy of examples/blog: every file
    still parses, a second run changes nothing, and ``alembic upgrade heads``, ``downgrade
    base``, ``upgrade heads`` run the fixed revisions on PostgreSQL.
    It runs with the example's own env.py (which sets ``lock_timeout``), and the database
    really holds the tables afterwards."""
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLE, blog)
    for flags in (["--fix"], ["--fix", "--unsafe-fixes"]):
        result = _run("migls", "lint", *flags, ".", cwd=blog)
        assert result.returncode in (0, 1) and re.search(r"Fixed \d+ problem", result.stderr), \
            result.stderr
    revisions = sorted(blog.rglob("versions/*.py"))
    assert len(revisions) == 7
    for path in revisions:
        ast.parse(path.read_bytes(), str(path))
    snapshot = {path: path.read_bytes() for path in blog.rglob("*.py")}
    again = _run("migls", "lint", "--fix", "--unsafe-fixes", ".", cwd=blog)
    assert "Fixed 0 problems." in again.stderr, again.stderr
    assert {path: path.read_bytes() for path in blog.rglob("*.py")} == snapshot
    ini = blog / "alembic.ini"
    ini.write_text(re.sub(r"(?m)^sqlalchemy\.url = .*$",
                          lambda _: "sqlalchemy.url = " + pg_url.replace("%", "%%"),
                          ini.read_text()))
    steps = []
    for step in (["upgrade", "heads"], ["downgrade", "base"], ["upgrade", "heads"]):
        ran = _run("alembic", "-c", str(ini), *step, cwd=blog)
        assert ran.returncode == 0, ran.stderr
        steps.append(schema(pg_url))
    assert steps[0] == steps[2] and {"users", "posts", "comments", "tags"} <= set(steps[0])
    assert not set(steps[1]) - {"enums", "constraints"}  # every table dropped again
