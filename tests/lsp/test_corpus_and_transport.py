"""The server on the largest real history (superset, 344 revisions: the same findings as
``migls lint``), and over TCP (``migls server --tcp``)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import ensure_corpus
from lsp_session import PATIENCE, REPOSITORY, Session, copy_blog, make_client, offset
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio


@pytest.mark.corpus
async def test_superset_history_gives_the_findings_of_migls_lint(one_client: LanguageClient,
                                                                 tmp_path: Path) -> None:
    client = one_client
    root = tmp_path / "superset"
    shutil.copytree(ensure_corpus()["superset"], root)
    cli = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "migls", "lint", "--format", "json", "--exit-zero", str(root)],
        capture_output=True, text=True, check=True, cwd=REPOSITORY)
    expected: dict[str, list[tuple[str, int, int, int, int]]] = {}
    for item in json.loads(cli.stdout):
        path = (REPOSITORY / item["path"]).resolve()
        expected.setdefault(path.as_uri(), []).append((
            item["code"], item["line"] - 1, item["column"] - 1, item["end_line"] - 1,
            item["end_column"] - 1))
    assert len(expected) > 100
    session = await Session.start(client, "visual-studio-code", root)
    versions = root / "migrations" / "versions"
    # Opening the package marker of the versions directory lints nothing (not a revision)...
    marker = session.open((versions / "__init__.py").as_uri())
    assert await session.hover(marker, 0, 0) is None
    # ...opening a revision lints the whole history.
    opened = session.open(max(versions.glob("2*.py")).as_uri())
    await session.diagnostics(opened, version=1)

    async def everything() -> None:
        while not all(uri in client.latest for uri in expected):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(everything(), PATIENCE)
    for uri, wanted in expected.items():
        text = session.path(uri).read_text(encoding="utf-8")
        got = []
        for d in client.latest[uri].diagnostics:
            start, end = offset(text, d.range.start, "utf-16"), offset(text, d.range.end, "utf-16")
            got.append((d.code, d.range.start.line, start - (text.rfind("\n", 0, start) + 1),
                        d.range.end.line, end - (text.rfind("\n", 0, end) + 1)))
        assert sorted(got) == sorted(wanted), uri
    published = {uri for uri, params in client.latest.items() if params.diagnostics}
    assert published == set(expected)


async def test_over_tcp(tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "migls", "server", "--tcp", "0", stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), PATIENCE)).decode()
        assert line.startswith("migls: listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        client = make_client()
        await client.start_tcp("127.0.0.1", port)
        session = await Session.start(client, "neovim", root)
        comments = session.open(session.revision("6e8b"))
        found = await session.diagnostics(comments, version=1)
        assert sorted(d.code for d in found if isinstance(d.code, str)) == ["MG103", "MG108"]
        await client.shutdown_async(None)
        client.exit(None)
        assert await asyncio.wait_for(process.wait(), PATIENCE) == 0
        await client.stop()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
