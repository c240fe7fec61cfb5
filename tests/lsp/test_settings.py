"""Settings over LSP: from initializationOptions and didChangeConfiguration (pushed or pulled
with workspace/configuration), bad values falling back to defaults with a message, the
project's [tool.migls] and Alembic config re-read when they change, another Alembic config."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_session import Session, copy_blog
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(d.code for d in diagnostics if isinstance(d.code, str))


def severity(diagnostics: list[types.Diagnostic], code: str) -> types.DiagnosticSeverity | None:
    return next(d.severity for d in diagnostics if d.code == code)


async def test_initialization_options(client: LanguageClient, tmp_path: Path) -> None:
    options = {"settings": {"select": ["MG1"], "ignore": ["docstring-mismatch"],
                            "severity": {"MG1": "info", "MG103": "warning"},
                            "fixAll": True, "alembicConfig": None}}
    session = await Session.start(client, client.name, copy_blog(tmp_path), options=options)
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    assert codes(found) == ["MG103"]
    assert severity(found, "MG103") == types.DiagnosticSeverity.Warning
    assert not client.messages


async def test_bad_settings_fall_back_to_defaults_with_a_message(client: LanguageClient,
                                                                  tmp_path: Path) -> None:
    options = {"select": ["MG999"], "severity": {"MG103": "fatal"}, "fixAll": "yes",
               "colour": "blue"}
    session = await Session.start(client, client.name, copy_blog(tmp_path), options=options)
    shown = await session.message("bad settings")
    assert shown.type == types.MessageType.Warning
    assert "'select': unknown rule selector 'MG999'" in shown.message
    assert "'severity': 'MG103' must be \"error\", \"warning\" or \"info\"" in shown.message
    assert "'fixAll': expected true or false" in shown.message
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    assert codes(found) == ["MG103", "MG108"]
    assert severity(found, "MG103") == types.DiagnosticSeverity.Error
    assert any("colour" in m.message for m in client.log_messages)


async def test_did_change_configuration(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.open(session.revision("6e8b"))
    assert severity(await session.diagnostics(comments, version=1),
                    "MG103") == types.DiagnosticSeverity.Error
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"migls": {"severity": {"multiple-heads": "info"}}}))
    await session.diagnostics(comments, where=lambda d: severity(
        d, "MG103") == types.DiagnosticSeverity.Information)
    # A bad value: a message, and that key back to its default.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"migls": {"severity": {"MG103": "loud"}}}))
    await session.message("'MG103' must be")
    await session.diagnostics(comments, where=lambda d: severity(
        d, "MG103") == types.DiagnosticSeverity.Error)
    if client.capabilities.workspace.configuration:
        # No settings in the notification: the server asks for the "migls" section.
        client.set_configuration({"ignore": ["MG103"]}, section="migls")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings=None))
        await session.diagnostics(comments, where=lambda d: codes(d) == ["MG108"])


async def test_project_settings_are_read_again_when_they_change(client: LanguageClient,
                                                                tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    comments = session.open(session.revision("6e8b"))
    assert codes(await session.diagnostics(comments, version=1)) == ["MG103", "MG108"]
    pyproject = root / "pyproject.toml"
    original = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(original + 'ignore = ["MG108"]\n', encoding="utf-8")
    # Reported by a file watcher...
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]))
    await session.diagnostics(comments, where=lambda d: codes(d) == ["MG103"])
    # ...or noticed at the next lint by a client that watches nothing.
    pyproject.write_text(original + 'severity = { MG103 = "warning" }\n', encoding="utf-8")
    session.replace_text(comments, session.texts[comments] + "\n")
    found = await session.diagnostics(comments, where=lambda d: codes(d) == ["MG103", "MG108"])
    assert severity(found, "MG103") == types.DiagnosticSeverity.Warning
    # A broken [tool.migls]: a message, and the defaults.
    pyproject.write_text(original + "select = 3\n", encoding="utf-8")
    session.replace_text(comments, session.texts[comments] + "\n")
    await session.message("'select' must be a list of strings")
    found = await session.diagnostics(comments, where=lambda d: severity(
        d, "MG103") == types.DiagnosticSeverity.Error)
    assert codes(found) == ["MG103", "MG108"]


async def test_another_alembic_config_and_a_missing_one(client: LanguageClient,
                                                        tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    (root / "deploy").mkdir()
    ini = (root / "alembic.ini").read_text(encoding="utf-8").replace(
        "%(here)s/migrations", "%(here)s/../migrations")
    (root / "deploy" / "alembic-prod.ini").write_text(ini, encoding="utf-8")
    (root / "alembic.ini").unlink()
    session = await Session.start(client, client.name, root,
                                  options={"alembicConfig": "deploy/alembic-prod.ini"})
    comments = session.open(session.revision("6e8b"))
    assert codes(await session.diagnostics(comments, version=1)) == ["MG103", "MG108"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"migls": {"alembicConfig": "deploy/missing.ini"}}))
    shown = await session.message("deploy/missing.ini: no such Alembic config file")
    assert shown.type == types.MessageType.Warning
    # Without an alembic.ini to fall back to, the findings are withdrawn; requests answered.
    await session.diagnostics(comments, where=lambda d: d == [])
    assert await session.hover(comments, 0, 0) is None


async def test_a_broken_alembic_config(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    ini = root / "alembic.ini"
    good = ini.read_text(encoding="utf-8")
    ini.write_text(good.replace("%(here)s/migrations", "%(here)s/nowhere"), encoding="utf-8")
    session = await Session.start(client, client.name, root)
    shown = await session.message("/nowhere' does not exist")
    assert shown.type == types.MessageType.Warning
    comments = session.open(session.revision("6e8b"))
    assert await session.hover(comments, 14, 20) is None
    ini.write_text(good, encoding="utf-8")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=ini.as_uri(), type=types.FileChangeType.Changed)]))
    assert codes(await session.diagnostics(comments)) == ["MG103", "MG108"]
