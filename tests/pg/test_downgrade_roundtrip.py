"""Generated downgrades run, and undo their upgrade exactly, on PostgreSQL and SQLite.

Each case is a real Alembic project in ``tmp_path``: a base revision (the history migls reads
definitions from) and the revision under test, whose ``downgrade()`` is missing (MG201),
empty (MG202) or incomplete (MG203). ``migls lint --fix --unsafe-fixes`` writes it; then
Alembic runs ``upgrade``, ``downgrade -1`` and ``upgrade`` again, and the schema the
inspector sees after the downgrade must equal the schema before the upgrade (and after the
second upgrade, the schema after the first). Columns are compared by name, not position:
``ADD COLUMN`` cannot put a re-created column back in its old place.

SQLite cannot alter columns or constraints in place: those cases run there in
``batch_alter_table`` blocks (as Alembic requires), and the generated inverse is a batch block
too. PostgreSQL only: enum types, expression and partial indexes, ``SET`` statements, table
comments, and ``op.add_column``/``op.drop_column`` outside a batch block of a column with an
index or constraint (SQLite cannot add constraints with ``ALTER TABLE``).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

from migls import cli
from migls.downgrade import CANNOT_INVERT

PG, SQLITE = "postgresql", "sqlite"

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                            poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

#: The history: tables whose definitions the inverse of a drop has to find.
BASE = '''
op.create_table(
    "orgs",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
)
op.create_table(
    "users",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(100), nullable=False, server_default="none", index=True),
    sa.Column("nickname", sa.String(30), unique=True),
    sa.Column("score", sa.Integer(), server_default=sa.text("0")),
    sa.Column("inviter_id", sa.Integer()),
    sa.UniqueConstraint("org_id", "email", name="uq_users_org_email"),
    sa.CheckConstraint("score >= 0", name="ck_users_score"),
    sa.ForeignKeyConstraint(["inviter_id"], ["users.id"], name="fk_users_inviter", ondelete="SET NULL"),
)
op.create_index("ix_users_score", "users", ["score"], unique=False)
'''
BASE_PG = BASE.replace('''    sa.Column("inviter_id", sa.Integer()),''', '''    sa.Column("inviter_id", sa.Integer()),
    sa.Column("mood", sa.Enum("sad", "ok", name="mood")),''') + '''
op.create_index("ix_users_lower_email", "users", [sa.text("lower(email)")],
                postgresql_where=sa.text("score > 0"))
'''


@dataclass(frozen=True)
class Case:
    """A revision under test: its ``upgrade()`` body (per database when they differ) and its
    ``downgrade()`` (``None``: none at all)."""

    id: str
    upgrade: str
    downgrade: str | None = None
    sqlite: str | None = "same"
    #: The generated code must contain these.
    expect: tuple[str, ...] = ()

    def body(self, dialect: str) -> str | None:
        if dialect == SQLITE:
            return self.upgrade if self.sqlite == "same" else self.sqlite
        return self.upgrade


CASES = [
    Case("add-column", '''
        op.add_column("users", sa.Column("manager_id", sa.Integer(), sa.ForeignKey("users.id"), index=True))
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("manager_id", sa.Integer(),
                                          sa.ForeignKey("users.id", name="fk_users_manager")))
            batch_op.create_index("ix_users_manager_id", ["manager_id"])
    ''', expect=("'manager_id')",)),
    Case("drop-column-with-its-index-and-constraint", '''
        op.drop_column("users", "email")
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_index("ix_users_email")
            batch_op.drop_constraint("uq_users_org_email", type_="unique")
            batch_op.drop_column("email")
    ''', expect=("sa.Column('email', sa.String(length=100), server_default='none', nullable=False)",
                 "'uq_users_org_email'", "'ix_users_email'")),
    Case("drop-column-unique-and-foreign-key", '''
        op.drop_column("users", "nickname")
        op.drop_column("users", "org_id")
    ''', downgrade="pass", sqlite=None, expect=("ondelete='CASCADE'", "create_unique_constraint(None")),
    Case("create-table", '''
        op.create_table(
            "teams",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False, index=True),
            sa.Column("name", sa.String(40), nullable=False),
            sa.Column("size", sa.Integer(), server_default=sa.text("1")),
            sa.UniqueConstraint("org_id", "name", name="uq_teams_name"),
            sa.CheckConstraint("size > 0", name="ck_teams_size"),
        )
        op.create_index("ix_teams_name", "teams", ["name"])
    ''', expect=("op.drop_index('ix_teams_name', table_name='teams')", "op.drop_table('teams')")),
    Case("create-table-with-an-enum", '''
        op.create_table(
            "moods",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("kind", sa.Enum("happy", "grumpy", name="mood_kind"), nullable=False),
        )
    ''', sqlite=None, expect=("op.execute('DROP TYPE mood_kind')",)),
    Case("drop-table", '''
        op.drop_table("users")
    ''', expect=("op.create_table('users',", "sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], ondelete='CASCADE')",
                 "sa.CheckConstraint('score >= 0', name='ck_users_score')", "'ix_users_score'")),
    Case("create-and-drop-index", '''
        op.drop_index("ix_users_score", table_name="users")
        op.create_index("ix_orgs_name", "orgs", ["name"], unique=True)
    ''', expect=("op.create_index('ix_users_score', 'users', ['score'], unique=False)",)),
    Case("drop-expression-index", '''
        op.drop_index("ix_users_lower_email", table_name="users")
    ''', sqlite=None, expect=("postgresql_where=sa.text('score > 0')",)),
    Case("constraints", '''
        op.drop_constraint("uq_users_org_email", "users", type_="unique")
        op.drop_constraint("ck_users_score", "users", type_="check")
        op.drop_constraint("fk_users_inviter", "users", type_="foreignkey")
        op.create_unique_constraint("uq_orgs_name", "orgs", ["name"])
        op.create_check_constraint("ck_orgs_name", "orgs", "length(name) > 0")
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_constraint("uq_users_org_email", type_="unique")
            batch_op.drop_constraint("ck_users_score", type_="check")
            batch_op.drop_constraint("fk_users_inviter", type_="foreignkey")
        with op.batch_alter_table("orgs") as batch_op:
            batch_op.create_unique_constraint("uq_orgs_name", ["name"])
            batch_op.create_check_constraint("ck_orgs_name", "length(name) > 0")
    ''', expect=("'fk_users_inviter'", "ondelete='SET NULL'", "'ck_users_score'")),
    Case("alter-column-with-existing-values", '''
        op.alter_column("users", "email", type_=sa.String(200), existing_type=sa.String(100),
                        nullable=True, existing_nullable=False,
                        server_default="unknown", existing_server_default="none")
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column("email", type_=sa.String(200), existing_type=sa.String(100),
                                  nullable=True, existing_nullable=False,
                                  server_default="unknown", existing_server_default="none")
    ''', expect=("type_=sa.String(length=100)", "nullable=False", "server_default='none'")),
    Case("alter-column-from-history", '''
        op.alter_column("users", "score", type_=sa.BigInteger(), nullable=False,
                        server_default=sa.text("1"))
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column("score", type_=sa.BigInteger(), nullable=False,
                                  server_default=sa.text("1"))
    ''', expect=("type_=sa.Integer()", "nullable=True", "server_default=sa.text('0')")),
    Case("rename-column", '''
        op.alter_column("users", "nickname", new_column_name="handle", existing_type=sa.String(30))
    ''', sqlite='''
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column("nickname", new_column_name="handle", existing_type=sa.String(30))
    ''', expect=("new_column_name='nickname'",)),
    Case("rename-table", '''
        op.rename_table("orgs", "organisations")
    ''', expect=("op.rename_table('organisations', 'orgs')",)),
    Case("batch-block", '''
        with op.batch_alter_table("orgs") as batch_op:
            batch_op.add_column(sa.Column("slug", sa.String(20), nullable=True))
            batch_op.create_index("ix_orgs_slug", ["slug"], unique=True)
            batch_op.alter_column("name", new_column_name="title", existing_type=sa.String(50))
    ''', expect=("with op.batch_alter_table('orgs', schema=None) as batch_op:",
                 "batch_op.drop_index('ix_orgs_slug')")),
    Case("enum-type-by-sql", '''
        op.execute("CREATE TYPE colour AS ENUM ('red', 'blue')")
        op.add_column("users", sa.Column("colour", postgresql.ENUM("red", "blue", name="colour", create_type=False)))
    ''', sqlite=None, expect=("op.execute('DROP TYPE colour')",)),
    Case("set-statement-first", '''
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.add_column("orgs", sa.Column("note", sa.Text()))
    ''', sqlite=None, expect=("op.execute(\"SET LOCAL lock_timeout = '5s'\")\n    op.drop_column",)),
    Case("table-comment", '''
        op.create_table_comment("orgs", "organisations", existing_comment=None)
    ''', sqlite=None, expect=("op.drop_table_comment(", "existing_comment='organisations'")),
    Case("missing-inverse-appended", '''
        op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))
        op.create_table("b", sa.Column("id", sa.Integer(), primary_key=True))
        op.rename_table("orgs", "organisations")
    ''', downgrade='''
        op.drop_table("b")
    ''', expect=("op.rename_table('organisations', 'orgs')\n    op.drop_table(\"b\")\n    op.drop_table('a')",)),
]


def _revision(revision: str, parent: str | None, upgrade: str, downgrade: str | None) -> str:
    text = (f'"""{revision}"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
            "from sqlalchemy.dialects import postgresql\n\n"
            f"revision = {revision!r}\ndown_revision = {parent!r}\n\n\n"
            "def upgrade():\n" + textwrap.indent(textwrap.dedent(upgrade).strip("\n"), "    ") + "\n")
    if downgrade is not None:
        text += "\n\ndef downgrade():\n" + textwrap.indent(textwrap.dedent(downgrade).strip("\n"), "    ") + "\n"
    return text


def project(tmp_path: Path, url: str, dialect: str, upgrade: str, downgrade: str | None) -> tuple[Config, Path]:
    """An Alembic project: the base revision and the revision under test."""
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n")
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(ENV_PY)
    base = BASE_PG if dialect == PG else BASE
    (versions / "0001_base.py").write_text(
        _revision("a1", None, base, 'raise NotImplementedError("the base stays")'))
    target = versions / "0002_change.py"
    target.write_text(_revision("b2", "a1", upgrade, downgrade))
    return Config(str(tmp_path / "alembic.ini")), target


def fix(tmp_path: Path) -> None:
    """``migls lint --fix --unsafe-fixes`` for the MG2 rules, as a user runs it."""
    cli.main(["lint", "--fix", "--unsafe-fixes", "--exit-zero", "--select", "MG2", str(tmp_path)])


def findings(tmp_path: Path) -> list[str]:
    """The MG2 findings left in the project."""
    from corpus import lint_directory

    return [f"{d.code} {d.message}" for d in lint_directory(tmp_path, select=["MG2"]).diagnostics]


def schema(url: str) -> dict[str, Any]:
    """What the inspector sees: every table's columns (by name), keys, constraints, indexes,
    comment; PostgreSQL's enum types."""
    engine = sa.create_engine(url, poolclass=NullPool)
    out: dict[str, Any] = {}
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            postgres = connection.dialect.name == PG
            for table in sorted(inspector.get_table_names()):
                if table == "alembic_version":
                    continue
                columns = sorted(
                    (c["name"], c["type"].compile(dialect=connection.dialect), c["nullable"],
                     c.get("default"), c.get("comment")) for c in inspector.get_columns(table))
                out[table] = {
                    "columns": columns,
                    "primary key": inspector.get_pk_constraint(table),
                    "foreign keys": sorted(map(repr, inspector.get_foreign_keys(table))),
                    "indexes": sorted(map(repr, inspector.get_indexes(table))),
                    "unique": sorted(map(repr, inspector.get_unique_constraints(table))),
                    "checks": sorted(map(repr, inspector.get_check_constraints(table))),
                    "comment": inspector.get_table_comment(table) if postgres else None,
                }
            if postgres:
                out["enum types"] = sorted(map(repr, inspector.get_enums()))  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    return out


def _cases() -> list[Any]:
    return [pytest.param(case, dialect, id=f"{case.id}-{dialect}")
            for case in CASES for dialect in (PG, SQLITE) if case.body(dialect) is not None]


@pytest.mark.parametrize(("case", "dialect"), _cases())
def test_generated_downgrade_undoes_the_upgrade(case: Case, dialect: str, tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if dialect == PG else f"sqlite:///{tmp_path / 'db.sqlite'}"
    body = case.body(dialect)
    assert body is not None
    config, target = project(tmp_path, url, dialect, body, case.downgrade)
    fix(tmp_path)
    text = target.read_text()
    ast.parse(text)
    assert CANNOT_INVERT not in text, text
    for expected in case.expect:
        assert expected in text, text
    assert findings(tmp_path) == [], text
    fix(tmp_path)
    assert target.read_text() == text  # applying the fix twice changes nothing more

    command.upgrade(config, "a1")
    before = schema(url)
    command.upgrade(config, "head")
    after = schema(url)
    assert after != before
    command.downgrade(config, "-1")
    assert schema(url) == before, text
    command.upgrade(config, "head")
    assert schema(url) == after, text


@pytest.mark.parametrize("dialect", [PG, SQLITE])
def test_an_incomplete_downgrade_fails_before_changing_anything(dialect: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if dialect == PG else f"sqlite:///{tmp_path / 'db.sqlite'}"
    config, target = project(tmp_path, url, dialect, '''
        op.add_column("orgs", sa.Column("active", sa.Boolean(), nullable=True))
        op.execute("UPDATE orgs SET active = true")
    ''', None)
    fix(tmp_path)
    text = target.read_text()
    assert CANNOT_INVERT + ' line 12, op.execute("UPDATE orgs SET active = true")' in text, text
    assert "op.drop_column('orgs', 'active')" in text
    assert findings(tmp_path) == []  # explicit: it raises until someone completes it
    command.upgrade(config, "head")
    after = schema(url)
    with pytest.raises(NotImplementedError, match="cannot invert"):
        command.downgrade(config, "-1")
    assert schema(url) == after
