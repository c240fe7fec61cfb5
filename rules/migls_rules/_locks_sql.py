"""Rules that read SQL literals and transactions (MG311, MG312, MG313, MG315)."""

from migls_rules.enum_add_value_in_transaction import EnumAddValueInTransaction
from migls_rules.missing_lock_timeout import MissingLockTimeout
from migls_rules.unsafe_raw_sql import UnsafeRawSql
from migls_rules.validate_in_same_transaction import ValidateInSameTransaction

RULES = (EnumAddValueInTransaction, MissingLockTimeout, UnsafeRawSql, ValidateInSameTransaction)
