"""MG301 add-column-not-null-without-default."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from migls.fixes import Edit, Fix, line_indent, own_statement, python_string, quote_identifier
from migls.model import RevisionFile
from migls.ops import ColumnDef, Operation
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import has_default, is_serial, keyword_span, sites, table_of


class AddColumnNotNullWithoutDefault(LintRule):
    """``add_column`` of a NOT NULL column without a ``server_default`` on an existing table.

    **Why**: PostgreSQL fills the new column of every existing row with NULL, so
    ``ALTER TABLE ... ADD COLUMN ... NOT NULL`` fails with ``column "..." contains null values``
    (SQLSTATE 23502) as soon as the table has a row. It passes on an empty development
    database and fails in production. ``primary_key=True`` makes the column NOT NULL too
    (Alembic's ``add_column`` does not add the primary key constraint, only the NOT NULL), so
    it is reported on the ``primary_key=True`` argument. Not reported: a column that fills
    itself (``sa.Identity()``, ``sa.Computed(...)``, or an integer primary key, which
    SQLAlchemy renders as ``SERIAL``), and tables created earlier in the same revision.

    **Safe alternative**: a constant ``server_default`` is catalog-only on PostgreSQL 11+ (no
    rewrite, about 1 ms at any size), and so is ``now()``, which is STABLE (every existing row
    gets the migration's timestamp). Without a sensible constant, add the column nullable,
    backfill it, then make it NOT NULL (see MG307 for a SET NOT NULL without a long lock):

    ```python
    op.add_column("users", sa.Column("status", sa.Text(), nullable=False,
                                     server_default="active"))
    ```

    **Fix** (unsafe, both ways): `--unsafe-fixes` gives the column a ``server_default``
    placeholder of its type, which runs and keeps the NOT NULL in one catalog-only statement:
    ``sa.text("''")`` for strings, ``sa.text("0")`` for numbers, ``sa.false()`` for booleans,
    ``sa.func.now()`` for timestamps, ``sa.func.current_date()`` for dates, ``sa.text("'{}'")``
    for JSON and arrays, the first value of an ``sa.Enum``. The existing rows, and later
    INSERTs that leave the column out, get that value: replace it with the right one. Where
    no constant makes sense (a UUID, an unknown type) there is no such fix.

    The editor offers a second quick fix, the nullable-then-NOT-NULL sequence. It is not the
    default because the backfill value is a placeholder too, and in one revision the UPDATE
    rewrites every row and SET NOT NULL scans the table while ADD COLUMN's ACCESS EXCLUSIVE
    lock is held (MG502, MG307 then say so: move the last two steps to a later revision on a
    large table). For a UUID it backfills ``gen_random_uuid()``, one value per row:

    ```python
    op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
    # TODO(migls): backfill users.email with its real values ('' is a placeholder)
    op.execute("UPDATE users SET email = ''")
    op.alter_column("users", "email", existing_type=sa.Text(), nullable=False)
    ```

    A ``primary_key=True`` finding gets no fix: a key's values must be unique, which no
    placeholder is. On SQLite, where MG301 does not apply, the placeholder still runs (SQLite
    refuses only the non-constant ``now()`` and ``CURRENT_DATE`` in ``ADD COLUMN``), the
    sequence does not (``alter_column`` needs batch mode there).
    """

    CODE = "MG301"
    NAME = "add-column-not-null-without-default"
    SEVERITY = Severity.ERROR
    SUMMARY = "`add_column` with `nullable=False` and no `server_default` on an existing table"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("status", sa.Text(), nullable=False,
                                                 server_default="active"))
                op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("accounts", sa.Column("owner", sa.Text(), nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("seq", sa.BigInteger(), sa.Identity(),
                                                 nullable=False))
                op.add_column("users", sa.Column("total", sa.Integer(),
                                                 sa.Computed("price * qty", persisted=True),
                                                 nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))

            def downgrade():
                op.add_column("users", sa.Column("legacy", sa.Text(), nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False))
        ''', settings={"dialect": "sqlite"}),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False))
        ''', range=(5, 58, 5, 72), message="users.email", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False, server_default=sa.text("''")))
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("email", sa.Text(), nullable=False,
                                                  server_default=None))
        ''', range=(6, 59, 6, 73), message="fails when users has rows", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("email", sa.Text(), nullable=False,
                                                  server_default=sa.text("''")))
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("code", sa.Text(), primary_key=True))
        ''', range=(5, 57, 5, 73), message="primary_key=True"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("users", sa.Column("active", sa.Boolean(), nullable=False))
        ''', range=(6, 62, 6, 76), fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("users", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()))
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("created_at", sa.DateTime(timezone=True),
                                                 nullable=False))
        ''', range=(6, 38, 6, 52), fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("created_at", sa.DateTime(timezone=True),
                                                 nullable=False, server_default=sa.func.now()))
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("token", sa.Uuid(), nullable=False))
        ''', range=(5, 58, 5, 72), message="users.token"),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: the rows the table already has get the placeholder, and so does every later
        # INSERT that leaves the column out (it used to fail).
        found = self._finding(ctx, file, span)
        if found is None:
            return None
        op, column = found
        value = placeholder(column, ctx.settings.postgres_version)
        expression = value.expression(sqlalchemy_alias(file, column)) if value else None
        if expression is None or column.nullable_arg is None:
            return None
        keyword = f"server_default={expression}"
        if column.server_default is not None:  # ``server_default=None`` written out
            edit = Edit(column.server_default.span, keyword)
        else:
            edit = Edit(Span(span.end_line, span.end_column, span.end_line, span.end_column),
                        f", {keyword}")
        return Fix(f"Add {keyword} to {table_of(op)}.{column.name} (a placeholder: check it)",
                   False, (edit,))

    def alternative_fixes(self, ctx: Context, file: RevisionFile, span: Span,
                          message: str) -> list[Fix]:
        # The sequence: ADD COLUMN nullable, backfill, SET NOT NULL (unsafe as well: the
        # backfill value is a placeholder, and the UPDATE and SET NOT NULL hold ACCESS
        # EXCLUSIVE for a full write and a full scan, see MG502 and MG307).
        found = self._finding(ctx, file, span)
        if found is None or file.source is None:
            return []
        op, column = found
        value = placeholder(column, ctx.settings.postgres_version)
        statement = own_statement(file, op)
        if (value is None or statement is None or op.batch or op.table is None
                or column.name is None or column.nullable_arg is None):
            return []
        lines = file.source.text.split("\n")
        call = lines[op.span.line - 1][op.span.column:]
        if not call.startswith("op.add_column"):
            return []  # ``op`` under another name: do not guess it
        schema = op.literal("schema")
        schema = schema if isinstance(schema, str) else None
        target = ".".join(quote_identifier(part) for part in (schema, op.table) if part)
        update = f"UPDATE {target} SET {quote_identifier(column.name)} = {value.sql}"
        arguments = [python_string(op.table), python_string(column.name)]
        if column.type is not None:
            arguments.append(f"existing_type={column.type.code}")
        arguments.append("nullable=False")
        if schema is not None:
            arguments.append(f"schema={python_string(schema)}")
        last = statement[1]
        indent = line_indent(lines[statement[0] - 1])
        name = f"{table_of(op)}.{column.name}"
        sequence = (f"\n{indent}# TODO(migls): backfill {name} with its real values "
                    f"({value.sql} is a placeholder)"
                    f"\n{indent}op.execute({python_string(update)})"
                    f"\n{indent}op.alter_column({', '.join(arguments)})")
        end = len(lines[last - 1])
        return [Fix(f"Add {name} nullable, backfill it, then SET NOT NULL", False, (
            Edit(column.nullable_arg.span, "nullable=True"),
            Edit(Span(last, end, last, end), sequence)))]

    def _finding(self, ctx: Context, file: RevisionFile, span: Span
                 ) -> tuple[Operation, ColumnDef] | None:
        """The ``add_column`` and its column reported at ``span`` by ``nullable=False`` (the
        ``primary_key=True`` findings get no fix: their values must be unique, which no
        placeholder is)."""
        for site in sites(ctx, file):
            op = site.op
            if op.name == "add_column" and op.columns:
                column = op.columns[0]
                if column.nullable_arg is not None and column.nullable_arg.span == span:
                    return op, column
        return None

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        for site in sites(ctx, file):
            op = site.op
            if op.name != "add_column" or not site.on_existing_table or not op.columns:
                continue
            column = op.columns[0]
            if (has_default(column) or column.identity is not None or column.computed is not None
                    or is_serial(column, op.arg("column"))):
                continue
            table, name = table_of(op), column.name or "?"
            if column.nullable is False and column.nullable_arg is not None:
                yield (file, column.nullable_arg.span,
                       (f"adding NOT NULL column {table}.{name} without a server_default fails "
                        f"when {table} has rows (SQLSTATE 23502: the column contains null values)"))
            elif column.nullable is None and column.primary_key:
                yield (file, keyword_span(file, column, "primary_key"),
                       (f"primary_key=True makes {table}.{name} NOT NULL, and adding it without a "
                        f"server_default fails when {table} has rows (SQLSTATE 23502: the column "
                        "contains null values)"))


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A value of the column's type for the rows a table already has: as SQL (for a backfill)
    and as a ``server_default`` expression."""

    sql: str
    #: The ``server_default`` with ``{sa}`` for SQLAlchemy's module name, or ``None`` when
    #: no constant default makes sense (a UUID: every row needs its own).
    template: str | None
    #: The ``server_default`` as a plain string, for a file without SQLAlchemy's module name
    #: (``from sqlalchemy import Column``); ``None`` when no plain string renders it exactly.
    plain: str | None = None

    def expression(self, alias: str | None) -> str | None:
        """The ``server_default`` expression, written with ``alias`` (``sa``)."""
        if alias is None:
            return self.plain
        return None if self.template is None else self.template.replace("{sa}", alias)


_STRING_TYPES = frozenset({"String", "Text", "Unicode", "UnicodeText", "VARCHAR", "NVARCHAR",
                           "CHAR", "NCHAR", "TEXT", "CLOB", "CITEXT"})
_NUMBER_TYPES = frozenset({"Integer", "BigInteger", "SmallInteger", "INTEGER", "INT", "BIGINT",
                           "SMALLINT", "Numeric", "NUMERIC", "DECIMAL", "Float", "FLOAT", "REAL",
                           "Double", "DOUBLE", "DOUBLE_PRECISION"})
_BOOLEAN_TYPES = frozenset({"Boolean", "BOOLEAN"})
_TIMESTAMP_TYPES = frozenset({"DateTime", "TIMESTAMP", "DATETIME"})
_DATE_TYPES = frozenset({"Date", "DATE"})
#: JSON and arrays: the empty object / array literal.
_EMPTY_BRACES_TYPES = frozenset({"JSON", "JSONB", "ARRAY"})
_UUID_TYPES = frozenset({"Uuid", "UUID"})


def _text(sql: str) -> Placeholder:
    return Placeholder(sql, f"{{sa}}.text({python_string(sql)})")


def placeholder(column: ColumnDef, postgres_version: int) -> Placeholder | None:
    """A placeholder of the column's type: ``''``, ``0``, ``false``, ``now()``,
    ``CURRENT_DATE``, ``'{}'`` (JSON, arrays), an enum's first value, or for a UUID a fresh
    ``gen_random_uuid()`` per row (backfill only: as a default it rewrites the table, MG302);
    ``None`` for any other type."""
    type_ = column.type
    if type_ is None:
        return None
    name = type_.name
    if name in _STRING_TYPES:
        return Placeholder("''", '{sa}.text("\'\'")', '""')
    if name in _NUMBER_TYPES:
        return Placeholder("0", '{sa}.text("0")', '"0"')
    if name in _BOOLEAN_TYPES:
        return Placeholder("false", "{sa}.false()")
    if name in _TIMESTAMP_TYPES:
        return Placeholder("now()", "{sa}.func.now()")
    if name in _DATE_TYPES:
        return Placeholder("CURRENT_DATE", "{sa}.func.current_date()")
    if name in _EMPTY_BRACES_TYPES:
        return _text("'{}'")
    if name in ("Enum", "ENUM") and type_.args and isinstance(type_.args[0], str):
        return _text("'" + type_.args[0].replace("'", "''") + "'")
    if name in _UUID_TYPES and postgres_version >= 13:  # gen_random_uuid() is built in from 13
        return Placeholder("gen_random_uuid()", None)
    return None


_IMPORT_SQLALCHEMY = re.compile(r"^\s*import\s+sqlalchemy(?:\s+as\s+(\w+))?\s*$", re.MULTILINE)
_MODULE_OF_CALL = re.compile(r"([A-Za-z_]\w*)(?:\.\w+)*\.Column\s*\(")


def sqlalchemy_alias(file: RevisionFile, column: ColumnDef) -> str | None:
    """How the file names SQLAlchemy's module: the prefix of its ``sa.Column(...)``, else an
    ``import sqlalchemy [as sa]``; ``None`` when neither is there."""
    if file.source is None:
        return None
    lines = file.source.text.split("\n")
    written = _MODULE_OF_CALL.match(lines[column.span.line - 1][column.span.column:])
    if written is not None:
        return written.group(1)
    imported = _IMPORT_SQLALCHEMY.search(file.source.text)
    return (imported.group(1) or "sqlalchemy") if imported is not None else None
