"""Synthetic Alembic histories of any size, for the benchmarks and the scale tests.

:func:`generate` writes an Alembic environment (``alembic.ini``, ``env.py`` without any
application import, ``script.py.mako``) and ``revisions`` revision files in the layout
``alembic revision --autogenerate`` writes them: a header docstring, the four metadata
assignments, and ``upgrade()``/``downgrade()`` bodies of the operations real projects use
(tables with columns, indexes and foreign keys, added, altered and dropped columns, batch
operations, data migrations with ``op.execute``, ``autocommit_block``), each ``downgrade()``
undoing its ``upgrade()``. The graph has short-lived branches merged back (merge revisions
with two parents), labelled branches with their own base (``branch_labels``) and the odd
``depends_on``. The same ``seed`` always gives the same files.

Run ``python -m migls._synthetic DIRECTORY REVISIONS`` to write one.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

_INI = """\
[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = postgresql://localhost/synthetic
"""

_ENV = '''\
"""A minimal env.py: migls never runs it; Alembic does when asked to load the scripts."""
from alembic import context

target_metadata = None
'''

_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''

_TYPES = ("sa.Integer()", "sa.String(length=255)", "sa.Text()", "sa.Boolean()",
          "sa.DateTime(timezone=True)", "sa.Numeric(precision=10, scale=2)", "sa.BigInteger()",
          "postgresql.JSONB(astext_type=sa.Text())", "sa.Date()", "sa.String(length=32)")
_WORDS = ("account", "order", "invoice", "customer", "product", "payment", "shipment", "user",
          "team", "project", "event", "audit", "setting", "token", "report", "tag", "comment",
          "session", "plan", "feature")


@dataclass
class _Table:
    name: str
    columns: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)


@dataclass
class _Schema:
    """What the generated history has created so far (one schema for all branches: the
    operations stay plausible, which is all the benchmarks need)."""

    tables: list[_Table] = field(default_factory=list)
    counter: int = 0

    def new_name(self, prefix: str, rng: random.Random) -> str:
        self.counter += 1
        return f"{prefix}{rng.choice(_WORDS)}_{self.counter}"


def _column(name: str, rng: random.Random, nullable: bool = True) -> str:
    kind = rng.choice(_TYPES)
    extra = ""
    if not nullable:
        extra = ", nullable=False"
        if rng.random() < 0.5:
            extra += ", server_default=sa.text(\"'0'\")" if "String" in kind else ""
    else:
        extra = ", nullable=True"
    return f"sa.Column({name!r}, {kind}{extra})"


def _operations(schema: _Schema, rng: random.Random) -> tuple[list[str], list[str]]:
    """The upgrade statements and the downgrade statements (already reversed)."""
    ups: list[str] = []
    downs: list[str] = []
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.04 and len(schema.tables) > 10:
            # Tables are dropped too (about one for five created, as in the real histories).
            table = schema.tables.pop(rng.randrange(len(schema.tables)))
            ups.append(f"op.drop_table({table.name!r})")
            downs.insert(0, f"op.create_table({table.name!r}, "
                            "sa.Column('id', sa.Integer(), nullable=False))")
            continue
        if choice < 0.2 or len(schema.tables) < 3:
            table = _Table(schema.new_name("", rng))
            table.columns = [f"col_{i}" for i in range(rng.randint(2, 6))]
            columns = ",\n        ".join(
                ["sa.Column('id', sa.Integer(), nullable=False)"]
                + [_column(c, rng) for c in table.columns]
                + [("sa.Column('created_at', sa.DateTime(), server_default=sa.text('now()'), "
                    "nullable=False)")])
            references = ""
            if schema.tables and rng.random() < 0.5:
                parent = rng.choice(schema.tables)
                references = (f",\n        sa.Column('{parent.name}_id', sa.Integer(), "
                              f"nullable=True),\n        sa.ForeignKeyConstraint("
                              f"['{parent.name}_id'], ['{parent.name}.id'], "
                              f"ondelete='CASCADE')")
            ups.append(f"op.create_table(\n        {table.name!r},\n        {columns}{references},"
                       f"\n        sa.PrimaryKeyConstraint('id')\n    )")
            index = f"ix_{table.name}_{table.columns[0]}"
            ups.append(f"op.create_index(op.f({index!r}), {table.name!r}, "
                       f"[{table.columns[0]!r}], unique=False)")
            downs[:0] = [f"op.drop_table({table.name!r})",
                         f"op.drop_index(op.f({index!r}), table_name={table.name!r})"]
            schema.tables.append(table)
        elif choice < 0.55:
            table = rng.choice(schema.tables)
            column = schema.new_name("c_", rng)
            nullable = rng.random() < 0.7
            ups.append(f"op.add_column({table.name!r}, {_column(column, rng, nullable)})")
            downs.insert(0, f"op.drop_column({table.name!r}, {column!r})")
            table.columns.append(column)
        elif choice < 0.65:
            table = rng.choice(schema.tables)
            column = rng.choice(table.columns)
            ups.append(f"op.alter_column({table.name!r}, {column!r},\n"
                       f"               existing_type=sa.String(length=32),\n"
                       f"               type_=sa.String(length=255),\n"
                       f"               existing_nullable=True)")
            downs.insert(0, f"op.alter_column({table.name!r}, {column!r},\n"
                            f"               existing_type=sa.String(length=255),\n"
                            f"               type_=sa.String(length=32),\n"
                            f"               existing_nullable=True)")
        elif choice < 0.75:
            table = rng.choice(schema.tables)
            column = schema.new_name("b_", rng)
            ups.append(f"with op.batch_alter_table({table.name!r}, schema=None) as batch_op:\n"
                       f"        batch_op.add_column({_column(column, rng)})\n"
                       f"        batch_op.create_index(batch_op.f('ix_{table.name}_{column}'), "
                       f"[{column!r}], unique=False)")
            downs.insert(0, f"with op.batch_alter_table({table.name!r}, schema=None) as batch_op:\n"
                            f"        batch_op.drop_index(batch_op.f('ix_{table.name}_{column}'))\n"
                            f"        batch_op.drop_column({column!r})")
            table.columns.append(column)
        elif choice < 0.85:
            table = rng.choice(schema.tables)
            column = rng.choice(table.columns)
            ups.append(f"op.execute(\n        \"UPDATE {table.name} SET {column} = NULL \"\n"
                       f"        \"WHERE {column} = ''\"\n    )")
        elif choice < 0.92:
            table = rng.choice(schema.tables)
            index = schema.new_name("ix_", rng)
            column = rng.choice(table.columns)
            ups.append("with op.get_context().autocommit_block():\n"
                       f"        op.create_index({index!r}, {table.name!r}, [{column!r}], "
                       "postgresql_concurrently=True)")
            downs.insert(0, "with op.get_context().autocommit_block():\n"
                            f"        op.drop_index({index!r}, table_name={table.name!r}, "
                            "postgresql_concurrently=True)")
        else:
            table = rng.choice(schema.tables)
            if len(table.columns) > 2:
                column = table.columns.pop()
                ups.append(f"op.drop_column({table.name!r}, {column!r})")
                downs.insert(0, f"op.add_column({table.name!r}, {_column(column, rng)})")
    return ups, downs


def _revision_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def _render(revision: str, parents: tuple[str, ...], message: str, ups: list[str],
            downs: list[str], labels: tuple[str, ...], depends_on: tuple[str, ...],
            day: int) -> str:
    down: object = None if not parents else parents[0] if len(parents) == 1 else parents
    revises = ", ".join(parents)
    body_up = "\n    ".join(["# ### commands auto generated by Alembic - please adjust! ###",
                             *ups, "# ### end Alembic commands ###"]) if ups else "pass"
    body_down = "\n    ".join(["# ### commands auto generated by Alembic - please adjust! ###",
                               *downs, "# ### end Alembic commands ###"]) if downs else "pass"
    return f'''"""{message}

Revision ID: {revision}
Revises: {revises}
Create Date: 2024-{1 + day // 28 % 12:02d}-{1 + day % 28:02d} 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = {revision!r}
down_revision = {down!r}
branch_labels = {labels or None!r}
depends_on = {depends_on or None!r}


def upgrade():
    {body_up}


def downgrade():
    {body_down}
'''


def generate(directory: Path, revisions: int, seed: int = 0, *, labelled_branches: int = 2,
             branch_every: int = 25) -> Path:
    """Write an environment with ``revisions`` revision files under ``directory`` (created)
    and return ``directory``. About every ``branch_every`` revisions a branch of two to five
    revisions forks off and is merged back; ``labelled_branches`` independent branches with
    their own base and label run beside the main one."""
    rng = random.Random(seed)
    versions = directory / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (directory / "alembic.ini").write_text(_INI, encoding="utf-8")
    (directory / "migrations" / "env.py").write_text(_ENV, encoding="utf-8")
    (directory / "migrations" / "script.py.mako").write_text(_MAKO, encoding="utf-8")
    schema = _Schema()
    heads: dict[str, str | None] = {"main": None}
    labels = [f"{rng.choice(_WORDS)}_branch_{i}" for i in range(labelled_branches)]
    for label in labels:
        heads[label] = None
    side: str | None = None  # the head of the open side branch of "main"
    fork: str | None = None  # where it forked
    side_left = 0
    written = 0
    seen: list[str] = []
    while written < revisions:
        revision = _revision_id(rng)
        line = "main" if not labels or rng.random() < 0.85 else rng.choice(labels)
        parents: tuple[str, ...]
        own_labels: tuple[str, ...] = ()
        message: str
        if line != "main":
            parent = heads[line]
            parents = () if parent is None else (parent,)
            if parent is None:
                own_labels = (line,)
            heads[line] = revision
            message = f"{line}: {rng.choice(_WORDS)} changes"
        elif side is not None and side_left == 0 and heads["main"] != fork:
            parents = (heads["main"] or "", side)
            heads["main"] = revision
            side = fork = None
            message = "merge heads"
        elif side is not None and side_left > 0 and rng.random() < 0.5:
            parents = (side,)
            side = revision
            side_left -= 1
            message = f"side work on {rng.choice(_WORDS)}"
        else:
            parent = heads["main"]
            parents = () if parent is None else (parent,)
            heads["main"] = revision
            message = f"{rng.choice(('add', 'change', 'drop', 'index'))} {rng.choice(_WORDS)}"
            if (side is None and parent is not None and written > 5
                    and rng.random() < 1 / branch_every):
                side = fork = revision  # a side branch forks from here
                side_left = rng.randint(2, 5)
        depends: tuple[str, ...] = ()
        if seen and rng.random() < 0.02:
            depends = (rng.choice(seen),)
            if depends[0] in parents:
                depends = ()
        ups, downs = ([], []) if message == "merge heads" else _operations(schema, rng)
        text = _render(revision, parents, message, ups, downs, own_labels, depends, written)
        slug = message.replace(" ", "_").replace(":", "")[:40]
        (versions / f"{revision}_{slug}.py").write_text(text, encoding="utf-8")
        seen.append(revision)
        written += 1
    return directory


if __name__ == "__main__":  # pragma: no cover - a convenience for trying it out
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit("usage: python -m migls._synthetic DIRECTORY REVISIONS")
    print(generate(Path(sys.argv[1]), int(sys.argv[2])))
