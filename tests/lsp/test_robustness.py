"""The server under stress and bad input: a burst of edits, a 300-revision workspace opened at
once, cancelled requests, unreadable files, a workspace without Alembic. Every request is
answered, the final state is published, the server never dies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_session import PATIENCE, Session, copy_blog, revision_text
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(d.code for d in diagnostics if isinstance(d.code, str))


async def test_a_burst_of_edits_publishes_the_final_state(client: LanguageClient,
                                                          tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    tags = session.open(session.revision("7f4a"))
    await session.diagnostics(tags, version=1)
    # Type a new parent id over the old one, one character per didChange, with requests
    # interleaved; halfway the file does not even parse.
    at = session.position_of(tags, '= "5d2f9a4c1e83"', 3)
    line = at.line
    start = at.character
    session.edit(tags, [types.TextEdit(range=types.Range(
        start=types.Position(line=line, character=start),
        end=types.Position(line=line, character=start + 13)), new_text="")])
    typed = '6e8b3d5f2a97"'
    pending = []
    version = 0
    for round_ in range(8):
        for index, char in enumerate(typed):
            position = types.Position(line=line, character=start + index)
            version = session.edit(tags, [types.TextEdit(
                range=types.Range(start=position, end=position), new_text=char)])
            if index == 5:
                pending.append(asyncio.ensure_future(session.hover(tags, line, start)))
        if round_ < 7:  # take it back and type it again
            session.edit(tags, [types.TextEdit(range=types.Range(
                start=types.Position(line=line, character=start),
                end=types.Position(line=line, character=start + len(typed))), new_text="")])
    header = session.position_of(tags, "Revises: 5d2f9a4c1e83", len("Revises: "))
    version = session.edit(tags, [types.TextEdit(range=types.Range(
        start=header, end=types.Position(line=header.line, character=header.character + 12)),
        new_text="6e8b3d5f2a97")])
    assert version > 100
    assert codes(await session.diagnostics(tags, version=version)) == []
    await asyncio.wait_for(asyncio.gather(*pending), PATIENCE)  # every request answered
    published = [p.version for p in client.published if p.uri == tags]
    assert published == sorted(published)  # never an older version after a newer one
    assert session.texts[tags] == session.path(tags).read_text(encoding="utf-8").replace(
        "5d2f9a4c1e83", "6e8b3d5f2a97")


async def test_a_300_revision_workspace_opened_at_once(one_client: LanguageClient,
                                                        tmp_path: Path) -> None:
    client = one_client
    root = tmp_path / "big"
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n",
                                      encoding="utf-8")
    ids = [f"{index:012x}" for index in range(1, 301)]
    for index, rev in enumerate(ids):
        parent = ids[index - 1] if index else None
        if index == 299:
            parent = ids[297]  # a second head at the end
        body = f'op.add_column("t{index % 7}", sa.Column("c{index}", sa.Text()))'
        (versions / f"{rev}_step_{index}.py").write_text(revision_text(
            rev, parent, body=body, downgrade=f'op.drop_column("t{index % 7}", "c{index}")',
            message=f"step {index}"), encoding="utf-8")
    session = await Session.start(client, "visual-studio-code", root)
    uris = [path.as_uri() for path in sorted(versions.glob("*.py"))]
    for uri in uris:
        session.open(uri)

    async def all_published() -> None:
        while not all(client.latest.get(uri) is not None and client.latest[uri].version == 1
                      for uri in uris):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(all_published(), PATIENCE)
    assert codes(await session.diagnostics(uris[-1], version=1)) == ["MG103", "MG312"]
    assert codes(await session.diagnostics(uris[-2], version=1)) == ["MG103", "MG312"]
    assert codes(await session.diagnostics(uris[100], version=1)) == ["MG312"]
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="step 150"))
    assert [s.name for s in symbols or ()] == [f"{ids[150]} step 150"]


async def test_cancelled_requests_are_answered(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    futures = []
    for index in range(20):
        msg_id = f"cancel-me-{index}"
        if index % 2:
            params: object = types.HoverParams(text_document=types.TextDocumentIdentifier(
                uri=comments), position=types.Position(line=14, character=20))
            method = types.TEXT_DOCUMENT_HOVER
        else:
            params = types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=comments),
                range=found[0].range, context=types.CodeActionContext(diagnostics=found))
            method = types.TEXT_DOCUMENT_CODE_ACTION
        futures.append(client.protocol.send_request(method, params, msg_id=msg_id))
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    outcomes = []
    for future in futures:
        try:
            outcomes.append(await asyncio.wait_for(asyncio.wrap_future(future), PATIENCE))
        except JsonRpcException as exc:  # answered: "request cancelled"
            outcomes.append(exc)
    assert len(outcomes) == 20
    # The server goes on as before.
    hover = await session.hover(comments, 14, 20)
    assert hover is not None


async def test_unreadable_and_binary_files(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    versions = root / "migrations" / "versions"
    (versions / "0000_gone.py").symlink_to(versions / "nowhere.py")
    (versions / "0000_binary.py").write_bytes(b"revision = 'x'\x00\x01")
    session = await Session.start(client, client.name, root)
    session.open(session.revision("6e8b"))
    shown = await session.message("cannot read the file")
    assert shown.type == types.MessageType.Warning
    gone = await session.diagnostics((versions / "0000_gone.py").as_uri())
    assert [d.code for d in gone] == ["MG001"]
    assert gone[0].message.endswith("cannot read the file: No such file or directory")
    binary = await session.diagnostics((versions / "0000_binary.py").as_uri())
    assert [d.code for d in binary] == ["MG001"]
    assert binary[0].message.endswith("cannot read the file: binary file (contains NUL bytes)")
    # The rest is still linted; an unreadable file may hide a revision, so the two heads are
    # not judged (the cause is reported, not its echoes).
    assert codes(await session.diagnostics(session.revision("6e8b"))) == ["MG108"]


async def test_a_workspace_without_alembic(client: LanguageClient, tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "main.py").write_text("revision = 'not a migration'\n", encoding="utf-8")
    session = await Session.start(client, client.name, root)
    uri = session.open((root / "main.py").as_uri())
    assert await session.hover(uri, 0, 0) is None
    assert await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
        context=types.CodeActionContext(diagnostics=[]))) is None
    assert await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) == []
    assert uri not in client.latest
    assert any("no Alembic environment" in m.message for m in client.log_messages)
