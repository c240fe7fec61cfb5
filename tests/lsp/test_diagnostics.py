"""Diagnostics over LSP: on open, on change (debounced, never stale), on save; graph findings
on the files they belong to and withdrawn everywhere when fixed; positions in the
negotiated encoding; pull diagnostics where the client pulls."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_session import Session, copy_blog

pytestmark = pytest.mark.asyncio


async def test_open_publishes_file_and_graph_findings(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    assert sorted((d.code, d.range.start.line, d.range.start.character) for d in found) == [
        ("MG103", 14, 16), ("MG108", 3, 9)]
    heads = next(d for d in found if d.code == "MG103")
    assert heads.source == "migls"
    assert heads.severity == types.DiagnosticSeverity.Error
    publish = client.capabilities.text_document.publish_diagnostics
    if publish.code_description_support is False:  # Emacs says it would not show it
        assert heads.code_description is None
    else:
        assert heads.code_description is not None
        assert heads.code_description.href.endswith("/rules/docs/MG103.md")
    # The other head and the empty downgrade are published on their own (closed) files.
    tags = await session.diagnostics(session.revision("7f4a"))
    assert [d.code for d in tags] == ["MG103"]
    display = await session.diagnostics(session.revision("3a9d"))
    assert [d.code for d in display] == ["MG202"]
