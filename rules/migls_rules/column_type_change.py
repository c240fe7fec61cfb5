"""MG308 column-type-change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from migls.ast_model import read_type_code
from migls.model import RevisionFile
from migls.ops import Operation, TypeRef
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, linted_functions
from migls.schema import Schema, schemas_along
from migls.span import Span

#: SQLAlchemy type names -> PostgreSQL type (the family ALTER TYPE compares).
TYPE_FAMILIES = {
    **dict.fromkeys(("String", "VARCHAR", "Unicode", "NVARCHAR", "AutoString"), "varchar"),
    **dict.fromkeys(("Text", "TEXT", "UnicodeText", "CLOB"), "text"),
    **dict.fromkeys(("CHAR", "NCHAR"), "bpchar"),
    **dict.fromkeys(("SmallInteger", "SMALLINT"), "int2"),
    **dict.fromkeys(("Integer", "INTEGER", "INT"), "int4"),
    **dict.fromkeys(("BigInteger", "BIGINT"), "int8"),
    **dict.fromkeys(("Numeric", "NUMERIC", "DECIMAL"), "numeric"),
    **dict.fromkeys(("REAL",), "float4"),
    **dict.fromkeys(("Float", "FLOAT", "Double", "DOUBLE", "DOUBLE_PRECISION"), "float8"),
    **dict.fromkeys(("DateTime", "DATETIME", "TIMESTAMP"), "timestamp"),
    **dict.fromkeys(("Date", "DATE"), "date"),
    **dict.fromkeys(("Time", "TIME"), "time"),
    **dict.fromkeys(("Boolean", "BOOLEAN"), "bool"),
    **dict.fromkeys(("JSON",), "json"),
    **dict.fromkeys(("JSONB",), "jsonb"),
    **dict.fromkeys(("Uuid", "UUID"), "uuid"),
    **dict.fromkeys(("LargeBinary", "BYTEA"), "bytea"),
    **dict.fromkeys(("Interval", "INTERVAL"), "interval"),
}
#: Module prefixes under which those names are SQLAlchemy's own types (a project's type that
#: happens to be called ``UUID`` or ``JSON`` may be anything on PostgreSQL).
_SQLALCHEMY_PREFIXES = ("sa.", "sqlalchemy.", "postgresql.", "pg.", "sa.types.", "types.",
                        "sqltypes.", "sqlmodel.sql.sqltypes.")
_SQL_NAMES = {"varchar": "VARCHAR", "text": "TEXT", "bpchar": "CHAR", "int2": "SMALLINT",
              "int4": "INTEGER", "int8": "BIGINT", "numeric": "NUMERIC", "float4": "REAL",
              "float8": "DOUBLE PRECISION", "timestamp": "TIMESTAMP",
              "timestamptz": "TIMESTAMP WITH TIME ZONE", "date": "DATE", "time": "TIME",
              "bool": "BOOLEAN", "json": "JSON", "jsonb": "JSONB", "uuid": "UUID",
              "bytea": "BYTEA", "interval": "INTERVAL"}
#: Families whose modifier is a number of fractional digits of seconds.
_FRACTIONAL_SECONDS = frozenset({"timestamp", "timestamptz", "time"})
#: ``SET [LOCAL|SESSION] TIME ZONE 'UTC'`` / ``SET TimeZone = 'UTC'``: any zone whose offset is
#: zero without daylight saving lets timestamp <-> timestamptz skip the rewrite (PostgreSQL 12+).
_SET_UTC = re.compile(
    r"\bSET\s+(?:LOCAL\s+|SESSION\s+)?(?:TIME\s+ZONE|TimeZone\s*(?:=|\bTO\b))\s*"
    r"'?(?:UTC|Etc/UTC|UCT|Etc/UCT|GMT|Etc/GMT|Universal|Etc/Universal|Zulu|Etc/Zulu|"
    r"Greenwich|Etc/Greenwich)'?\s*(?:;|$)",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PgType:
    """A column type as PostgreSQL sees it: its family and modifiers (``None`` = none)."""

    family: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def sql(self) -> str:
        """The type as SQL, for messages."""
        name = _SQL_NAMES[self.family]
        if self.family in ("varchar", "bpchar") and self.length is not None:
            return f"{name}({self.length})"
        if self.family == "numeric" and self.precision is not None:
            return f"{name}({self.precision}" + (f", {self.scale})" if self.scale is not None else ")")
        if self.family in _FRACTIONAL_SECONDS and self.precision is not None:
            first, _, rest = name.partition(" ")
            return f"{first}({self.precision})" + (f" {rest}" if rest else "")
        return name


def pg_type(ref: TypeRef | None) -> PgType | None:
    """The PostgreSQL type of an SQLAlchemy type written in a migration; ``None`` when it is
    not one migls knows (a project's own type, a variable)."""
    if ref is None:
        return None
    ref = _without_variants(ref)
    family = TYPE_FAMILIES.get(ref.name)
    code = ref.code.split("(", 1)[0]
    if family is None or ("." in code and not code.startswith(_SQLALCHEMY_PREFIXES)):
        return None

    def param(index: int, name: str) -> int | None:
        value = ref.kwarg(name, ref.args[index] if len(ref.args) > index else None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    if family in ("varchar", "bpchar"):
        return PgType(family, length=param(0, "length"))
    if family == "numeric":
        return PgType(family, precision=param(0, "precision"), scale=param(1, "scale"))
    if family == "timestamp":
        timezone = ref.kwarg("timezone", ref.args[0] if ref.args else False)
        return PgType("timestamptz" if timezone is True else "timestamp",
                      precision=param(1, "precision"))
    if family == "time":
        return PgType(family, precision=param(1, "precision"))
    return PgType(family)


_OTHER_DIALECT = re.compile(r"mysql|mariadb|sqlite|mssql|oracle", re.IGNORECASE)
_POSTGRES = re.compile(r"postgres|psycopg", re.IGNORECASE)
_NEGATION = re.compile(r"!=|\bnot\b")


def for_other_dialect(file: RevisionFile, line: int) -> bool:
    """Whether the statement on ``line`` only runs on another database: it sits under
    ``if dialect == "mysql":`` (or ``isinstance(bind.dialect, SQLiteDialect)``...), under
    ``if dialect != "postgresql":``, or in the ``else:`` of an ``if`` for PostgreSQL. Read from
    the indentation of the source: nothing is claimed when the layout is unusual."""
    if file.source is None:
        return False
    lines = file.source.text.split("\n")  # as Python numbers lines (not str.splitlines)
    if not 0 < line <= len(lines):
        return False

    def indent(text: str) -> int:
        return len(text) - len(text.lstrip())

    level = indent(lines[line - 1])
    for number in range(line - 2, -1, -1):
        text = lines[number]
        stripped = text.strip()
        if not stripped or stripped.startswith("#") or indent(text) >= level:
            continue
        level = indent(text)
        if stripped.startswith(("if ", "elif ")) and _only_other(stripped):
            return True
        if stripped.startswith("else") and _else_of_postgres(lines, number, level):
            return True
        if level == 0:
            return False
    return False


def _only_other(condition: str) -> bool:
    negated = _NEGATION.search(condition) is not None
    if _POSTGRES.search(condition):
        return negated and not _OTHER_DIALECT.search(condition)
    return _OTHER_DIALECT.search(condition) is not None and not negated


def _else_of_postgres(lines: list[str], number: int, level: int) -> bool:
    """Whether the ``else:`` on line ``number`` closes an ``if``/``elif`` chain for PostgreSQL."""
    for text in reversed(lines[:number]):
        stripped = text.strip()
        if not stripped or stripped.startswith("#") or len(text) - len(text.lstrip()) > level:
            continue
        if len(text) - len(text.lstrip()) < level:
            return False
        if stripped.startswith(("if ", "elif ")):
            if _POSTGRES.search(stripped) and not _NEGATION.search(stripped):
                return True
            if stripped.startswith("if "):
                return False
        else:
            return False
    return False


def _without_variants(ref: TypeRef) -> TypeRef:
    """``sa.Text().with_variant(LONGTEXT, "mysql")`` is ``sa.Text()`` on PostgreSQL."""
    if ref.name != "with_variant":
        return ref
    parsed, inner = read_type_code(ref.code, unwrap="with_variant")
    return (inner or ref) if parsed else ref


def _short(code: str, limit: int = 40) -> str:
    """Type code for a message: on one line, and not too long."""
    code = " ".join(code.split()).replace("( ", "(").replace(" )", ")")
    return code if len(code) <= limit else code[:limit - 1] + "…"


def rewrites(old: PgType, new: PgType) -> bool | None:
    """Whether ``ALTER COLUMN ... TYPE`` from ``old`` to ``new`` rewrites the table: ``False``
    for a binary-coercible change (pg-locks.md 5c/5d), ``True`` for a known rewrite (4, 5a/5b,
    5e/5f), ``None`` for timestamp <-> timestamptz, which depends on the session TimeZone."""
    if old == new:
        return False
    # Fewer fractional digits rounds every value: a rewrite (PostgreSQL simplifies the cast
    # away only when the precision is unconstrained or not lowered).
    drops_digits = new.precision is not None and (old.precision is None
                                                  or new.precision < old.precision)
    if old.family == new.family and old.family in _FRACTIONAL_SECONDS:
        return drops_digits
    if {old.family, new.family} == {"timestamp", "timestamptz"}:
        return True if drops_digits else None
    if old.family in ("varchar", "text") and new.family == "text":
        return False
    if old.family in ("varchar", "text") and new.family == "varchar":
        if new.length is None:
            return False
        return not (old.family == "varchar" and old.length is not None and new.length >= old.length)
    if old.family == new.family == "numeric":
        if new.precision is None and new.scale is None:
            return False
        return not (old.precision is not None and new.precision is not None
                    and new.precision >= old.precision and (old.scale or 0) == (new.scale or 0))
    return True


class ColumnTypeChange(LintRule):
    """``alter_column(..., type_=...)`` that rewrites the table and every index on it under
    ACCESS EXCLUSIVE.

    **Why**: measured on PostgreSQL 15 (`pg-locks.md` finding 4, rows 5a-5h): `integer` ->
    `bigint`, `text` -> `varchar(10)`, `varchar(50)` -> `varchar(20)` and `timestamp` ->
    `timestamptz` rewrite the table and rebuild all of its indexes while holding ACCESS
    EXCLUSIVE: reads and writes wait for the whole rewrite (about 3 s per 2 million rows on a
    fast server, growing with the table). Not reported, because they were measured to rewrite
    nothing and scan nothing: widening a `varchar`, `varchar` -> `text`, `text` or
    `varchar(n)` -> unbounded `varchar`, `numeric(p, s)` -> `numeric(p2 >= p, s)` or
    unbounded `numeric`, and a type given again unchanged. Narrowing, adding a length to an
    unbounded `varchar` and changing a `numeric` scale do rewrite. `timestamp` <->
    `timestamptz` (either way) skips the rewrite on PostgreSQL 12+ when the session
    `TimeZone` is UTC, so it is not reported after `SET LOCAL TimeZone = 'UTC'` earlier in the
    same function. The old type comes from `existing_type=`, else from the history (the type
    earlier revisions gave the column); when neither tells it, or the type is a project's
    own, the message says the change *may* rewrite. Changes under `if dialect == "mysql":`
    (or another database's branch) are not reported.

    **Safe alternative**: add a new column, backfill it in batches, switch the code, then drop
    the old one (expand/contract). To narrow a string, keep the type and add a constraint:

    ```python
    def upgrade():
        op.create_check_constraint("ck_users_code_len", "users", "char_length(code) <= 10",
                                   postgresql_not_valid=True)
        with op.get_context().autocommit_block():  # VALIDATE blocks neither reads nor writes
            op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_code_len")
    ```

    For `timestamp` -> `timestamptz` on PostgreSQL 12+:

    ```python
    def upgrade():
        op.execute("SET LOCAL TimeZone = 'UTC'")
        op.alter_column("events", "created_at", type_=sa.DateTime(timezone=True),
                        existing_type=sa.DateTime())
    ```

    **Fix**: use one of the forms above, or run the change in a maintenance window; give
    `existing_type=` so the change can be judged exactly.
    """

    CODE = "MG308"
    NAME = "column-type-change"
    SEVERITY = Severity.WARNING
    SUMMARY = "`alter_column(type_=...)` that rewrites the table and its indexes"
    VALID = [
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "name", type_=sa.String(200),
                                existing_type=sa.String(50))
        '''),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                # a line separator\u2028in a comment is no line break for Python
                if isinstance(op.get_bind().dialect, SQLiteDialect):
                    op.alter_column("users", "id", type_=sa.BigInteger())
        '''),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "name", type_=sa.Text(), existing_type=sa.VARCHAR(50))
        '''),
        Valid({"0001_a.py": '''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("users", sa.Column("name", sa.String(50)))
        ''', "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.alter_column("users", "name", type_=sa.String(length=255))
        '''}),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.create_table("users", sa.Column("id", sa.Integer()))
                op.alter_column("users", "id", type_=sa.BigInteger())
        '''),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.execute("SET LOCAL TimeZone = 'UTC'")
                op.alter_column("events", "created_at", type_=sa.DateTime(timezone=True),
                                existing_type=sa.DateTime())
        '''),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("prices", "amount", type_=sa.Numeric(12, 2),
                                existing_type=sa.Numeric(10, 2))
        '''),
        Valid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
        ''', settings={"dialect": "sqlite"}),
    ]
    INVALID = [
        Invalid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
        ''', range=(5, 36, 5, 57),
            message="changing users.id from INTEGER to BIGINT rewrites users"),
        Invalid({"0001_a.py": '''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("users", sa.Column("code", sa.Text()))
        ''', "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("code", type_=sa.String(10))
        '''}, path="0002_b.py", range=(6, 39, 6, 58),
            message="from TEXT to VARCHAR(10)"),
        Invalid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "name", type_=sa.String(20),
                                existing_type=sa.String(50))
        ''', range=(5, 38, 5, 57)),
        Invalid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("events", "created_at", type_=sa.DateTime(timezone=True),
                                existing_type=sa.DateTime())
        ''', range=(5, 45, 5, 77), message="unless the session TimeZone is UTC"),
        Invalid('''
            revision = "b2"
            down_revision = None

            def upgrade():
                op.alter_column("users", "score", type_=sa.BigInteger())
        ''', range=(5, 39, 5, 60), message="may rewrite"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if not is_postgresql(ctx):
            return
        for function_name, function in linted_functions(ctx, file):
            created: set[str] = set()
            utc = False
            for op, schema in schemas_along(ctx.graph, file.revision_id, function_name, function.ops,
                                             ctx.settings.dialect or "postgresql"):
                if op.name == "create_table" and op.table is not None:
                    created.add(op.table)
                elif op.name == "rename_table" and op.table in created:
                    created.add(str(op.literal("new_table_name")))
                elif op.name == "execute" and op.sql is not None and _SET_UTC.search(op.sql):
                    utc = True
                elif (op.name == "alter_column" and op.arg("type_") is not None
                      and op.table not in created and not for_other_dialect(file, op.span.line)):
                    message = _judge(op, schema, utc, ctx.settings.postgres_version)
                    type_arg = op.arg("type_")
                    if message is not None and type_arg is not None:
                        yield file, type_arg.span, message


def _judge(op: Operation, schema: Schema, utc: bool, postgres_version: int) -> str | None:
    """The message for a type change, or ``None`` when it does not rewrite."""
    column = op.literal("column_name")
    column = column if isinstance(column, str) else None
    table = op.table
    where = (f"{table}.{column}" if table and column else f"column {column}" if column
             else f"a column of {table}" if table else "a column")
    new_ref = op.types.get("type_")
    old_ref = op.types.get("existing_type")
    if old_ref is None and column is not None:
        state = schema.column(table, column)
        old_ref = state.type if state is not None else None
    if old_ref is not None and new_ref is not None and old_ref.code == new_ref.code:
        return None
    new, old = pg_type(new_ref), pg_type(old_ref)
    new_text = new.sql() if new is not None else _short(op.args["type_"].code)
    lock = f"{table or 'the table'} and all its indexes under ACCESS EXCLUSIVE, blocking reads and writes"
    if new is None or old is None:
        if old_ref is None:
            return (f"changing {where} to {new_text} may rewrite {lock} (the old type is unknown: "
                    "give existing_type= to judge it exactly)")
        old_text = old.sql() if old is not None else _short(old_ref.code)
        return f"changing {where} from {old_text} to {new_text} may rewrite {lock}"
    verdict = rewrites(old, new)
    change = f"changing {where} from {old.sql()} to {new.sql()}"
    if verdict is None:
        if utc and postgres_version >= 12:
            return None
        if postgres_version < 12:
            return f"{change} rewrites {lock}"
        return (f"{change} rewrites {lock}, unless the session TimeZone is UTC: run "
                "SET LOCAL TimeZone = 'UTC' first in this migration")
    if verdict:
        return f"{change} rewrites {lock}"
    if op.arg("postgresql_using") is not None:  # unless USING is the column itself, cast
        return f"{change} with postgresql_using may rewrite {lock}"
    return None
