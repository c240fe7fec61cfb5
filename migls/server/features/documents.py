"""The session and its inputs: initialize, open/change/save/close, files changed on disk,
settings changed in the editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from migls.server.server import DEBOUNCE, MiglsServer
from migls.server.settings import parse_client_settings, unwrap
from migls.server.workspace import CONFIG_FILE_NAMES

#: Files whose changes matter: revision files (and env.py), and the configuration files.
WATCHED = ("**/*.py", "**/alembic.ini", "**/pyproject.toml", "**/migls.toml")


def _get(value: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        if value is None:
            return None
        value = getattr(value, name, None)
    return value


def register(server: MiglsServer) -> None:
    """Attach the session handlers."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: MiglsServer, params: types.InitializeParams) -> None:
        caps = params.capabilities
        ls.refresh_diagnostics = bool(_get(caps, "workspace.diagnostics.refresh_support"))
        # Pull only where the client can be told to pull again when another file changes
        # the diagnostics (a new head, a parent that now exists); otherwise push.
        ls.pull = _get(caps, "text_document.diagnostic") is not None and ls.refresh_diagnostics
        ls.refresh_code_lens = bool(_get(caps, "workspace.code_lens.refresh_support"))
        tags = _get(caps, "text_document.publish_diagnostics.tag_support.value_set") or []
        ls.tag_support = types.DiagnosticTag.Unnecessary in tags
        ls.code_description = _get(
            caps, "text_document.publish_diagnostics.code_description_support") is not False
        properties = _get(caps, "text_document.code_action.resolve_support.properties") or []
        ls.resolve_edits = "edit" in properties
        ls.document_changes = bool(_get(caps, "workspace.workspace_edit.document_changes"))
        ls.hierarchical_symbols = bool(_get(
            caps, "text_document.document_symbol.hierarchical_document_symbol_support"))
        markdown = types.MarkupKind.Markdown
        ls.markdown_hover = markdown in (_get(caps, "text_document.hover.content_format") or [])
        ls.completion_formats = list(_get(
            caps, "text_document.completion.completion_item.documentation_format") or [])
        ls.watch_files = bool(_get(caps, "workspace.did_change_watched_files.dynamic_registration"))
        ls.watch_configuration = bool(_get(
            caps, "workspace.did_change_configuration.dynamic_registration"))
        ls.pull_configuration = bool(_get(caps, "workspace.configuration"))
        if ls.pull:
            from migls.server.features.diagnostics import register_pull
            register_pull(ls)

        parsed = parse_client_settings(params.initialization_options)
        ls.client_settings = parsed.settings
        ls.pending_problems = list(parsed.problems)
        if parsed.unknown:
            ls.pending_log = f"unknown settings ignored: {', '.join(parsed.unknown)}"

        roots = [to_fs_path(folder.uri) for folder in params.workspace_folders or ()]
        if not roots and params.root_uri:
            roots = [to_fs_path(params.root_uri)]
        if not roots and params.root_path:
            roots = [params.root_path]
        ls.roots = [Path(root) for root in roots if root]
        ls.start_discovery()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MiglsServer, params: types.InitializedParams) -> None:
        if ls.pending_problems:
            ls.message("bad settings: " + "; ".join(ls.pending_problems))
        if ls.pending_log:
            ls.log(ls.pending_log)
        registrations = []
        if ls.watch_files:
            registrations.append(types.Registration(
                id="migls-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[
                    types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED])))
        if ls.watch_configuration:
            registrations.append(types.Registration(
                id="migls-configuration", method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=types.DidChangeConfigurationRegistrationOptions(
                    section="migls")))
        if registrations:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(registrations=registrations))
            except Exception as exc:  # noqa: BLE001 - a client refusing is not fatal
                ls.log(f"the client did not accept the registrations: {exc}")

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: MiglsServer, params: None) -> None:
        ls.shutdown_engine()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: MiglsServer, params: types.DidOpenTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is None:
            return
        ls.uris[path] = params.text_document.uri  # publish under the URI the client uses
        state = await ls.env_for(path)
        if state is None:
            return
        if ls.pull:  # it was pushed while closed; now the client pulls it
            ls.clear_pushed(path)
        ls.changed(state, path, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: MiglsServer, params: types.DidChangeTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        state = await ls.env_for(path) if path is not None else None
        if state is not None and path is not None:
            ls.changed(state, path, DEBOUNCE)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: MiglsServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is None:
            return
        if Path(path).name in CONFIG_FILE_NAMES:
            ls.files_changed([(path, False)])
            return
        state = await ls.env_for(path)
        if state is not None:
            ls.changed(state, path, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: MiglsServer, params: types.DidCloseTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is None:
            return
        state = await ls.env_for(path)
        if state is None:
            return
        # The editor's text is gone: the file on disk (if any) counts again.
        exists = Path(path).is_file()
        ls.files_changed([(path, not exists)])
        if not exists:
            ls.clear_pushed(path, force=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(ls: MiglsServer,
                                       params: types.DidChangeWatchedFilesParams) -> None:
        await ls.ready()
        events = []
        for change in params.changes:
            path = ls.path_of(change.uri)
            if path is not None:
                events.append((path, change.type == types.FileChangeType.Deleted))
        ls.files_changed(events)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: MiglsServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if (raw is None or unwrap(raw) in ({}, None)) and ls.pull_configuration:
            try:
                found = await ls.workspace_configuration_async(types.ConfigurationParams(
                    items=[types.ConfigurationItem(section="migls")]))
                raw = found[0] if found else None
            except Exception as exc:  # noqa: BLE001 - then the settings stay as they are
                ls.log(f"cannot read the settings from the client: {exc}")
                return
        parsed = parse_client_settings(raw)
        if parsed.problems:
            ls.message("bad settings: " + "; ".join(parsed.problems), once=False)
        if parsed.unknown:
            ls.log(f"unknown settings ignored: {', '.join(parsed.unknown)}")
        await ls.ready()
        ls.reconfigure(parsed.settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(ls: MiglsServer,
                                     params: types.DidChangeWorkspaceFoldersParams) -> None:
        ls.roots = [Path(p) for folder in ls.workspace.folders.values()
                    if (p := to_fs_path(folder.uri))]
        ls.start_discovery()

