"""Positional parameters of Alembic's operations, so that ``op.x(a, b, kw=c)`` can be read the
way Alembic binds it without importing Alembic (which costs a quarter of a second).

The table is Alembic's own (``Operations`` and ``BatchOperations`` signatures);
``tests/test_ops.py`` checks it against the installed Alembic.
"""

from __future__ import annotations

#: op name -> (positional parameter names, name of a ``*args`` parameter or None)
OPERATIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "add_column": (("table_name", "column"), None),
    "drop_column": (("table_name", "column_name"), None),
    "alter_column": (("table_name", "column_name"), None),
    "create_table": (("table_name",), "columns"),
    "drop_table": (("table_name",), None),
    "rename_table": (("old_table_name", "new_table_name"), None),
    "create_index": (("index_name", "table_name", "columns"), None),
    "drop_index": (("index_name", "table_name"), None),
    "create_unique_constraint": (("constraint_name", "table_name", "columns"), None),
    "create_primary_key": (("constraint_name", "table_name", "columns"), None),
    "create_foreign_key": (("constraint_name", "source_table", "referent_table", "local_cols",
                            "remote_cols"), None),
    "create_check_constraint": (("constraint_name", "table_name", "condition"), None),
    "create_exclude_constraint": (("constraint_name", "table_name"), "elements"),
    "drop_constraint": (("constraint_name", "table_name", "type_"), None),
    "execute": (("sqltext",), None),
    "bulk_insert": (("table", "rows"), None),
    "create_table_comment": (("table_name", "comment"), None),
    "drop_table_comment": (("table_name",), None),
}

#: The same for ``batch_op`` inside ``with op.batch_alter_table(...)`` (no table argument).
BATCH_OPERATIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "add_column": (("column",), None),
    "drop_column": (("column_name",), None),
    "alter_column": (("column_name",), None),
    "create_index": (("index_name", "columns"), None),
    "drop_index": (("index_name",), None),
    "create_unique_constraint": (("constraint_name", "columns"), None),
    "create_primary_key": (("constraint_name", "columns"), None),
    "create_foreign_key": (("constraint_name", "referent_table", "local_cols", "remote_cols"), None),
    "create_check_constraint": (("constraint_name", "condition"), None),
    "create_exclude_constraint": (("constraint_name",), "elements"),
    "drop_constraint": (("constraint_name", "type_"), None),
    "execute": (("sqltext",), None),
    "create_table_comment": (("comment",), None),
    "drop_table_comment": ((), None),
}

#: Where each operation names its table (the source table for a foreign key).
TABLE_PARAMETER = {
    "create_foreign_key": "source_table",
    "rename_table": "old_table_name",
    "bulk_insert": "table",
}
