"""Every rule's embedded examples are its spec: valid code gives none of its findings,
invalid code gives one at exactly the documented range."""

from __future__ import annotations

import pytest

from migls.config import parse_settings
from migls.engine import lint_sources
from migls.fixes import apply_edits
from migls.registry import all_rules
from migls.rule import Example, Invalid, LintRule


def _cases() -> list[tuple[type[LintRule], Example]]:
    return [(rule, case) for rule in all_rules() for case in (*rule.VALID, *rule.INVALID)]


def _id(case: tuple[type[LintRule], Example]) -> str:
    rule, example = case
    kind, cases = ("INVALID", rule.INVALID) if isinstance(example, Invalid) else ("VALID", rule.VALID)
    return f"{rule.NAME}::{kind}[{[id(c) for c in cases].index(id(example))}]"


@pytest.mark.parametrize("case", _cases(), ids=[_id(c) for c in _cases()])
def test_example(case: tuple[type[LintRule], Example]) -> None:
    rule, example = case
    settings = parse_settings(dict(example.settings), None, "example")
    result = lint_sources(example.sources(), settings)
    found = [d for d in result.diagnostics if d.code == rule.CODE]
    if isinstance(example, Invalid):
        assert found, f"{rule.CODE} did not flag the example"
        at = [(d.path, d.span.line, d.span.column + 1, d.span.end_line, d.span.end_column + 1)
              for d in found]
        assert (example.path, *example.range) in at, at
        if example.message is not None:
            assert any(example.message in d.message for d in found), [d.message for d in found]
        target = [d for d in found if d.path == example.path and (
            d.span.line, d.span.column + 1, d.span.end_line, d.span.end_column + 1) == example.range]
        fixes = [d.fix for d in target if d.fix is not None]
        expected = example.fixed_source()
        if expected is None:
            assert not fixes, f"{rule.CODE} offers a fix its example does not show"
        else:
            assert fixes, f"{rule.CODE} offers no fix"
            assert rule.FIX_SAFETY == fixes[0].safety
            fixed = apply_edits(example.sources()[example.path], fixes[0].edits)
            assert fixed == expected
            # the fixed file no longer has this finding, so a second run changes nothing
            again = lint_sources({**example.sources(), example.path: fixed}, settings)
            assert not [d for d in again.diagnostics if d.code == rule.CODE
                        and d.path == example.path and d.message == target[0].message]
    else:
        assert found == [], [d.message for d in found]


def test_every_rule_has_examples_and_documentation() -> None:
    for rule in all_rules():
        assert rule.VALID and rule.INVALID, rule.CODE
        assert rule.__doc__ and "**Why**" in rule.__doc__, rule.CODE
        assert rule.__doc__ and "**Fix**" in rule.__doc__, rule.CODE


def test_codes_and_names_are_unique_and_well_formed() -> None:
    rules = all_rules()
    assert len({r.CODE for r in rules}) == len(rules)
    assert len({r.NAME for r in rules}) == len(rules)
    for rule in rules:
        assert rule.CODE[:2] == "MG" and rule.CODE[2:].isdigit() and len(rule.CODE) == 5
        assert rule.NAME == rule.NAME.lower() and " " not in rule.NAME
