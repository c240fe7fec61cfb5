"""Hover: a revision id (its place in the graph), an ``op.*`` operation (what it does to a
PostgreSQL table), a rule code in a suppression comment (the rule and its page)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from migls.lazy import LazyModule
from migls.registry import all_rules, rule_by_selector
from migls.rule import LintRule
from migls.server import ranges
from migls.server.features.locate import (
    Cursor,
    cursor,
    describe_revision,
    id_at,
    new_tables_before,
    op_at,
)
from migls.server.server import MiglsServer
from migls.span import Span
from migls.suppress import find_suppressions

if TYPE_CHECKING:
    from migls import pgfacts
else:  # the PostgreSQL facts load on the first hover of an operation, not before the first lint
    pgfacts = LazyModule("migls.pgfacts", globals(), "pgfacts")

_SELECTOR = re.compile(r"[A-Za-z0-9_-]+")


def register(server: MiglsServer) -> None:
    """Attach the hover handler."""

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: MiglsServer, params: types.HoverParams) -> types.Hover | None:
        where = await cursor(ls, params.text_document.uri, params.position)
        if where is None:
            return None
        found = suppression_hover(where) or await revision_hover(where) or op_hover(where)
        if found is None:
            return None
        text, span = found
        return types.Hover(
            contents=ls.markup(text, ls.markdown_hover),
            range=ranges.to_range(where.lines, span, ls.encoding))


def suppression_hover(where: Cursor) -> tuple[str, Span] | None:
    """The rule(s) a code in ``# migls: ignore[...]`` names."""
    file = where.file
    if file.source is None or "migls" not in where.lines[where.line - 1]:
        return None
    for suppression in find_suppressions(file.source.text, file.statements):
        if not ranges.contains(suppression.span, where.line, where.column):
            continue
        text = where.lines[where.line - 1]
        opening = text.find("[", suppression.span.column, suppression.span.end_column)
        closing = text.find("]", max(opening, 0), suppression.span.end_column)
        if opening < 0 or closing < 0:
            return None
        for match in _SELECTOR.finditer(text, opening + 1, closing):
            if match.start() <= where.column <= match.end():
                rules = _rules_named(match.group())
                if not rules:
                    return f"`{match.group()}` names no migls rule.", _span(where, match)
                return "\n\n---\n\n".join(_describe_rule(rule) for rule in rules), _span(
                    where, match)
    return None


def _span(where: Cursor, match: re.Match[str]) -> Span:
    return Span(where.line, match.start(), where.line, match.end())


def _rules_named(selector: str) -> list[type[LintRule]]:
    rule = rule_by_selector(selector)
    if rule is not None:
        return [rule]
    if selector[:1].isalpha():
        return [r for r in all_rules() if r.CODE.startswith(selector.upper())]
    return []


def _describe_rule(rule: type[LintRule]) -> str:
    default = rule.SEVERITY.label + ("" if rule.DEFAULT_ENABLED else ", opt-in")
    return (f"**{rule.CODE}** `{rule.NAME}` ({default})\n\n{rule.SUMMARY}\n\n"
            f"[Rule page]({rule.url()})")


async def revision_hover(where: Cursor) -> tuple[str, Span] | None:
    """A revision id's place in the graph."""
    ref = id_at(where.file, where.line, where.column)
    if ref is None:
        return None
    graph = await where.ls.graph(where.state)
    return describe_revision(where.ls, graph, ref.value), ref.span


def op_hover(where: Cursor) -> tuple[str, Span] | None:
    """What an operation does to a PostgreSQL table."""
    found = op_at(where.file, where.line, where.column)
    if found is None:
        return None
    function, index, op = found
    settings = where.state.settings
    facts = pgfacts.operation_facts(op, new_tables=new_tables_before(where.file, function, index),
                            postgres_version=settings.postgres_version)
    if facts is None:
        return None
    prefix = "batch_op" if op.batch else "op"
    lines = [f"**`{prefix}.{op.name}`** on PostgreSQL"]
    held = ("until the statement ends (in `autocommit_block()`)" if op.autocommit
            else "until the revision's transaction commits")
    for fact in facts.facts:
        blocks = pgfacts.BLOCKS.get(fact.lock, "")
        lines.append(f"- `{fact.table}`: **{fact.lock}** {held}: {blocks}; {fact.work}")
        lines.extend(f"  - {note}" for note in fact.notes)
    lines.extend(f"- {note}" for note in facts.notes)
    if facts.access_exclusive:
        lines.append(f"- {pgfacts.LOCK_QUEUE[0].upper()}{pgfacts.LOCK_QUEUE[1:]}")
    dialect = settings.dialect or "postgresql"
    if dialect != "postgresql":
        lines.append(f"\n_This environment's database is {dialect}: these are PostgreSQL's "
                     "facts._")
    return "\n".join(lines), op.span
