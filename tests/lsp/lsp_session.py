"""Driving ``migls server`` as a real LSP client would, through pytest-lsp: the recorded
capabilities of VS Code, Neovim and Emacs, real Alembic projects on disk, and waits on the
server's notifications (never sleeps)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

#: The clients whose capabilities pytest-lsp records: every protocol test runs as each.
CLIENTS = ("visual-studio-code", "neovim@v0.7.0", "neovim", "emacs")
SERVER_COMMAND = [sys.executable, "-m", "migls", "server"]
REPOSITORY = Path(__file__).resolve().parents[2]
BLOG = REPOSITORY / "examples" / "blog"
VERSIONS = "migrations/versions"
#: A safety net for a server that never answers (the test then fails instead of hanging);
#: not a timing assertion: every wait ends as soon as the awaited message arrives.
PATIENCE = 60.0


def make_client() -> LanguageClient:
    """pytest-lsp's client, also recording every ``publishDiagnostics`` (with its version),
    capability registrations and refresh requests."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.latest = {}  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    client.code_lens_refreshes = 0  # type: ignore[attr-defined]

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.published.append(params)  # type: ignore[attr-defined]
        ls.latest[params.uri] = params  # type: ignore[attr-defined]

    def register_capability(ls: LanguageClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    def unregister_capability(ls: LanguageClient, params: types.UnregistrationParams) -> None:
        return None

    def code_lens_refresh(ls: LanguageClient, params: None) -> None:
        ls.code_lens_refreshes += 1  # type: ignore[attr-defined]

    def diagnostic_refresh(ls: LanguageClient, params: None) -> None:
        ls.diagnostic_refresh_count += 1
        waiting = getattr(ls, "on_refresh", None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    features[types.CLIENT_UNREGISTER_CAPABILITY] = unregister_capability
    features[types.WORKSPACE_CODE_LENS_REFRESH] = code_lens_refresh
    features[types.WORKSPACE_DIAGNOSTIC_REFRESH] = diagnostic_refresh
    register_lsp_features(client, features)
    return client


def copy_blog(tmp_path: Path) -> Path:
    """A copy of ``examples/blog`` to change freely."""
    root = tmp_path / "blog project"  # a space: URIs are percent-encoded
    shutil.copytree(BLOG, root)
    return root


def pull_capabilities() -> types.ClientCapabilities:
    """VS Code's recorded capabilities plus pull diagnostics with refresh, as current VS Code
    sends them (the recorded 1.65 predates them)."""
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.text_document is not None and capabilities.workspace is not None
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=False)
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True)
    return capabilities


class Session:
    """One initialized client/server pair working on a project directory."""

    def __init__(self, client: LanguageClient, name: str, root: Path,
                 result: types.InitializeResult) -> None:
        self.client = client
        self.name = name
        self.root = root
        self.result = result
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    @classmethod
    async def start(cls, client: LanguageClient, name: str, root: Path, options: Any = None,
                    capabilities: types.ClientCapabilities | None = None) -> Session:
        """Initialize the server on ``root`` as the client ``name``."""
        result = await client.initialize_session(types.InitializeParams(
            capabilities=capabilities or client_capabilities(name),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options))
        return cls(client, name, root, result)

    @property
    def encoding(self) -> str:
        """The negotiated position encoding."""
        value = self.result.capabilities.position_encoding
        return str(getattr(value, "value", value) or "utf-16")

    def uri(self, relative: str) -> str:
        """The URI of a file of the project."""
        return (self.root / relative).as_uri()

    def revision(self, name: str) -> str:
        """The URI of a revision file whose name starts with ``name``."""
        found = sorted((self.root / VERSIONS).glob(f"{name}*.py"))
        assert len(found) == 1, (name, found)
        return found[0].as_uri()

    def path(self, uri: str) -> Path:
        """The file of a URI."""
        assert uri.startswith("file://")
        return Path(unquote(uri[len("file://"):]))

    def open(self, uri: str, text: str | None = None) -> str:
        """``didOpen`` with the file's text (or ``text``)."""
        if text is None:
            text = self.path(uri).read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=text)))
        return uri

    def replace_text(self, uri: str, text: str) -> int:
        """``didChange`` with the whole new text; returns the new version."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return self.versions[uri]

    def edit(self, uri: str, edits: Sequence[types.TextEdit]) -> int:
        """``didChange`` with incremental changes (applied here too); returns the version."""
        self.versions[uri] += 1
        changes = []
        for edit in edits:  # each change applies to the result of the previous one
            self.texts[uri] = apply_edits(self.texts[uri], [edit], self.encoding)
            changes.append(types.TextDocumentContentChangePartial(range=edit.range,
                                                                  text=edit.new_text))
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=changes))
        return self.versions[uri]

    def apply(self, edit: types.WorkspaceEdit | None) -> dict[str, int]:
        """Apply a workspace edit to the open documents as an editor does (``didChange``)."""
        assert edit is not None
        by_uri: dict[str, list[types.TextEdit]] = {}
        for uri, edits in (edit.changes or {}).items():
            by_uri.setdefault(uri, []).extend(edits)
        for change in edit.document_changes or ():
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            assert change.text_document.version in (None, self.versions[uri])
            by_uri.setdefault(uri, []).extend(
                e for e in change.edits if isinstance(e, types.TextEdit))
        versions = {}
        for uri, edits in by_uri.items():
            new = apply_edits(self.texts[uri], edits, self.encoding)
            versions[uri] = self.replace_text(uri, new)
        return versions

    async def diagnostics(self, uri: str, version: int | None = None,
                          where: Callable[[list[types.Diagnostic]], bool] = lambda d: True,
                          ) -> list[types.Diagnostic]:
        """The next (or current) diagnostics published for ``uri`` at ``version`` that
        satisfy ``where``."""
        async def wait() -> list[types.Diagnostic]:
            while True:
                found = self.client.latest.get(uri)  # type: ignore[attr-defined]
                if found is not None and (version is None or found.version == version):
                    diagnostics = list(found.diagnostics)
                    if where(diagnostics):
                        return diagnostics
                await self.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return await asyncio.wait_for(wait(), PATIENCE)

    async def message(self, contains: str) -> types.ShowMessageParams:
        """A ``window/showMessage`` containing ``contains`` (already shown or the next)."""
        async def wait() -> types.ShowMessageParams:
            while True:
                for shown in self.client.messages:
                    if contains in shown.message:
                        return shown
                await self.client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        return await asyncio.wait_for(wait(), PATIENCE)

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        """``textDocument/hover`` at a 0-based position."""
        return await self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character)))

    async def code_actions(self, uri: str, diagnostics: list[types.Diagnostic],
                           range_: types.Range | None = None,
                           only: list[str] | None = None) -> list[types.CodeAction]:
        """``textDocument/codeAction`` for a range (by default the first diagnostic's)."""
        target = range_ or diagnostics[0].range
        found = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=target,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only)))
        return [a for a in found or () if isinstance(a, types.CodeAction)]

    def position_of(self, uri: str, needle: str, offset: int = 0,
                    occurrence: int = 0) -> types.Position:
        """The position (in the negotiated encoding) of ``needle`` (+ ``offset`` code points)
        in the open document or the file."""
        text = self.texts.get(uri) or self.path(uri).read_text(encoding="utf-8")
        index = -1
        for _ in range(occurrence + 1):
            index = text.index(needle, index + 1)
        index += offset
        line = text.count("\n", 0, index)
        start = text.rfind("\n", 0, index) + 1
        return types.Position(line=line, character=units(text[start:index], self.encoding))


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the code units of ``encoding``."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def offset(text: str, position: types.Position, encoding: str) -> int:
    """The string index of an LSP position (independent of the server's conversion)."""
    lines = text.split("\n")
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) + 1 for line in lines[:position.line])
    line = lines[position.line]
    count = 0
    for index, char in enumerate(line):
        if count >= position.character:
            return start + index
        count += units(char, encoding)
    return start + len(line)


def apply_edits(text: str, edits: Sequence[types.TextEdit], encoding: str) -> str:
    """Apply non-overlapping LSP edits (positions in the original text), as a client does."""
    spans = sorted(((offset(text, e.range.start, encoding), offset(text, e.range.end, encoding),
                     e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def write_revision(root: Path, name: str, text: str) -> Path:
    """A revision file written into the project's versions directory."""
    path = root / VERSIONS / name
    path.write_text(text, encoding="utf-8")
    return path


def revision_text(rev: str, parent: str | None, body: str = "pass", downgrade: str = "pass",
                  message: str = "a change") -> str:
    """A revision file as Alembic's template writes it (header, metadata, two functions)."""
    parents = "None" if parent is None else (
        f'"{parent}"' if "," not in parent else
        "(" + ", ".join(f'"{p.strip()}"' for p in parent.split(",")) + ")")
    revises = "" if parent is None else parent.replace(",", ", ").replace("  ", " ")
    return (f'"""{message}\n\nRevision ID: {rev}\nRevises: {revises}\n'
            f'Create Date: 2024-03-01 10:00:00.000000\n\n"""\n'
            "from alembic import op\nimport sqlalchemy as sa\n\n\n"
            f'revision = "{rev}"\ndown_revision = {parents}\nbranch_labels = None\n'
            "depends_on = None\n\n\n"
            f"def upgrade() -> None:\n    {body}\n\n\n"
            f"def downgrade() -> None:\n    {downgrade}\n")
