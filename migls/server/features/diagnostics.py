"""Diagnostics as LSP sends them, and pull diagnostics (``textDocument/diagnostic``)."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from migls.rule import Diagnostic, Severity
from migls.server import ranges
from migls.server.server import MiglsServer, result_id

SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def to_lsp(diagnostic: Diagnostic, lines: Sequence[str], encoding: str, tag_support: bool,
           code_description: bool) -> types.Diagnostic:
    """One migls diagnostic as an LSP diagnostic of the text split into ``lines``."""
    return types.Diagnostic(
        range=ranges.to_range(lines, diagnostic.span, encoding),
        message=diagnostic.message,
        severity=SEVERITIES[diagnostic.severity],
        code=diagnostic.code,
        code_description=types.CodeDescription(href=diagnostic.url) if code_description else None,
        source="migls",
        tags=[types.DiagnosticTag.Unnecessary] if diagnostic.unnecessary and tag_support else None,
    )


def register(server: MiglsServer) -> None:
    """Push diagnostics need no handler; pull is registered at initialize (``register_pull``)
    when the client supports it."""


def register_pull(server: MiglsServer) -> None:
    """Answer ``textDocument/diagnostic`` (called during initialize, so that the capability
    is only announced to clients that pull)."""

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
        identifier="migls", inter_file_dependencies=True, workspace_diagnostics=False))
    async def document_diagnostic(ls: MiglsServer, params: types.DocumentDiagnosticParams
                                  ) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        path = ls.path_of(uri)
        found = await ls.diagnostics_now(path) if path is not None else []
        current = result_id(found)
        ls.served[uri] = current
        if params.previous_result_id == current:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=current)
        items = ls.lsp_diagnostics(path, found) if path is not None else []
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=current)
