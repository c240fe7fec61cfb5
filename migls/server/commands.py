"""``workspace/executeCommand``: the project commands of the editor.

``migls.newRevision``, ``migls.mergeHeads``, ``migls.rebaseOnHead`` and ``migls.showGraph``
run the implementation of ``migls revision / merge / rebase / graph`` (:mod:`migls.revisions`,
:mod:`migls.graphview`) in the server's worker thread and return what they made, so the
client can open it. Each takes one object argument (the shapes the VS Code extension sends,
``vscode-extension/src/commands.ts``); the environment is the one named by ``alembicConfig``
(or ``environment``), else the one of ``uri``, else the workspace's only one.

A command that cannot do what was asked (several heads and no head given, an unknown
revision, ``env.py`` raising) answers with a JSON-RPC error carrying the one-line message and
also shows it (``window/showMessage``); the server goes on. Only ``newRevision`` with
``autogenerate: true`` runs project code, and only because the client asked for it; it reports
``$/progress`` (when the client supports work done progress) and stops, leaving nothing
behind, on ``$/cancelRequest`` or a cancelled progress.

To add a command, decorate an ``async def (ls, options) -> result`` with
``@_command(server, "migls.name")`` in :func:`register`; it is announced in
``executeCommandProvider`` at initialize.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import from_fs_path

from migls.engine import lint_files, read_file
from migls.lazy import LazyModule
from migls.server.server import MiglsServer
from migls.server.workspace import EnvState, canonical

if TYPE_CHECKING:
    from migls import graphview, revisions
else:  # the commands' implementation loads on the first command, not before the first lint
    graphview = LazyModule("migls.graphview", globals(), "graphview")
    revisions = LazyModule("migls.revisions", globals(), "revisions")

NEW_REVISION = "migls.newRevision"
MERGE_HEADS = "migls.mergeHeads"
REBASE_ON_HEAD = "migls.rebaseOnHead"
SHOW_GRAPH = "migls.showGraph"

Options = dict[str, Any]
Handler = Callable[[MiglsServer, Options], Awaitable[Any]]


class CommandFailed(JsonRpcException):
    """The response error of a command that changed nothing (LSP's ``RequestFailed``)."""

    CODE = int(types.LSPErrorCodes.RequestFailed)


def _fail(ls: MiglsServer, text: str) -> CommandFailed:
    """Show ``text`` and make it the response error."""
    ls.message(text, types.MessageType.Error, once=False)
    return CommandFailed(text)


def _command(server: MiglsServer, name: str) -> Callable[[Handler], Handler]:
    """Register ``function`` as the command ``name``: its one object argument is parsed,
    and whatever stops it becomes a response error and a message, never a crash."""

    def decorator(function: Handler) -> Handler:
        async def handler(ls: MiglsServer, *args: Any) -> Any:
            try:
                return await function(ls, _options(name, args))
            except revisions.NothingToDo as exc:  # not a failure: the client shows the message
                ls.message(str(exc), types.MessageType.Info, once=False)
                return {"uris": [], "paths": [], "message": str(exc)}
            except revisions.RevisionCommandError as exc:
                raise _fail(ls, str(exc)) from None
            except JsonRpcException:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the server
                ls.internal_error(f"running {name}", exc)
                raise CommandFailed(f"{name}: internal error: {exc!r}") from None

        server.command(name)(handler)
        return function

    return decorator


def _options(name: str, args: tuple[Any, ...]) -> Options:
    """The command's one object argument (none: ``{}``)."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise revisions.RevisionCommandError(f"{name} takes one object argument, e.g. "
                                   f"{{\"alembicConfig\": \"alembic.ini\"}}")
    return args[0]


def _text(options: Options, key: str) -> str | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise revisions.RevisionCommandError(f"'{key}' must be a string, not {value!r}")
    return value


def _strings(options: Options, key: str) -> list[str] | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise revisions.RevisionCommandError(f"'{key}' must be a list of strings, not {value!r}")
    return value


# -- which environment -----------------------------------------------------------------------


async def _environments(ls: MiglsServer, options: Options) -> list[EnvState]:
    """The environments a command names: by ``alembicConfig``/``environment`` (a config
    file, relative to the first workspace folder), by ``uri`` (a file of one, or a folder
    holding some), else every environment of the workspace."""
    await ls.ready()
    config = _text(options, "alembicConfig") or _text(options, "environment")
    if config is not None:
        path = Path(config).expanduser()
        if not path.is_absolute() and ls.roots:
            path = ls.roots[0] / path
        key = canonical(path)
        found = [s for s in ls.envs.values()
                 if s.key == key or (s.env.config_path is not None
                                     and canonical(s.env.config_path) == key)]
        if not found:
            raise revisions.RevisionCommandError(
                f"no Alembic environment with the configuration {config} "
                f"in the workspace ({_names(ls, list(ls.envs.values()))})")
        return found
    uri = _text(options, "uri")
    if uri is not None:
        path_key = ls.path_of(uri)
        if path_key is None:
            raise revisions.RevisionCommandError(f"not a file URI: {uri}")
        state = await ls.env_for(path_key)
        if state is not None:
            return [state]
        folder = Path(path_key)
        return [s for s in ls.envs.values() if _under(Path(s.key), folder)]
    return list(ls.envs.values())


async def _environment(ls: MiglsServer, options: Options) -> EnvState:
    """The one environment a command changes."""
    states = await _environments(ls, options)
    if not states:
        raise revisions.RevisionCommandError(
            "no Alembic environment (alembic.ini or [tool.alembic]) in the workspace")
    if len(states) > 1:
        raise revisions.RevisionCommandError(
            f"several Alembic environments ({_names(ls, states)}); name one with 'alembicConfig'")
    return states[0]


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _display(ls: MiglsServer, path: str | Path) -> str:
    """A path relative to the workspace folder holding it."""
    for root in ls.roots:
        try:
            return Path(path).resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return Path(path).as_posix()


def _names(ls: MiglsServer, states: list[EnvState]) -> str:
    return ", ".join(_display(ls, s.env.name) for s in states) or "none found"


def _uri(ls: MiglsServer, path: Path) -> str:
    """The URI of a written file (the one the client knows it by, if it does)."""
    key = canonical(path)
    return ls.uris.get(key) or from_fs_path(key) or path.as_uri()


def _written(ls: MiglsServer, paths: list[Path]) -> None:
    """Tell the server's state about files written on disk (a client may also send
    watched-file events: both are harmless)."""
    ls.files_changed([(canonical(p), False) for p in paths])


async def _show(ls: MiglsServer, uri: str) -> None:
    """Open a created file in the client, when it supports ``window/showDocument``."""
    window = ls.client_capabilities.window
    support = window.show_document if window is not None else None
    if support is None or not support.support:
        return
    try:
        await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    except Exception as exc:  # noqa: BLE001 - the client refusing is not an error of ours
        ls.log(f"the client did not show {uri}: {exc}")


# -- progress and cancellation --------------------------------------------------------------


class Cancellation:
    """Set when the client cancels the request (``$/cancelRequest``) or its progress; read
    from the worker thread (``new_revision``'s ``cancelled``)."""

    def __init__(self, ls: MiglsServer) -> None:
        self.event = threading.Event()
        # pygls answers a cancelled request itself, but lets the command's coroutine run on:
        # the request's future is the only sign of the cancellation.
        protocol = ls.protocol
        request = getattr(protocol, "_request_futures", {}).get(protocol.msg_id)
        if request is not None:
            request.add_done_callback(self._on_done)

    def _on_done(self, future: Any) -> None:
        if future.cancelled():
            self.event.set()

    def watch(self, future: Any) -> None:
        """Also cancel when ``future`` (a progress token's) is cancelled."""
        future.add_done_callback(self._on_done)

    def __call__(self) -> bool:
        return self.event.is_set()


class Progress:
    """A server-initiated ``$/progress`` (when the client supports work done progress)."""

    def __init__(self, ls: MiglsServer, title: str) -> None:
        self.ls = ls
        self.title = title
        self.token: str | None = None

    async def begin(self, message: str, cancellation: Cancellation) -> None:
        window = self.ls.client_capabilities.window
        if window is None or not window.work_done_progress:
            return
        token = f"migls-{uuid.uuid4()}"
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception as exc:  # noqa: BLE001 - the work goes on without a progress bar
            self.ls.log(f"the client refused a progress: {exc}")
            return
        self.token = token
        future = self.ls.work_done_progress.tokens.get(token)
        if future is not None:
            cancellation.watch(future)
        self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title=self.title, message=message, cancellable=True))

    def end(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.token, None)
            self.token = None


# -- the commands --------------------------------------------------------------------------


def register(server: MiglsServer) -> None:
    """Attach the ``workspace/executeCommand`` handlers."""

    @_command(server, NEW_REVISION)
    async def new_revision_command(ls: MiglsServer, options: Options) -> Any:
        """``{message, autogenerate?, head?, fix?, python?, alembicConfig?}`` -> the file."""
        state = await _environment(ls, options)
        message = _text(options, "message")
        # Autogenerate runs the project's env.py and models: only when asked in so many words.
        autogenerate = options.get("autogenerate") is True
        fix = options.get("fix")
        fix = "safe" if fix is True else fix if fix in ("safe", "unsafe") else None
        python = _text(options, "python") if autogenerate else None
        head = _text(options, "head")
        cancellation = Cancellation(ls)
        progress = Progress(ls, "migls: New Revision")
        if autogenerate:
            await progress.begin("alembic revision --autogenerate (the project's env.py)",
                                 cancellation)
        try:
            made = await ls.run(lambda: revisions.new_revision(
                state.env, message, autogenerate=autogenerate, head=head, fix=fix,
                python=python, cancelled=cancellation if autogenerate else None))
        except revisions.RevisionCommandError as exc:
            progress.end(str(exc))
            raise
        progress.end(f"wrote {made.path.name}")
        _written(ls, [made.path])
        uri = _uri(ls, made.path)
        await _show(ls, uri)
        count = len(made.diagnostics)
        return {
            "uri": uri, "path": str(made.path), "revision": made.revision,
            "diagnostics": count, "fixesApplied": made.fixes_applied, "output": made.output,
            "message": f"wrote {_display(ls, made.path)}"
                       + (f" ({count} finding{'s' if count != 1 else ''})" if count else ""),
        }

    @_command(server, MERGE_HEADS)
    async def merge_heads(ls: MiglsServer, options: Options) -> Any:
        """``{heads?, message?, alembicConfig?}`` -> the merge revision."""
        state = await _environment(ls, options)
        heads = _strings(options, "heads")
        message = _text(options, "message")
        path = await ls.run(revisions.merge, state.env, heads or None, message)
        _written(ls, [path])
        uri = _uri(ls, path)
        await _show(ls, uri)
        revision = await ls.run(_revision_of, path)
        return {"uri": uri, "path": str(path), "revision": revision,
                "message": f"wrote {_display(ls, path)}"}

    @_command(server, REBASE_ON_HEAD)
    async def rebase_on_head(ls: MiglsServer, options: Options) -> Any:
        """``{revision, onto, alembicConfig?}`` -> the changed files (open documents are
        edited through ``workspace/applyEdit`` when the client supports it)."""
        state = await _environment(ls, options)
        revision, onto = _text(options, "revision"), _text(options, "onto")
        if revision is None or onto is None:
            raise revisions.RevisionCommandError(
                "name the revision to move ('revision') and the head to put it on ('onto')")
        workspace = ls.client_capabilities.workspace
        if workspace is None or not workspace.apply_edit:
            changes = await ls.run(revisions.rebase, state.env, revision, onto)
            await ls.run(revisions.write_changes, changes)
            _written(ls, [path for path, _ in changes])
            return _changed(ls, [path for path, _ in changes], revision, onto)
        # What the editor shows (unsaved edits too) is what moves.
        graph = await ls.graph(state)
        history = revisions.History(state.env, ls.files_in_order(state), graph)
        changes = await ls.run(revisions.rebase, state.env, revision, onto, history)
        in_editor = [(p, t) for p, t in changes if ls.document(canonical(p)) is not None]
        on_disk = [(p, t) for p, t in changes if ls.document(canonical(p)) is None]
        if in_editor:
            await _apply(ls, state, in_editor, f"migls: rebase {revision} onto {onto}")
        if on_disk:
            await ls.run(revisions.write_changes, on_disk)
            _written(ls, [path for path, _ in on_disk])
        return _changed(ls, [path for path, _ in changes], revision, onto)

    @_command(server, SHOW_GRAPH)
    async def show_graph(ls: MiglsServer, options: Options) -> Any:
        """``{uri?, alembicConfig?}`` -> ``migls graph --format json`` of the environments
        (absolute paths; each environment with its ``config`` file)."""
        states = await _environments(ls, options)
        views, configs = [], []
        for state in states:
            await ls.ensure_loaded(state)
            await ls.graph(state)  # parses what changed in the editor
            files = ls.files_in_order(state)
            result = await ls.run(partial(lint_files, files, state.settings, rules=state.rules,
                                          lock_timeout_in_env=state.lock_timeout_in_env))
            views.append(graphview.build_view(_display(ls, state.env.name), result.graph,
                                              result.diagnostics))
            configs.append(state.env.config_path)
        document = graphview.to_json(views)
        for environment, view, config in zip(document["environments"],  # type: ignore[call-overload]
                                              views, configs):
            # The client resolves paths itself: absolute ones, whatever the server's cwd.
            environment["config"] = str(config) if config is not None else None
            for revision, node in zip(environment["revisions"], view.nodes):
                revision["path"] = node.path
                revision["uri"] = _uri(ls, Path(node.path))
            for finding, diagnostic in zip(environment["unattached_findings"], view.unattached):
                finding["path"] = diagnostic.path
        return document


def _revision_of(path: Path) -> str | None:
    """The revision id a written file declares."""
    return read_file(str(path), path.read_bytes()).revision_id


def _changed(ls: MiglsServer, paths: list[Path], revision: str, onto: str) -> dict[str, Any]:
    return {"uris": [_uri(ls, p) for p in paths], "paths": [str(p) for p in paths],
            "message": f"rebased {revision} onto {onto}"}


async def _apply(ls: MiglsServer, state: EnvState, changes: list[tuple[Path, str]],
                 label: str) -> None:
    """Edit open documents through the client (undoable, unsaved like any edit)."""
    from migls.server.features.code_actions import whole_text_edit, workspace_edit

    edit = types.WorkspaceEdit()
    for path, new in changes:
        key = canonical(path)
        file = state.files.get(key)
        document = ls.document(key)
        if file is None or file.source is None or document is None:
            raise revisions.RevisionCommandError(
                f"{_display(ls, path)} changed meanwhile; try again")
        one = workspace_edit(ls, _uri(ls, path), document.version, [
            whole_text_edit(file.source.text, new, file.source.newline, ls.encoding)])
        if one.document_changes:
            edit.document_changes = [*(edit.document_changes or []), *one.document_changes]
        if one.changes:
            edit.changes = {**(edit.changes or {}), **one.changes}
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label=label))
    if not result.applied:
        raise revisions.RevisionCommandError(f"the editor did not apply the rebase: "
                                   f"{result.failure_reason or 'no reason given'}")
