"""The migls language server: state, scheduling and publishing.

Diagnostics follow every edit through the event loop. An edit bumps its environment's
generation and (re)starts that environment's lint task: at once after a quiet moment, after
:data:`DEBOUNCE` seconds while edits keep coming (a newer edit cancels the pending lint and
starts over, so a burst is linted once, at its end). The task re-parses only the edited
documents and publishes their diagnostics first; once the typing pauses it lints the whole
environment, a chunk of files per job, and publishes whatever changed elsewhere (a new head, a
parent that now exists). Results of an older generation or document version are dropped, so
a half-typed line never leaves stale diagnostics behind.

The engine (parsing, rules, graph) runs in one worker thread, never on the loop, never two
jobs at once; the loop only stores and reads its results.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import traceback
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from migls import __version__
from migls.engine import LintResult
from migls.graph import Graph
from migls.model import RevisionFile
from migls.rule import Diagnostic
from migls.rulekit import env_sets_lock_timeout
from migls.server import ranges
from migls.server.settings import ClientSettings
from migls.server.workspace import (
    CONFIG_FILE_NAMES,
    EnvState,
    JobOutcome,
    LintJob,
    canonical,
    config_stamps,
    discover_workspace,
    env_key,
    env_state,
    environment_above,
    graph_of,
    is_unreadable,
    list_revision_files,
    load_files,
    parse_only,
    run_job,
)

logger = logging.getLogger("migls.server")

#: Seconds an edit waits for the next one before the lint starts (a burst of keystrokes is
#: linted once, at its end).
DEBOUNCE = 0.02
#: After the edited documents are published, the whole environment (the findings an edit
#: causes in other files) is linted once the typing pauses this long.
WHOLE_ENVIRONMENT_DELAY = 0.25
#: Files per job when the whole environment is linted (see ``_lint_whole``).
WHOLE_CHUNK = 40
#: Watched-file events come in bursts too (a `git checkout`): wait a little longer.
FILE_EVENTS_DEBOUNCE = 0.05

T = TypeVar("T")


class MiglsProtocol(LanguageServerProtocol):
    """pygls' protocol, negotiating positions in code points (UTF-32) when the client offers
    them, else UTF-16 (which every client supports): migls columns are code points, so UTF-32
    needs no conversion and UTF-8 is never preferred."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams
                       ) -> Generator[Any, Any, types.InitializeResult]:
        general = params.capabilities.general
        offered = general.position_encodings if general is not None else None
        if general is not None and offered:
            utf32 = types.PositionEncodingKind.Utf32
            general.position_encodings = [utf32 if utf32 in offered
                                          else types.PositionEncodingKind.Utf16]
        try:
            result: types.InitializeResult = yield from super().lsp_initialize(params)
        finally:
            if general is not None:
                general.position_encodings = offered
        return result


class MiglsServer(LanguageServer):
    """The server: the environments of the workspace, their parsed files, their diagnostics."""

    def __init__(self) -> None:
        super().__init__("migls", __version__, protocol_cls=MiglsProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="migls-engine")
        self.client_settings = ClientSettings()
        self.roots: list[Path] = []
        self.envs: dict[str, EnvState] = {}
        self.discovered: asyncio.Future[None] | None = None
        self._discovery_round = 0
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.loading: dict[str, asyncio.Future[None]] = {}
        #: Files changed on disk, waiting to be re-read: path -> event counter.
        self.stale_disk: dict[str, int] = {}
        self._events = 0
        #: What was last pushed per URI (a key per diagnostic), to push only changes.
        self.published: dict[str, tuple[Any, ...]] = {}
        #: Pull mode: the result id last returned per URI.
        self.served: dict[str, str] = {}
        #: path -> the URI the client knows it by; URI -> path (``None``: not a file).
        self.uris: dict[str, str] = {}
        self._paths: dict[str, str | None] = {}
        self.shown: set[str] = set()
        #: Directories known to be in no environment (ordinary Python files).
        self.outside: set[str] = set()
        # Capabilities of the client, filled in at initialize.
        self.pull = False
        self.refresh_diagnostics = False
        self.refresh_code_lens = False
        self.tag_support = False
        self.code_description = True
        self.resolve_edits = False
        self.document_changes = False
        self.hierarchical_symbols = False
        self.markdown_hover = False
        self.completion_formats: list[types.MarkupKind] = []
        self.watch_files = False
        self.watch_configuration = False
        self.pull_configuration = False
        self.pending_problems: list[str] = []
        self.pending_log = ""
        self._lens_shapes: dict[str, tuple[Any, ...]] = {}

    # -- helpers --------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The negotiated position encoding."""
        value = self.workspace.position_encoding
        return str(getattr(value, "value", value) or ranges.UTF16)

    def markup(self, text: str, markdown: bool) -> types.MarkupContent:
        """Markdown for clients that render it, else the same text as plain text."""
        kind = types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText
        return types.MarkupContent(kind=kind, value=text)

    def documentation(self, text: str) -> types.MarkupContent | str:
        """Completion documentation in a format the client declared (a plain string when it
        declared none)."""
        if types.MarkupKind.Markdown in self.completion_formats:
            return self.markup(text, True)
        if types.MarkupKind.PlainText in self.completion_formats:
            return self.markup(text, False)
        return text

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run engine work in the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(function, *args))

    def message(self, text: str, kind: types.MessageType = types.MessageType.Warning,
                once: bool = True) -> None:
        """Tell the user (``window/showMessage``); each text once per session."""
        if once and text in self.shown:
            return
        self.shown.add(text)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"migls: {text}"))
        self.log(text, kind)

    def log(self, text: str, kind: types.MessageType = types.MessageType.Log) -> None:
        """Write to the client's log (``window/logMessage``)."""
        self.window_log_message(types.LogMessageParams(type=kind, message=f"migls: {text}"))

    def internal_error(self, what: str, exc: BaseException) -> None:
        """A bug: the traceback goes to the log, one line to the user, the server goes on."""
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.log(f"internal error while {what}:\n{detail}", types.MessageType.Error)
        self.message(f"internal error while {what}: {exc!r} (details in the log)",
                     types.MessageType.Error)

    def path_of(self, uri: str) -> str | None:
        """The file key of a ``file:`` URI (``None`` for other schemes)."""
        if uri in self._paths:
            return self._paths[uri]
        path = to_fs_path(uri) if uri.startswith("file:") else None
        key = canonical(path) if path is not None else None
        if key is not None:
            self.uris.setdefault(key, uri)
        self._paths[uri] = key
        return key

    def uri_of(self, path: str) -> str:
        """The URI the client knows a file by (the one it opened it with, if it did)."""
        uri = self.uris.get(path)
        if uri is None:
            uri = self.uris[path] = from_fs_path(path) or f"file://{path}"
        return uri

    def document(self, path: str) -> TextDocument | None:
        """The open document of a file, if the client has it open."""
        uri = self.uris.get(path)
        if uri is None:
            return None
        # pygls keys its documents by the unquoted URI.
        document: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return document

    def open_paths(self) -> list[str]:
        """Files the client has open."""
        out = []
        for document in list(self.workspace.text_documents.values()):
            path = self.path_of(document.uri)
            if path is not None:
                out.append(path)
        return out

    # -- environments -----------------------------------------------------------------------

    def start_discovery(self) -> None:
        """(Re-)discover the environments in the background; handlers wait for it. Only the
        latest discovery's result is used."""
        self._discovery_round += 1
        self.discovered = asyncio.ensure_future(self._discover(self._discovery_round))

    async def ready(self) -> None:
        """Wait for the environments to be known (by the latest discovery)."""
        if self.discovered is None:
            self.start_discovery()
        while True:
            current = self.discovered
            assert current is not None
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug in discovery must not stop requests
                self.internal_error("looking for Alembic environments", exc)
            if current is self.discovered:
                return

    async def _discover(self, round_: int) -> None:
        config = self.client_settings.alembic_config
        config_path = None
        if config:
            config_path = Path(config).expanduser()
            if not config_path.is_absolute() and self.roots:
                config_path = self.roots[0] / config_path
        discovery = await self.run(discover_workspace, list(self.roots), config_path)
        problems = list(discovery.problems)
        new: dict[str, EnvState] = {}
        for env in discovery.environments:
            new[env_key(env)] = env_state(env, self.client_settings, problems)
        # Files opened outside the workspace folders keep the environment found above them.
        for path in self.open_paths():
            if not any(state.contains(path) for state in new.values()):
                above = await self.run(environment_above, Path(path), problems)
                if above is not None and env_key(above) not in new:
                    new[env_key(above)] = env_state(above, self.client_settings, problems)
        if round_ != self._discovery_round:
            return  # a newer discovery started meanwhile: its result counts
        for problem in problems:
            self.message(problem)
        if not new:
            self.log("no Alembic environment found in the workspace")
        old, self.envs = self.envs, new
        self.outside.clear()
        for key, state in new.items():
            previous = old.get(key)
            if previous is not None:  # parses and diagnostics stay; the file list is re-read
                state.files, state.versions = previous.files, previous.versions
                state.current, state.focus = previous.current, previous.focus
                state.generation = previous.generation + 1
        for key, state in old.items():
            if key not in new:
                self._cancel(key)
                for path in state.current.diagnostics:
                    if not any(s.contains(path) for s in new.values()):
                        self._push(path, [], None, force=True)
        open_paths = self.open_paths()
        for key, state in new.items():
            if state.files or any(state.contains(p) for p in open_paths):
                state.focus.update(p for p in open_paths if state.contains(p))
                self.schedule(state, 0)

    async def env_for(self, path: str) -> EnvState | None:
        """The environment a file belongs to (looking above it for files outside the
        workspace folders)."""
        await self.ready()
        for state in self.envs.values():
            if state.contains(path):
                return state
        directory = str(Path(path).parent)
        if directory in self.outside:
            return None
        problems: list[str] = []
        above = await self.run(environment_above, Path(path), problems)
        for problem in problems:
            self.message(problem)
        if above is None:
            self.outside.add(directory)
            return None
        key = env_key(above)
        if key not in self.envs:
            self.envs[key] = env_state(above, self.client_settings, problems)
        state = self.envs[key]
        return state if state.contains(path) else None

    async def ensure_loaded(self, state: EnvState) -> None:
        """Read and parse the environment's files on disk (again after files were created
        or deleted)."""
        while not state.loaded:
            future = self.loading.get(state.key)
            if future is None or future.done():
                future = self.loading[state.key] = asyncio.ensure_future(self._load(state))
            await asyncio.shield(future)

    async def _load(self, state: EnvState) -> None:
        listing = state.listing
        paths = await self.run(list_revision_files, state.env)
        open_paths = set(self.open_paths())
        wanted = [p for p in paths if p not in open_paths
                  and (p not in state.files or state.versions.get(p) is not None)]
        files = await self.run(load_files, wanted)
        if state.listing != listing:
            return  # files were created or deleted meanwhile: list them again
        state.disk_paths = paths
        for path, file in files.items():
            self._store_file(state, path, file, None)
        known = set(paths) | {p for p in open_paths if state.contains(p)}
        for path in [p for p in state.files if p not in known]:
            del state.files[path]
            state.versions.pop(path, None)
        state.loaded = True
        state.generation += 1

    def _store_file(self, state: EnvState, path: str, file: RevisionFile,
                    version: int | None) -> None:
        state.files[path] = file
        state.versions[path] = version
        # (A file deleted between its listing and its reading is not worth a message: the
        # deletion's own event follows.)
        if is_unreadable(file) and file.syntax_error is not None and os.path.lexists(path):
            self.message(f"{path}: {file.syntax_error[0]}")

    def reconfigure(self, settings: ClientSettings) -> None:
        """Apply new editor settings: every environment is linted again."""
        previous = self.client_settings
        self.client_settings = settings
        if settings.alembic_config != previous.alembic_config:
            self.start_discovery()
            return
        problems: list[str] = []
        for state in self.envs.values():
            fresh = env_state(state.env, settings, problems)
            state.settings, state.rules = fresh.settings, fresh.rules
            state.generation += 1
            if state.files:  # environments nobody opened a file of stay unread
                self.schedule(state, 0)
        for problem in problems:
            self.message(problem)

    # -- linting ----------------------------------------------------------------------------

    def changed(self, state: EnvState, path: str | None, delay: float) -> None:
        """An input of ``state`` changed (``path``: an edited document): lint it again.

        The first edit after a quiet moment is linted at once; an edit that comes while the
        previous one still waits or is being linted restarts the wait (``delay``), so a burst
        of keystrokes is linted once, at its end."""
        state.generation += 1
        if path is not None:
            state.focus.add(path)
        if state.stage not in ("waiting", "editing"):
            delay = 0
        self.schedule(state, delay)

    def schedule(self, state: EnvState, delay: float) -> None:
        """(Re)start the environment's lint task; a pending one is cancelled."""
        self._cancel(state.key)
        state.stage = "waiting"
        self.tasks[state.key] = asyncio.ensure_future(self._lint(state, delay))

    def _cancel(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()

    def job(self, state: EnvState, report: set[str] | None) -> LintJob:
        """A snapshot of ``state`` for the worker thread."""
        open_paths = self.open_paths()
        order = state.paths(open_paths)
        texts: dict[str, tuple[int, str]] = {}
        for path in order:
            document = self.document(path)
            if document is not None and document.version is not None and (
                    state.versions.get(path) != document.version or path not in state.files):
                texts[path] = (document.version, document.source)
        disk = [p for p in order if p in self.stale_disk and p not in texts]
        disk += [p for p in order if p not in state.files and p not in texts and p not in disk]
        return LintJob(state.generation, order, dict(state.files), texts, disk,
                       state.settings, state.rules, state.lock_timeout_in_env, report)

    def store(self, state: EnvState, job: LintJob, outcome: JobOutcome,
              counters: dict[str, int]) -> None:
        """Keep what a job parsed."""
        for path, file in outcome.parsed.items():
            if path in job.texts:
                self._store_file(state, path, file, job.texts[path][0])
            else:
                self._store_file(state, path, file, None)
                if self.stale_disk.get(path) == counters.get(path):
                    self.stale_disk.pop(path, None)

    async def execute(self, state: EnvState, report: set[str] | None,
                      lint: bool = True) -> tuple[LintJob, JobOutcome]:
        """Parse what changed and (optionally) lint, in the worker thread."""
        await self.ensure_loaded(state)
        job = self.job(state, report)
        counters = {p: self.stale_disk[p] for p in job.disk if p in self.stale_disk}
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, partial(run_job if lint else parse_only, job))

        def keep(done: asyncio.Future[JobOutcome]) -> None:
            # What was parsed is kept even when a newer edit cancelled the lint waiting for
            # it: the next job then re-parses only what changed since.
            if not done.cancelled() and done.exception() is None:
                self.store(state, job, done.result(), counters)

        future.add_done_callback(keep)
        outcome = await asyncio.shield(future)
        return job, outcome

    async def _lint(self, state: EnvState, delay: float) -> None:
        try:
            await asyncio.sleep(delay)  # sleep(0) too: queued messages are read first
            if state.stamps != config_stamps(state.env):
                self.start_discovery()  # the configuration changed: it lints everything again
                return
            if state.focus:
                state.stage = "editing"
                started = time.perf_counter()
                job, outcome = await self.execute(state, set(state.focus))
                self._remember(state, job, outcome, only=job.report)
                logger.debug("linted %d edited file(s) of %s in %.1f ms", len(job.report or ()),
                             state.env.name, 1000 * (time.perf_counter() - started))
                # The rest of the environment waits for a pause in the typing.
                state.stage = "pausing"
                await asyncio.sleep(WHOLE_ENVIRONMENT_DELAY)
            state.stage = "whole"
            started = time.perf_counter()
            job, result = await self._lint_whole(state)
            if state.generation == job.generation:
                self._remember(state, job, JobOutcome({}, result), only=None)
            logger.debug("linted %s (%d files) in %.1f ms", state.env.name, len(job.order),
                         1000 * (time.perf_counter() - started))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the server must outlive any bug
            self.internal_error(f"linting {state.env.name}", exc)
        finally:
            if self.tasks.get(state.key) is asyncio.current_task():
                state.stage = "idle"

    async def _lint_whole(self, state: EnvState) -> tuple[LintJob, LintResult]:
        """Lint every file of the environment, :data:`WHOLE_CHUNK` files per job: between
        two jobs the worker thread takes the next keystroke's lint, so a long environment
        never makes an edit wait for more than one chunk."""
        order = state.paths(self.open_paths())
        chunks = [order[i:i + WHOLE_CHUNK] for i in range(0, len(order), WHOLE_CHUNK)] or [[]]
        job, outcome = await self.execute(state, set(chunks[0]))
        assert outcome.result is not None
        diagnostics = list(outcome.result.diagnostics)
        for chunk in chunks[1:]:
            part = replace(job, texts={}, disk=[], report=set(chunk))
            done = await asyncio.shield(asyncio.get_running_loop().run_in_executor(
                self.executor, partial(run_job, part)))
            assert done.result is not None
            diagnostics.extend(done.result.diagnostics)
        diagnostics.sort(key=Diagnostic.sort_key)
        first = outcome.result
        whole = LintResult(diagnostics, first.files, first.graph, first.rules)
        return replace(job, report=None), whole

    def _remember(self, state: EnvState, job: LintJob, outcome: JobOutcome,
                  only: set[str] | None) -> None:
        """Store a lint result as the current diagnostics and publish what changed."""
        result = outcome.result
        assert result is not None
        by_path: dict[str, list[Diagnostic]] = {path: [] for path in (only or job.order)}
        for diagnostic in result.diagnostics:
            by_path.setdefault(diagnostic.path, []).append(diagnostic)
        if only is None:
            state.graph_cache = (job.generation, result.graph)
            for path in [p for p in state.current.diagnostics if p not in by_path]:
                del state.current.diagnostics[path]
                state.current.versions.pop(path, None)
                state.current.generations.pop(path, None)
                self._push(path, [], None, force=True)
        refresh = False
        for path, diagnostics in by_path.items():
            version = job.texts[path][0] if path in job.texts else state.versions.get(path)
            document = self.document(path)
            if document is not None and document.version != version:
                continue  # the document changed meanwhile: its next lint publishes it
            state.current.diagnostics[path] = diagnostics
            state.current.versions[path] = version
            state.current.generations[path] = job.generation
            focused = path in state.focus
            state.focus.discard(path)
            if self.pull and document is not None:
                uri = self.uri_of(path)
                if uri in self.served and self.served[uri] != result_id(diagnostics):
                    refresh = True
                continue
            self._push(path, diagnostics, version if document is not None else None,
                       force=focused)
        if refresh and self.refresh_diagnostics:
            self.workspace_diagnostic_refresh(None)
        if only is None:
            self._refresh_code_lens(state, result.graph)

    def _push(self, path: str, diagnostics: list[Diagnostic], version: int | None,
              force: bool = False) -> None:
        """``textDocument/publishDiagnostics`` when something changed (always for an
        edited document, so the client sees its version answered)."""
        uri = self.uri_of(path)
        if self.pull and self.document(path) is not None and diagnostics:
            return
        key = tuple(diagnostic_key(d) for d in diagnostics)
        if not force and self.published.get(uri, ()) == key:
            return
        self.published[uri] = key
        items = self.lsp_diagnostics(path, diagnostics)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=items, version=version))

    def clear_pushed(self, path: str, force: bool = False) -> None:
        """Withdraw pushed diagnostics of a file (opened in pull mode, or gone)."""
        self._push(path, [], None, force=force)

    def lsp_diagnostics(self, path: str, diagnostics: list[Diagnostic]) -> list[types.Diagnostic]:
        """Diagnostics as LSP sends them."""
        from migls.server.features.diagnostics import to_lsp

        state = next((s for s in self.envs.values() if path in s.files), None)
        file = state.files.get(path) if state is not None else None
        lines = file.source.text.split("\n") if file is not None and file.source else []
        return [to_lsp(d, lines, self.encoding, self.tag_support, self.code_description)
                for d in diagnostics]

    def _refresh_code_lens(self, state: EnvState, graph: Graph) -> None:
        shape = tuple(sorted((rev, len(node.children), len(node.parents), rev in graph.heads)
                             for rev, node in graph.nodes.items()))
        if self._lens_shapes.get(state.key) not in (None, shape) and self.refresh_code_lens:
            self.workspace_code_lens_refresh(None)
        self._lens_shapes[state.key] = shape

    async def diagnostics_now(self, path: str) -> list[Diagnostic]:
        """The diagnostics of a file at the current state of every document (for pull
        requests and code actions)."""
        state = await self.env_for(path)
        if state is None:
            return []
        await self.ensure_loaded(state)
        document = self.document(path)
        version = document.version if document is not None else None
        if (state.current.generations.get(path) == state.generation
                and state.current.versions.get(path) == version):
            return state.current.diagnostics.get(path, [])
        job, outcome = await self.execute(state, {path})
        assert outcome.result is not None
        found = [d for d in outcome.result.diagnostics if d.path == path]
        if job.generation == state.generation:
            state.current.diagnostics[path] = found
            state.current.versions[path] = version
            state.current.generations[path] = job.generation
        return found

    async def fresh(self, path: str) -> tuple[EnvState, RevisionFile] | None:
        """A file's environment and its parse at the document's current version."""
        state = await self.env_for(path)
        if state is None:
            return None
        await self.ensure_loaded(state)
        document = self.document(path)
        if path not in state.files or (
                document is not None and state.versions.get(path) != document.version):
            await self.execute(state, None, lint=False)
        file = state.files.get(path)
        return (state, file) if file is not None else None

    async def graph(self, state: EnvState) -> Graph:
        """The environment's revision graph as of now (built from the current parses)."""
        await self.ensure_loaded(state)
        job = self.job(state, None)
        if job.texts or job.disk:
            await self.execute(state, None, lint=False)
        cached = state.graph_cache
        if cached is not None and cached[0] == state.generation:
            return cached[1]
        generation = state.generation
        files = [state.files[p] for p in state.paths(self.open_paths()) if p in state.files]
        graph = await self.run(graph_of, files)
        if generation == state.generation:
            state.graph_cache = (generation, graph)
        return graph

    def files_in_order(self, state: EnvState) -> list[RevisionFile]:
        """The parsed files of an environment, in Alembic's order."""
        return [state.files[p] for p in state.paths(self.open_paths()) if p in state.files]

    # -- files changed outside the editor --------------------------------------------------

    def files_changed(self, paths: Iterable[tuple[str, bool]]) -> None:
        """Files created, changed or deleted on disk (``(path, deleted)``)."""
        rediscover = False
        touched: set[str] = set()
        for path, deleted in paths:
            name = Path(path).name
            if name in CONFIG_FILE_NAMES:
                rediscover = True
                continue
            for state in self.envs.values():
                script = state.env.script_location
                if script is not None and canonical(script / "env.py") == path:
                    state.lock_timeout_in_env = env_sets_lock_timeout(state.env.env_py_text())
                    touched.add(state.key)
                if not state.contains(path):
                    continue
                touched.add(state.key)
                self._events += 1
                if deleted and self.document(path) is None:
                    state.files.pop(path, None)
                    state.versions.pop(path, None)
                    self.stale_disk.pop(path, None)
                elif self.document(path) is None:
                    self.stale_disk[path] = self._events
                if deleted or path not in state.disk_paths:
                    state.loaded = False  # the set of files changed: list them again
                    state.listing += 1
        if rediscover:
            self.start_discovery()
            return
        for key in touched:
            state = self.envs[key]
            if state.files:  # environments nobody opened a file of stay unread
                self.changed(state, None, FILE_EVENTS_DEBOUNCE)

    def shutdown_engine(self) -> None:
        """Stop the worker thread and the pending lints."""
        for key in list(self.tasks):
            self._cancel(key)
        self.executor.shutdown(wait=False, cancel_futures=True)


def diagnostic_key(diagnostic: Diagnostic) -> tuple[Any, ...]:
    """What a published diagnostic looks like (to publish only changes)."""
    return (diagnostic.code, diagnostic.span, diagnostic.message, diagnostic.severity,
            diagnostic.unnecessary)


def result_id(diagnostics: list[Diagnostic]) -> str:
    """A pull result id: equal diagnostics give equal ids."""
    return f"{hash(tuple(diagnostic_key(d) for d in diagnostics)) & 0xFFFFFFFFFFFF:x}"


def create_server() -> MiglsServer:
    """A server with every feature registered."""
    from migls.server import commands
    from migls.server.features import (
        code_actions,
        diagnostics,
        documents,
        hover,
        navigation,
        symbols,
    )

    server = MiglsServer()
    for module in (documents, diagnostics, code_actions, hover, navigation, symbols, commands):
        module.register(server)
    return server
