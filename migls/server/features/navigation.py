"""The revision graph as navigation: definition, references, completion of revision ids,
code lenses on the ``revision`` line."""

from __future__ import annotations

import re

from lsprotocol import types

from migls.graph import Graph
from migls.server import ranges
from migls.server.features.locate import (
    cursor,
    describe_revision,
    id_at,
    id_refs,
    labels_of,
    ref_location,
    revision_location,
)
from migls.server.server import MiglsServer
from migls.span import Span

_ASSIGNMENT = re.compile(r"^(?P<name>down_revision|depends_on)\b[^=\n]*=(?!=)")
_NEW_STATEMENT = re.compile(r"^[A-Za-z_@]")


def register(server: MiglsServer) -> None:
    """Attach the navigation handlers."""

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: MiglsServer, params: types.DefinitionParams
                         ) -> list[types.Location] | None:
        where = await cursor(ls, params.text_document.uri, params.position)
        ref = id_at(where.file, where.line, where.column) if where is not None else None
        if where is None or ref is None:
            return None
        graph = await ls.graph(where.state)
        target = graph.resolve(ref.value) if ref.kind != "revision" else ref.value
        files = graph.files_by_id.get(target or "", [])
        locations = [loc for file in files if (loc := revision_location(ls, file)) is not None]
        return locations or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: MiglsServer, params: types.ReferenceParams
                         ) -> list[types.Location] | None:
        where = await cursor(ls, params.text_document.uri, params.position)
        ref = id_at(where.file, where.line, where.column) if where is not None else None
        if where is None or ref is None:
            return None
        graph = await ls.graph(where.state)
        rev = graph.resolve(ref.value) or ref.value
        out: list[types.Location] = []
        for file in ls.files_in_order(where.state):
            for other in id_refs(file):
                named = other.value == rev or graph.resolve(other.value) == rev
                if not named:
                    continue
                if other.kind in ("down_revision", "depends_on") or (
                        other.kind == "revision" and params.context.include_declaration):
                    out.append(ref_location(ls, file, other.span))
        return out

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=['"', "'"]))
    async def completion(ls: MiglsServer, params: types.CompletionParams
                         ) -> types.CompletionList | None:
        where = await cursor(ls, params.text_document.uri, params.position)
        if where is None:
            return None
        context = completion_context(where.lines, where.line, where.column)
        if context is None:
            return None
        name, start = context
        graph = await ls.graph(where.state)
        own = where.file.revision_id
        excluded = graph.descendants([own]) if own in graph.nodes else {own}
        edit_range = ranges.to_range(where.lines, _span(where.line, start, where.column),
                                     ls.encoding)
        order = [f.revision_id for f in reversed(ls.files_in_order(where.state))]
        items: list[types.CompletionItem] = []
        seen: set[str] = set()
        for index, rev in enumerate(r for r in order if r is not None):
            node = graph.nodes.get(rev)
            if node is None or rev in excluded or rev in seen:
                continue
            seen.add(rev)
            message = node.file.message or ""
            tags = labels_of(graph, rev)
            head = rev in graph.heads
            items.append(types.CompletionItem(
                label=rev, kind=types.CompletionItemKind.Reference,
                detail=(", ".join(tags) + ": " if tags else "") + message,
                documentation=ls.documentation(describe_revision(ls, graph, rev)),
                sort_text=f"{0 if head else 1}{index:06d}", filter_text=f"{rev} {message}",
                text_edit=types.TextEdit(range=edit_range, new_text=rev)))
        if name == "depends_on":
            for label, owners in sorted(graph.label_owners.items()):
                items.append(types.CompletionItem(
                    label=label, kind=types.CompletionItemKind.Folder,
                    detail=f"branch label of {owners[0]}", sort_text=f"2{label}",
                    text_edit=types.TextEdit(range=edit_range, new_text=label)))
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: MiglsServer, params: types.CodeLensParams
                        ) -> list[types.CodeLens] | None:
        path = ls.path_of(params.text_document.uri)
        fresh = await ls.fresh(path) if path is not None else None
        if fresh is None:
            return None
        state, file = fresh
        rev = file.revision_id
        value = file.metadata.get("revision")
        if rev is None or value is None:
            return None
        graph = await ls.graph(state)
        title = lens_title(graph, rev)
        if title is None:
            return None
        lines = file.source.text.split("\n") if file.source is not None else []
        return [types.CodeLens(range=ranges.to_range(lines, value.span, ls.encoding),
                               command=types.Command(title=title, command=""))]


def lens_title(graph: Graph, rev: str) -> str | None:
    """``head · 3 children · merge of 2 · branch foo``: the revision's place in the graph."""
    node = graph.nodes.get(rev)
    if node is None:
        return None
    parts = [tag for tag in labels_of(graph, rev) if tag != "branch point"]
    children = len(node.children)
    if children:
        parts.append(f"{children} child" if children == 1 else f"{children} children")
    if node.dependents:
        parts.append(f"needed by {len(node.dependents)}")
    if node.labels:
        parts.append("branch " + ", ".join(node.labels))
    return " · ".join(parts) if parts else None


def _span(line: int, start: int, end: int) -> Span:
    return Span(line, start, line, end)


def completion_context(lines: list[str], line: int, column: int) -> tuple[str, int] | None:
    """``(down_revision | depends_on, column where the typed id starts)`` when the cursor is
    inside a string of one of those assignments, read from the text (a half-typed line does
    not parse)."""
    current = lines[line - 1][:column] if 0 < line <= len(lines) else ""
    for back in range(30):
        index = line - 1 - back
        if index < 0:
            return None
        text = lines[index] if back else current
        match = _ASSIGNMENT.match(text)
        if match is None:
            if back and _NEW_STATEMENT.match(lines[index]):
                return None  # another statement starts above: not inside an assignment
            continue
        if back:
            between = lines[index][match.end():] + "".join(lines[index + 1:line - 1])
            depth = sum(between.count(c) for c in "([") - sum(between.count(c) for c in ")]")
            if depth <= 0:
                return None
            start = _open_string(current, 0)
        else:
            start = _open_string(current, match.end())
        return (match.group("name"), start) if start is not None else None
    return None


def _open_string(text: str, begin: int) -> int | None:
    """Where the string the end of ``text`` is inside starts (after its quote), or ``None``
    when the end of ``text`` is not inside a string."""
    quote: str | None = None
    start = 0
    for index in range(begin, len(text)):
        char = text[index]
        if quote is None and char in "\"'":
            quote, start = char, index + 1
        elif char == quote:
            quote = None
    return start if quote is not None else None
