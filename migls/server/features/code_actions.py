"""Code actions: a quick fix per fixable diagnostic, "Ignore MGxxx on this line" for every
diagnostic, and ``source.fixAll.migls`` (the safe fixes, as ``migls lint --fix`` applies
them), whose edit is computed when the client resolves it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from migls.engine import fix_files
from migls.fixes import Edit, Fix
from migls.ignore import ignore_fix
from migls.model import RevisionFile
from migls.rule import Diagnostic, LintRule
from migls.server import ranges
from migls.server.server import MiglsServer
from migls.server.workspace import fixes_for

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.migls"
KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL]
FIX_ALL_TITLE = "migls: fix all auto-fixable problems"


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether an action of ``kind`` answers a request for the kinds ``only`` (a kind
    includes its sub-kinds: ``source`` asks for ``source.fixAll.migls``)."""
    if only is None:
        return True
    return any(kind == str(k) or kind.startswith(f"{k}.") for k in only)


def text_edits(file: RevisionFile, edits: Sequence[Edit], encoding: str) -> list[types.TextEdit]:
    """migls edits (on the file's text) as LSP text edits, in the file's line endings."""
    assert file.source is not None
    lines = file.source.text.split("\n")
    newline = file.source.newline
    return [types.TextEdit(range=ranges.to_range(lines, edit.span, encoding),
                           new_text=edit.content.replace("\n", newline))
            for edit in edits]


def workspace_edit(ls: MiglsServer, uri: str, version: int | None,
                   edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    """A workspace edit of one document, versioned when the client supports it (so that an
    edit computed for an older text is refused rather than misapplied)."""
    if ls.document_changes:
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=list(edits))])
    return types.WorkspaceEdit(changes={uri: list(edits)})


def whole_text_edit(old: str, new: str, newline: str, encoding: str) -> types.TextEdit:
    """One edit turning ``old`` into ``new``, trimmed to the lines that differ."""
    before, after = _chunks(old), _chunks(new)
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(before), len(after)) - prefix
           and before[-1 - suffix] == after[-1 - suffix]):
        suffix += 1
    lines = old.split("\n")
    start = ranges.to_position(lines, prefix + 1, 0, encoding)
    end = ranges.to_position(lines, len(before) - suffix + 1, 0, encoding)
    middle = "".join(after[prefix:len(after) - suffix])
    return types.TextEdit(range=types.Range(start=start, end=end),
                          new_text=middle.replace("\n", newline))


def _chunks(text: str) -> list[str]:
    """Lines with their newline (the last one may have none)."""
    parts = text.split("\n")
    chunks = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        chunks.append(parts[-1])
    return chunks


def _overlaps(diagnostic: Diagnostic, start: tuple[int, int], end: tuple[int, int]) -> bool:
    span = diagnostic.span
    return (span.line, span.column) <= end and start <= (span.end_line, span.end_column)


def register(server: MiglsServer) -> None:
    """Attach the code action handlers."""

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=KINDS, resolve_provider=True))
    async def code_action(ls: MiglsServer, params: types.CodeActionParams
                          ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        path = ls.path_of(uri)
        fresh = await ls.fresh(path) if path is not None else None
        if path is None or fresh is None:
            return None
        state, file = fresh
        if file.source is None:
            return None
        document = ls.document(path)
        version = document.version if document is not None else None
        only = params.context.only
        diagnostics = await ls.diagnostics_now(path)
        lines = file.source.text.split("\n")
        start = ranges.from_position(lines, params.range.start, ls.encoding)
        end = ranges.from_position(lines, params.range.end, ls.encoding)
        actions: list[types.CodeAction] = []
        if _wanted(types.CodeActionKind.QuickFix, only):
            here = [d for d in diagnostics if _overlaps(d, start, end)]
            files = ls.files_in_order(state)
            found = await ls.run(fixes_for, files, state.settings, state.rules,
                                 state.lock_timeout_in_env, path, here) if here else []
            fixes: list[types.CodeAction] = []
            ignores: list[types.CodeAction] = []
            for diagnostic, options in zip(here, found):
                lsp = ls.lsp_diagnostics(path, [diagnostic])
                for rank, fix in enumerate(options):
                    action = _action(ls, uri, version, file, fix, lsp, diagnostic,
                                     ignoring=False)
                    action.is_preferred = fix.safe and rank == 0
                    fixes.append(action)
                if diagnostic.code == "MG103":
                    fixes.append(_merge_action(uri, lsp))
                ignore = ignore_fix(file, diagnostic)
                if ignore is not None:
                    ignores.append(_action(ls, uri, version, file, ignore, lsp, diagnostic,
                                           ignoring=True))
            fixes.sort(key=lambda action: not action.is_preferred)
            actions += fixes + ignores
        if (_wanted(FIX_ALL, only) and ls.client_settings.fix_all
                and any(_may_fix_safely(d, state.rules) for d in diagnostics)):
            action = types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL,
                                      data={"uri": uri, "version": version})
            if not ls.resolve_edits:
                action.edit = await _fix_all_edit(ls, uri)
            actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_code_action(ls: MiglsServer, action: types.CodeAction) -> types.CodeAction:
        data: Any = action.data
        if action.kind == FIX_ALL and isinstance(data, dict) and isinstance(data.get("uri"), str):
            action.edit = await _fix_all_edit(ls, data["uri"])
        return action


def _merge_action(uri: str, lsp: list[types.Diagnostic]) -> types.CodeAction:
    """MG103's other way out: a new merge revision of the heads (a new file, so a command —
    ``migls.mergeHeads``, the code of ``migls merge`` — rather than an edit)."""
    title = "Create a merge revision of the heads (MG103)"
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=lsp,
                            command=types.Command(title=title, command="migls.mergeHeads",
                                                  arguments=[{"uri": uri}]))


def _may_fix_safely(diagnostic: Diagnostic, rules: Sequence[type[LintRule]]) -> bool:
    """Whether ``source.fixAll`` may change something for this diagnostic (its rule has safe
    fixes, or the engine gave it one): decided without computing the fix."""
    if diagnostic.fix is not None:
        return diagnostic.fix.safe
    rule = next((r for r in rules if r.CODE == diagnostic.code), None)
    return rule is not None and rule.FIX_SAFETY == "safe"


def _action(ls: MiglsServer, uri: str, version: int | None, file: RevisionFile, fix: Fix,
            lsp: list[types.Diagnostic], diagnostic: Diagnostic, *,
            ignoring: bool) -> types.CodeAction:
    """A quick fix: the rule's fix (preferred when safe) or the ignore comment."""
    if ignoring:
        title = fix.title
    else:
        title = f"{fix.title} ({diagnostic.code}{'' if fix.safe else ', unsafe'})"
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix, diagnostics=lsp,
        is_preferred=fix.safe and not ignoring,
        edit=workspace_edit(ls, uri, version, text_edits(file, fix.edits, ls.encoding)))


async def _fix_all_edit(ls: MiglsServer, uri: str) -> types.WorkspaceEdit | None:
    """Every safe fix of the document, in rounds as ``migls lint --fix`` applies them."""
    path = ls.path_of(uri)
    fresh = await ls.fresh(path) if path is not None else None
    if path is None or fresh is None:
        return None
    state, file = fresh
    if file.source is None:
        return None
    document = ls.document(path)
    version = document.version if document is not None else None
    files = ls.files_in_order(state)
    result = await ls.run(lambda: fix_files(
        files, state.settings, rules=state.rules, report=lambda f: f.path == path,
        unsafe=False, lock_timeout_in_env=state.lock_timeout_in_env))
    new = result.texts.get(path)
    if new is None or new == file.source.text:
        return workspace_edit(ls, uri, version, [])
    edit = whole_text_edit(file.source.text, new, file.source.newline, ls.encoding)
    return workspace_edit(ls, uri, version, [edit])
