"""Generated downgrades (the MG201, MG202, MG203 fixes): what is inverted and how, what is
marked as not invertible, where the code goes, and that the file stays valid, clean and stable.
That the generated code really undoes its upgrade is checked on real databases in
``tests/pg/test_downgrade_roundtrip.py``."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from corpus import ensure_corpus, lint_directory

from migls.config import Settings, parse_settings
from migls.downgrade import CANNOT_INVERT, INCOMPLETE, CannotBuild, Evaluator, Expr
from migls.engine import fix_files, lint_sources, read_file
from migls.fixes import apply_edits
from migls.graph import build_graph
from migls.registry import select_rules

HISTORY = '''
op.create_table(
    "users",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("email", sa.String(100), nullable=False, server_default="none", index=True),
    sa.Column("data", postgresql.JSONB(), nullable=True),
    sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id", ondelete="CASCADE")),
    sa.UniqueConstraint("org_id", "email", name="uq_users_org_email"),
    sa.CheckConstraint("id > 0", name="ck_users_id"),
)
op.create_index("ix_users_org", "users", ["org_id"], postgresql_using="hash")
op.create_foreign_key("fk_users_self", "users", "users", ["org_id"], ["id"])
'''


def revision(rev: str, parent: str | None, upgrade: str, downgrade: str | None = None,
             header: str = "") -> str:
    text = (f"{header}revision = {rev!r}\ndown_revision = {parent!r}\n\n\ndef upgrade():\n"
            + textwrap.indent(textwrap.dedent(upgrade).strip("\n"), "    ") + "\n")
    if downgrade is not None:
        text += "\n\ndef downgrade():\n" + textwrap.indent(textwrap.dedent(downgrade).strip("\n"), "    ") + "\n"
    return text


def fixed(files: dict[str, str], code: str, path: str, settings: dict[str, Any] | None = None,
          index: int = 0) -> str:
    """``path`` after the fix of its ``index``-th ``code`` finding; checks that the result
    parses and that the finding is gone."""
    parsed = parse_settings(dict(settings or {}), None, "test")
    found = [d for d in lint_sources(files, parsed).diagnostics if d.code == code and d.path == path]
    assert len(found) > index and found[index].fix is not None, [(d.code, d.message) for d in found]
    fix = found[index].fix
    assert fix.safety == "unsafe"
    text = apply_edits(files[path], fix.edits)
    ast.parse(text)
    again = lint_sources({**files, path: text}, parsed).diagnostics
    assert not [d for d in again if d.path == path and d.code == code
                and d.message == found[index].message], text
    return text


def generated(upgrade: str, history: str | None = None, settings: dict[str, Any] | None = None,
              header: str = "") -> str:
    """The body of the ``downgrade()`` MG201's fix writes for ``upgrade``, dedented."""
    files = {"0002_change.py": revision("b2", "a1" if history else None, upgrade, header=header)}
    if history:
        files["0001_base.py"] = revision("a1", None, history, "raise NotImplementedError")
    text = fixed(files, "MG201", "0002_change.py", settings)
    return textwrap.dedent(text.split("def downgrade():\n", 1)[1])


@pytest.mark.parametrize(("upgrade", "expected"), [
    ('op.add_column("t", sa.Column("x", sa.Integer(), index=True))', "op.drop_column('t', 'x')\n"),
    ('op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))', "op.drop_table('t')\n"),
    ('op.create_table("t", sa.Column("k", sa.Enum("a", "b", name="kind")))',
     "op.drop_table('t')\nop.execute('DROP TYPE kind')\n"),
    ('op.create_index(op.f("ix_t_x"), "t", ["x"], postgresql_concurrently=True)',
     "op.drop_index(op.f('ix_t_x'), table_name='t')\n"),
    ('op.create_unique_constraint("uq_t_x", "t", ["x"])', "op.drop_constraint('uq_t_x', 't', type_='unique')\n"),
    ('op.create_foreign_key("fk_t_u", "t", "u", ["u_id"], ["id"])',
     "op.drop_constraint('fk_t_u', 't', type_='foreignkey')\n"),
    ('op.create_check_constraint("ck_t", "t", "x > 0")', "op.drop_constraint('ck_t', 't', type_='check')\n"),
    ('op.create_primary_key("pk_t", "t", ["id"])', "op.drop_constraint('pk_t', 't', type_='primary')\n"),
    ('op.rename_table("a", "b")', "op.rename_table('b', 'a')\n"),
    ('op.alter_column("t", "x", new_column_name="y")', "op.alter_column('t', 'y',\n           new_column_name='x')\n"),
    ('op.alter_column("t", "x", type_=sa.Text(), existing_type=sa.String(20), nullable=True, '
     'existing_nullable=False, server_default=sa.text("now()"), existing_server_default="x", '
     'comment="new", existing_comment="old")',
     "op.alter_column('t', 'x',\n           existing_type=sa.Text(),\n           server_default='x',\n"
     "           type_=sa.String(length=20),\n           nullable=False,\n           comment='old',\n"
     "           existing_comment='new')\n"),
    ('op.alter_column("t", "x", existing_type=sa.Integer(), nullable=False, existing_nullable=True)',
     "op.alter_column('t', 'x',\n           existing_type=sa.Integer(),\n           nullable=True)\n"),
    ('op.execute("CREATE TYPE mood AS ENUM (\'a\')")', "op.execute('DROP TYPE mood')\n"),
    ('op.execute("SELECT 1")', "pass\n"),
    ('op.execute("SET LOCAL lock_timeout = \'5s\'")\nop.add_column("t", sa.Column("x", sa.Text()))',
     "op.execute(\"SET LOCAL lock_timeout = '5s'\")\nop.drop_column('t', 'x')\n"),
    ('op.create_table_comment("t", "new", existing_comment="old")',
     "op.create_table_comment(\n    't',\n    'old',\n    existing_comment='new',\n    schema=None\n)\n"),
    ('with op.batch_alter_table("t") as batch_op:\n    batch_op.add_column(sa.Column("x", sa.Text()))\n'
     '    batch_op.create_index("ix_t_x", ["x"])',
     "with op.batch_alter_table('t', schema=None) as batch_op:\n    batch_op.drop_index('ix_t_x')\n"
     "    batch_op.drop_column('x')\n"),
    ('with op.get_context().autocommit_block():\n    op.create_index("ix_t_x", "t", ["x"], '
     'postgresql_concurrently=True)', "op.drop_index('ix_t_x', table_name='t')\n"),
])
def test_each_operation_gets_its_exact_inverse(upgrade: str, expected: str) -> None:
    assert generated(upgrade) == expected


@pytest.mark.parametrize(("upgrade", "expected"), [
    ('op.drop_column("users", "email")',
     "op.add_column('users', sa.Column('email', sa.String(length=100), server_default='none', nullable=False))\n"
     "op.create_unique_constraint('uq_users_org_email', 'users', ['org_id', 'email'])\n"
     "op.create_index('ix_users_email', 'users', ['email'], unique=False)\n"),
    ('op.drop_column("users", "org_id")',
     "op.add_column('users', sa.Column('org_id', sa.Integer(), nullable=True))\n"
     "op.create_unique_constraint('uq_users_org_email', 'users', ['org_id', 'email'])\n"
     "op.create_foreign_key(None, 'users', 'orgs', ['org_id'], ['id'], ondelete='CASCADE')\n"
     "op.create_foreign_key('fk_users_self', 'users', 'users', ['org_id'], ['id'])\n"
     "op.create_index('ix_users_org', 'users', ['org_id'], unique=False, postgresql_using='hash')\n"),
    ('op.drop_index("ix_users_org", table_name="users")',
     "op.create_index('ix_users_org', 'users', ['org_id'], unique=False, postgresql_using='hash')\n"),
    ('op.drop_index("ix_users_email")', "op.create_index('ix_users_email', 'users', ['email'], unique=False)\n"),
    ('op.drop_constraint("ck_users_id", "users", type_="check")',
     "op.create_check_constraint('ck_users_id', 'users', 'id > 0')\n"),
    ('op.alter_column("users", "email", type_=sa.Text(), nullable=True, server_default=None)',
     "op.alter_column('users', 'email',\n           existing_type=sa.Text(),\n           server_default='none',\n"
     "           type_=sa.String(length=100),\n           nullable=False)\n"),
    ('op.drop_table("users")',
     "op.create_table('users',\nsa.Column('id', sa.Integer(), nullable=False),\n"
     "sa.Column('email', sa.String(length=100), server_default='none', nullable=False),\n"
     "sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),\n"
     "sa.Column('org_id', sa.Integer(), nullable=True),\n"
     "sa.CheckConstraint('id > 0', name='ck_users_id'),\n"
     "sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], ondelete='CASCADE'),\n"
     "sa.ForeignKeyConstraint(['org_id'], ['users.id'], name='fk_users_self'),\n"
     "sa.PrimaryKeyConstraint('id'),\n"
     "sa.UniqueConstraint('org_id', 'email', name='uq_users_org_email')\n)\n"
     "op.create_index('ix_users_email', 'users', ['email'], unique=False)\n"
     "op.create_index('ix_users_org', 'users', ['org_id'], unique=False, postgresql_using='hash')\n"),
])
def test_what_upgrade_drops_is_recreated_from_the_history(upgrade: str, expected: str) -> None:
    assert generated(upgrade, HISTORY) == expected


def test_the_state_each_operation_runs_on_counts() -> None:
    """A drop after an explicit drop of its index: the column comes back without it, and the
    index comes back from its own inverse."""
    assert generated('''
        op.drop_index("ix_users_email", table_name="users")
        op.drop_constraint("uq_users_org_email", "users", type_="unique")
        op.drop_column("users", "email")
    ''', HISTORY) == (
        "op.add_column('users', sa.Column('email', sa.String(length=100), server_default='none', nullable=False))\n"
        "op.create_unique_constraint('uq_users_org_email', 'users', ['org_id', 'email'])\n"
        "op.create_index('ix_users_email', 'users', ['email'], unique=False)\n")


def test_history_after_renames_and_alters() -> None:
    history = HISTORY + '''
op.alter_column("users", "email", new_column_name="mail", type_=sa.String(200))
op.rename_table("users", "accounts")
'''
    text = generated('op.drop_column("accounts", "mail")', history)
    # the column has its new name and type; the constraints that name it follow both renames
    assert "sa.Column('mail', sa.String(length=200), server_default='none', nullable=False)" in text
    assert "op.create_unique_constraint('uq_users_org_email', 'accounts', ['org_id', 'mail'])" in text
    assert "op.create_index('ix_users_email', 'accounts', ['mail'], unique=False)" in text
    assert CANNOT_INVERT not in text


@pytest.mark.parametrize(("upgrade", "history", "reason"), [
    ('op.execute("UPDATE t SET x = 1")', None, "SQL has no known inverse"),
    ("op.execute(query)", None, "SQL that is not a literal has no known inverse"),
    ('op.bulk_insert(t, [{"id": 1}])', None, "bulk_insert() has no exact inverse"),
    ('for name in TABLES:\n    op.drop_column(name, "x")', None, "code in a `for` statement"),
    ('if context.is_offline_mode():\n    op.drop_column("t", "x")', None, "code in a `if` statement"),
    ("drop_things()", None, "not an Alembic operation"),
    ('op.get_bind().execute("DROP TABLE x")', None, "not an Alembic operation"),
    ('op.drop_column("t", "x")', None, "the history does not show how t.x was defined"),
    ('op.drop_table("t")', None, "the history does not show how table t was defined"),
    ('op.drop_index("ix_t")', None, "the history does not show how index ix_t was defined"),
    ('op.create_index(None, "t", ["x"])', None, "the index has no literal name"),
    ('op.create_unique_constraint(None, "t", ["x"])', None, "no literal name"),
    ('op.add_column(TABLE, sa.Column("x", sa.Text()))', None, "the table name is not a literal"),
    ('op.add_column("t", sa.Column("x", sa.Text()), if_not_exists=True)', None, "may have existed before"),
    ('op.alter_column("t", "x", nullable=False)', None, "the old nullable of t.x is unknown"),
    ('op.alter_column("t", "x", autoincrement=False)', None, "autoincrement= has no known inverse"),
    ('op.drop_column("t", "x")', 'op.create_table("t", sa.Column("x", myapp.GUID()))',
     "`myapp.GUID` cannot be built without running code"),
    ('op.drop_table("t")', 'op.create_table("t", sa.Column("x", sa.Text()))\nop.execute("ALTER TABLE t ADD y int")',
     "table t was changed in a way the history cannot follow"),
    ('op.drop_table("t")', 'op.create_table("t", *COLUMNS)', "table t was changed in a way"),
    ('op.create_table("t", sa.Column("k", sa.Enum(Kind, name="kind")))', None, "the enum type it may create"),
])
def test_what_has_no_exact_inverse_is_marked_and_the_downgrade_raises(upgrade: str, history: str | None,
                                                                       reason: str) -> None:
    text = generated(upgrade, history)
    assert text.startswith(INCOMPLETE + "\n"), text
    assert re.search(rf"^{re.escape(CANNOT_INVERT)} line \d+, .*{re.escape(reason)}", text, re.MULTILINE), text


def test_a_batch_block_with_nothing_invertible_is_not_left_empty() -> None:
    text = generated('with op.batch_alter_table("t") as batch_op:\n    batch_op.drop_column("x")')
    assert "batch_alter_table" not in text and CANNOT_INVERT in text


def test_the_files_own_names_and_the_imports_it_needs() -> None:
    header = "from alembic import op as alembic_op\nimport sqlalchemy as sqla\n\n"
    text = generated('alembic_op.drop_column("users", "data")', HISTORY, header=header)
    assert text.startswith("alembic_op.add_column('users', sqla.Column('data', postgresql.JSONB(")
    files = {"0001_base.py": revision("a1", None, HISTORY, "raise NotImplementedError"),
             "0002_change.py": revision("b2", "a1", 'alembic_op.drop_column("users", "data")', header=header)}
    whole = fixed(files, "MG201", "0002_change.py")
    assert whole.startswith("from alembic import op as alembic_op\nimport sqlalchemy as sqla\n"
                            "from sqlalchemy.dialects import postgresql\n\n")
    # Alembic writes dialect types as postgresql.X: that name is imported even when the
    # file has the dialect under another name
    files["0002_change.py"] = revision("b2", "a1", 'op.drop_column("users", "data")', header=(
        "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql as pg\n\n"))
    assert "as pg\nfrom sqlalchemy.dialects import postgresql\n\n" in fixed(files, "MG201", "0002_change.py")
    # sqlalchemy is imported when the file did not use it yet
    files = {"0001_base.py": revision("a1", None, HISTORY, "raise NotImplementedError"),
             "0002_change.py": revision("b2", "a1", 'op.drop_column("users", "email")',
                                        header="from alembic import op\n\n")}
    assert fixed(files, "MG201", "0002_change.py").startswith("from alembic import op\nimport sqlalchemy as sa\n\n")


def test_indentation_and_line_endings_follow_the_file(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/m\n")
    versions = tmp_path / "m" / "versions"
    versions.mkdir(parents=True)
    source = ('revision = "a1"\r\ndown_revision = None\r\n\r\n\r\ndef upgrade():\r\n'
              '\twith op.batch_alter_table("t") as batch_op:\r\n'
              '\t\tbatch_op.alter_column("x", new_column_name="y")\r\n\r\n\r\ndef downgrade():\r\n\tpass\r\n')
    (versions / "0001_a.py").write_bytes(source.encode())
    subprocess.run([sys.executable, "-m", "migls", "lint", "--fix", "--unsafe-fixes", "--select", "MG2", "."],
                   cwd=tmp_path, capture_output=True, check=False)
    assert (versions / "0001_a.py").read_bytes() == source.replace(
        "def downgrade():\r\n\tpass\r\n",
        "def downgrade():\r\n\twith op.batch_alter_table('t', schema=None) as batch_op:\r\n"
        "\t\tbatch_op.alter_column('y',\r\n\t\t\t   new_column_name='x')\r\n").encode()


@pytest.mark.parametrize(("downgrade", "expected"), [
    ('"""Undo."""\n# nothing yet\npass', '"""Undo."""\n# nothing yet\nop.drop_column(\'t\', \'x\')\n'),
    ('"""Undo."""\n# nothing yet', '"""Undo."""\n# nothing yet\nop.drop_column(\'t\', \'x\')\n'),
    ("# ### commands auto generated by Alembic - please adjust! ###\npass\n# ### end Alembic commands ###",
     "# ### commands auto generated by Alembic - please adjust! ###\nop.drop_column('t', 'x')\n"
     "# ### end Alembic commands ###\n"),
    ("...", "op.drop_column('t', 'x')\n"),
])
def test_an_empty_body_is_replaced_and_its_docstring_and_comments_stay(downgrade: str, expected: str) -> None:
    files = {"0001_a.py": revision("a1", None, 'op.add_column("t", sa.Column("x", sa.Text()))', downgrade)}
    text = fixed(files, "MG202", "0001_a.py")
    assert textwrap.dedent(text.split("def downgrade():\n", 1)[1]) == expected


def test_a_one_line_empty_downgrade() -> None:
    source = revision("a1", None, 'op.add_column("t", sa.Column("x", sa.Text()))') + "\n\ndef downgrade(): pass\n"
    text = fixed({"0001_a.py": source}, "MG202", "0001_a.py")
    assert text.endswith("\n\ndef downgrade():\n    op.drop_column('t', 'x')\n")


def test_the_new_downgrade_goes_right_after_upgrade() -> None:
    source = revision("a1", None, 'op.add_column("t", sa.Column("x", sa.Text()))\n# trailing note') + (
        "\n\ndef helper():\n    return 1\n")
    text = fixed({"0001_a.py": source}, "MG201", "0001_a.py")
    assert "    # trailing note\n\n\ndef downgrade():\n    op.drop_column('t', 'x')\n\n\ndef helper():" in text


def test_mg203_inserts_each_inverse_where_reverse_order_puts_it() -> None:
    source = revision("a1", None, '''
        op.create_table("a", sa.Column("id", sa.Integer()))
        op.create_index("ix_x", "t", ["x"])
        op.create_table("b", sa.Column("id", sa.Integer()))
        op.create_index("ix_y", "t", ["y"])
    ''', '''
        op.drop_table("b")
        op.drop_table("a")
        op.create_index("ix_z", "z", ["id"])
    ''')
    result = lint_sources({"0001_a.py": source})
    fixes = {d.message.split("'")[1]: d.fix for d in result.diagnostics if d.code == "MG203"}
    assert set(fixes) == {"ix_x", "ix_y", "ix_z"}
    assert fixes["ix_z"] is None  # downgrade() creates something: no automatic decision
    x = apply_edits(source, fixes["ix_x"].edits)  # type: ignore[union-attr]
    assert "    op.drop_table(\"b\")\n    op.drop_index('ix_x', table_name='t')\n    op.drop_table(\"a\")" in x
    y = apply_edits(source, fixes["ix_y"].edits)  # type: ignore[union-attr]
    assert "def downgrade():\n    op.drop_index('ix_y', table_name='t')\n    op.drop_table(\"b\")" in y


def test_mg203_offers_nothing_it_cannot_invert_exactly() -> None:
    source = revision("a1", None, 'op.create_index(op.f("ix_t"), "t", ["x"], if_not_exists=True)',
                      'op.drop_column("t", "y")')
    found = [d for d in lint_sources({"0001_a.py": source}).diagnostics if d.code == "MG203"]
    assert found and found[0].fix is None
    one_line = revision("a1", None, 'op.create_index("ix_t", "t", ["x"])') + '\n\ndef downgrade(): op.drop_column("t", "y")\n'
    found = [d for d in lint_sources({"0001_a.py": one_line}).diagnostics if d.code == "MG203"]
    assert found and found[0].fix is None  # nothing can go below a one-line body


def test_fixing_twice_changes_nothing_more() -> None:
    files = {
        "0001_base.py": revision("a1", None, HISTORY, "raise NotImplementedError"),
        "0002_b.py": revision("b2", "a1", 'op.drop_column("users", "email")\nop.execute("UPDATE t SET x = 1")'),
        "0003_c.py": revision("c3", "b2", 'op.add_column("t", sa.Column("y", sa.Text()))', "pass"),
        "0004_d.py": revision("d4", "c3", 'op.create_index("ix_1", "t", ["a"])\nop.create_index("ix_2", "t", ["b"])',
                              'op.drop_column("t", "zz")'),
    }
    read = [read_file(name, text.encode()) for name, text in sorted(files.items())]
    settings = Settings()
    rules = select_rules(settings, ["MG2"], [])
    once = fix_files(read, settings, rules=rules, report=lambda f: True, unsafe=True)
    assert set(once.texts) == {"0002_b.py", "0003_c.py", "0004_d.py"}
    for text in once.texts.values():
        ast.parse(text)
    assert not [d for d in once.result.diagnostics if d.code in ("MG201", "MG202", "MG203")]
    again = [read_file(f.path, once.texts.get(f.path, files[f.path]).encode()) for f in read]
    twice = fix_files(again, settings, rules=rules, report=lambda f: True, unsafe=True)
    assert twice.texts == {} and twice.applied == 0


@pytest.mark.parametrize("code", [
    'sa.Numeric(10, 2)', 'postgresql.ARRAY(sa.Integer(), dimensions=2)', 'sa.func.now()',
    'sa.String(50).with_variant(sa.Text(), "postgresql")', 'op.f("ix_t")', 'sa.text("x > 0")',
    'sa.Enum("a", "b", name="kind")', 'sa.Column("x", sa.Integer, server_default=sa.text("1"))',
    'sa.Identity(start=1)', 'sa.Computed("a + b")', 'mysql.TINYINT(display_width=1)', '-1',
])
def test_the_evaluator_builds_sqlalchemy_objects_from_literals(code: str) -> None:
    Evaluator(lambda path: "").value(Expr(code, "x.py"))


@pytest.mark.parametrize("code", [
    '__import__("os").system("true")', 'os.system("true")', 'open("/etc/passwd")',
    'sa.text.__globals__', 'sa.Column("x", default=lambda: 1)', 'myapp.types.GUID()',
    'sa.Enum(*VALUES, name="x")', 'f"{x}"', 'sa.String(LENGTH)', 'sa.orm.Session()',
    'sa.engine.create_engine("sqlite://")', 'sa.schema.Table.__init__', 'sa.Column("x", **kw)',
    'sa.String(50).compile()', 'eval("1")',
])
def test_the_evaluator_builds_nothing_else(code: str) -> None:
    with pytest.raises(CannotBuild):
        Evaluator(lambda path: "from myapp import types\n").value(Expr(code, "x.py"))


def test_linting_without_a_downgrade_finding_does_not_import_alembic() -> None:
    probe = ("import sys\nfrom migls.engine import lint_sources\n"
             "lint_sources({'0001_a.py': 'revision = \"a1\"\\ndown_revision = None\\n\\n'"
             "'def upgrade():\\n    op.add_column(\"t\", sa.Column(\"x\", sa.Text()))\\n\\n'"
             "'def downgrade():\\n    op.drop_column(\"t\", \"x\")\\n'})\n"
             "print('alembic' in sys.modules, 'sqlalchemy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.corpus
def test_generated_downgrades_on_the_real_histories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--unsafe-fixes`` for MG2 on copies of the six histories: every file still parses, the
    graph is unchanged, no MG201/MG202/MG203 finding with a fix is left, a second run changes
    nothing. Prints how many downgrades were generated, complete or marked."""
    copies = []
    for name, directory in ensure_corpus().items():
        shutil.copytree(directory, tmp_path / name)
        copies.append(tmp_path / name)

    def graph(copy: Path) -> object:
        built = build_graph(lint_directory(copy).files)
        return ({rev: (n.parents, n.dependencies) for rev, n in built.nodes.items()},
                built.heads, built.bases)

    before = {copy: graph(copy) for copy in copies}
    found = {copy: [d for d in lint_directory(copy, select=["MG2"]).diagnostics] for copy in copies}
    originals = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    run = subprocess.run([sys.executable, "-m", "migls", "lint", "--fix", "--unsafe-fixes",
                          "--select", "MG2", *map(str, copies)], cwd=tmp_path, capture_output=True, text=True,
                         check=False)
    applied = int(re.search(r"Fixed (\d+) problem", run.stderr).group(1))  # type: ignore[union-attr]
    changed = [p for p in tmp_path.rglob("*.py") if p.read_text() != originals[p]]
    for path in tmp_path.rglob("*.py"):
        ast.parse(path.read_bytes(), str(path))
    assert {copy: graph(copy) for copy in copies} == before
    left = [d for copy in copies for d in lint_directory(copy, select=["MG2"]).diagnostics if d.fix is not None]
    assert left == []
    counts = {code: sum(1 for ds in found.values() for d in ds if d.code == code)
              for code in ("MG201", "MG202", "MG203")}
    generated_in = {Path(d.path).resolve() for ds in found.values() for d in ds
                    if d.code in ("MG201", "MG202")}
    whole = [p for p in changed if p.resolve() in generated_in]
    marked = sum(1 for p in whole if CANNOT_INVERT in p.read_text())
    with capsys.disabled():
        print(f"\nMG2 findings {counts}; fixes applied {applied}: {len(whole)} downgrades generated "
              f"({len(whole) - marked} complete, {marked} with 'cannot invert' markers), "
              f"{applied - len(whole)} missing inverses inserted (MG203)")
    assert len(whole) == counts["MG201"] + counts["MG202"]  # every empty or missing one
    assert applied >= 50
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    again = subprocess.run([sys.executable, "-m", "migls", "lint", "--fix", "--unsafe-fixes",
                            "--select", "MG2", *map(str, copies)], cwd=tmp_path, capture_output=True, text=True,
                         check=False)
    assert "Fixed 0 problems." in again.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == snapshot
