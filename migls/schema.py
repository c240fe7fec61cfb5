"""The schema as the history builds it: replaying the ``upgrade()`` operations of every
ancestor, statically, gives the tables, columns (type, nullability), indexes and foreign keys
at any revision.

What history cannot tell (raw SQL, dynamic values) is left unknown, never guessed: a column
added by ``op.execute`` simply is not in the model, and rules say less about it.
"""

from __future__ import annotations

import re
from collections.abc import ItemsView, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from migls.graph import Graph
from migls.ops import Arg, ColumnDef, Operation, TypeRef


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key of a table: its name (if known), local columns and referenced table."""

    name: str | None
    columns: tuple[str, ...]
    referent: str


@dataclass(frozen=True, slots=True)
class ColumnState:
    """A column as history left it."""

    type: TypeRef | None
    nullable: bool | None


@dataclass(frozen=True, slots=True)
class TableState:
    """A table as history left it (immutable: every change makes a new one)."""

    columns: dict[str, ColumnState] = field(default_factory=dict)
    indexes: frozenset[str] = frozenset()
    foreign_keys: tuple[ForeignKey, ...] = ()
    #: The revision that created the table.
    created_in: str | None = None


V = TypeVar("V")
_MISSING: Any = object()


class Layers(MutableMapping[str, V]):
    """A dict that keeps only what changed since the dict it was derived from, and shares
    the rest with it. History keeps the schema after every revision, and a revision changes
    a few tables of many: full copies would make long histories quadratic in time and memory.
    Behaves as a dict, insertion order included.
    """

    __slots__ = ("_base", "_changes", "_depth", "_hidden", "_memo", "_own", "_root_size")
    #: Layers above a full dict: a derivation flattens them again once they changed a
    #: quarter of it (copies then cost no more than the changes, memory stays linear), and
    #: in any case at ``LIMIT`` (lookups walk the layers, and remember what they found).
    LIMIT = 64
    SHARE = 4

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._own: dict[str, V] = dict(data) if data is not None else {}
        #: Keys of the layers below that are gone (or were deleted and set again, which
        #: moves them to the end, as in a dict).
        self._hidden: set[str] = set()
        self._base: Layers[V] | None = None
        self._depth = 0
        #: Entries the layers below this one (down to the full dict) changed.
        self._changes = 0
        #: The size of the full dict at the bottom.
        self._root_size = len(self._own)
        #: Once frozen (derived from): what lookups through this layer found.
        self._memo: dict[str, Any] | None = None

    def derive(self) -> Layers[V]:
        """A new mapping on top of this one, which must not change any more."""
        changes = (self._changes + len(self._own) + len(self._hidden)
                   if self._base is not None else 0)
        if self._depth >= self.LIMIT or (
                self._depth >= 8 and changes * self.SHARE >= self._root_size):
            return Layers(self._flat())
        if self._memo is None:
            self._memo = {}
        child: Layers[V] = Layers()
        child._base = self
        child._depth = self._depth + 1
        child._changes = changes
        child._root_size = self._root_size if self._base is not None else len(self._own)
        return child

    def fork(self) -> Layers[V]:
        """A copy, both this mapping and the copy staying free to change independently."""
        frozen: Layers[V] = Layers()
        frozen._own, frozen._hidden, frozen._base, frozen._depth = (
            self._own, self._hidden, self._base, self._depth)
        frozen._changes, frozen._root_size = self._changes, self._root_size
        mine = frozen.derive()
        self._own, self._hidden, self._base, self._depth = (
            mine._own, mine._hidden, mine._base, mine._depth)
        self._changes, self._root_size, self._memo = mine._changes, mine._root_size, None
        return frozen.derive()

    def _lookup(self, key: object) -> Any:
        """The value of ``key``, or ``_MISSING``; remembered in the first frozen layer."""
        layer: Layers[V] | None = self
        value: Any = _MISSING
        while layer is not None:
            own = layer._own
            if key in own:
                value = own[key]
                break
            if key in layer._hidden:
                break
            memo = layer._memo
            if memo is not None and key in memo:
                value = memo[key]
                break
            layer = layer._base
        # Remember it where no change can make it wrong: in the first frozen layer, when the
        # answer came from below it (not from a layer above it, which it does not see).
        keeper = self if self._memo is not None else self._base
        if (keeper is not None and layer is not self and layer is not keeper
                and isinstance(key, str)):
            memo = keeper._memo
            if memo is not None:
                memo[key] = value
        return value

    def __getitem__(self, key: str) -> V:
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return self._lookup(key) is not _MISSING

    def get(self, key: str, default: Any = None) -> Any:
        value = self._lookup(key)
        return default if value is _MISSING else value

    def __setitem__(self, key: str, value: V) -> None:
        self._own[key] = value

    def setdefault(self, key: str, default: V) -> V:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            self._own[key] = default
            return default
        return found  # type: ignore[no-any-return]

    def update_missing(self, other: Layers[V]) -> None:
        """Add the entries of ``other`` this mapping lacks, in ``other``'s order (what a
        ``setdefault`` of each does), reading each side whole once."""
        mine = self._flat()
        for key, value in other._flat().items():
            if key not in mine:
                self._own[key] = value
                mine[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._own.pop(key, None)
        if self._base is not None:
            self._hidden.add(key)

    def _flat(self) -> dict[str, V]:
        """The plain dict (in insertion order)."""
        chain: list[Layers[V]] = []
        layer: Layers[V] | None = self
        while layer is not None:
            chain.append(layer)
            layer = layer._base
        result: dict[str, V] = {}
        for layer in reversed(chain):
            for key in layer._hidden:
                result.pop(key, None)
            result.update(layer._own)
        return result

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat())

    def __len__(self) -> int:
        return len(self._flat())

    def items(self) -> ItemsView[str, V]:
        return self._flat().items()

    def values(self) -> ValuesView[V]:
        return self._flat().values()

    def keys(self) -> KeysView[str]:
        return self._flat().keys()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Layers):
            return self._flat() == other._flat()
        if isinstance(other, Mapping):
            return self._flat() == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Layers({self._flat()!r})"


@dataclass(slots=True)
class Schema:
    """Tables by name, and the table of each known index."""

    tables: Layers[TableState] = field(default_factory=Layers)
    index_tables: Layers[str] = field(default_factory=Layers)

    def copy(self) -> Schema:
        """A copy that shares the (immutable) table states."""
        return Schema(self.tables.fork(), self.index_tables.fork())

    def derive(self) -> Schema:
        """A schema that starts as this one, which must not change any more (history's
        schema after a revision): shares everything, in constant time."""
        return Schema(self.tables.derive(), self.index_tables.derive())

    def column(self, table: str | None, column: str | None) -> ColumnState | None:
        """A column's state, when history knows it."""
        if table is None or column is None or table not in self.tables:
            return None
        return self.tables[table].columns.get(column)

    def apply(self, op: Operation, revision: str | None = None) -> None:
        """Replay one operation."""
        handler = _HANDLERS.get(op.name)
        if handler is not None:
            handler(self, op, revision)

    def merge(self, other: Schema) -> None:
        """Add what another branch built (a merge revision sees both)."""
        self.tables.update_missing(other.tables)
        self.index_tables.update_missing(other.index_tables)


def _column_state(column: ColumnDef) -> ColumnState:
    return ColumnState(column.type, False if column.is_not_null else column.nullable)


def _referent(target: str) -> str | None:
    """``"orgs.id"``/``"public.orgs.id"`` -> ``"orgs"``; ``None`` when not a literal target."""
    parts = target.split(".")
    return parts[-2] if len(parts) >= 2 and parts[-2] else None


def _foreign_keys_of(column: ColumnDef) -> list[ForeignKey]:
    """The foreign keys of an ``sa.Column``'s ``sa.ForeignKey(...)`` arguments (a dynamic
    target, read as ``"?"``, is left out: its referent is unknown)."""
    out: list[ForeignKey] = []
    for target in column.foreign_keys:
        referent = _referent(target)
        if column.name and referent is not None:
            out.append(ForeignKey(None, (column.name,), referent))
    return out


def _implicit_indexes(table: str, column: ColumnDef) -> set[str]:
    """The index ``sa.Column(..., index=True)`` makes: Alembic builds it with a plain
    ``MetaData()``, so its name follows SQLAlchemy's default ``ix_<table>_<column>``."""
    return {f"ix_{table}_{column.name}"} if column.index and column.name else set()


def _create_table(schema: Schema, op: Operation, revision: str | None) -> None:
    if op.table is None:
        return
    columns: dict[str, ColumnState] = {}
    foreign_keys: list[ForeignKey] = []
    indexes: set[str] = set()
    for column in op.columns:
        if column.name:
            columns[column.name] = _column_state(column)
            foreign_keys += _foreign_keys_of(column)
            indexes |= _implicit_indexes(op.table, column)
    for arg in op.rest:
        if arg.call_name == "ForeignKeyConstraint" and len(arg.call_args) >= 2:
            local, remote = arg.call_args[0], arg.call_args[1]
            if isinstance(local, tuple) and isinstance(remote, tuple) and remote and isinstance(remote[0], str):
                name = arg.kwarg("name")
                referent = _referent(remote[0])
                if referent is not None:
                    foreign_keys.append(ForeignKey(name if isinstance(name, str) else None,
                                                   tuple(str(c) for c in local), referent))
    _drop_table(schema, op, revision)  # a re-created table starts afresh
    schema.tables[op.table] = TableState(columns, frozenset(indexes), tuple(foreign_keys), revision)
    for index in indexes:
        schema.index_tables[index] = op.table


def _drop_table(schema: Schema, op: Operation, revision: str | None) -> None:
    if op.table is not None:
        _drop_table_named(schema, op.table)


def _drop_table_named(schema: Schema, name: str) -> None:
    if name in schema.tables:
        table = schema.tables.pop(name)
        for index in table.indexes:
            schema.index_tables.pop(index, None)


def _rename_table(schema: Schema, op: Operation, revision: str | None) -> None:
    new = op.literal("new_table_name")
    if op.table is not None and isinstance(new, str):
        _rename_table_named(schema, op.table, new)


def _rename_table_named(schema: Schema, old: str, new: str) -> None:
    _rename_referents(schema, old, new)
    if old in schema.tables:
        schema.tables[new] = schema.tables.pop(old)
        for index, table in list(schema.index_tables.items()):
            if table == old:
                schema.index_tables[index] = new


def _rename_referents(schema: Schema, old: str, new: str) -> None:
    """Foreign keys follow a renamed referenced table."""
    for name, table in list(schema.tables.items()):
        if any(fk.referent == old for fk in table.foreign_keys):
            schema.tables[name] = replace(table, foreign_keys=tuple(
                replace(fk, referent=new) if fk.referent == old else fk for fk in table.foreign_keys))


def _add_column(schema: Schema, op: Operation, revision: str | None) -> None:
    table = schema.tables.get(op.table or "")
    if table is None or not op.columns or not op.columns[0].name:
        return
    column = op.columns[0]
    assert op.table is not None and column.name is not None
    indexes = _implicit_indexes(op.table, column)
    schema.tables[op.table] = replace(
        table, columns={**table.columns, column.name: _column_state(column)},
        foreign_keys=table.foreign_keys + tuple(_foreign_keys_of(column)),
        indexes=table.indexes | indexes)
    for index in indexes:
        schema.index_tables[index] = op.table


def _drop_column(schema: Schema, op: Operation, revision: str | None) -> None:
    name = op.literal("column_name")
    table = schema.tables.get(op.table or "")
    if table is None or not isinstance(name, str):
        return
    assert op.table is not None
    schema.tables[op.table] = replace(
        table, columns={k: v for k, v in table.columns.items() if k != name},
        foreign_keys=tuple(fk for fk in table.foreign_keys if name not in fk.columns))


def _alter_column(schema: Schema, op: Operation, revision: str | None) -> None:
    name = op.literal("column_name")
    table = schema.tables.get(op.table or "")
    if table is None or not isinstance(name, str):
        return
    assert op.table is not None
    state = table.columns.get(name)
    if state is None:
        # A column history did not see (raw SQL): only what this call states is known.
        if "type_" not in op.types:
            return
        state = ColumnState(None, None)
    elif op.arg("type_") is not None and "type_" not in op.types:
        state = replace(state, type=None)  # changed to a type that is not a literal
    if "type_" in op.types:
        state = replace(state, type=op.types["type_"])
    nullable = op.literal("nullable")
    if isinstance(nullable, bool):
        state = replace(state, nullable=nullable)
    columns = dict(table.columns)
    new_name = op.literal("new_column_name")
    if isinstance(new_name, str):
        columns.pop(name, None)
        table = _rename_fk_column(table, name, new_name)
        name = new_name
    elif op.arg("new_column_name") is not None:  # renamed to a name history cannot know
        columns.pop(name, None)
        schema.tables[op.table] = replace(table, columns=columns)
        return
    columns[name] = state
    schema.tables[op.table] = replace(table, columns=columns)


def _rename_fk_column(table: TableState, old: str, new: str) -> TableState:
    return replace(table, foreign_keys=tuple(
        replace(fk, columns=tuple(new if c == old else c for c in fk.columns))
        for fk in table.foreign_keys))


def _create_index(schema: Schema, op: Operation, revision: str | None) -> None:
    name = _name(op.arg("index_name"))
    if op.table in schema.tables and isinstance(name, str):
        assert op.table is not None
        table = schema.tables[op.table]
        schema.tables[op.table] = replace(table, indexes=table.indexes | {name})
        schema.index_tables[name] = op.table


def _drop_index(schema: Schema, op: Operation, revision: str | None) -> None:
    name = _name(op.arg("index_name"))
    if name is not None:
        _drop_index_named(schema, name, op.table)


def _drop_index_named(schema: Schema, name: str, table_name: str | None) -> None:
    table_name = table_name or schema.index_tables.get(name)
    schema.index_tables.pop(name, None)
    if table_name is not None and table_name in schema.tables:
        table = schema.tables[table_name]
        schema.tables[table_name] = replace(table, indexes=table.indexes - {name})


def _create_foreign_key(schema: Schema, op: Operation, revision: str | None) -> None:
    referent = op.literal("referent_table")
    local = op.literal("local_cols")
    name = _name(op.arg("constraint_name"))
    if op.table in schema.tables and isinstance(referent, str) and isinstance(local, tuple):
        assert op.table is not None
        table = schema.tables[op.table]
        fk = ForeignKey(name, tuple(str(c) for c in local), referent)
        schema.tables[op.table] = replace(table, foreign_keys=table.foreign_keys + (fk,))


def _drop_constraint(schema: Schema, op: Operation, revision: str | None) -> None:
    name = _name(op.arg("constraint_name"))
    type_ = op.literal("type_")
    if op.table is None or op.table not in schema.tables:
        return
    _drop_foreign_key(schema, op.table, name, fk_type=type_ == "foreignkey")


def _drop_foreign_key(schema: Schema, table_name: str, name: str | None, fk_type: bool) -> None:
    """Forget the foreign key a dropped constraint was. An unnamed foreign key is known by
    PostgreSQL's default name (``<table>_<columns>_fkey``); when the dropped name matches
    nothing and may be a foreign key, the unnamed ones are forgotten too (unknown, not kept)."""
    table = schema.tables[table_name]

    def default_name(fk: ForeignKey) -> str:
        return f"{table_name}_{'_'.join(fk.columns)}_fkey"[:63]

    if name is None:
        kept = tuple(fk for fk in table.foreign_keys if fk.name is not None) if fk_type else table.foreign_keys
    elif any(fk.name == name or (fk.name is None and default_name(fk) == name) for fk in table.foreign_keys):
        kept = tuple(fk for fk in table.foreign_keys
                     if not (fk.name == name or (fk.name is None and default_name(fk) == name)))
    elif fk_type or "fk" in name.lower() or "foreign" in name.lower():
        kept = tuple(fk for fk in table.foreign_keys if fk.name is not None)
    else:
        kept = table.foreign_keys
    schema.tables[table_name] = replace(table, foreign_keys=kept)


def _name(arg: Arg | None) -> str | None:
    """A literal name, or the name inside ``op.f("...")``."""
    if arg is None:
        return None
    if isinstance(arg.value, str):
        return arg.value
    if arg.call_name == "f" and len(arg.call_args) == 1 and isinstance(arg.call_args[0], str):
        return arg.call_args[0]
    return None


_SQL_SCHEMA_CHANGE = re.compile(r"\b(DROP|RENAME|ALTER)\b", re.IGNORECASE)


def _execute(schema: Schema, op: Operation, revision: str | None) -> None:
    """Replay what literal SQL removes or renames (tables, columns, foreign keys) and the
    column types it changes (to unknown), so history never keeps what raw SQL took away."""
    if op.sql is None or not _SQL_SCHEMA_CHANGE.search(op.sql):
        return
    from pglast import enums

    from migls.sql import parse

    for statement in parse(op.sql) or ():
        node, kind = statement.node, statement.kind
        relation = getattr(node, "relation", None)
        table = getattr(relation, "relname", None)
        if kind == "DropStmt" and node.removeType == enums.ObjectType.OBJECT_TABLE:
            for names in node.objects or ():
                _drop_table_named(schema, str(names[-1].sval))
        elif kind == "DropStmt" and node.removeType == enums.ObjectType.OBJECT_INDEX:
            for names in node.objects or ():
                _drop_index_named(schema, str(names[-1].sval), None)
        elif kind == "RenameStmt" and table is not None:
            if node.renameType == enums.ObjectType.OBJECT_TABLE:
                _rename_table_named(schema, table, str(node.newname))
            elif node.renameType == enums.ObjectType.OBJECT_COLUMN and table in schema.tables:
                state = schema.tables[table]
                columns = dict(state.columns)
                if node.subname in columns:
                    columns[str(node.newname)] = columns.pop(node.subname)
                schema.tables[table] = replace(_rename_fk_column(state, str(node.subname), str(node.newname)),
                                               columns=columns)
        elif kind == "AlterTableStmt" and isinstance(table, str) and table in schema.tables:
            for command in node.cmds or ():
                _alter_table_command(schema, table, command)


def _alter_table_command(schema: Schema, table_name: str, command: Any) -> None:
    from pglast import enums

    kinds = enums.AlterTableType
    table = schema.tables[table_name]
    if command.subtype == kinds.AT_DropColumn:
        name = str(command.name)
        schema.tables[table_name] = replace(
            table, columns={k: v for k, v in table.columns.items() if k != name},
            foreign_keys=tuple(fk for fk in table.foreign_keys if name not in fk.columns))
    elif command.subtype == kinds.AT_DropConstraint:
        _drop_foreign_key(schema, table_name, str(command.name), fk_type=False)
    elif command.subtype == kinds.AT_AlterColumnType and command.name in table.columns:
        columns = dict(table.columns)
        columns[command.name] = replace(columns[command.name], type=None)
        schema.tables[table_name] = replace(table, columns=columns)


_HANDLERS = {
    "create_table": _create_table, "drop_table": _drop_table, "rename_table": _rename_table,
    "add_column": _add_column, "drop_column": _drop_column, "alter_column": _alter_column,
    "create_index": _create_index, "drop_index": _drop_index,
    "create_foreign_key": _create_foreign_key, "drop_constraint": _drop_constraint,
    "execute": _execute,
}


class History:
    """Schemas before each revision of a graph, computed once, lazily."""

    def __init__(self, graph: Graph, dialect: str | None = None) -> None:
        self.graph = graph
        #: Operations guarded for another database (``if dialect == "mysql":``) are skipped.
        self.dialect = dialect
        self._after: dict[str, Schema] = {}

    def before(self, revision: str) -> Schema:
        """The schema that ``revision``'s ``upgrade()`` starts from."""
        node = self.graph.nodes.get(revision)
        if node is None:
            return Schema()
        parents = [parent for parent in node.parents if parent in self.graph.nodes]
        if not parents:
            return Schema()
        # The first parent's schema is shared, the others merged in (as Schema.merge into
        # an empty schema would do, in the same order).
        schema = self.after(parents[0]).derive()
        for parent in parents[1:]:
            schema.merge(self.after(parent))
        return schema

    def after(self, revision: str) -> Schema:
        """The schema once ``revision`` is applied (iterative: histories are long)."""
        if revision in self._after:
            return self._after[revision]
        order: list[str] = []
        stack = [revision]
        visiting: set[str] = set()
        while stack:  # post-order over parents, without recursion
            current = stack[-1]
            if current in self._after or current not in self.graph.nodes:
                stack.pop()
                continue
            parents = [p for p in self.graph.nodes[current].parents
                       if p in self.graph.nodes and p not in self._after and p not in visiting]
            if current not in visiting:
                visiting.add(current)
                if parents:
                    stack.extend(parents)
                    continue
            stack.pop()
            order.append(current)
            self._after[current] = Schema()  # placeholder breaks cycles
        for current in order:
            schema = self.before(current)
            upgrade = self.graph.nodes[current].file.upgrade
            if upgrade is not None:
                for op in upgrade.ops:
                    if self.dialect is None or op.runs_on(self.dialect):
                        schema.apply(op, current)
            self._after[current] = schema
        return self._after.get(revision, Schema())


def history_of(graph: Graph, dialect: str | None = None) -> History:
    """The history of a graph (as it runs on ``dialect``, or on any database), computed once
    however many rules ask."""
    key = (id(graph), dialect)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is graph:
        return cached[1]
    history = History(graph, dialect)
    if any(other is not graph for other, _ in _CACHE.values()):
        _CACHE.clear()  # one environment at a time: keep memory flat
    _CACHE[key] = (graph, history)
    return history


_CACHE: dict[tuple[int, str | None], tuple[Graph, History]] = {}


def schemas_along(graph: Graph, revision: str | None, function: str, ops: list[Operation],
                  dialect: str | None = None) -> Iterator[tuple[Operation, Schema]]:
    """Each of ``ops`` (the operations of ``revision``'s ``upgrade()`` or ``downgrade()``) that
    runs on ``dialect``, with the schema it runs on: history up to the revision, then the
    function's own earlier operations. ``downgrade()`` starts from the schema ``upgrade()``
    left. The schema given is live: read it before asking for the next operation."""
    history = history_of(graph, dialect)
    if revision is None:
        schema = Schema()
    elif function == "downgrade":
        schema = history.after(revision).copy()
    else:
        schema = history.before(revision)
    for op in ops:
        if dialect is not None and not op.runs_on(dialect):
            continue
        yield op, schema
        schema.apply(op, revision)
