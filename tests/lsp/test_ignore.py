"""``migls.ignore.ignore_fix``: the suppression comment it writes is where ``suppress.py``
looks for it, so that linting again no longer reports the finding (and MG004 does not report
the new comment as unused)."""

from __future__ import annotations

import textwrap

import pytest

from migls.config import Settings
from migls.engine import lint_sources
from migls.fixes import apply_fixes
from migls.ignore import REASON_PLACEHOLDER, ignore_fix

BASE = 'revision = "a1"\ndown_revision = None\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'
NAME = "0002_b.py"


def lint(code: str, **settings: object) -> tuple[list[tuple[str, int]], object]:
    result = lint_sources({"0001_a.py": BASE, NAME: code},
                          Settings(require_reason=True) if settings else None)
    found = [(d.code, d.span.line) for d in result.diagnostics if d.path == NAME]
    return found, result


def ignore_all(code: str, **settings: object) -> str:
    """Suppress every finding, one quick fix at a time, as a developer would."""
    for _ in range(20):
        found, result = lint(code, **settings)
        left = [d for d in result.diagnostics if d.path == NAME and d.code != "MG004"]
        assert not [d for d in result.diagnostics if d.path == NAME and d.code == "MG004"], found
        if not left:
            return code
        file = next(f for f in result.files if f.path == NAME)
        fix = ignore_fix(file, left[0])
        assert fix is not None and fix.title == f"Ignore {left[0].code} on this line"
        code, applied = apply_fixes(code, [fix])
        assert applied == 1
    raise AssertionError("the findings never went away")


CASES = {
    "trailing": '''
        revision = "b2"
        down_revision = "zz"
    ''',
    "after another pragma": '''
        revision = "b2"
        down_revision = "zz"  # type: ignore
    ''',
    "multi-line statement": '''
        revision = "b2"
        down_revision = (
            "a1",
            "zz",
        )
    ''',
    "inside a call, two findings": '''
        from alembic import op

        revision = "b2"
        down_revision = "a1"

        def upgrade():
            op.create_index(
                "ix", "users",
                ["email"],
            )
            op.drop_column("users", "x")

        def downgrade():
            pass
    ''',
    "in the header docstring": '''
        """x

        Revision ID: b2
        Revises: zz
        """
        revision = "b2"
        down_revision = "a1"
    ''',
    "SQL in a multi-line literal": '''
        from alembic import op

        revision = "b2"
        down_revision = "a1"

        def upgrade():
            op.execute("""
                CREATE INDEX ix ON users (email);
            """)

        def downgrade():
            pass
    ''',
}


@pytest.mark.parametrize("require_reason", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_finding_can_be_ignored(name: str, require_reason: bool) -> None:
    code = textwrap.dedent(CASES[name]).lstrip("\n")
    assert lint(code)[0], "the case must have findings"
    fixed = ignore_all(code, **({"require_reason": True} if require_reason else {}))
    assert f"-- {REASON_PLACEHOLDER}" in fixed


def test_an_existing_suppression_is_extended() -> None:
    code = 'revision = "b2"\ndown_revision = "zz"  # migls: ignore[MG108] -- a reason\n'
    found, result = lint(code)
    assert ("MG101", 2) in found
    file = next(f for f in result.files if f.path == NAME)
    diagnostic = next(d for d in result.diagnostics if d.code == "MG101")
    fix = ignore_fix(file, diagnostic)
    assert fix is not None
    fixed, _ = apply_fixes(code, [fix])
    assert fixed.endswith("# migls: ignore[MG108, MG101] -- a reason\n")


def test_a_multi_line_statement_gets_the_comment_above_with_its_indent() -> None:
    code = textwrap.dedent(CASES["inside a call, two findings"]).lstrip("\n")
    _, result = lint(code)
    file = next(f for f in result.files if f.path == NAME)
    index = next(d for d in result.diagnostics if d.code == "MG303")
    fix = ignore_fix(file, index)
    assert fix is not None
    lines = apply_fixes(code, [fix])[0].split("\n")
    assert lines[6:8] == ["    # migls: ignore[MG303] -- TODO: why this is safe",
                          "    op.create_index("]


def test_unused_suppressions_are_not_ignorable() -> None:
    code = 'revision = "b2"\ndown_revision = "a1"  # migls: ignore[MG101]\n'
    _, result = lint(code)
    file = next(f for f in result.files if f.path == NAME)
    unused = next(d for d in result.diagnostics if d.code == "MG004")
    assert ignore_fix(file, unused) is None
