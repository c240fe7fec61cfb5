"""What a rule is: a small class with a code, a name, a message, examples, and one check."""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from migls.fixes import Fix
from migls.model import RevisionFile
from migls.span import Span

if TYPE_CHECKING:
    from migls.config import Settings
    from migls.graph import Graph

#: Where the rule pages (rules/docs/*.md) are published.
DOCS_URL = "https://github.com/migls/migls/blob/main/rules/docs/{code}.md"


class Severity(enum.IntEnum):
    """Diagnostic severities, ordered so that ``>=`` means "at least as serious"."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        """The lower-case name used in output and configuration."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"error"`` -> ``Severity.ERROR``; ``ValueError`` for anything else."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(text) from None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a rule, a place, a sentence."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    span: Span
    #: Shown faded by editors (an unused suppression).
    unnecessary: bool = False
    #: The change that resolves it, when the rule has one.
    fix: Fix | None = None

    @property
    def url(self) -> str:
        """The rule's page."""
        return DOCS_URL.format(code=self.code)

    def sort_key(self) -> tuple[str, int, int, str]:
        """Path, position, code: the order of every report."""
        return (self.path, self.span.line, self.span.column, self.code)


@dataclass(frozen=True)
class Example:
    """A rule example: its spec, its test and its documentation at once.

    ``files`` maps file names (in one bare versions directory) to their code; a single
    string is one file named ``0001_example.py``. ``path`` is the file the diagnostic is
    expected on; ``range`` is ``(line, column, end_line, end_column)`` with 1-based columns
    and an exclusive end, as in the JSON output.
    """

    files: Mapping[str, str] | str
    settings: Mapping[str, object] = field(default_factory=dict)

    def sources(self) -> dict[str, str]:
        """File name -> dedented code."""
        files = {"0001_example.py": self.files} if isinstance(self.files, str) else self.files
        return {name: textwrap.dedent(code).lstrip("\n") for name, code in files.items()}


@dataclass(frozen=True)
class Valid(Example):
    """Code the rule must not flag."""


@dataclass(frozen=True)
class Invalid(Example):
    """Code the rule must flag, exactly at ``range`` on ``path``."""

    range: tuple[int, int, int, int] = (0, 0, 0, 0)
    path: str = "0001_example.py"
    message: str | None = None
    #: The flagged file once the finding's fix is applied (``None``: the rule offers none).
    fixed: str | None = None

    def fixed_source(self) -> str | None:
        """``fixed``, dedented like the sources."""
        return None if self.fixed is None else textwrap.dedent(self.fixed).lstrip("\n")


#: What a rule yields: the file, the range, the message, and optionally a severity for this
#: finding (when the rule's severity depends on the case).
Finding = tuple[RevisionFile, Span, str] | tuple[RevisionFile, Span, str, Severity]


class Context:
    """What a rule sees of one environment: its files, its graph, its settings."""

    def __init__(self, files: list[RevisionFile], graph: Graph, settings: Settings,
                 lock_timeout_in_env: bool = False) -> None:
        self.files = files
        self.graph = graph
        self.settings = settings
        #: ``env.py`` sets ``lock_timeout`` for every revision (see ``rulekit``).
        self.lock_timeout_in_env = lock_timeout_in_env
        #: What several rules derive from the same file, computed once per run (``rulekit``).
        self.shared: dict[tuple[str, str, int], object] = {}


class LintRule:
    """Base class of every rule.

    A rule overrides :meth:`check_file` (one file at a time) or :meth:`check_graph` (the
    whole environment at once) and yields ``(file, span, message)``. The class docstring is
    the rule's documentation; ``VALID``/``INVALID`` are its examples.
    """

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    SEVERITY: ClassVar[Severity] = Severity.WARNING
    #: Opt-in rules run only when selected explicitly.
    DEFAULT_ENABLED: ClassVar[bool] = True
    #: ``"safe"`` or ``"unsafe"`` when the rule offers a fix (documented on its page).
    FIX_SAFETY: ClassVar[str | None] = None
    SUMMARY: ClassVar[str]
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        """Findings in one parsed file."""
        return iter(())

    def check_graph(self, ctx: Context) -> Iterator[Finding]:
        """Findings that need the whole environment."""
        return iter(())

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        """The fix for one of this rule's findings (``None``: no automatic fix)."""
        return None

    def alternative_fixes(self, ctx: Context, file: RevisionFile, span: Span,
                          message: str) -> list[Fix]:
        """Other ways to resolve one of this rule's findings, after :meth:`fix`.

        ``--fix``/``--unsafe-fixes`` and the JSON ``fix`` field only ever use :meth:`fix`;
        the language server offers these as further quick fixes, one at a time, so the
        developer picks the one that fits (MG301: a ``server_default`` placeholder, or the
        nullable-then-NOT-NULL sequence). Same arguments as :meth:`fix`; the default is none.
        """
        return []

    @classmethod
    def url(cls) -> str:
        """The rule's page."""
        return DOCS_URL.format(code=cls.CODE)
