"""Symbols: a revision file's outline (its metadata, ``upgrade()``/``downgrade()`` and their
operations) and workspace-wide revision search (by id or message)."""

from __future__ import annotations

from lsprotocol import types

from migls.model import Function, RevisionFile
from migls.server import ranges
from migls.server.features.locate import revision_location
from migls.server.server import MiglsServer
from migls.span import Span

#: Workspace symbol answers are capped: a search box shows the first few anyway.
MAX_WORKSPACE_SYMBOLS = 200


def register(server: MiglsServer) -> None:
    """Attach the symbol handlers."""

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(ls: MiglsServer, params: types.DocumentSymbolParams
                              ) -> list[types.DocumentSymbol] | list[types.SymbolInformation] | None:
        path = ls.path_of(params.text_document.uri)
        fresh = await ls.fresh(path) if path is not None else None
        if fresh is None or fresh[1].source is None:
            return None
        symbols = outline(fresh[1], ls.encoding)
        if ls.hierarchical_symbols:
            return symbols
        return flatten(symbols, params.text_document.uri)

    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(ls: MiglsServer, params: types.WorkspaceSymbolParams
                               ) -> list[types.SymbolInformation]:
        await ls.ready()
        query = params.query.strip().lower()
        found: list[tuple[int, str, types.SymbolInformation]] = []
        for state in list(ls.envs.values()):
            await ls.ensure_loaded(state)
            for file in ls.files_in_order(state):
                rev = file.revision_id
                if rev is None:
                    continue
                rank = _rank(query, rev, file.message or "")
                location = revision_location(ls, file)
                if rank is None or location is None:
                    continue
                name = f"{rev} {file.message}" if file.message else rev
                found.append((rank, rev, types.SymbolInformation(
                    name=name, kind=types.SymbolKind.Constant, location=location,
                    container_name=state.env.name)))
        found.sort(key=lambda item: (item[0], item[1]))
        return [symbol for _, _, symbol in found[:MAX_WORKSPACE_SYMBOLS]]


def _rank(query: str, rev: str, message: str) -> int | None:
    """0: the id starts with the query, 1: contains it, 2: the message has every word of
    it; ``None``: no match."""
    if not query or rev.lower().startswith(query):
        return 0
    if query in rev.lower():
        return 1
    if all(word in message.lower() for word in query.split()):
        return 2
    return None


def outline(file: RevisionFile, encoding: str) -> list[types.DocumentSymbol]:
    """The symbols of a revision file."""
    assert file.source is not None
    lines = file.source.text.split("\n")
    symbols: list[types.DocumentSymbol] = []
    for name in ("revision", "down_revision", "branch_labels", "depends_on"):
        value = file.metadata.get(name)
        if value is None:
            continue
        statement = Span(value.statement_line, 0, value.span.end_line, value.span.end_column)
        detail = ", ".join(value.items) if value.kind in ("str", "tuple") else (
            "None" if value.kind == "none" else "dynamic")
        symbols.append(types.DocumentSymbol(
            name=name, detail=detail, kind=types.SymbolKind.Constant,
            range=ranges.to_range(lines, statement, encoding),
            selection_range=ranges.to_range(lines, value.span, encoding)))
    for name, function in (("upgrade", file.upgrade), ("downgrade", file.downgrade)):
        if function is not None:
            symbols.append(_function_symbol(name, function, lines, encoding))
    symbols.sort(key=lambda s: (s.range.start.line, s.range.start.character))
    return symbols


def _function_symbol(name: str, function: Function, lines: list[str],
                     encoding: str) -> types.DocumentSymbol:
    first = function.name_span.line
    last = _block_end(lines, first)
    whole = Span(first, 0, last, len(lines[last - 1]))
    children = []
    for op in function.ops:
        if not first <= op.span.line <= last:
            continue  # an operation of a helper function the body calls
        prefix = "batch_op" if op.batch else "op"
        children.append(types.DocumentSymbol(
            name=f"{prefix}.{op.name}", detail=op.table or "", kind=types.SymbolKind.Method,
            range=ranges.to_range(lines, op.span, encoding),
            selection_range=ranges.to_range(lines, op.span, encoding)))
    return types.DocumentSymbol(
        name=f"{name}()", detail=f"{len(children)} operation{'s' if len(children) != 1 else ''}",
        kind=types.SymbolKind.Function, range=ranges.to_range(lines, whole, encoding),
        selection_range=ranges.to_range(lines, function.name_span, encoding),
        children=children)


def _block_end(lines: list[str], first: int) -> int:
    """The last line of the top-level block starting on line ``first``: before the next line
    that starts at column 0 (a comment there does not end it), trailing blank lines left out."""
    last = first
    for index in range(first, len(lines)):
        text = lines[index]
        if text and not text[0].isspace() and not text.startswith("#") and not (
                text.startswith((")", "]", "}"))):
            break
        if text.strip():
            last = index + 1
    return last


def flatten(symbols: list[types.DocumentSymbol], uri: str) -> list[types.SymbolInformation]:
    """Hierarchical symbols as flat ``SymbolInformation`` (for clients without hierarchy)."""
    out: list[types.SymbolInformation] = []
    for symbol in symbols:
        out.append(types.SymbolInformation(name=symbol.name, kind=symbol.kind,
                                           location=types.Location(uri=uri, range=symbol.range)))
        for child in symbol.children or ():
            out.append(types.SymbolInformation(
                name=child.name, kind=child.kind, container_name=symbol.name,
                location=types.Location(uri=uri, range=child.range)))
    return out
