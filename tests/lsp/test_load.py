"""The server under load and under garbage (issue 9, items 2 and 4): a scripted client with a
fixed seed making hundreds of overlapping requests, edits, opens and closes, settings changes and
revision files deleted and created under it; then mutated texts sent as ``didChange``. Every
request is answered (a result, an error or a cancellation), the server survives, its final
diagnostics equal a fresh ``migls lint``, and its memory stays flat."""

from __future__ import annotations

import ast
import asyncio
import json
import random
import subprocess
import sys
import warnings
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from lsp_session import PATIENCE, VERSIONS, Session, copy_blog, revision_text, write_revision
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

SEED = 20240901
OPERATIONS = 400
GENERATED = 30
#: The RSS growth allowed between operation 100 and the end: a leak guard, not a budget.
RSS_GROWTH_MB = 50
HALF_TYPED = ("op.add_col", "op.add_column(\"users\", sa.Col", "def upgr", "revision = \"",
              "down_revision = (", "    op.", "\"\"\"unterminated", "import sa", "if True:\n")
#: Selections the client switches between (all valid selectors).
SETTINGS: list[dict[str, Any]] = [
    {"select": ["MG1"], "ignore": []}, {"ignore": ["MG103"]}, {"select": ["ALL"]},
    {"ignore": ["MG108", "MG2"]}, {"select": ["MG001", "MG103", "MG202"], "ignore": ["MG202"]},
    {},
]


def generated_id(index: int) -> str:
    return f"{index + 0xA000:04x}beefcafe"


def rss_kb(pid: int) -> int:
    """The resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def parses(text: str) -> bool:
    """Whether Python's own parser accepts the text."""
    try:
        with warnings.catch_warnings():  # invalid escapes in mutated strings
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def lint_on_disk(root: Path) -> dict[str, set[tuple[str, int]]]:
    """A fresh ``migls lint`` of the project: (code, 0-based line) per file."""
    done = subprocess.run([sys.executable, "-m", "migls", "lint", "--format", "json",
                           "--no-cache", "."], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    found: dict[str, set[tuple[str, int]]] = {}
    for item in json.loads(done.stdout):
        key = str((root / item["path"]).resolve())
        found.setdefault(key, set()).add((item["code"], item["line"] - 1))
    return found


def served(diagnostics: list[types.Diagnostic]) -> set[tuple[str, int]]:
    return {(str(d.code), d.range.start.line) for d in diagnostics}


class Load:
    """The scripted client's bookkeeping: requests in flight and what happened."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.pending: list[Awaitable[Any]] = []
        self.counts = {"requests": 0, "answered": 0, "errors": 0, "cancelled": 0,
                       "edits": 0, "opens": 0, "closes": 0, "settings": 0, "created": 0,
                       "deleted": 0}
        self.next_id = 0

    def position(self, uri: str) -> types.Position:
        lines = self.session.texts[uri].split("\n")
        line = self.rng.randrange(len(lines) + 2)  # sometimes past the end
        width = len(lines[line]) if line < len(lines) else 3
        return types.Position(line=line, character=self.rng.randrange(width + 3))

    def request(self, uri: str) -> None:
        """One request of a random kind, sent now and awaited later (some cancelled)."""
        document = types.TextDocumentIdentifier(uri=uri)
        at = self.position(uri)
        kind = self.rng.choice(["hover", "definition", "completion", "codeAction",
                                "documentSymbol", "codeLens"])
        method, params = {
            "hover": (types.TEXT_DOCUMENT_HOVER, types.HoverParams(
                text_document=document, position=at)),
            "definition": (types.TEXT_DOCUMENT_DEFINITION, types.DefinitionParams(
                text_document=document, position=at)),
            "completion": (types.TEXT_DOCUMENT_COMPLETION, types.CompletionParams(
                text_document=document, position=at)),
            "codeAction": (types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionParams(
                text_document=document, range=types.Range(start=at, end=at),
                context=types.CodeActionContext(
                    diagnostics=list(self.session.client.diagnostics.get(uri, []))))),
            "documentSymbol": (types.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
                               types.DocumentSymbolParams(text_document=document)),
            "codeLens": (types.TEXT_DOCUMENT_CODE_LENS,
                         types.CodeLensParams(text_document=document)),
        }[kind]
        self.next_id += 1
        msg_id = f"load-{self.next_id}"
        future = self.session.client.protocol.send_request(method, params, msg_id=msg_id)
        self.pending.append(asyncio.wrap_future(future))
        self.counts["requests"] += 1
        if self.rng.random() < 0.1:
            self.session.client.protocol.notify(types.CANCEL_REQUEST,
                                                types.CancelParams(id=msg_id))

    async def settle_requests(self) -> None:
        """Every request in flight is answered: a result or a JSON-RPC error."""
        outcomes = await asyncio.wait_for(
            asyncio.gather(*self.pending, return_exceptions=True), PATIENCE)
        for outcome in outcomes:
            if isinstance(outcome, JsonRpcException):
                key = "cancelled" if "cancel" in str(outcome).lower() else "errors"
                self.counts[key] += 1
            else:
                assert not isinstance(outcome, BaseException), f"not an answer: {outcome!r}"
                self.counts["answered"] += 1
        self.pending = []

    def edit(self, uri: str) -> None:
        """Half-typed text inserted, or a line deleted, or a line retyped in pieces."""
        text = self.session.texts[uri]
        lines = text.split("\n")
        line = self.rng.randrange(len(lines))
        choice = self.rng.random()
        if choice < 0.5:
            at = types.Position(line=line, character=self.rng.randrange(len(lines[line]) + 1))
            typed = self.rng.choice(HALF_TYPED)
            edits = [types.TextEdit(range=types.Range(start=at, end=at), new_text=typed)]
        elif choice < 0.8 and len(lines) > 1:
            edits = [types.TextEdit(range=types.Range(
                start=types.Position(line=line, character=0),
                end=types.Position(line=line + 1, character=0)), new_text="")]
        else:  # a line typed again character by character, in one didChange each
            original = lines[line]
            self.session.edit(uri, [types.TextEdit(range=types.Range(
                start=types.Position(line=line, character=0),
                end=types.Position(line=line, character=len(original))), new_text="")])
            for index, char in enumerate(original[:40]):
                at = types.Position(line=line, character=index)
                self.session.edit(uri, [types.TextEdit(range=types.Range(start=at, end=at),
                                                       new_text=char)])
            self.counts["edits"] += 1 + min(len(original), 40)
            return
        self.session.edit(uri, edits)
        self.counts["edits"] += 1


def watched(session: Session, path: Path, kind: types.FileChangeType) -> None:
    session.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=path.as_uri(), type=kind)]))


async def test_the_server_under_load(one_client: LanguageClient, tmp_path: Path) -> None:
    client = one_client
    rng = random.Random(SEED)
    root = copy_blog(tmp_path)
    versions = root / VERSIONS
    parent = "7f4a6c2e9b18"
    for index in range(GENERATED):
        rev = generated_id(index)
        body = f'op.add_column("users", sa.Column("c{index}", sa.Text()))'
        write_revision(root, f"{rev}_gen_{index}.py", revision_text(
            rev, parent, body=body, downgrade=f'op.drop_column("users", "c{index}")',
            message=f"gen {index}"))
        parent = rev
    session = await Session.start(client, "visual-studio-code", root)
    pid = client._server.pid  # type: ignore[union-attr]  # pygls' server subprocess
    load = Load(session, rng)
    created = GENERATED
    rss_start = 0

    for step in range(OPERATIONS):
        if step == 100:
            await load.settle_requests()
            rss_start = rss_kb(pid)
        files = sorted(versions.glob("*.py"))
        open_uris = sorted(session.texts)
        roll = rng.random()
        if roll < 0.35 and open_uris:
            for _ in range(rng.randrange(2, 8)):
                load.request(rng.choice(open_uris))
        elif roll < 0.6 and open_uris:
            load.edit(rng.choice(open_uris))
        elif roll < 0.72:
            closed = [f for f in files if f.as_uri() not in session.texts]
            if closed:
                session.open(rng.choice(closed).as_uri())
                load.counts["opens"] += 1
        elif roll < 0.8 and len(open_uris) > 1:
            uri = rng.choice(open_uris)
            client.text_document_did_close(types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=uri)))
            del session.texts[uri], session.versions[uri]
            load.counts["closes"] += 1
        elif roll < 0.86:
            settings = rng.choice(SETTINGS)
            client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
                settings={"migls": settings or {"ignore": []}}))
            load.counts["settings"] += 1
        elif roll < 0.93:
            closed = [f for f in files if f.as_uri() not in session.texts]
            if closed:
                gone = rng.choice(closed)
                gone.unlink()
                watched(session, gone, types.FileChangeType.Deleted)
                load.counts["deleted"] += 1
        else:
            rev = generated_id(created)
            parent = rng.choice([generated_id(rng.randrange(created)), "7f4a6c2e9b18"])
            new = write_revision(root, f"{rev}_gen_{created}.py", revision_text(
                rev, parent, body=f'op.drop_column("users", "c{created}")',
                message=f"gen {created}"))
            created += 1
            watched(session, new, types.FileChangeType.Created)
            load.counts["created"] += 1
        if len(load.pending) >= 40:
            await load.settle_requests()
    await load.settle_requests()

    # Settle: the project's own settings again, every buffer saved to disk.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"migls": {"ignore": []}}))
    for uri, text in session.texts.items():
        session.path(uri).write_text(text, encoding="utf-8")
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
    expected = lint_on_disk(root)

    def agree() -> bool:
        for uri in session.texts:
            latest = client.latest.get(uri)  # type: ignore[attr-defined]
            want = expected.get(str(session.path(uri).resolve()), set())
            if latest is None or served(latest.diagnostics) != want:
                return False
        return True

    async def until_agreed() -> None:
        while not agree():
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    try:
        await asyncio.wait_for(until_agreed(), PATIENCE)
    except asyncio.TimeoutError:
        differences = {session.path(uri).name: (
            sorted(served(client.latest[uri].diagnostics)) if uri in client.latest else None,
            sorted(expected.get(str(session.path(uri).resolve()), set())))
            for uri in session.texts}
        raise AssertionError(f"server (left) and lint (right) disagree: {differences}")
    compared = sum(len(expected.get(str(session.path(uri).resolve()), ())) for uri in session.texts)
    assert compared > 0  # the comparison is not between two empty lists
    # The server still answers, and is alive.
    any_uri = min(session.texts)
    await asyncio.wait_for(client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=any_uri))),
        PATIENCE)
    assert client._server.returncode is None  # type: ignore[union-attr]
    rss_end = rss_kb(pid)
    print(f"\nload: {load.counts}, open at the end: {len(session.texts)}, "
          f"diagnostics compared with lint: {compared}, "
          f"RSS after 100 operations {rss_start // 1024} MB, at the end {rss_end // 1024} MB")
    assert load.counts["requests"] == (load.counts["answered"] + load.counts["errors"]
                                       + load.counts["cancelled"])
    assert rss_end < rss_start + RSS_GROWTH_MB * 1024


def mutations(base: str, rng: random.Random, count: int) -> list[str]:
    """Mutated revision texts: truncations, deleted lines, swapped tokens, random bytes,
    deep nesting, enormous literals."""
    lines = base.split("\n")
    found: list[str] = ["(" * 5000, "[" * 3000 + "]" * 3000,
                        base + "\nx = " + "(" * 1000 + "1" + ")" * 1000 + "\n",
                        base + '\nBIG = "' + "a" * 1_000_000 + '"\n',
                        base.replace("pass", "x = " + "1 + " * 20000 + "1", 1),
                        "", "\n" * 5000, "\t\x0c\r\n\r", "def upgrade(:\n"]
    while len(found) < count:
        kind = rng.randrange(4)
        if kind == 0:
            found.append(base[:rng.randrange(len(base))])
        elif kind == 1:
            kept = list(lines)
            for _ in range(rng.randrange(1, 4)):
                del kept[rng.randrange(len(kept))]
            found.append("\n".join(kept))
        elif kind == 2:
            tokens = base.split(" ")
            first, second = rng.randrange(len(tokens)), rng.randrange(len(tokens))
            tokens[first], tokens[second] = tokens[second], tokens[first]
            found.append(" ".join(tokens))
        else:
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            at = rng.randrange(len(base))
            found.append(base[:at] + noise.decode("latin-1") + base[at:])
    return found


async def test_fuzzed_texts_through_the_server(one_client: LanguageClient,
                                               tmp_path: Path) -> None:
    client = one_client
    root = copy_blog(tmp_path)
    session = await Session.start(client, "visual-studio-code", root)
    uri = session.open(session.revision("7f4a"))
    base = session.texts[uri]
    await session.diagnostics(uri, version=1)
    inputs = mutations(base, random.Random(SEED), 60)
    unparsable = 0
    for number, text in enumerate(inputs):
        version = session.replace_text(uri, text)
        lines = text.split("\n")
        last = types.Position(line=len(lines) - 1, character=min(len(lines[-1]), 10))
        for request in (session.hover(uri, last.line, last.character),
                        client.text_document_document_symbol_async(types.DocumentSymbolParams(
                            text_document=types.TextDocumentIdentifier(uri=uri)))):
            try:
                await asyncio.wait_for(request, PATIENCE)
            except JsonRpcException:
                pass  # an answer, as an error
        found = await session.diagnostics(uri, version=version)
        if not parses(text):
            unparsable += 1
            mg001 = [d for d in found if d.code == "MG001"]
            assert mg001, (number, text[:200], found)
            assert all(d.range.start.line <= d.range.end.line for d in mg001), (number, mg001)
    assert client._server.returncode is None  # type: ignore[union-attr]
    print(f"\nfuzz: {len(inputs)} inputs through the server, {unparsable} unparsable")
