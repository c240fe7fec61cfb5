"""Operations as data: Alembic's signatures, bound arguments, columns, scopes, SQL."""

from __future__ import annotations

import inspect
import textwrap

import pytest
from alembic.operations import BatchOperations, Operations

from migls.engine import read_file
from migls.ops import DYNAMIC, Operation
from migls.signatures import BATCH_OPERATIONS, OPERATIONS


@pytest.mark.parametrize("table, cls", [(OPERATIONS, Operations), (BATCH_OPERATIONS, BatchOperations)])
def test_signatures_are_alembics(table: dict[str, tuple[tuple[str, ...], str | None]], cls: type) -> None:
    for name, (positional, star) in table.items():
        parameters = list(inspect.signature(getattr(cls, name)).parameters.values())[1:]
        assert tuple(p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD) == positional, name
        stars = [p.name for p in parameters if p.kind is p.VAR_POSITIONAL]
        assert (stars[0] if stars else None) == star, name


def upgrade_ops(body: str) -> list[Operation]:
    source = "revision = 'a'\ndown_revision = None\n\ndef upgrade():\n" + textwrap.indent(
        textwrap.dedent(body), "    ")
    file = read_file("a.py", source.encode())
    assert file.upgrade is not None, file.syntax_error
    return file.upgrade.ops


def test_positional_and_keyword_arguments_bind_like_alembic() -> None:
    [op] = upgrade_ops('op.create_index("ix_t_n", "t", ["n"], unique=True, postgresql_concurrently=True)\n')
    assert op.name == "create_index" and op.table == "t"
    assert op.literal("index_name") == "ix_t_n" and op.literal("columns") == ("n",)
    assert op.flag("unique") and op.flag("postgresql_concurrently") and not op.autocommit
    [op] = upgrade_ops('op.create_index(table_name="t", index_name="ix", columns=cols)\n')
    assert op.table == "t" and op.literal("columns") is DYNAMIC


def test_add_column_reads_the_column_definition() -> None:
    [op] = upgrade_ops(
        'op.add_column("users", sa.Column("email", sa.String(length=255), sa.ForeignKey("orgs.id"),\n'
        '              nullable=False, server_default=sa.text("now()"), index=True, unique=True))\n')
    [column] = op.columns
    assert (column.name, column.nullable, column.index, column.unique) == ("email", False, True, True)
    assert column.type is not None and column.type.name == "String" and column.type.kwarg("length") == 255
    assert column.foreign_keys == ("orgs.id",)
    assert column.server_default is not None and column.server_default.call_name == "text"
    assert column.server_default.call_args == ("now()",)
    assert column.nullable_arg is not None and column.nullable_arg.span.line == 6


def test_create_table_columns_identity_and_computed() -> None:
    [op] = upgrade_ops(
        'op.create_table("t", sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),\n'
        '                sa.Column("total", sa.Integer(), sa.Computed("a + b", persisted=True)),\n'
        '                sa.PrimaryKeyConstraint("id"))\n')
    assert [c.name for c in op.columns] == ["id", "total"]
    assert op.columns[0].identity is not None and op.columns[0].is_not_null
    assert op.columns[1].computed is not None and op.columns[1].computed.kwarg("persisted") is True
    assert len(op.rest) == 3


def test_batch_and_autocommit_scopes() -> None:
    ops = upgrade_ops(
        'with op.batch_alter_table("users") as batch_op:\n'
        '    batch_op.alter_column("name", nullable=False)\n'
        'with op.get_context().autocommit_block():\n'
        '    op.create_index("ix", "users", ["name"], postgresql_concurrently=True)\n'
        'op.drop_index("ix2", table_name="users")\n')
    by_name = {op.name: op for op in ops}
    alter = by_name["alter_column"]
    assert alter.batch and alter.table == "users" and alter.literal("column_name") == "name"
    assert alter.literal("nullable") is False
    assert by_name["create_index"].autocommit and not by_name["drop_index"].autocommit
    assert by_name["drop_index"].table == "users"


def test_execute_sql_and_where_its_pieces_start() -> None:
    [op] = upgrade_ops('op.execute(\n    "CREATE INDEX ix ON t (n);"\n    " DROP INDEX iy;"\n)\n')
    assert op.sql == "CREATE INDEX ix ON t (n); DROP INDEX iy;"
    assert op.sql_pieces == (("CREATE INDEX ix ON t (n);", 6, 9), (" DROP INDEX iy;", 7, 9))
    [op] = upgrade_ops('op.execute(sa.text("""UPDATE t\n  SET n = 1"""))\n')
    # (the helper indents every line of the body, the literal's second line included)
    assert op.sql == "UPDATE t\n      SET n = 1"
    assert op.sql_pieces == (("UPDATE t\n      SET n = 1", 5, 26),)
    [op] = upgrade_ops('op.execute("SELECT \'\\\\n\'")\n')
    assert op.sql_pieces is None  # escapes: positions inside would drift


def test_dialect_guards() -> None:
    ops = upgrade_ops(
        'dialect = op.get_bind().dialect.name\n'
        'if dialect == "sqlite":\n'
        '    op.drop_index("a")\n'
        'elif dialect in ("mysql", "mariadb"):\n'
        '    op.drop_index("b")\n'
        'else:\n'
        '    op.drop_index("c")\n'
        'if conn.dialect.name != "postgresql":\n'
        '    op.drop_index("d")\n'
        'op.drop_index("e")\n')
    runs = {op.literal("index_name"): (op.runs_on("postgresql"), op.runs_on("sqlite"))
            for op in ops if op.name == "drop_index"}
    assert runs == {"a": (False, True), "b": (False, False), "c": (True, False),
                    "d": (False, True), "e": (True, True)}
