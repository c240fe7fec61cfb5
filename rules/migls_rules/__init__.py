"""The built-in migls rules, registered through the ``migls.rules`` entry point."""

from migls_rules._breaking import RULES as BREAKING
from migls_rules._locks_a import RULES as LOCKS_A
from migls_rules._locks_b import RULES as LOCKS_B
from migls_rules._locks_sql import RULES as LOCKS_SQL
from migls_rules.dangling_down_revision import DanglingDownRevision
from migls_rules.docstring_mismatch import DocstringMismatch
from migls_rules.duplicate_branch_label import DuplicateBranchLabel
from migls_rules.duplicate_revision_id import DuplicateRevisionId
from migls_rules.dynamic_revision_metadata import DynamicRevisionMetadata
from migls_rules.empty_downgrade import EmptyDowngrade
from migls_rules.invalid_revision_id import InvalidRevisionId
from migls_rules.missing_downgrade import MissingDowngrade
from migls_rules.missing_revision_id import MissingRevisionId
from migls_rules.multiple_bases import MultipleBases
from migls_rules.multiple_heads import MultipleHeads
from migls_rules.revision_cycle import RevisionCycle
from migls_rules.suspicious_branch_label import SuspiciousBranchLabel
from migls_rules.syntax_error import SyntaxErrorRule
from migls_rules.unknown_dependency import UnknownDependency
from migls_rules.unused_suppression import UnusedSuppression

ALL_RULES = (
    SyntaxErrorRule,
    MissingRevisionId,
    DynamicRevisionMetadata,
    UnusedSuppression,
    DanglingDownRevision,
    DuplicateRevisionId,
    MultipleHeads,
    RevisionCycle,
    UnknownDependency,
    DuplicateBranchLabel,
    InvalidRevisionId,
    DocstringMismatch,
    SuspiciousBranchLabel,
    MultipleBases,
    MissingDowngrade,
    EmptyDowngrade,
    *LOCKS_A,
    *LOCKS_B,
    *LOCKS_SQL,
    *BREAKING,
)

__all__ = ["ALL_RULES"]
