"""The MG30x lock and rewrite rules written together (imported into ``ALL_RULES``)."""

from migls_rules.add_column_not_null_without_default import AddColumnNotNullWithoutDefault
from migls_rules.add_column_volatile_default import AddColumnVolatileDefault
from migls_rules.check_constraint_without_not_valid import CheckConstraintWithoutNotValid
from migls_rules.concurrently_in_transaction import ConcurrentlyInTransaction
from migls_rules.create_index_not_concurrently import CreateIndexNotConcurrently
from migls_rules.drop_index_not_concurrently import DropIndexNotConcurrently
from migls_rules.foreign_key_without_not_valid import ForeignKeyWithoutNotValid
from migls_rules.set_not_null import SetNotNull
from migls_rules.unique_or_primary_key_on_existing_table import UniqueOrPrimaryKeyOnExistingTable

RULES = (
    AddColumnNotNullWithoutDefault,
    AddColumnVolatileDefault,
    CreateIndexNotConcurrently,
    ConcurrentlyInTransaction,
    ForeignKeyWithoutNotValid,
    CheckConstraintWithoutNotValid,
    SetNotNull,
    UniqueOrPrimaryKeyOnExistingTable,
    DropIndexNotConcurrently,
)
