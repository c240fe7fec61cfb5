"""What is under the cursor: a revision id (in the metadata or the header docstring), an
operation, a suppression comment; and how revisions are described in hovers and lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from migls.graph import Graph
from migls.model import RevisionFile
from migls.ops import Operation
from migls.server import ranges
from migls.server.server import MiglsServer
from migls.server.workspace import EnvState
from migls.span import Span

#: Metadata whose strings are revision ids (``branch_labels`` are names, not ids).
ID_METADATA = ("revision", "down_revision", "depends_on")
_CREATE_DATE = re.compile(r"^[ \t]*Create Date:[ \t]*(?P<date>\S[^\n]*?)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Cursor:
    """A position in a revision file, with the file as parsed at the document's version."""

    ls: MiglsServer
    state: EnvState
    file: RevisionFile
    path: str
    uri: str
    lines: list[str]
    line: int
    column: int


async def cursor(ls: MiglsServer, uri: str, position: types.Position) -> Cursor | None:
    """The cursor in a revision file of an environment (``None`` for any other file)."""
    path = ls.path_of(uri)
    fresh = await ls.fresh(path) if path is not None else None
    if path is None or fresh is None:
        return None
    state, file = fresh
    text = file.source.text if file.source is not None else ""
    lines = text.split("\n")
    line, column = ranges.from_position(lines, position, ls.encoding)
    return Cursor(ls, state, file, path, uri, lines, line, column)


@dataclass(frozen=True)
class IdRef:
    """A revision id written in a file: in ``revision``/``down_revision``/``depends_on``, or
    in the header's ``Revision ID:``/``Revises:`` lines."""

    kind: str
    value: str
    span: Span


def id_refs(file: RevisionFile) -> list[IdRef]:
    """Every revision id written in ``file``."""
    refs: list[IdRef] = []
    for name in ID_METADATA:
        metadata = file.metadata.get(name)
        if metadata is None or metadata.kind not in ("str", "tuple"):
            continue
        refs.extend(IdRef(name, item, span)
                    for item, span in zip(metadata.items, metadata.item_spans))
    if file.source is not None:
        lines = file.source.text.split("\n")
        for kind, header in (("Revision ID", file.docstring_id), ("Revises", file.docstring_revises)):
            if header is None or header.span.line > len(lines):
                continue
            text = lines[header.span.line - 1]
            position = header.span.column
            for value in header.values:
                found = text.find(value, position)
                if found < 0:
                    continue
                refs.append(IdRef(kind, value, Span(header.span.line, found, header.span.line,
                                                    found + len(value))))
                position = found + len(value)
    return refs


def id_at(file: RevisionFile, line: int, column: int) -> IdRef | None:
    """The revision id under the cursor."""
    for ref in id_refs(file):
        if ranges.contains(ref.span, line, column):
            return ref
    return None


def op_at(file: RevisionFile, line: int, column: int) -> tuple[str, int, Operation] | None:
    """The innermost operation under the cursor: its function, index there, and itself."""
    found: list[tuple[int, str, int, Operation]] = []
    for name, function in (("upgrade", file.upgrade), ("downgrade", file.downgrade)):
        if function is None:
            continue
        for index, op in enumerate(function.ops):
            if ranges.contains(op.span, line, column):
                size = (op.span.end_line - op.span.line) * 10_000 + op.span.end_column - op.span.column
                found.append((size, name, index, op))
    if not found:
        return None
    _, name, index, op = min(found, key=lambda item: item[0])
    return name, index, op


def new_tables_before(file: RevisionFile, function: str, index: int) -> frozenset[str]:
    """Tables created (or created then renamed) earlier in the same function."""
    body = file.upgrade if function == "upgrade" else file.downgrade
    created: set[str] = set()
    for op in (body.ops[:index] if body is not None else []):
        if op.name == "create_table" and op.table is not None:
            created.add(op.table)
        elif op.name == "rename_table" and op.table in created:
            new = op.literal("new_table_name")
            if isinstance(new, str):
                created.add(new)
    return frozenset(created)


# -- describing revisions ---------------------------------------------------------------------


def create_date(file: RevisionFile) -> str | None:
    """The header's ``Create Date:``."""
    if file.source is None:
        return None
    match = _CREATE_DATE.search(file.source.text, 0, 4000)
    return match.group("date") if match else None


def display_path(ls: MiglsServer, path: str) -> str:
    """A path relative to the workspace folder that holds it."""
    for root in ls.roots:
        try:
            return Path(path).relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return path


def short(graph: Graph, rev: str) -> str:
    """``id`` (message) for lists."""
    node = graph.nodes.get(rev)
    message = node.file.message if node is not None else None
    return f"`{rev}` ({message})" if message else f"`{rev}`"


def labels_of(graph: Graph, rev: str) -> list[str]:
    """head / base / merge / branch point, as code lenses and hovers say them."""
    node = graph.nodes[rev]
    out = []
    if rev in graph.heads:
        out.append("head")
    if not node.parents:
        out.append("base")
    if len(node.parents) > 1:
        out.append(f"merge of {len(node.parents)}")
    if len(node.children) > 1:
        out.append("branch point")
    return out


def describe_revision(ls: MiglsServer, graph: Graph, rev: str) -> str:
    """Markdown about one revision: message, file, date, parents, children, labels."""
    node = graph.nodes.get(rev)
    if node is None:
        resolved = graph.resolve(rev)
        if resolved is not None and resolved != rev:
            return f"Branch label `{rev}` of {short(graph, resolved)}\n\n" + describe_revision(
                ls, graph, resolved)
        return f"No revision `{rev}` in this environment."
    file = node.file
    title = f"**Revision `{rev}`**" + (f": {file.message}" if file.message else "")
    facts = [f"File: `{display_path(ls, file.path)}`"]
    date = create_date(file)
    if date:
        facts.append(f"Created: {date}")
    tags = labels_of(graph, rev)
    if tags:
        facts.append("**" + ", ".join(tags) + "**")
    if node.labels:
        facts.append("Branch labels: " + ", ".join(f"`{label}`" for label in node.labels))
    facts.append("Parents: " + (", ".join(short(graph, p) for p in node.parents) or "none"))
    facts.append("Children: " + (", ".join(short(graph, c) for c in node.children) or "none"))
    if node.dependencies:
        facts.append("Depends on: " + ", ".join(short(graph, d) for d in node.dependencies))
    if node.dependents:
        facts.append("Needed by: " + ", ".join(short(graph, d) for d in node.dependents))
    duplicates = graph.files_by_id.get(rev, [])
    if len(duplicates) > 1:
        facts.append("Declared by " + ", ".join(f"`{display_path(ls, f.path)}`"
                                                 for f in duplicates))
    return title + "\n\n" + "\n".join(f"- {fact}" for fact in facts)


def revision_location(ls: MiglsServer, file: RevisionFile) -> types.Location | None:
    """Where a file declares its revision id (the ``revision`` value)."""
    value = file.metadata.get("revision")
    if value is None:
        return None
    lines = file.source.text.split("\n") if file.source is not None else []
    return types.Location(uri=ls.uri_of(file.path),
                          range=ranges.to_range(lines, value.span, ls.encoding))


def ref_location(ls: MiglsServer, file: RevisionFile, span: Span) -> types.Location:
    """A span of a file as an LSP location."""
    lines = file.source.text.split("\n") if file.source is not None else []
    return types.Location(uri=ls.uri_of(file.path), range=ranges.to_range(lines, span, ls.encoding))
