"""MG3 lock rules that read the schema history (column types, foreign keys) and MG203."""

from migls_rules.column_type_change import ColumnTypeChange
from migls_rules.downgrade_not_inverse import DowngradeNotInverse
from migls_rules.drop_locks_referenced_table import DropLocksReferencedTable

RULES = (
    DropLocksReferencedTable,
    ColumnTypeChange,
    DowngradeNotInverse,
)
