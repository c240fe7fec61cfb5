"""The fixes that rewrite operations give revisions that run on SQLite, where the operation
exists there: ``alembic upgrade``, ``downgrade``, ``upgrade`` again on a file database.

The lock rules fire for PostgreSQL environments only (the default dialect), so what runs here
is the revision a PostgreSQL project gets from ``--unsafe-fixes`` and also runs on SQLite (its
tests, a developer's machine). ``postgresql_*`` keywords are ignored by SQLite and
``autocommit_block()`` works there. Not applicable on SQLite, so not run here:

* MG305, MG306, MG315 (NOT VALID constraints, VALIDATE CONSTRAINT): SQLite has no ``ALTER
  TABLE ... ADD CONSTRAINT`` (Alembic needs batch mode for constraints there);
* MG311 (``ALTER TYPE ... ADD VALUE``): SQLite has no enum types;
* MG312 (``SET LOCAL lock_timeout``): SQLite has no such setting; the rule fires only when the
  environment's dialect is PostgreSQL, and there the fixed revision runs (tests/pg);
* MG301's second quick fix (nullable, backfill, SET NOT NULL): ``alter_column`` needs batch
  mode on SQLite;
* MG301's ``sa.func.now()`` / ``sa.func.current_date()`` placeholders: SQLite refuses a
  non-constant default in ``ADD COLUMN``, which a test below pins.

The harness here (a real Alembic environment around one revision, the fix engine, the round
trip) is shared with ``tests/pg/test_fix_roundtrip.py``.
"""

from __future__ import annotations

import ast
import sqlite3
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from migls.config import Settings, parse_settings
from migls.engine import fix_files, lint_files, read_file
from migls.registry import rule_by_selector

ENV_PY = '''\
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''
HEADER = '''\
"""{message}

Revision ID: a1
Revises:
Create Date: 2024-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


'''
PATH = "migrations/versions/0001_a1.py"


def revision(upgrade: str, downgrade: str, message: str = "change t") -> str:
    """A whole revision file with these ``upgrade()`` and ``downgrade()`` bodies."""

    def body(code: str) -> str:
        return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ")

    return (HEADER.format(message=message) + f"def upgrade():\n{body(upgrade)}\n\n\n"
            f"def downgrade():\n{body(downgrade)}\n")


def settings_of(settings: dict[str, object] | None) -> Settings:
    """``[tool.migls]``-style settings as the engine takes them."""
    return parse_settings(dict(settings or {}), None, "test")


def codes(text: str, settings: dict[str, object] | None = None) -> list[str]:
    """The codes every rule reports on ``text`` as the revision file."""
    files = [read_file(PATH, text.encode())]
    return [d.code for d in lint_files(files, settings_of(settings)).diagnostics]


def fix(text: str, code: str, settings: dict[str, object] | None = None) -> str:
    """``text`` after ``--unsafe-fixes`` limited to ``code``, through the engine the CLI
    uses; checks that the result parses, no longer has the finding, and that fixing it
    again changes nothing."""
    rule = rule_by_selector(code)
    assert rule is not None and code in codes(text, settings), codes(text, settings)
    files = [read_file(PATH, text.encode())]
    once = fix_files(files, settings_of(settings), rules=[rule], report=lambda f: True, unsafe=True)
    fixed = once.texts.get(PATH)
    assert fixed is not None and once.applied >= 1, f"{code}: nothing was fixed"
    assert_parses(fixed)
    assert code not in codes(fixed, settings), fixed
    twice = fix_files([read_file(PATH, fixed.encode())], settings_of(settings), rules=[rule],
                      report=lambda f: True, unsafe=True)
    assert twice.applied == 0 and not twice.texts, twice.texts
    return fixed


def assert_parses(text: str) -> None:
    """Python parses it, and migls reads it without a syntax error."""
    ast.parse(text)
    assert read_file(PATH, text.encode()).syntax_error is None


@dataclass
class Project:
    """An Alembic environment on disk with one revision, pointed at one database."""

    config: Config
    url: str

    def upgrade(self) -> None:
        command.upgrade(self.config, "head")

    def downgrade(self) -> None:
        command.downgrade(self.config, "base")


def project(root: Path, url: str, text: str) -> Project:
    """``alembic.ini``, ``env.py`` and the revision under ``root``."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        f"sqlalchemy.url = {url.replace('%', '%%')}\n")
    (root / PATH).write_text(text)
    return Project(Config(str(root / "alembic.ini")), url)


def schema(url: str) -> dict[str, object]:
    """What the round trip must restore: every table's columns (type, nullability,
    default), indexes, foreign keys, checks and unique constraints; PostgreSQL's enum types
    and constraint validity (``alembic_version`` left out)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        out: dict[str, object] = {}
        for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                            for c in inspector.get_columns(table)],
                "indexes": sorted((i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                                  for i in inspector.get_indexes(table)),
                "foreign_keys": sorted((f["name"] or "", tuple(f["constrained_columns"]),
                                        f["referred_table"])
                                       for f in inspector.get_foreign_keys(table)),
                "checks": sorted((c["name"] or "", c["sqltext"])
                                 for c in inspector.get_check_constraints(table)),
                "unique": sorted((u["name"] or "", tuple(u["column_names"]))
                                 for u in inspector.get_unique_constraints(table)),
            }
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                out["enums"] = sorted((e["name"], tuple(e["labels"]))
                                      for e in inspector.get_enums())  # type: ignore[attr-defined]
                out["constraints"] = sorted(conn.exec_driver_sql(
                    "SELECT conrelid::regclass::text, conname, convalidated FROM pg_constraint"
                    " WHERE connamespace = 'public'::regnamespace"
                    " AND conrelid::regclass::text <> 'alembic_version'").all())
        return out
    finally:
        engine.dispose()


def round_trip(project: Project) -> tuple[dict[str, object], dict[str, object]]:
    """upgrade, downgrade, upgrade: the downgrade restores the schema from before, the
    second upgrade gives the schema of the first. Returns (before, after the upgrade)."""
    before = schema(project.url)
    project.upgrade()
    upgraded = schema(project.url)
    assert upgraded != before, "the upgrade changed nothing"
    project.downgrade()
    assert schema(project.url) == before
    project.upgrade()
    assert schema(project.url) == upgraded
    return before, upgraded


# -- SQLite ------------------------------------------------------------------------------------

ROWS = 500


def sqlite_db(tmp_path: Path) -> str:
    """A file database with the table ``t`` (rows, index ``t_name_idx``), as the PostgreSQL
    fixture of tests/pg has it."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, name VARCHAR(50), code TEXT,"
            " parent_id INTEGER, created_at TIMESTAMP);"
            "CREATE INDEX t_name_idx ON t (name);")
        conn.executemany("INSERT INTO t (n, name, code) VALUES (?, ?, ?)",
                         [(i, f"name{i}", f"c{i % 10}") for i in range(ROWS)])
    conn.close()
    return f"sqlite:///{path}"


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("column", "stored"), [
    ('sa.Column("email", sa.Text(), nullable=False)', ""),
    ('sa.Column("email", sa.String(255), nullable=False)', ""),
    ('sa.Column("email", sa.Integer(), nullable=False)', 0),
    ('sa.Column("email", sa.Numeric(10, 2), nullable=False)', 0),
    ('sa.Column("email", sa.Boolean(), nullable=False)', 0),
    ('sa.Column("email", sa.JSON(), nullable=False)', "{}"),
    ('sa.Column("email", sa.Enum("draft", "published", name="state"), nullable=False)', "draft"),
])
def test_mg301_placeholder_runs_on_sqlite(tmp_path: Path, column: str, stored: object) -> None:
    text = revision(f'op.add_column("t", {column})', 'op.drop_column("t", "email")')
    fixed = fix(text, "MG301")
    assert "server_default=" in fixed
    url = sqlite_db(tmp_path)
    round_trip(project(tmp_path, url, fixed))
    assert rows(url, "SELECT DISTINCT email FROM t") == [(stored,)]


def test_mg301_without_its_fix_fails_on_sqlite(tmp_path: Path) -> None:
    """What the fix makes run did not run before: SQLite refuses ADD COLUMN ... NOT NULL
    without a default even on an empty table."""
    text = revision('op.add_column("t", sa.Column("email", sa.Text(), nullable=False))',
                    'op.drop_column("t", "email")')
    with pytest.raises(sa.exc.OperationalError, match="NOT NULL column with default value NULL"):
        project(tmp_path, sqlite_db(tmp_path), text).upgrade()


@pytest.mark.parametrize("column", ['sa.Column("seen", sa.DateTime(), nullable=False)',
                                    'sa.Column("seen", sa.Date(), nullable=False)'])
def test_mg301_clock_placeholders_are_postgresql_only(tmp_path: Path, column: str) -> None:
    """now() and CURRENT_DATE are what PostgreSQL wants (STABLE: no rewrite); SQLite refuses
    any non-constant default in ADD COLUMN. The module docstring says so."""
    fixed = fix(revision(f'op.add_column("t", {column})', 'op.drop_column("t", "seen")'), "MG301")
    assert "sa.func." in fixed
    with pytest.raises(sa.exc.OperationalError, match="non-constant default"):
        project(tmp_path, sqlite_db(tmp_path), fixed).upgrade()


def test_mg303_concurrent_index_runs_on_sqlite(tmp_path: Path) -> None:
    fixed = fix(revision('''
        op.create_index(
            "ix_t_n",
            "t",
            ["n"],
        )
    ''', 'op.drop_index("ix_t_n", table_name="t")'), "MG303")
    assert "postgresql_concurrently=True" in fixed and "autocommit_block()" in fixed
    _, upgraded = round_trip(project(tmp_path, sqlite_db(tmp_path), fixed))
    assert ("ix_t_n", ("n",), False) in upgraded["t"]["indexes"]  # type: ignore[index]


def test_mg310_concurrent_drop_runs_on_sqlite(tmp_path: Path) -> None:
    fixed = fix(revision('op.drop_index("t_name_idx", table_name="t")',
                         'op.create_index("t_name_idx", "t", ["name"])'),
                "MG310", {"extend-select": ["MG310"]})
    assert "postgresql_concurrently=True" in fixed
    before, upgraded = round_trip(project(tmp_path, sqlite_db(tmp_path), fixed))
    assert [i[0] for i in before["t"]["indexes"]] == ["t_name_idx"]  # type: ignore[index]
    assert upgraded["t"]["indexes"] == []  # type: ignore[index]


def test_mg304_autocommit_block_runs_on_sqlite(tmp_path: Path) -> None:
    fixed = fix(revision('op.create_index("ix_t_code", "t", ["code"], postgresql_concurrently=True)',
                         'op.drop_index("ix_t_code", table_name="t")'), "MG304")
    assert "autocommit_block()" in fixed
    round_trip(project(tmp_path, sqlite_db(tmp_path), fixed))


def test_mg301_plain_string_default_when_sqlalchemy_has_no_module_name(tmp_path: Path) -> None:
    """``from sqlalchemy import Column, Text``: no ``sa.`` to write ``sa.text(...)`` with, so
    strings and numbers get a plain-string default, which renders the same constant."""
    text = revision('op.add_column("t", Column("email", Text(), nullable=False))',
                    'op.drop_column("t", "email")').replace(
        "import sqlalchemy as sa\n", "from sqlalchemy import Column, Text\n")
    fixed = fix(text, "MG301")
    assert 'Column("email", Text(), nullable=False, server_default="")' in fixed
    url = sqlite_db(tmp_path)
    round_trip(project(tmp_path, url, fixed))
    assert rows(url, "SELECT DISTINCT email FROM t") == [("",)]


def test_mg301_second_quick_fix_is_what_the_rule_page_shows() -> None:
    from migls_rules.add_column_not_null_without_default import AddColumnNotNullWithoutDefault

    from migls.engine import lint_sources
    from migls.fixes import apply_edits
    from migls.rule import Context

    source = revision('op.add_column("users", sa.Column("email", sa.Text(), nullable=False))',
                      'op.drop_column("users", "email")')
    result = lint_sources({PATH: source})
    finding = next(d for d in result.diagnostics if d.code == "MG301")
    ctx = Context(result.files, result.graph, settings_of(None))
    rule = AddColumnNotNullWithoutDefault()
    (alternative,) = rule.alternative_fixes(ctx, result.files[0], finding.span, finding.message)
    assert alternative.title == "Add users.email nullable, backfill it, then SET NOT NULL"
    fixed = apply_edits(source, alternative.edits)
    page = (Path(__file__).resolve().parents[1] / "rules" / "docs" / "MG301.md").read_text()
    shown = page.split("```python\nop.add_column(\"users\", sa.Column(\"email\"", 1)[1]
    shown = 'op.add_column("users", sa.Column("email"' + shown.split("```", 1)[0]
    assert textwrap.indent(shown.strip("\n"), "    ") in fixed
    assert finding.fix is not None and finding.fix.edits != alternative.edits  # two choices


def test_rules_without_alternatives_offer_none() -> None:
    from migls.rule import LintRule

    rule = rule_by_selector("MG303")
    assert rule is not None and rule.alternative_fixes is LintRule.alternative_fixes
