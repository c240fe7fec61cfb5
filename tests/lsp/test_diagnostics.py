"""Diagnostics over LSP: on open, on change (debounced, never stale), on save; graph findings
on the files they belong to and withdrawn everywhere when fixed, also when files change on
disk; positions in the negotiated encoding; pull diagnostics where the client pulls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_session import (
    PATIENCE,
    Session,
    copy_blog,
    pull_capabilities,
    revision_text,
    units,
    write_revision,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

TAGS_PARENT = 'down_revision: Union[str, Sequence[str], None] = "5d2f9a4c1e83"'
TAGS_REBASED = 'down_revision: Union[str, Sequence[str], None] = "6e8b3d5f2a97"'


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(d.code for d in diagnostics if isinstance(d.code, str))


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
    assert "one of several heads" in heads.message
    publish = client.capabilities.text_document.publish_diagnostics
    if publish.code_description_support is False:  # Emacs says it would not show it
        assert heads.code_description is None
    else:
        assert heads.code_description is not None
        assert heads.code_description.href.endswith("/rules/docs/MG103.md")
    # The other head and the empty downgrade are published on their own (closed) files.
    assert codes(await session.diagnostics(session.revision("7f4a"))) == ["MG103"]
    assert codes(await session.diagnostics(session.revision("3a9d"))) == ["MG202"]
    # An ordinary Python file of the workspace is left alone, and requests on it answered.
    script = session.open(session.uri("migrations/env.py"))
    assert await session.hover(script, 0, 0) is None
    assert script not in client.latest


async def test_an_edit_that_fixes_a_graph_finding_clears_it_everywhere(
        client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    tags = session.open(session.revision("7f4a"))
    comments = session.revision("6e8b")
    assert codes(await session.diagnostics(tags, version=1)) == ["MG103"]
    assert "MG103" in codes(await session.diagnostics(comments))
    text = session.texts[tags].replace(TAGS_PARENT, TAGS_REBASED).replace(
        "Revises: 5d2f9a4c1e83", "Revises: 6e8b3d5f2a97")
    version = session.replace_text(tags, text)
    assert codes(await session.diagnostics(tags, version=version)) == []
    assert codes(await session.diagnostics(comments, where=lambda d: "MG103" not in codes(d))
                 ) == ["MG108"]
    # Undo: both heads are back, on both files.
    version = session.replace_text(tags, session.path(tags).read_text(encoding="utf-8"))
    assert codes(await session.diagnostics(tags, version=version)) == ["MG103"]
    await session.diagnostics(comments, where=lambda d: "MG103" in codes(d))


async def test_a_half_typed_line_never_crashes_nor_leaves_stale_results(
        client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    tags = session.open(session.revision("7f4a"))
    await session.diagnostics(tags, version=1)
    original = session.texts[tags]
    half = original.replace(TAGS_PARENT, 'down_revision: Union[str, Sequence[str], None] = "6e8')
    version = session.replace_text(tags, half)
    broken = await session.diagnostics(tags, version=version)
    assert codes(broken) == ["MG001"]
    # Requests on the broken text are answered.
    await session.hover(tags, 15, 60)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=tags)))
    assert symbols is not None
    done = half.replace('"6e8', '"6e8b3d5f2a97"').replace("Revises: 5d2f9a4c1e83",
                                                           "Revises: 6e8b3d5f2a97")
    version = session.replace_text(tags, done)
    assert codes(await session.diagnostics(tags, version=version)) == []


async def test_save_publishes_the_saved_version(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    users = session.open(session.revision("3a9d"))
    assert codes(await session.diagnostics(users, version=1)) == ["MG202"]
    text = session.texts[users].replace("    pass\n", '    op.drop_column("users", "display_name")\n')
    version = session.replace_text(users, text)
    session.path(users).write_text(text, encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=users), text=text))
    assert codes(await session.diagnostics(users, version=version)) == []


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
async def test_a_buffer_with_other_line_breaks_is_read_as_python_reads_it(
        client: LanguageClient, tmp_path: Path, newline: str) -> None:
    # Python ends a line at CRLF and at a lone CR too (old Mac files, some editors' buffers):
    # the findings must stand on the same lines as with LF.
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.revision("6e8b")
    text = session.path(comments).read_text(encoding="utf-8")
    session.open(comments, text.replace("\n", newline))
    found = await session.diagnostics(comments, version=1)
    assert sorted((d.code, d.range.start.line, d.range.start.character) for d in found) == [
        ("MG103", 14, 16), ("MG108", 3, 9)]


async def test_files_created_renamed_and_deleted_outside_the_editor(
        client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    dynamic = client.capabilities.workspace.did_change_watched_files
    comments = session.open(session.revision("6e8b"))
    tags = session.revision("7f4a")
    assert "MG103" in codes(await session.diagnostics(comments, version=1))
    assert codes(await session.diagnostics(tags)) == ["MG103"]  # the whole history is out
    if dynamic is not None and dynamic.dynamic_registration:
        watched = [r for r in client.registrations
                   if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        options = watched[0].register_options  # as the client received it: JSON
        assert {w["globPattern"] for w in options["watchers"]} >= {
            "**/*.py", "**/alembic.ini", "**/pyproject.toml", "**/migls.toml"}
    else:
        assert not client.registrations

    def events(*changes: tuple[Path, types.FileChangeType]) -> None:
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=kind) for path, kind in changes]))

    merge = write_revision(root, "9c0d1e2f3a4b_merge.py", revision_text(
        "9c0d1e2f3a4b", "6e8b3d5f2a97,7f4a6c2e9b18", message="merge comments and tags"))
    events((merge, types.FileChangeType.Created))
    await session.diagnostics(tags, where=lambda d: codes(d) == [])
    assert codes(await session.diagnostics(comments, where=lambda d: "MG103" not in codes(d))
                 ) == ["MG108"]
    renamed = merge.with_name("9c0d1e2f3a4b_merge_heads.py")
    merge.rename(renamed)
    events((merge, types.FileChangeType.Deleted), (renamed, types.FileChangeType.Created))
    # Still merged: a rename changes no finding; then the merge is deleted: two heads again.
    renamed.unlink()
    events((renamed, types.FileChangeType.Deleted))
    await session.diagnostics(tags, where=lambda d: codes(d) == ["MG103"])
    await session.diagnostics(comments, where=lambda d: "MG103" in codes(d))


async def test_positions_in_the_negotiated_encoding(client: LanguageClient,
                                                    tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    body = ("op.execute(\"UPDATE users SET bio = '\U0001F600 ok'\"); "
            'op.drop_column("users", "display_name")')
    path = write_revision(root, "8d9e0f1a2b3c_emoji.py", revision_text(
        "8d9e0f1a2b3c", "7f4a6c2e9b18", body=body, downgrade="raise NotImplementedError"))
    session = await Session.start(client, client.name, root)
    offered = (client.capabilities.general.position_encodings
               if client.capabilities.general else None) or []
    expected = "utf-32" if "utf-32" in offered else "utf-16"
    assert session.encoding == expected
    uri = session.open(path.as_uri())
    found = await session.diagnostics(uri, version=1)
    drop = next(d for d in found if d.code == "MG401")
    line = session.texts[uri].split("\n")[drop.range.start.line]
    column = line.index('"display_name"')  # code points
    assert drop.range.start.character == units(line[:column], expected)
    assert drop.range.end.character == units(line[:column + len('"display_name"')], expected)
    if expected == "utf-16":
        assert drop.range.start.character == column + 1  # the emoji is two UTF-16 units


async def test_pull_diagnostics_where_the_client_pulls(one_client: LanguageClient,
                                                       tmp_path: Path) -> None:
    client = one_client
    refreshed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    client.on_refresh = refreshed  # type: ignore[attr-defined]
    session = await Session.start(client, "visual-studio-code", copy_blog(tmp_path),
                                  capabilities=pull_capabilities())
    assert session.result.capabilities.diagnostic_provider is not None
    comments = session.open(session.revision("6e8b"))

    async def pull(uri: str, previous: str | None = None) -> types.DocumentDiagnosticReport:
        return await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous))

    report = await pull(comments)
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert codes(list(report.items)) == ["MG103", "MG108"]
    again = await pull(comments, report.result_id)
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    # Closed files are still pushed (nothing pulls them).
    assert codes(await session.diagnostics(session.revision("7f4a"))) == ["MG103"]
    # Another document's edit changes this one's findings: the client is asked to pull again.
    tags = session.open(session.revision("7f4a"))
    text = session.texts[tags].replace(TAGS_PARENT, TAGS_REBASED).replace(
        "Revises: 5d2f9a4c1e83", "Revises: 6e8b3d5f2a97")
    session.replace_text(tags, text)
    await asyncio.wait_for(refreshed, PATIENCE)
    changed = await pull(comments, report.result_id)
    assert isinstance(changed, types.RelatedFullDocumentDiagnosticReport)
    assert codes(list(changed.items)) == ["MG108"]
    assert comments not in client.latest  # an open document is never pushed in pull mode
