"""What the operation rules (MG2-MG5) share: which functions are linted, which tables are new,
which dialect and PostgreSQL version apply."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from migls.model import Function, RevisionFile
from migls.ops import Operation
from migls.rule import Context


@dataclass(frozen=True, slots=True)
class OpSite:
    """An operation in context: its function, its index there, and the tables created
    earlier in the same function (never flagged by lock rules: nobody else can see them)."""

    op: Operation
    function: str
    index: int
    new_tables: frozenset[str]

    @property
    def on_existing_table(self) -> bool:
        """Whether the operation touches a table that existed before this revision."""
        return self.op.table is not None and self.op.table not in self.new_tables


def linted_functions(ctx: Context, file: RevisionFile) -> Iterator[tuple[str, Function]]:
    """``upgrade()``, and ``downgrade()`` too when ``lint-downgrade = true``."""
    if file.upgrade is not None:
        yield "upgrade", file.upgrade
    if ctx.settings.lint_downgrade and file.downgrade is not None:
        yield "downgrade", file.downgrade


def op_sites(ctx: Context, file: RevisionFile) -> Iterator[OpSite]:
    """Every operation of the linted functions that can run on the environment's database
    (not those under ``if dialect == "mysql":``), with the tables created before it
    (computed once per file and run: most rules ask)."""
    key = ("op_sites", file.path, id(file))
    entry = cast("tuple[RevisionFile, list[OpSite]] | None", ctx.shared.get(key))
    if entry is None or entry[0] is not file:
        # The file is kept in the entry: its id cannot be reused by another while cached.
        entry = (file, list(_op_sites(ctx, file)))
        ctx.shared[key] = entry
    return iter(entry[1])


def _op_sites(ctx: Context, file: RevisionFile) -> Iterator[OpSite]:
    dialect = ctx.settings.dialect or "postgresql"
    for name, function in linted_functions(ctx, file):
        created: set[str] = set()
        for index, op in enumerate(function.ops):
            if op.runs_on(dialect):
                yield OpSite(op, name, index, frozenset(created))
            if op.name == "create_table" and op.table is not None:
                created.add(op.table)
            elif op.name == "rename_table":
                new = op.literal("new_table_name")
                if isinstance(new, str) and op.table in created:
                    created.add(new)


def unnamed_table(op: Operation, parameter: str) -> str:
    """How a message names a table whose name is not a literal: by the code that gives it."""
    arg = op.arg(parameter)
    if arg is not None and arg.code:
        return f"the table named by `{arg.code}`"
    return "a table whose name is not a literal"


def is_postgresql(ctx: Context) -> bool:
    """MG3 applies to PostgreSQL: ``dialect`` in ``[tool.migls]``, else the Alembic config's
    ``sqlalchemy.url``, else PostgreSQL."""
    return (ctx.settings.dialect or "postgresql") == "postgresql"


def dialect_from_url(url: str | None) -> str | None:
    """``postgresql+psycopg://...`` -> ``"postgresql"``; ``None`` when it cannot tell."""
    if not url or "://" not in url or "%(" in url or "${" in url:
        return None
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite",
            "mysql": "mysql", "mariadb": "mariadb", "oracle": "oracle",
            "mssql": "mssql"}.get(scheme)


_LOCK_TIMEOUT = re.compile(r"lock_timeout", re.IGNORECASE)
_SET_LOCAL = re.compile(r"\bSET\s+LOCAL\s+lock_timeout", re.IGNORECASE)


def env_sets_lock_timeout(env_py: str) -> bool:
    """Whether ``env.py`` gives every migration a ``lock_timeout``: a ``SET lock_timeout``
    statement, ``connect_args={"options": "-c lock_timeout=..."}``, or ``SET LOCAL`` in the
    one transaction that wraps all revisions. ``SET LOCAL`` with
    ``transaction_per_migration=True`` only covers the first revision's transaction, so it
    does not count."""
    if not _LOCK_TIMEOUT.search(env_py):
        return False
    per_migration = re.search(r"transaction_per_migration\s*=\s*True", env_py) is not None
    without_local = _SET_LOCAL.sub("", env_py)
    if _LOCK_TIMEOUT.search(without_local):
        return True
    return not per_migration
