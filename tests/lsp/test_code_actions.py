"""Code actions over LSP: the rule's quick fix (preferred when safe), the unsafe ones offered
but not preferred, "Ignore MGxxx on this line" (and above a multi-line statement) which the
next lint honours, and ``source.fixAll.migls`` (resolved lazily where the client can)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_session import Session, copy_blog, revision_text, write_revision
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

FIX_ALL = "source.fixAll.migls"


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(d.code for d in diagnostics if isinstance(d.code, str))


def of(diagnostics: list[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == code]


async def resolved(client: LanguageClient, action: types.CodeAction) -> types.CodeAction:
    """The action with its edit (resolved when the server left it for later)."""
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    return action


async def test_safe_quick_fix_is_preferred_and_fixes(client: LanguageClient,
                                                    tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    actions = await session.code_actions(comments, of(found, "MG108"))
    titles = [a.title for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert titles == ["Rewrite the header's Revises line (MG108)", "Ignore MG108 on this line"]
    fix = actions[0]
    assert fix.is_preferred and fix.diagnostics and fix.diagnostics[0].code == "MG108"
    versions = session.apply(fix.edit)
    after = await session.diagnostics(comments, version=versions[comments])
    assert codes(after) == ["MG103"]
    assert "Revises: 5d2f9a4c1e83" in session.texts[comments]


async def test_unsafe_fix_is_offered_not_preferred(client: LanguageClient,
                                                   tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    tags = session.open(session.revision("7f4a"))
    found = await session.diagnostics(tags, version=1)
    actions = await session.code_actions(tags, of(found, "MG103"))
    rebase = actions[0]
    assert rebase.title == "Rebase '7f4a6c2e9b18' onto the other head '6e8b3d5f2a97' (MG103, unsafe)"
    assert not rebase.is_preferred
    versions = session.apply(rebase.edit)
    assert codes(await session.diagnostics(tags, version=versions[tags])) == []
    await session.diagnostics(session.revision("6e8b"), where=lambda d: codes(d) == ["MG108"])


async def test_ignore_on_this_line_is_honoured(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    users = session.open(session.revision("3a9d"))
    found = await session.diagnostics(users, version=1)
    actions = await session.code_actions(users, of(found, "MG202"))
    ignore = next(a for a in actions if a.title == "Ignore MG202 on this line")
    assert not ignore.is_preferred
    versions = session.apply(ignore.edit)
    assert codes(await session.diagnostics(users, version=versions[users])) == []
    assert ("def downgrade() -> None:  # migls: ignore[MG202] -- TODO: why this is safe"
            in session.texts[users])


async def test_ignore_above_a_multi_line_statement(client: LanguageClient,
                                                   tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    body = ('op.create_index(\n        "ix_posts_title",\n        "posts",\n'
            '        ["title"],\n    )')
    path = write_revision(root, "8d9e0f1a2b3c_index.py", revision_text(
        "8d9e0f1a2b3c", "7f4a6c2e9b18", body=body,
        downgrade='op.drop_index("ix_posts_title", table_name="posts")'))
    session = await Session.start(client, client.name, root)
    uri = session.open(path.as_uri())
    found = await session.diagnostics(uri, version=1)
    index = of(found, "MG303")
    first = index[0].range.start.line
    assert session.texts[uri].split("\n")[first] == "    op.create_index("
    # Asked on a later line of the call (the table name), the comment still goes above it.
    inside = session.position_of(uri, '"posts"')
    assert inside.line > first
    actions = await session.code_actions(uri, index, range_=types.Range(start=inside, end=inside))
    ignore = next(a for a in actions if a.title == "Ignore MG303 on this line")
    versions = session.apply(ignore.edit)
    after = await session.diagnostics(uri, version=versions[uri])
    assert "MG303" not in codes(after) and "MG004" not in codes(after)
    lines = session.texts[uri].split("\n")
    assert lines[first] == "    # migls: ignore[MG303] -- TODO: why this is safe"
    assert lines[first + 1] == "    op.create_index("


async def test_fix_all_applies_the_safe_fixes_only(client: LanguageClient,
                                                  tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.revision("6e8b")
    text = session.path(comments).read_text(encoding="utf-8").replace(
        'op.drop_table("comments")',
        'op.drop_table("comments")  # migls: ignore[MG401] -- nothing to ignore here')
    session.open(comments, text)
    found = await session.diagnostics(comments, version=1)
    assert codes(found) == ["MG004", "MG103", "MG108"]
    unused = of(found, "MG004")[0]
    if client.capabilities.text_document.publish_diagnostics.tag_support:
        assert list(unused.tags or ()) == [types.DiagnosticTag.Unnecessary]
    for only in ([FIX_ALL], ["source.fixAll"], ["source"]):
        actions = await session.code_actions(comments, [], range_=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            only=only)
        assert [a.kind for a in actions] == [FIX_ALL], only
    action = await resolved(client, actions[0])
    versions = session.apply(action.edit)
    after = await session.diagnostics(comments, version=versions[comments])
    assert codes(after) == ["MG103"]  # the unsafe rebase is left to the developer
    assert "# migls: ignore" not in session.texts[comments]
    assert "Revises: 5d2f9a4c1e83" in session.texts[comments]


async def test_fix_all_can_be_turned_off(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path),
                                  options={"fixAll": False})
    comments = session.open(session.revision("6e8b"))
    found = await session.diagnostics(comments, version=1)
    assert await session.code_actions(comments, [], range_=found[0].range, only=[FIX_ALL]) == []
    quick = await session.code_actions(comments, of(found, "MG108"))
    assert quick[0].title.startswith("Rewrite the header's Revises line")
