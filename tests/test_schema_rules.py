"""The rules that read the schema history or compare upgrade() with downgrade(): MG203
downgrade-not-inverse, MG308 column-type-change, MG314 drop-locks-referenced-table. The
rules' own examples are their spec (test_rule_examples.py); these are the traps around them."""

from __future__ import annotations

import textwrap

import pytest

from migls.config import parse_settings
from migls.engine import lint_sources
from migls.ops import TypeRef
from migls.rule import Diagnostic
from migls_rules.column_type_change import PgType, pg_type, rewrites


def revision_file(rev: str, parent: str | None, upgrade: str, downgrade: str | None = None) -> str:
    parents = "None" if parent is None else repr(parent)
    source = f"revision = {rev!r}\ndown_revision = {parents}\n\n\ndef upgrade():\n"
    source += textwrap.indent(textwrap.dedent(upgrade).strip("\n"), "    ") + "\n"
    if downgrade is not None:
        source += "\n\ndef downgrade():\n" + textwrap.indent(textwrap.dedent(downgrade).strip("\n"), "    ") + "\n"
    return source


def lint(code: str, *revisions: tuple[str, str | None, str, str | None],
         **settings: object) -> list[Diagnostic]:
    files = {f"{i:04}_{rev}.py": revision_file(rev, parent, up, down)
             for i, (rev, parent, up, down) in enumerate(revisions)}
    result = lint_sources(files, parse_settings(dict(settings), None, "test"))
    last = max(files)
    return [d for d in result.diagnostics if d.code == code and d.path == last]


def mg203(upgrade: str, downgrade: str, **settings: object) -> list[str]:
    return [d.message for d in lint("MG203", ("a1", None, upgrade, downgrade), **settings)]


# -- MG203 downgrade-not-inverse ------------------------------------------------------------

@pytest.mark.parametrize("upgrade, downgrade", [
    # autogenerate's pairs, op.f() included
    ('op.create_index(op.f("ix_t_n"), "t", ["n"])', 'op.drop_index(op.f("ix_t_n"), table_name="t")'),
    ('op.create_unique_constraint("uq_t_n", "t", ["n"])', 'op.drop_constraint("uq_t_n", "t", type_="unique")'),
    # MySQL projects drop a unique constraint as the index it is
    ('op.create_unique_constraint("uq_t_n", "t", ["n"])', 'op.drop_index("uq_t_n", table_name="t")'),
    # batch mode on both sides
    ('with op.batch_alter_table("t") as batch_op:\n    batch_op.add_column(sa.Column("x", sa.Text()))\n'
     '    batch_op.create_index("ix_t_x", ["x"])',
     'with op.batch_alter_table("t") as batch_op:\n    batch_op.drop_index("ix_t_x")\n'
     '    batch_op.drop_column("x")'),
    # dropping the column drops the foreign key on it
    ('op.add_column("t", sa.Column("p_id", sa.Integer()))\n'
     'op.create_foreign_key("fk_t_p", "t", "p", ["p_id"], ["id"])', 'op.drop_column("t", "p_id")'),
    # a temporary table created and dropped by upgrade()
    ('op.create_table("tmp", sa.Column("id", sa.Integer()))\nop.drop_table("tmp")', 'op.execute("SELECT 1")'),
    # a table built under a temporary name, then renamed
    ('op.create_table("t_new", sa.Column("id", sa.Integer()))\nop.rename_table("t_new", "t2")',
     'op.drop_table("t2")'),
    # removed in raw SQL that names it
    ('op.create_index("ix_t_n", "t", ["n"])', 'op.execute("DROP INDEX IF EXISTS ix_t_n")'),
    ('op.create_index("ix_t_n", "t", ["n"])', 'conn = op.get_bind()\nconn.execute(sa.text("DROP INDEX ix_t_n"))'),
    # a drop whose name is computed may be the one
    ('op.create_index("ix_t_n", "t", ["n"])', 'op.drop_index(name, table_name="t")'),
    ('op.create_index("ix_t_n", "t", ["n"])', 'for name in NAMES:\n    op.drop_index(name)'),
    # code the linter cannot read could do it
    ('op.create_table("audit", sa.Column("id", sa.Integer()))', 'drop_table_if_exists("audit")'),
    ('op.execute("CREATE TYPE mood AS ENUM (\'a\')")', 'sa.Enum(name="mood").drop(op.get_bind())'),
    ('op.create_table("audit", sa.Column("id", sa.Integer()))', 'op.get_bind().execute(DROP_SQL)'),
    # an object upgrade() drops and re-creates (a change of definition) existed before it
    ('op.drop_index("ix_t_n", table_name="t")\nop.create_index("ix_t_n", "t", ["n", "m"])',
     'op.drop_index("ix_t_n", table_name="t")\nop.create_index("ix_t_n", "t", ["n"])'),
    # case differences do not matter
    ('op.create_table("Audit", sa.Column("id", sa.Integer()))', 'op.drop_table("audit")'),
    # operations for another database only
    ('if op.get_bind().dialect.name == "mysql":\n    op.create_index("ix_t_n", "t", ["n"])', 'x = 1'),
    # an unnamed constraint is not tracked (its name comes from a naming convention)
    ('op.create_unique_constraint(None, "t", ["n"])', 'x = 1'),
    # a column renamed and renamed back, table renamed and renamed back
    ('op.alter_column("t", "a", new_column_name="b")', 'op.alter_column("t", "b", new_column_name="a")'),
    ('with op.batch_alter_table("t") as batch_op:\n    batch_op.alter_column("a", new_column_name="b")',
     'with op.batch_alter_table("t") as batch_op:\n    batch_op.alter_column("b", new_column_name="a")'),
    ('op.rename_table("a", "b")\nop.rename_table("b", "c")', 'op.rename_table("c", "a")'),
    # downgrade() re-creates what upgrade() dropped, with its table or its column
    ('op.drop_table("t")', 'op.create_table("t", sa.Column("id", sa.Integer()))\n'
                           'op.create_index("ix_t_id", "t", ["id"])'),
    ('op.drop_column("t", "n")', 'op.add_column("t", sa.Column("n", sa.Integer()))\n'
                                 'op.create_index("ix_t_n", "t", ["n"])'),
    ('op.drop_table("p")', 'op.create_foreign_key("fk_t_p", "t", "p", ["p_id"], ["id"])'),
    # downgrade() drops a constraint then re-creates it with the old definition
    ('op.drop_constraint("fk", "t")\nop.create_foreign_key("fk", "t", "p", ["p_id"], ["id"], ondelete="CASCADE")',
     'op.drop_constraint("fk", "t")\nop.create_foreign_key("fk", "t", "p", ["p_id"], ["id"])'),
    # data changes do not hide anything, and do not change the verdict
    ('op.add_column("t", sa.Column("x", sa.Text()))\nop.execute(t.update().values(x="a"))',
     'op.execute(t.update().values(x=None))\nop.drop_column("t", "x")'),
])
def test_mg203_not_reported(upgrade: str, downgrade: str) -> None:
    assert mg203(upgrade, downgrade) == []


def test_mg203_only_judges_a_downgrade_that_does_something() -> None:
    up = 'op.create_table("audit", sa.Column("id", sa.Integer()))'
    assert mg203(up, "pass") == []  # MG202
    assert mg203(up, 'raise NotImplementedError("irreversible")') == []
    assert lint("MG203", ("a1", None, up, None)) == []  # MG201


@pytest.mark.parametrize("upgrade, downgrade, message", [
    ('op.create_index("ix_t_n", "t", ["n"])', 'op.drop_index("ix_t_m", table_name="t")',
     "upgrade() creates index 'ix_t_n' but downgrade() does not drop it"),
    ('op.create_table("audit", sa.Column("id", sa.Integer()))\n'
     'op.create_index("ix_audit_id", "audit", ["id"])', 'op.drop_index("ix_audit_id", table_name="audit")',
     "upgrade() creates table 'audit'"),
    ('op.create_foreign_key("fk_t_p", "t", "p", ["p_id"], ["id"])', 'op.drop_column("t", "other")',
     "foreign key 'fk_t_p'"),
    ('op.create_check_constraint("ck_t_n", "t", "n > 0")', 'op.drop_constraint("ck_t_m", "t")',
     "check constraint 'ck_t_n'"),
    ('op.alter_column("t", "a", new_column_name="b")', 'op.drop_index("ix", table_name="t")',
     "upgrade() renames column 't.a' to 'b' but downgrade() does not rename it back"),
    ('op.rename_table("a", "b")', 'op.rename_table("b", "c")',
     "upgrade() renames table 'a' to 'b' but downgrade() does not rename it back"),
    ('op.drop_column("t", "n")', 'op.add_column("t", sa.Column("m", sa.Integer()))',
     "downgrade() creates column 't.m', which upgrade() never dropped"),
    ('op.drop_index("ix_a", table_name="t")', 'op.create_index("ix_b", "t", ["n"])',
     "downgrade() creates index 'ix_b'"),
])
def test_mg203_reported(upgrade: str, downgrade: str, message: str) -> None:
    messages = mg203(upgrade, downgrade)
    assert len(messages) == 1 and message in messages[0], messages


def test_mg203_one_fault_one_finding() -> None:
    """Forgetting a column also forgets the index and foreign key on it: the column is the
    finding; likewise for a column downgrade() adds with its foreign key."""
    up = ('op.add_column("t", sa.Column("p_id", sa.Integer()))\n'
          'op.create_index("ix_t_p_id", "t", ["p_id"])\n'
          'op.create_foreign_key("fk_t_p", "t", "p", ["p_id"], ["id"])')
    assert mg203(up, 'op.drop_index("ix_other", table_name="t")') == [
        "upgrade() creates column 't.p_id' but downgrade() does not drop it: after a downgrade "
        "the schema keeps it, and the next upgrade fails because it already exists"]
    down = ('op.add_column("t", sa.Column("p_id", sa.Integer()))\n'
            'op.create_foreign_key("fk_t_p", "t", "p", ["p_id"], ["id"])')
    assert len(mg203('op.drop_column("t", "other")', down)) == 1


def test_mg203_reports_on_the_operation_whose_inverse_is_missing() -> None:
    [finding] = lint("MG203", ("a1", None, 'op.add_column("t", sa.Column("x", sa.Text()))\n'
                                           'op.add_column("t", sa.Column("y", sa.Text()))',
                               'op.drop_column("t", "x")'))
    assert (finding.span.line, finding.span.column) == (7, 4)
    [finding] = lint("MG203", ("a1", None, 'op.drop_column("t", "x")',
                               'op.add_column("t", sa.Column("x", sa.Text()))\n'
                               'op.add_column("t", sa.Column("y", sa.Text()))'))
    assert (finding.span.line, finding.span.column) == (11, 4)


def test_mg203_unseen_code_only_silences_the_function_it_is_in() -> None:
    """A helper in upgrade() cannot explain what downgrade() forgets."""
    assert mg203('op.create_index("ix_t_n", "t", ["n"])\nrun_custom_migration()', 'x = 1') != []
    assert mg203('op.drop_column("t", "n")\nremove_stuff()', 'op.add_column("t", sa.Column("m", sa.Text()))') == []


def test_mg203_helpers_of_the_same_file_are_read() -> None:
    source = revision_file("a1", None, 'op.create_index("ix_t_n", "t", ["n"])', "_drop()")
    source += '\n\ndef _drop():\n    op.drop_index("ix_t_n", table_name="t")\n'
    result = lint_sources({"0001_a.py": source})
    assert [d for d in result.diagnostics if d.code == "MG203"] == []
    forgot = source.replace('op.drop_index("ix_t_n", table_name="t")', 'op.drop_index("ix_t_m")')
    result = lint_sources({"0001_a.py": forgot})
    assert [d.code for d in result.diagnostics if d.code == "MG203"] == ["MG203"]


def test_mg203_any_dialect() -> None:
    assert mg203('op.create_index("ix_t_n", "t", ["n"])', "x = 1", dialect="sqlite") != []


# -- MG308 column-type-change ---------------------------------------------------------------

def ref(code: str) -> TypeRef:
    from migls.engine import read_file

    file = read_file("a.py", f"revision = 'a'\ndown_revision = None\ndef upgrade():\n"
                             f"    op.alter_column('t', 'c', type_={code})\n".encode())
    assert file.upgrade is not None
    return file.upgrade.ops[0].types["type_"]


@pytest.mark.parametrize("old, new, verdict", [
    ("sa.String(50)", "sa.String(100)", False),
    ("sa.String(length=50)", "sa.VARCHAR(50)", False),
    ("sa.String(50)", "sa.Text()", False),
    ("sa.String(50)", "sa.String()", False),
    ("sa.Text", "sa.String()", False),
    ("sa.Unicode(10)", "sa.UnicodeText()", False),
    ("sa.Numeric(10, 2)", "sa.Numeric(12, 2)", False),
    ("sa.Numeric(10, 2)", "sa.Numeric()", False),
    ("sa.Integer()", "sa.INTEGER()", False),
    ("sa.String(50)", "sa.String(20)", True),
    ("sa.String()", "sa.String(50)", True),
    ("sa.Text()", "sa.String(10)", True),
    ("sa.Numeric(10, 2)", "sa.Numeric(12, 3)", True),
    ("sa.Numeric()", "sa.Numeric(10, 2)", True),
    ("sa.Integer()", "sa.BigInteger()", True),
    ("sa.CHAR(32)", "sa.Text()", True),
    ("sa.JSON()", "postgresql.JSONB()", True),
    ("sa.DateTime()", "sa.DateTime(timezone=True)", None),
    ("sa.TIMESTAMP(timezone=True)", "sa.DateTime()", None),
])
def test_mg308_what_rewrites(old: str, new: str, verdict: bool | None) -> None:
    old_type, new_type = pg_type(ref(old)), pg_type(ref(new))
    assert old_type is not None and new_type is not None
    assert rewrites(old_type, new_type) is verdict


def test_mg308_types_it_does_not_know() -> None:
    assert pg_type(ref("StringID()")) is None  # a project's own type
    assert pg_type(ref("myapp.types.UUID()")) is None  # not SQLAlchemy's UUID
    assert pg_type(ref("sa.Text().with_variant(LONGTEXT, 'mysql')")) == PgType("text")
    assert pg_type(ref("sa.String(length=255).with_variant(mysql.VARCHAR(255), 'mysql')")) == \
        PgType("varchar", length=255)
    assert pg_type(ref("sqlmodel.sql.sqltypes.AutoString()")) == PgType("varchar")


def mg308(body: str, *history: tuple[str, str | None, str, str | None], **settings: object) -> list[str]:
    parent = history[-1][0] if history else None
    return [d.message for d in lint("MG308", *history, ("z9", parent, body, None), **settings)]


def test_mg308_old_type_from_history_follows_renames_and_earlier_changes() -> None:
    base = ("a1", None, 'op.create_table("t", sa.Column("c", sa.String(50)))', None)
    renamed = ("b2", "a1", 'op.rename_table("t", "u")\n'
                           'op.alter_column("u", "c", new_column_name="d", type_=sa.String(80))', None)
    assert mg308('op.alter_column("u", "d", type_=sa.String(100))', base, renamed) == []
    [message] = mg308('op.alter_column("u", "d", type_=sa.String(60))', base, renamed)
    assert message.startswith("changing u.d from VARCHAR(80) to VARCHAR(60) rewrites u")


def test_mg308_earlier_operations_of_the_same_upgrade_count() -> None:
    base = ("a1", None, 'op.create_table("t", sa.Column("c", sa.String(50)))', None)
    body = 'op.alter_column("t", "c", type_=sa.String(100))\nop.alter_column("t", "c", type_=sa.String(80))'
    [message] = mg308(body, base)
    assert "from VARCHAR(100) to VARCHAR(80)" in message


def test_mg308_existing_type_wins_over_history() -> None:
    base = ("a1", None, 'op.create_table("t", sa.Column("c", sa.String(50)))', None)
    assert mg308('op.alter_column("t", "c", type_=sa.String(20), existing_type=sa.String(10))', base) == []


def test_mg308_unknown_old_type_says_may() -> None:
    [message] = mg308('op.alter_column("t", "c", type_=sa.Text())')
    assert "may rewrite" in message and "existing_type=" in message
    [message] = mg308('op.alter_column("t", "c", type_=MyType(), existing_type=sa.Text())')
    assert "from TEXT to MyType() may rewrite" in message


def test_mg308_timezone() -> None:
    body = 'op.alter_column("t", "c", type_=sa.DateTime(timezone=True), existing_type=sa.DateTime())'
    [message] = mg308(body)
    assert "unless the session TimeZone is UTC" in message
    assert mg308('op.execute("SET TIME ZONE \'UTC\'")\n' + body) == []
    assert mg308('op.execute("SET timezone TO \'Etc/UTC\'")\n' + body) == []
    assert mg308('op.execute("SET LOCAL TimeZone = \'Europe/Berlin\'")\n' + body) != []
    assert mg308(body + '\nop.execute("SET LOCAL TimeZone = \'UTC\'")') != []  # too late
    [message] = mg308('op.execute("SET TIME ZONE \'UTC\'")\n' + body, **{"postgres-version": 11})
    assert "unless" not in message


def test_mg308_not_reported() -> None:
    assert mg308('op.alter_column("t", "c", nullable=False, existing_type=sa.Integer())') == []
    assert mg308('op.alter_column("t", "c", type_=sa.Text(), existing_type=sa.Text)') == []
    assert mg308('if op.get_bind().dialect.name == "mysql":\n'
                 '    op.alter_column("t", "c", type_=mysql.LONGTEXT, existing_type=sa.Text())') == []
    assert mg308('if isinstance(op.get_bind().dialect, MySQLDialect):\n'
                 '    op.alter_column("t", "c", type_=mysql.LONGTEXT, existing_type=sa.Text())') == []
    assert mg308('op.alter_column("t", "c", type_=sa.BigInteger(), existing_type=sa.Integer())',
                 dialect="mysql") == []
    assert mg308('op.create_table("t", sa.Column("c", sa.Integer()))\n'
                 'op.alter_column("t", "c", type_=sa.BigInteger())') == []


def test_mg308_downgrade_only_with_lint_downgrade() -> None:
    rev = ("a1", None, "pass", 'op.alter_column("t", "c", type_=sa.Integer(), existing_type=sa.BigInteger())')
    assert lint("MG308", rev) == []
    [finding] = lint("MG308", rev, **{"lint-downgrade": True})
    assert "from BIGINT to INTEGER rewrites t" in finding.message


# -- MG314 drop-locks-referenced-table ------------------------------------------------------

FK_BASE = ("a1", None, """
    op.create_table("orgs", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table("teams", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id")),
        sa.Column("team_id", sa.Integer()),
        sa.Column("manager_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_users_team"),
    )
""", None)


def mg314(body: str, *history: tuple[str, str | None, str, str | None], **settings: object) -> list[str]:
    history = history or (FK_BASE,)
    return [d.message for d in lint("MG314", *history, ("z9", history[-1][0], body, None), **settings)]


def test_mg314_drop_table_names_every_referenced_table_but_itself() -> None:
    [message] = mg314('op.drop_table("users")')
    assert message.startswith("dropping table users drops its foreign keys to orgs and teams, "
                              "so PostgreSQL takes ACCESS EXCLUSIVE on orgs and teams too: "
                              "reads of them wait until the migration commits")


def test_mg314_drop_column() -> None:
    [message] = mg314('op.drop_column("users", "team_id")')
    assert message.startswith("dropping users.team_id drops its foreign key to teams")
    assert mg314('op.drop_column("users", "manager_id")') == []  # refers to itself


def test_mg314_not_reported() -> None:
    assert mg314('op.drop_constraint("fk_users_team", "users", type_="foreignkey")\n'
                 'op.drop_column("users", "team_id")') == []
    assert mg314('op.execute("ALTER TABLE users DROP CONSTRAINT users_org_id_fkey")\n'
                 'op.drop_column("users", "org_id")') == []
    # the referenced table goes too: its lock does not matter
    assert mg314('op.drop_table("users")\nop.drop_table("orgs")\nop.drop_table("teams")') == []
    assert mg314('op.drop_column("users", "org_id")', dialect="sqlite") == []
    assert mg314('if op.get_bind().dialect.name == "sqlite":\n    op.drop_column("users", "org_id")') == []
    # history does not know the table
    assert mg314('op.drop_column("accounts", "org_id")') == []


def test_mg314_foreign_key_dropped_in_an_earlier_revision() -> None:
    dropped = ("b2", "a1", 'op.drop_constraint("users_org_id_fkey", "users", type_="foreignkey")', None)
    assert mg314('op.drop_column("users", "org_id")', FK_BASE, dropped) == []


def test_mg314_downgrade_only_with_lint_downgrade() -> None:
    rev = ("z9", "a1", "pass", 'op.drop_column("users", "org_id")')
    assert lint("MG314", FK_BASE, rev) == []
    assert len(lint("MG314", FK_BASE, rev, **{"lint-downgrade": True})) == 1
