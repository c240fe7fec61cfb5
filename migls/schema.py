"""The schema as the history builds it: replaying the ``upgrade()`` operations of every
ancestor, statically, gives the tables, columns (type, nullability), indexes and foreign keys
at any revision.

What history cannot tell (raw SQL, dynamic values) is left unknown, never guessed: a column
added by ``op.execute`` simply is not in the model, and rules say less about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from migls.graph import Graph
from migls.ops import ColumnDef, Operation, TypeRef


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


@dataclass(slots=True)
class Schema:
    """Tables by name, and the table of each known index."""

    tables: dict[str, TableState] = field(default_factory=dict)
    index_tables: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Schema:
        """A copy that shares the (immutable) table states."""
        return Schema(dict(self.tables), dict(self.index_tables))

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
        for name, table in other.tables.items():
            self.tables.setdefault(name, table)
        for index, table_name in other.index_tables.items():
            self.index_tables.setdefault(index, table_name)


def _column_state(column: ColumnDef) -> ColumnState:
    return ColumnState(column.type, False if column.is_not_null else column.nullable)


def _foreign_keys_of(column: ColumnDef) -> list[ForeignKey]:
    return [ForeignKey(None, (column.name,), target.split(".")[-2] if target.count(".") >= 1 else target)
            for target in column.foreign_keys if column.name]


def _create_table(schema: Schema, op: Operation, revision: str | None) -> None:
    if op.table is None:
        return
    columns: dict[str, ColumnState] = {}
    foreign_keys: list[ForeignKey] = []
    for column in op.columns:
        if column.name:
            columns[column.name] = _column_state(column)
            foreign_keys += _foreign_keys_of(column)
    for arg in op.rest:
        if arg.call_name == "ForeignKeyConstraint" and len(arg.call_args) >= 2:
            local, remote = arg.call_args[0], arg.call_args[1]
            if isinstance(local, tuple) and isinstance(remote, tuple) and remote and isinstance(remote[0], str):
                name = arg.kwarg("name")
                foreign_keys.append(ForeignKey(name if isinstance(name, str) else None,
                                               tuple(str(c) for c in local),
                                               remote[0].split(".")[-2] if "." in remote[0] else remote[0]))
    schema.tables[op.table] = TableState(columns, frozenset(), tuple(foreign_keys), revision)


def _drop_table(schema: Schema, op: Operation, revision: str | None) -> None:
    if op.table in schema.tables:
        table = schema.tables.pop(op.table)
        for index in table.indexes:
            schema.index_tables.pop(index, None)


def _rename_table(schema: Schema, op: Operation, revision: str | None) -> None:
    new = op.literal("new_table_name")
    if op.table in schema.tables and isinstance(new, str):
        schema.tables[new] = schema.tables.pop(op.table)
        for index, table in list(schema.index_tables.items()):
            if table == op.table:
                schema.index_tables[index] = new


def _add_column(schema: Schema, op: Operation, revision: str | None) -> None:
    table = schema.tables.get(op.table or "")
    if table is None or not op.columns or not op.columns[0].name:
        return
    column = op.columns[0]
    assert op.table is not None and column.name is not None
    schema.tables[op.table] = replace(
        table, columns={**table.columns, column.name: _column_state(column)},
        foreign_keys=table.foreign_keys + tuple(_foreign_keys_of(column)))


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
    if table is None or not isinstance(name, str) or name not in table.columns:
        return
    assert op.table is not None
    state = table.columns[name]
    if "type_" in op.types:
        state = replace(state, type=op.types["type_"])
    nullable = op.literal("nullable")
    if isinstance(nullable, bool):
        state = replace(state, nullable=nullable)
    columns = dict(table.columns)
    new_name = op.literal("new_column_name")
    if isinstance(new_name, str):
        del columns[name]
        name = new_name
    columns[name] = state
    schema.tables[op.table] = replace(table, columns=columns)


def _create_index(schema: Schema, op: Operation, revision: str | None) -> None:
    name = op.literal("index_name")
    if op.table in schema.tables and isinstance(name, str):
        assert op.table is not None
        table = schema.tables[op.table]
        schema.tables[op.table] = replace(table, indexes=table.indexes | {name})
        schema.index_tables[name] = op.table


def _drop_index(schema: Schema, op: Operation, revision: str | None) -> None:
    name = op.literal("index_name")
    if not isinstance(name, str):
        return
    table_name = op.table or schema.index_tables.get(name)
    schema.index_tables.pop(name, None)
    if table_name in schema.tables:
        table = schema.tables[table_name]
        schema.tables[table_name] = replace(table, indexes=table.indexes - {name})


def _create_foreign_key(schema: Schema, op: Operation, revision: str | None) -> None:
    referent = op.literal("referent_table")
    local = op.literal("local_cols")
    name = op.literal("constraint_name")
    if op.table in schema.tables and isinstance(referent, str) and isinstance(local, tuple):
        assert op.table is not None
        table = schema.tables[op.table]
        fk = ForeignKey(name if isinstance(name, str) else None, tuple(str(c) for c in local), referent)
        schema.tables[op.table] = replace(table, foreign_keys=table.foreign_keys + (fk,))


def _drop_constraint(schema: Schema, op: Operation, revision: str | None) -> None:
    name = op.literal("constraint_name")
    if op.table in schema.tables and isinstance(name, str):
        assert op.table is not None
        table = schema.tables[op.table]
        schema.tables[op.table] = replace(
            table, foreign_keys=tuple(fk for fk in table.foreign_keys if fk.name != name))


_HANDLERS = {
    "create_table": _create_table, "drop_table": _drop_table, "rename_table": _rename_table,
    "add_column": _add_column, "drop_column": _drop_column, "alter_column": _alter_column,
    "create_index": _create_index, "drop_index": _drop_index,
    "create_foreign_key": _create_foreign_key, "drop_constraint": _drop_constraint,
}


class History:
    """Schemas before each revision of a graph, computed once, lazily."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._after: dict[str, Schema] = {}

    def before(self, revision: str) -> Schema:
        """The schema that ``revision``'s ``upgrade()`` starts from."""
        node = self.graph.nodes.get(revision)
        if node is None:
            return Schema()
        schema = Schema()
        for parent in node.parents:
            if parent in self.graph.nodes:
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
                    schema.apply(op, current)
            self._after[current] = schema
        return self._after.get(revision, Schema())


def history_of(graph: Graph) -> History:
    """The history of a graph, computed once however many rules ask."""
    cached = _CACHE.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    history = History(graph)
    _CACHE.clear()  # one environment at a time: keep memory flat
    _CACHE[id(graph)] = (graph, history)
    return history


_CACHE: dict[int, tuple[Graph, History]] = {}
