"""MG203 downgrade-not-inverse."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from migls.fixes import Fix
from migls.model import RevisionFile
from migls.ops import DYNAMIC, Arg, Operation
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span

#: Wildcard in a key: "any name" (a drop whose name is not a literal).
ANY = "*"

#: Operations that create a named object, by kind, and the argument naming it.
_CREATES_NAMED = {
    "create_index": ("index", "index_name"),
    "create_unique_constraint": ("unique constraint", "constraint_name"),
    "create_primary_key": ("primary key", "constraint_name"),
    "create_foreign_key": ("foreign key", "constraint_name"),
    "create_check_constraint": ("check constraint", "constraint_name"),
    "create_exclude_constraint": ("exclude constraint", "constraint_name"),
}
_DROPS_NAMED = {"drop_index": "index_name", "drop_constraint": "constraint_name"}
#: Columns of a named object, by the argument that lists them.
_COLUMNS_ARG = {"create_index": "columns", "create_unique_constraint": "columns",
                "create_primary_key": "columns", "create_foreign_key": "local_cols"}
_CREATE_TYPE = re.compile(r"\bCREATE\s+TYPE\s+(?:\"?(\w+)\"?\.)?\"?(\w+)\"?\s+AS\s+ENUM\b", re.IGNORECASE)
_DROP_TYPE = re.compile(r"\bDROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?(?:\"?\w+\"?\.)?\"?(\w+)\"?", re.IGNORECASE)
#: ``op.execute`` of a SQLAlchemy construct that only changes data (``t.update()...``).
_DATA_CONSTRUCT = re.compile(r"(^|\.)(update|insert|delete|select)\(|\.values\(|\.where\(")
#: SQL that changes the schema (a name written there may be dropped or renamed there).
_DDL = re.compile(r"\b(?:DROP|ALTER|CREATE|RENAME)\s+(?:(?:UNIQUE|MATERIALIZED|OR\s+REPLACE)\s+)?"
                  r"(?:TABLE|INDEX|CONSTRAINT|COLUMN|TYPE|VIEW|SEQUENCE|TRIGGER|IF\s+EXISTS|TO)\b"
                  r"|\bRENAME\s+TO\b", re.IGNORECASE)
#: Words in a called name that say it may change the schema out of sight.
_SCHEMA_VERBS = frozenset({"drop", "create", "remove", "delete", "rename", "add", "alter",
                           "migrate", "upgrade", "downgrade", "execute", "exec", "apply",
                           "restore", "revert", "undo", "run", "recreate", "truncate",
                           "make", "build", "setup", "teardown", "reset", "change", "modify"})
#: Single-word calls that may change the schema (``sa.Enum(...).drop(bind)``...); other
#: single words (``add``, ``remove``, ``update``, ``insert``) are data or containers.
_SINGLE_VERBS = frozenset({"drop", "create", "drop_all", "create_all", "recreate", "migrate",
                           "upgrade", "downgrade", "rename", "alter", "truncate"})
_BUILTINS = frozenset(dir(builtins))
_DML = re.compile(r"\s*(SELECT|UPDATE|INSERT|DELETE|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Obj:
    """A schema object as MG203 tracks it: ``("table", t)``, ``("column", t, c)``,
    ``("named", name)`` (index or constraint: one namespace) or ``("type", name)``."""

    key: tuple[str, ...]
    what: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    referent: str | None = None
    #: Names in an expression index's or a check's SQL: dropping such a column drops it too.
    mentioned: tuple[str, ...] = ()

    def label(self) -> str:
        """``table 'users'``, ``column 'users.email'``, ``index 'ix_users_email'``..."""
        name = ".".join(self.key[1:])
        return f"{self.what} '{name}'"


@dataclass
class Effects:
    """What one function does to the schema, in order."""

    #: Objects the function creates and leaves in place, with the creating operation.
    created: dict[tuple[str, ...], tuple[Obj, Operation]] = field(default_factory=dict)
    #: Keys of objects the function removes (drops, renames away); may hold wildcards.
    removed: set[tuple[str, ...]] = field(default_factory=set)
    #: Table renames: final name -> (original name, operation).
    table_renames: dict[str, tuple[str, Operation]] = field(default_factory=dict)
    #: Column renames: (table, final name) -> (original name, operation).
    column_renames: dict[tuple[str, str], tuple[str, Operation]] = field(default_factory=dict)
    #: Literal SQL (and SQL-looking strings): a name written there may be dropped there.
    sql: list[str] = field(default_factory=list)
    #: Something this function does cannot be read (a rename to a computed name; code the
    #: operations model does not show, see :func:`_hidden_code`).
    opaque: bool = False

    def removes(self, obj: Obj) -> bool:
        """Whether the function removes ``obj`` (directly, or with its table or a column)."""
        key, removed = obj.key, self.removed
        if key in removed or self.mentions(key[-1]):
            return True
        kind = key[0]
        table = obj.table
        if kind == "table":
            return ("table", ANY) in removed
        if kind == "type":
            return ("type", ANY) in removed
        if ("table", ANY) in removed or (table is not None and ("table", table) in removed):
            return True
        if table is None and any(k[0] == "table" for k in removed):
            return True  # on a table whose name is computed: any dropped table may be it
        tables = {table or ANY, ANY}
        if kind == "column":
            return any(("column", t, c) in removed for t in tables for c in (key[2], ANY))
        if ("named", ANY) in removed or (table is not None and ("named", table, ANY) in removed):
            return True
        return any(("column", t, c) in removed for t in tables
                   for column in (*obj.columns, *obj.mentioned) for c in (column, ANY))

    def mentions(self, name: str) -> bool:
        """Whether literal SQL of the function names ``name``."""
        pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])", re.IGNORECASE)
        return any(pattern.search(text) for text in self.sql)


def _name(arg: Arg | None) -> object:
    """A literal name, the name in ``op.f("...")``, ``None`` when absent or ``None``, or
    :data:`DYNAMIC`."""
    if arg is None or arg.value is None:
        return None
    if isinstance(arg.value, str):
        return arg.value.lower()
    if arg.call_name == "f" and len(arg.call_args) == 1 and isinstance(arg.call_args[0], str):
        return arg.call_args[0].lower()
    return DYNAMIC


def _table(op: Operation) -> str | None:
    return op.table.lower() if op.table is not None else None


def _columns(op: Operation) -> tuple[str, ...]:
    value = op.literal(_COLUMNS_ARG.get(op.name, ""))
    if isinstance(value, tuple):
        return tuple(str(c).lower() for c in value if isinstance(c, str))
    return ()


def _mentioned(op: Operation) -> tuple[str, ...]:
    """The names in SQL an index or check is built on (``sa.text("lower(email)")``)."""
    arg = op.arg("condition") or op.arg("columns")
    if arg is None or isinstance(arg.value, tuple):
        return ()
    return tuple(sorted({w.lower() for w in re.findall(r"[A-Za-z_]\w*", arg.code)}))


def effects(ops: Iterable[Operation]) -> Effects:
    """Replay one function's operations into what it creates, removes and renames."""
    out = Effects()

    def create(obj: Obj, op: Operation) -> None:
        if obj.key not in out.removed:  # else a re-creation: it existed before the function
            out.created[obj.key] = (obj, op)

    def remove(key: tuple[str, ...]) -> None:
        if key[0] == "table" and key[1] in out.table_renames:  # renamed, then dropped
            out.removed.add(("table", out.table_renames.pop(key[1])[0]))
        if key in out.created:
            del out.created[key]
            if key[0] == "table":  # a table created and dropped here takes its parts along
                for other in [k for k, (o, _) in out.created.items() if o.table == key[1]]:
                    del out.created[other]
        else:
            out.removed.add(key)

    for op in ops:
        table = _table(op)
        if op.name == "create_table":
            if table is not None:  # a computed name is not tracked
                create(Obj(("table", table), "table"), op)
        elif op.name == "drop_table":
            remove(("table", table or ANY))
        elif op.name == "add_column":
            added = op.columns[0].name if op.columns else None
            if table is not None and added is not None:
                create(Obj(("column", table, added.lower()), "column", table), op)
        elif op.name == "drop_column":
            dropped = op.literal("column_name")
            remove(("column", table or ANY, dropped.lower() if isinstance(dropped, str) else ANY))
        elif op.name in _CREATES_NAMED:
            what, argument = _CREATES_NAMED[op.name]
            name = _name(op.arg(argument))
            if isinstance(name, str):  # None: named by a convention migls does not know
                referent = op.literal("referent_table")
                create(Obj(("named", name), what, table, _columns(op),
                           referent.lower() if isinstance(referent, str) else None,
                           _mentioned(op)), op)
        elif op.name in _DROPS_NAMED:
            name = _name(op.arg(_DROPS_NAMED[op.name]))
            if isinstance(name, str):
                remove(("named", name))
            elif table is not None:
                remove(("named", table, ANY))
            else:
                remove(("named", ANY))
        elif op.name == "rename_table":
            new = op.literal("new_table_name")
            if table is None or not isinstance(new, str):
                out.opaque = True
                out.removed.add(("table", ANY))
                continue
            _rename_table(out, table, new.lower(), op)
        elif op.name == "alter_column" and op.arg("new_column_name") is not None:
            old, new = op.literal("column_name"), op.literal("new_column_name")
            if table is None or not isinstance(old, str) or not isinstance(new, str):
                out.opaque = True
                out.removed.add(("column", table or ANY, ANY))
                continue
            _rename_column(out, table, old.lower(), new.lower(), op)
        elif op.name == "execute":
            _execute(out, op, create, remove)
    return out


def _rename_table(out: Effects, old: str, new: str, op: Operation) -> None:
    if ("table", old) in out.created:  # created here under another name: it is simply new
        obj, creator = out.created.pop(("table", old))
        out.created[("table", new)] = (Obj(("table", new), "table"), creator)
        return
    out.removed.add(("table", old))
    original, first = out.table_renames.pop(old, (old, op))
    if original != new:
        out.table_renames[new] = (original, first)


def _rename_column(out: Effects, table: str, old: str, new: str, op: Operation) -> None:
    key = ("column", table, old)
    if key in out.created:
        obj, creator = out.created.pop(key)
        out.created[("column", table, new)] = (Obj(("column", table, new), "column", table), creator)
        return
    out.removed.add(key)
    original, first = out.column_renames.pop((table, old), (old, op))
    if original != new:
        out.column_renames[(table, new)] = (original, first)


def _execute(out: Effects, op: Operation, create: Callable[[Obj, Operation], None],
             remove: Callable[[tuple[str, ...]], None]) -> None:
    """Literal SQL: ``CREATE TYPE ... AS ENUM`` creates a type, ``DROP TYPE`` drops one,
    other DDL is kept to be searched for names. SQL that is not a literal is judged with the
    rest of the code the model does not show (:func:`_hidden_code`)."""
    if op.sql is None:
        return
    for match in _CREATE_TYPE.finditer(op.sql):
        create(Obj(("type", match.group(2).lower()), "enum type"), op)
    for match in _DROP_TYPE.finditer(op.sql):
        remove(("type", match.group(1).lower()))
    if _DDL.search(op.sql) and not _CREATE_TYPE.search(op.sql):
        out.sql.append(op.sql)


def _message_missing(obj: Obj) -> str:
    return (f"upgrade() creates {obj.label()} but downgrade() does not drop it: after a "
            "downgrade the schema keeps it, and the next upgrade fails because it already exists")


class DowngradeNotInverse(LintRule):
    """``downgrade()`` does not undo ``upgrade()``: an object that ``upgrade()`` creates (table,
    column, index, constraint, enum type) is not removed, a rename is not reversed, or
    ``downgrade()`` creates something that ``upgrade()`` never dropped.

    **Why**: `alembic downgrade` then reports success and moves the version table back while
    the schema is in a state no revision describes. The next `alembic upgrade` fails on what
    is still there (`relation "..." already exists`, `column "..." already exists`), or the
    downgrade itself fails half-way on an object it creates a second time. On six real
    histories (Airflow, MLflow, Superset, Prefect, Dagster, ZenML) this found downgrades
    that drop a constraint under another name than the one created, drop the wrong column,
    and re-add columns the upgrade never dropped.

    Not reported: what dropping a table takes along (its columns, indexes, constraints), and
    indexes and constraints on a dropped column; objects dropped in raw SQL that names them
    (`op.execute("DROP TYPE mood")`, `conn.execute(sa.text("DROP INDEX ..."))`). Names are
    compared as literals (`op.f("...")` included): an object created under a computed name is
    not tracked, a drop under a computed name may be any object of its kind, and nothing is
    reported when code that the linter cannot read could explain the finding (a helper
    imported from another module whose name says it changes something, `execute()` of SQL
    that is not a literal or a plain query, `sa.Enum(...).drop(bind)`). Operations under
    another database's branch (`if dialect == "mysql":`) are not compared. Enum types are
    tracked when created with `CREATE TYPE ... AS ENUM` in `op.execute`. MG201/MG202 cover a
    missing or empty `downgrade()`; a `downgrade()` that raises is a deliberate
    "irreversible" and is not judged.

    **Safe alternative**: write the inverse operations in reverse order:

    ```python
    def upgrade():
        op.add_column("users", sa.Column("email", sa.Text()))
        op.create_index("ix_users_email", "users", ["email"])

    def downgrade():
        op.drop_index("ix_users_email", table_name="users")
        op.drop_column("users", "email")
    ```

    **Fix**: add the missing inverse operation to `downgrade()` (or remove the extra one), or
    make `downgrade()` raise if the revision cannot be undone.

    **The fix** (unsafe) inserts the inverse of the reported `upgrade()` operation
    (`drop_table`, `drop_column`, `drop_index`, `drop_constraint`, `DROP TYPE`, the rename
    back), rendered by Alembic, where reverse order puts it: before the first statement of
    `downgrade()` that undoes an earlier operation of `upgrade()`, else at the end of
    `downgrade()`; an operation of a `batch_alter_table` block gets its inverse in a batch
    block. It is offered only when the inverse is exact. A `downgrade()` operation that
    re-creates something `upgrade()` never dropped gets no fix: whether it should go needs a
    decision.
    """

    CODE = "MG203"
    NAME = "downgrade-not-inverse"
    SEVERITY = Severity.WARNING
    FIX_SAFETY = "unsafe"
    SUMMARY = "`downgrade()` does not undo what `upgrade()` creates, renames or drops"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True))
                op.create_index(op.f("ix_users_id"), "users", ["id"])
                op.create_unique_constraint("uq_users_id", "users", ["id"])

            def downgrade():
                op.drop_table("users")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))
                op.create_index("ix_users_email", "users", ["email"])

            def downgrade():
                op.drop_column("users", "email")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.rename_table("account", "accounts")
                op.alter_column("accounts", "mail", new_column_name="email")

            def downgrade():
                op.alter_column("accounts", "email", new_column_name="mail")
                op.rename_table("accounts", "account")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_constraint("fk_orders_user", "orders", type_="foreignkey")
                op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                                      ondelete="CASCADE")

            def downgrade():
                op.drop_constraint("fk_orders_user", "orders", type_="foreignkey")
                op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                for table in TABLES:
                    op.add_column(table, sa.Column("deleted", sa.Boolean()))

            def downgrade():
                pass
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("audit", sa.Column("id", sa.Integer()))

            def downgrade():
                drop_tables_of(revision)
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
                op.add_column("users", sa.Column("mood", sa.Enum(name="mood", create_type=False)))

            def downgrade():
                op.drop_column("users", "mood")
                op.execute("DROP TYPE mood")
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))
                op.create_index("ix_users_email", "users", ["email"])
                op.create_index("ix_users_name", "users", ["name"])

            def downgrade():
                op.drop_index("ix_users_email", table_name="users")
                op.drop_column("users", "email")
        ''', range=(7, 5, 7, 56), message="index 'ix_users_name'", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))
                op.create_index("ix_users_email", "users", ["email"])
                op.create_index("ix_users_name", "users", ["name"])

            def downgrade():
                op.drop_index('ix_users_name', table_name='users')
                op.drop_index("ix_users_email", table_name="users")
                op.drop_column("users", "email")
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table(
                    "audit",
                    sa.Column("id", sa.Integer(), primary_key=True),
                )

            def downgrade():
                op.drop_index("ix_audit_id", table_name="audit")
        ''', range=(5, 5, 8, 6), message="table 'audit'", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table(
                    "audit",
                    sa.Column("id", sa.Integer(), primary_key=True),
                )

            def downgrade():
                op.drop_index("ix_audit_id", table_name="audit")
                op.drop_table('audit')
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.rename_table("account", "accounts")

            def downgrade():
                op.drop_index("ix_accounts_name", table_name="accounts")
        ''', range=(5, 5, 5, 43), message="renames table 'account' to 'accounts'", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.rename_table("account", "accounts")

            def downgrade():
                op.drop_index("ix_accounts_name", table_name="accounts")
                op.rename_table('accounts', 'account')
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_column("users", "nickname")

            def downgrade():
                op.add_column("users", sa.Column("nickname", sa.Text()))
                op.create_index("ix_users_email", "users", ["email"])
        ''', range=(9, 5, 9, 58), message="downgrade() creates index 'ix_users_email'"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
                op.add_column("users", sa.Column("mood", sa.Enum(name="mood", create_type=False)))

            def downgrade():
                op.drop_column("users", "mood")
        ''', range=(5, 5, 5, 57), message="enum type 'mood'", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
                op.add_column("users", sa.Column("mood", sa.Enum(name="mood", create_type=False)))

            def downgrade():
                op.drop_column("users", "mood")
                op.execute('DROP TYPE mood')
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("email", sa.Text()))
                    batch_op.create_unique_constraint("uq_users_email", ["email"])
                    batch_op.add_column(sa.Column("phone", sa.Text()))

            def downgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_constraint("uq_users_email", type_="unique")
                    batch_op.drop_column("email")
        ''', range=(8, 9, 8, 59), message="column 'users.phone'", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("email", sa.Text()))
                    batch_op.create_unique_constraint("uq_users_email", ["email"])
                    batch_op.add_column(sa.Column("phone", sa.Text()))

            def downgrade():
                with op.batch_alter_table('users', schema=None) as batch_op:
                    batch_op.drop_column('phone')
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_constraint("uq_users_email", type_="unique")
                    batch_op.drop_column("email")
        '''),
    ]

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        if message.startswith("downgrade() creates"):
            return None  # an extra operation in downgrade(): removing it needs a decision
        from migls.downgrade import append_inverse_fix  # Alembic loads only for a fix

        return append_inverse_fix(ctx, file, span)

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        upgrade, downgrade = file.upgrade, file.downgrade
        if upgrade is None or downgrade is None or downgrade.body != "code":
            return
        dialect = ctx.settings.dialect or "postgresql"
        sides = {"upgrade": effects(op for op in upgrade.ops if op.runs_on(dialect)),
                 "downgrade": effects(op for op in downgrade.ops if op.runs_on(dialect))}
        found = [f for f in _findings(sides["upgrade"], sides["downgrade"])
                 if not sides[f[2]].opaque]
        if not found:
            return
        for side, hidden in _hidden_code(file, sides).items():  # parsed only when needed
            sides[side].sql += hidden.sql
            sides[side].opaque |= hidden.opaque
        for op, message, side in _findings(sides["upgrade"], sides["downgrade"]):
            if not sides[side].opaque:
                yield file, op.span, message


def _findings(up: Effects, down: Effects) -> Iterator[tuple[Operation, str, str]]:
    """(operation, message, function whose unseen code could explain it). An index or
    constraint on a column already reported is not reported again: one fault, one finding."""
    missing = [(obj, op) for obj, op in up.created.values() if not down.removes(obj)]
    columns = {obj.key for obj, _ in missing if obj.key[0] == "column"}
    for obj, op in missing:
        if not any(("column", obj.table, column) in columns for column in obj.columns):
            yield op, _message_missing(obj), "downgrade"
    renamed_away = {original for original, _ in down.table_renames.values()}
    for new, (old, op) in up.table_renames.items():
        back = down.table_renames.get(old)
        dropped = ("table", new) in down.removed and new not in renamed_away
        if (back is None or back[0] != new) and not dropped and not down.mentions(new):
            yield op, (f"upgrade() renames table '{old}' to '{new}' but downgrade() does not "
                       "rename it back"), "downgrade"
    for (table, new), (old, op) in up.column_renames.items():
        restored = [orig for (_, final), (orig, _) in down.column_renames.items() if final == old]
        if new not in restored and not down.mentions(new):
            yield op, (f"upgrade() renames column '{table}.{old}' to '{new}' but downgrade() "
                       "does not rename it back"), "downgrade"
    yield from _extra(up, down)


def _extra(up: Effects, down: Effects) -> Iterator[tuple[Operation, str, str]]:
    """What ``downgrade()`` creates although ``upgrade()`` never dropped it."""
    renamed_tables = {name for new, (old, _) in up.table_renames.items() for name in (new, old)}
    renamed_columns = {(table, name) for (table, new), (old, _) in up.column_renames.items()
                       for name in (new, old)}
    extra = []
    for key, (obj, op) in down.created.items():
        if obj.table in renamed_tables or ("table", obj.table or "") in down.created:
            continue  # a renamed table, or one the downgrade itself creates first
        if key[0] == "column" and (obj.table, key[2]) in renamed_columns:
            continue
        if obj.referent is not None and up.removes(Obj(("table", obj.referent), "table")):
            continue  # the referenced table was dropped, so was this foreign key
        if not up.removes(obj):
            extra.append((obj, op))
    columns = {obj.key for obj, _ in extra if obj.key[0] == "column"}
    for obj, op in extra:
        if not any(("column", obj.table, column) in columns for column in obj.columns):
            yield op, (f"downgrade() creates {obj.label()}, which upgrade() never dropped: the "
                       "downgrade fails if it exists, or adds what was never there"), "upgrade"


@dataclass
class Hidden:
    """What the operations model does not show of a function."""

    sql: list[str] = field(default_factory=list)
    opaque: bool = False


def _hidden_code(file: RevisionFile, sides: dict[str, Effects]) -> dict[str, Hidden]:
    """What the operations model does not show in ``upgrade()``/``downgrade()`` (and the
    module-level helpers they call): SQL-looking strings, and whether a call may change the
    schema out of sight (``conn.execute(variable)``, ``sa.Enum(...).drop(bind)``, a helper
    imported from elsewhere whose name says it changes something). A file that cannot be
    read again is all hidden."""
    everything = {side: Hidden(opaque=True) for side in sides}
    if file.source is None:
        return everything
    try:
        tree = ast.parse(file.source.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return everything
    functions = {node.name: node for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    out: dict[str, Hidden] = {}
    for side in sides:
        hidden = out[side] = Hidden()
        seen = {side}
        pending = [functions[side]] if side in functions else []
        while pending:
            function = pending.pop()
            op_names = {"op"} | _batch_aliases(function)
            docstring = ast.get_docstring(function, clean=False)
            for node in ast.walk(function):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value != docstring and _DDL.search(node.value)):
                    hidden.sql.append(node.value)
                if not isinstance(node, ast.Call):
                    continue
                name, base = _callee(node.func)
                if name is None or (base in op_names and name != "execute"):
                    continue
                if base is None and name in functions:
                    if name not in seen:
                        seen.add(name)
                        pending.append(functions[name])
                    continue
                hidden.opaque |= _may_change_schema(name, base, node, function)
    return out


def _batch_aliases(function: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    names.add(item.optional_vars.id)
    return names


def _callee(func: ast.expr) -> tuple[str | None, str | None]:
    """(called name, the name it is looked up on if a plain name)."""
    if isinstance(func, ast.Name):
        return func.id, None
    if isinstance(func, ast.Attribute):
        base = func.value.id if isinstance(func.value, ast.Name) else "?"
        return func.attr, base
    return None, None


def _may_change_schema(name: str, base: str | None, call: ast.Call, function: ast.AST) -> bool:
    """Whether a call the operations model does not show may change the schema."""
    if name in ("execute", "exec_driver_sql", "executescript"):
        # conn.execute("DROP ...") is read as SQL (above); a query or a data change is harmless
        return not (call.args and _harmless_statement(call.args[0], function))
    if name[:1].isupper() or (base is None and name in _BUILTINS):
        return False
    words = name.lower().strip("_").split("_")
    if len(words) == 1:  # set.add, list.remove, t.update(): only these single verbs count
        return name in _SINGLE_VERBS
    return bool(set(words) & _SCHEMA_VERBS)


def _harmless_statement(node: ast.expr, function: ast.AST, seen: frozenset[str] = frozenset()) -> bool:
    """Literal SQL (read above), a SQLAlchemy query or data change, or a variable that only
    ever holds one of those (``stmt = stmt.where(...)`` included)."""
    if isinstance(node, ast.Name):
        if node.id in seen:
            return True  # judged where the chain started
        values = [assign.value for assign in ast.walk(function) if isinstance(assign, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)]
        return bool(values) and all(_harmless_statement(value, function, seen | {node.id})
                                    for value in values)
    if isinstance(node, ast.Call) and _callee(node.func)[0] == "text" and node.args:
        return _harmless_statement(node.args[0], function, seen)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):  # an f-string: only a query or a data change is known
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return _DML.match(text) is not None and not _DDL.search(text)
    if _DATA_CONSTRUCT.search(ast.unparse(node)) is not None:
        return True
    # sa.text("...").bindparams(...), stmt.limit(100)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, (ast.Call, ast.Name))
            and _harmless_statement(node.func.value, function, seen))
