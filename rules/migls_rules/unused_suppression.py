"""MG004 unused-suppression."""

from __future__ import annotations

from migls.rule import Invalid, LintRule, Severity, Valid


class UnusedSuppression(LintRule):
    """A ``# migls: ignore[...]`` comment that suppresses nothing.

    **Why**: a suppression outlives the code it was written for; left alone, it will hide
    the next real finding on that line. A suppression naming a rule that does not exist is
    reported too, and with ``require-reason = true`` so is a suppression without a reason
    (``# migls: ignore[MG401] -- why``).

    Only rules that ran are judged: a suppression for a rule turned off in the configuration
    is not reported as unused.

    **Fix**: remove the comment (or the part of it that names the rule).
    """

    CODE = "MG004"
    NAME = "unused-suppression"
    SEVERITY = Severity.WARNING
    SUMMARY = "a suppression comment that suppresses nothing"
    FIX_SAFETY = "safe"
    VALID = [Valid('''
        revision = "a1"
        down_revision = None

        def upgrade():  # migls: ignore[MG201] -- never downgraded
            pass
    ''')]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None  # migls: ignore[MG101]
        ''', range=(2, 23, 2, 45),
        fixed='''
            revision = "a1"
            down_revision = None
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None  # migls: ignore[MG999]
        ''', range=(2, 23, 2, 45), message="unknown rule"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():  # migls: ignore[MG201]
                pass
        ''', settings={"require-reason": True}, range=(4, 17, 4, 39), message="without a reason"),
    ]
