"""``workspace/executeCommand`` as each recorded client: ``migls.mergeHeads`` leaves one head,
``migls.rebaseOnHead`` re-points a revision on disk or in the open buffer (through
``workspace/applyEdit``), ``migls.showGraph`` returns the graph JSON, ``migls.newRevision``
writes a file on the only head and refuses several heads; errors are a response error and a
message; an autogenerate run reports progress and is cancelled (``examples/shop`` with an
``env.py`` that waits forever). Alembic's ``ScriptDirectory`` is the oracle of the graph."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any, Union

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from lsp_session import PATIENCE, REPOSITORY, Session, copy_blog
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

pytestmark = pytest.mark.asyncio

COMMANDS = ["migls.newRevision", "migls.mergeHeads", "migls.rebaseOnHead", "migls.showGraph"]
TWO_HEADS = ("the history has 2 heads: 6e8b3d5f2a97 (create comments table), 7f4a6c2e9b18 "
             "(create tags and post_tags tables); choose the parent with --head REV (e.g. --head "
             "6e8b3d5f2a97), or merge them first with `migls merge`")


def heads(root: Path) -> set[str]:
    return set(ScriptDirectory.from_config(Config(str(root / "alembic.ini"))).get_heads())


def versions(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "migrations" / "versions").iterdir()
                  if p.name != "__pycache__")


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if ".migls" in p.name)


async def execute(client: LanguageClient, name: str, arguments: dict[str, Any] | None) -> Any:
    return await asyncio.wait_for(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[arguments])), PATIENCE)


async def refused(session: Session, name: str, arguments: dict[str, Any], message: str) -> None:
    """The command answers with a response error saying ``message`` and shows it."""
    with pytest.raises(JsonRpcException) as failure:
        await execute(session.client, name, arguments)
    assert failure.value.message == message
    shown = await session.message(message)
    assert shown.type == types.MessageType.Error


def with_apply_edit(session_holder: list[Session], client: LanguageClient) -> None:
    """Answer ``workspace/applyEdit`` as an editor does: the open buffers change."""
    def apply_edit(ls: LanguageClient, params: types.ApplyWorkspaceEditParams
                   ) -> types.ApplyWorkspaceEditResult:
        session_holder[0].apply(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)


async def test_commands_are_announced(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    provider = session.result.capabilities.execute_command_provider
    assert provider is not None and sorted(provider.commands) == sorted(COMMANDS)


async def test_merge_heads_leaves_one_head(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    result = await execute(client, "migls.mergeHeads", {"message": "merge comments and tags"})
    path = Path(result["path"])
    assert path.parent == root / "migrations" / "versions" and path.is_file()
    assert session.path(result["uri"]) == path
    assert heads(root) == {result["revision"]}
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    merged = script.get_revision(result["revision"])
    assert set(merged.down_revision) == {"6e8b3d5f2a97", "7f4a6c2e9b18"}
    assert merged.doc == "merge comments and tags"
    window = client_capabilities(client.name).window
    shows = bool(window and window.show_document and window.show_document.support)
    assert [d.uri for d in client.shown_documents] == ([result["uri"]] if shows else [])
    # Merging again: nothing to do, said, not failed.
    again = await execute(client, "migls.mergeHeads", {})
    assert again["uris"] == [] and again["message"].startswith("nothing to merge: one head")


def _read_code_actions_with_commands(client: LanguageClient) -> None:
    """lsprotocol (2025.0) reads any code action that has a ``command`` as a bare ``Command``
    (its union hook only asks whether the key exists), which loses the action; read it the
    way the specification tells them apart: a Command's ``command`` is a string."""
    converter = client.protocol._converter
    union = Union[types.Command, types.CodeAction]

    def structure(obj: Any, _: type) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)

    converter.register_structure_hook(union, structure)


async def test_multiple_heads_offers_a_merge_revision(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    """MG103's second quick fix runs migls.mergeHeads for the environment of the file."""
    _read_code_actions_with_commands(client)
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    tags = session.open(session.revision("7f4a"))
    found = await session.diagnostics(tags, version=1)
    multiple = [d for d in found if d.code == "MG103"]
    assert multiple
    actions = await session.code_actions(tags, multiple)
    merge = [a for a in actions if a.command is not None]
    assert [a.title for a in merge] == ["Create a merge revision of the heads (MG103)"]
    assert merge[0].command is not None and merge[0].command.command == "migls.mergeHeads"
    result = await execute(client, merge[0].command.command, *merge[0].command.arguments or [])
    assert heads(root) == {result["revision"]}
    assert set(ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
               .get_revision(result["revision"]).down_revision) == {"6e8b3d5f2a97", "7f4a6c2e9b18"}


async def test_new_revision_refuses_two_heads_then_goes_on_the_head(client: LanguageClient,
                                                                    tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    before = versions(root)
    await refused(session, "migls.newRevision", {"message": "more"}, TWO_HEADS)
    assert versions(root) == before
    made = await execute(client, "migls.newRevision", {"message": "add tag colour",
                                                       "head": "7f4a"})
    assert heads(root) == {"6e8b3d5f2a97", made["revision"]}
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    assert script.get_revision(made["revision"]).down_revision == "7f4a6c2e9b18"
    assert Path(made["path"]).name.endswith("_add_tag_colour.py")
    assert session.path(made["uri"]) == Path(made["path"])
    # Two heads still: the new file carries MG103.
    assert made["diagnostics"] == 1 and made["message"].endswith("_add_tag_colour.py (1 finding)")


async def test_new_revision_on_the_only_head(one_client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    await Session.start(one_client, "visual-studio-code", root)
    merged = await execute(one_client, "migls.mergeHeads", {})
    made = await execute(one_client, "migls.newRevision", {"message": "after the merge"})
    assert heads(root) == {made["revision"]}
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    assert script.get_revision(made["revision"]).down_revision == merged["revision"]


async def test_rebase_writes_the_file_without_apply_edit(one_client: LanguageClient,
                                                         tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.workspace is not None
    capabilities.workspace.apply_edit = False
    await Session.start(one_client, "visual-studio-code", root, capabilities=capabilities)
    result = await execute(one_client, "migls.rebaseOnHead",
                           {"revision": "7f4a", "onto": "6e8b3d5f2a97"})
    tags = root / "migrations" / "versions" / "7f4a6c2e9b18_create_tags_tables.py"
    assert result["paths"] == [str(tags)]
    assert heads(root) == {"7f4a6c2e9b18"}
    text = tags.read_text(encoding="utf-8")
    assert 'down_revision: Union[str, Sequence[str], None] = "6e8b3d5f2a97"' in text
    assert "Revises: 6e8b3d5f2a97" in text


async def test_rebase_edits_the_open_buffer(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    holder: list[Session] = []
    with_apply_edit(holder, client)
    session = await Session.start(client, client.name, root)
    holder.append(session)
    tags = session.open(session.revision("7f4a"))
    await session.diagnostics(tags, version=1)
    on_disk = session.path(tags).read_text(encoding="utf-8")
    result = await execute(client, "migls.rebaseOnHead", {"revision": "7f4a6c2e9b18",
                                                          "onto": "6e8b"})
    assert result["uris"] == [tags]
    assert session.versions[tags] == 2  # the edit reached the buffer, not the disk
    assert 'None] = "6e8b3d5f2a97"' in session.texts[tags]
    assert session.path(tags).read_text(encoding="utf-8") == on_disk
    after = await session.diagnostics(tags, version=2)
    assert not [d for d in after if d.code == "MG103"]


async def test_errors_are_responses_and_messages(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    await refused(session, "migls.rebaseOnHead", {"revision": "nope", "onto": "6e8b"},
                  "no revision 'nope' in this history (7 revisions)")
    await refused(session, "migls.mergeHeads", {"alembicConfig": "elsewhere/alembic.ini"},
                  "no Alembic environment with the configuration elsewhere/alembic.ini in the "
                  "workspace (alembic.ini)")
    # The server goes on.
    graph = await execute(client, "migls.showGraph", {})
    assert len(graph["environments"][0]["revisions"]) == 7


async def test_show_graph(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    await Session.start(client, client.name, root)
    graph = await execute(client, "migls.showGraph", {"uri": root.as_uri(), "format": "json"})
    assert graph["version"] == 1
    (env,) = graph["environments"]
    assert env["name"] == "alembic.ini" and env["config"] == str(root / "alembic.ini")
    assert env["heads"] == ["6e8b3d5f2a97", "7f4a6c2e9b18"]
    assert env["bases"] == ["1f0c2a9b7d31"]
    ids = [r["id"] for r in env["revisions"]]
    assert sorted(ids) == sorted(p.split("_")[0] for p in versions(root) if p.endswith(".py"))
    for revision in env["revisions"]:
        assert Path(revision["path"]).is_file() and revision["uri"].startswith("file://")
    by_id = {r["id"]: r for r in env["revisions"]}
    assert by_id["5d2f9a4c1e83"]["merge"] and by_id["7f4a6c2e9b18"]["head"]
    assert "MG103" in [f["code"] for f in by_id["7f4a6c2e9b18"]["findings"]]


# -- autogenerate: project code, progress, cancellation ---------------------------------------


def shop(tmp_path: Path, env_py: str) -> Path:
    """A copy of ``examples/shop`` whose ``env.py`` is replaced."""
    root = tmp_path / "shop"
    shutil.copytree(REPOSITORY / "examples" / "shop", root,
                    ignore=shutil.ignore_patterns("__pycache__", "shop.db"))
    (root / "migrations" / "env.py").write_text(env_py, encoding="utf-8")
    return root


WAITS_FOREVER = "import threading\nthreading.Event().wait()\n"


async def progress_begun(client: LanguageClient) -> str:
    """The token of the first progress that began."""
    async def wait() -> str:
        while True:
            for token, reports in client.progress_reports.items():
                if any(isinstance(r, types.WorkDoneProgressBegin) for r in reports):
                    return str(token)
            await client.wait_for_notification(types.PROGRESS)
    return await asyncio.wait_for(wait(), PATIENCE)


async def progress_ended(client: LanguageClient, token: str) -> types.WorkDoneProgressEnd:
    async def wait() -> types.WorkDoneProgressEnd:
        while True:
            for report in client.progress_reports.get(token, []):
                if isinstance(report, types.WorkDoneProgressEnd):
                    return report
            await client.wait_for_notification(types.PROGRESS)
    return await asyncio.wait_for(wait(), PATIENCE)


async def test_cancelling_the_progress_stops_autogenerate(one_client: LanguageClient,
                                                          tmp_path: Path) -> None:
    root = shop(tmp_path, WAITS_FOREVER)
    session = await Session.start(one_client, "visual-studio-code", root)
    before = versions(root)
    running = asyncio.ensure_future(execute(one_client, "migls.newRevision", {
        "message": "x", "autogenerate": True, "python": sys.executable}))
    token = await progress_begun(one_client)
    begin = one_client.progress_reports[token][0]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
    one_client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as failure:
        await running
    assert failure.value.message == "cancelled; nothing was written"
    assert (await progress_ended(one_client, token)).message == "cancelled; nothing was written"
    await session.message("cancelled; nothing was written")
    assert versions(root) == before and leftovers(root) == []


async def test_cancel_request_stops_autogenerate(one_client: LanguageClient,
                                                 tmp_path: Path) -> None:
    root = shop(tmp_path, WAITS_FOREVER)
    await Session.start(one_client, "visual-studio-code", root)
    before = versions(root)
    request = asyncio.wrap_future(one_client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="migls.newRevision",
            arguments=[{"message": "x", "autogenerate": True, "python": sys.executable}]),
        msg_id="autogenerate-to-cancel"))
    token = await progress_begun(one_client)
    one_client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="autogenerate-to-cancel"))
    with pytest.raises(JsonRpcException) as failure:
        await asyncio.wait_for(request, PATIENCE)
    assert "canceled" in failure.value.message
    # The subprocess is killed and nothing is left behind.
    assert (await progress_ended(one_client, token)).message == "cancelled; nothing was written"
    assert versions(root) == before and leftovers(root) == []


async def test_env_py_raising_is_a_clear_error(one_client: LanguageClient,
                                               tmp_path: Path) -> None:
    root = shop(tmp_path, "raise RuntimeError('boom from env')\n")
    session = await Session.start(one_client, "visual-studio-code", root)
    before = versions(root)
    with pytest.raises(JsonRpcException) as failure:
        await execute(one_client, "migls.newRevision", {
            "message": "x", "autogenerate": True, "python": sys.executable})
    (line,) = failure.value.message.splitlines()
    assert "RuntimeError: boom from env" in line
    await session.message("RuntimeError: boom from env")
    assert versions(root) == before and leftovers(root) == []
    # Without autogenerate, env.py does not run.
    made = await execute(one_client, "migls.newRevision", {"message": "by hand"})
    assert heads(root) == {made["revision"]}
