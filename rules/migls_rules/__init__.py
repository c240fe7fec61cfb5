"""The built-in migls rules, registered through the ``migls.rules`` entry point."""

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

_FAMILIES: list[tuple[type, ...]] = []
for _module in ("_locks_a", "_locks_b", "_locks_sql", "_breaking"):
    # Rule families written alongside each other; each module lists its rules in RULES.
    try:
        _FAMILIES.append(__import__(f"migls_rules.{_module}", fromlist=["RULES"]).RULES)
    except ModuleNotFoundError as _error:
        if _error.name != f"migls_rules.{_module}":
            raise

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
    *(rule for family in _FAMILIES for rule in family),
)

__all__ = ["ALL_RULES"]
