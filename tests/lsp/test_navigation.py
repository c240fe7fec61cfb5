"""The revision graph as navigation over LSP: definition, references, hover on ids,
completion of ids, code lenses, document and workspace symbols."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_session import Session, copy_blog, revision_text, write_revision
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

MERGE = "5d2f9a4c1e83"


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def test_definition_of_parents_and_dependencies(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    depends = write_revision(root, "8d9e0f1a2b3c_depends.py", revision_text(
        "8d9e0f1a2b3c", "7f4a6c2e9b18").replace("depends_on = None",
                                                'depends_on = "4c1e7f3b8d62"'))
    session = await Session.start(client, client.name, root)
    comments = session.open(session.revision("6e8b"))
    merge = session.revision("5d2f")

    async def definition(uri: str, position: types.Position) -> list[types.Location]:
        found = await client.text_document_definition_async(types.DefinitionParams(
            text_document=doc(uri), position=position))
        assert isinstance(found, list)
        return [loc for loc in found if isinstance(loc, types.Location)]

    (target,) = await definition(comments, session.position_of(comments, f'"{MERGE}"', 3))
    assert target.uri == merge
    assert target.range.start == session.position_of(merge, f'"{MERGE}"')
    # A parent of a merge, named in the header's Revises: line.
    (users,) = await definition(merge, session.position_of(merge, "3a9d8c6e2f14", 2))
    assert users.uri == session.revision("3a9d")
    # depends_on.
    uri = session.open(depends.as_uri())
    (needed,) = await definition(uri, session.position_of(uri, '"4c1e7f3b8d62"', 1))
    assert needed.uri == session.revision("4c1e")
    # Not on an id: nothing.
    assert not await client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(comments), position=types.Position(line=0, character=0)))


async def test_references_are_children_and_dependents(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    write_revision(root, "8d9e0f1a2b3c_depends.py", revision_text(
        "8d9e0f1a2b3c", "7f4a6c2e9b18").replace("depends_on = None", f'depends_on = "{MERGE}"'))
    session = await Session.start(client, client.name, root)
    merge = session.open(session.revision("5d2f"))
    at = session.position_of(merge, f'revision: str = "{MERGE}"', 20)
    for declaration in (False, True):
        found = await client.text_document_references_async(types.ReferenceParams(
            text_document=doc(merge), position=at,
            context=types.ReferenceContext(include_declaration=declaration)))
        where = sorted(Path(loc.uri).name for loc in found or ())
        expected = ["6e8b3d5f2a97_create_comments_table.py", "7f4a6c2e9b18_create_tags_tables.py",
                    "8d9e0f1a2b3c_depends.py"]
        if declaration:
            expected.insert(0, "5d2f9a4c1e83_merge_display_name_and_published_at.py")
        assert where == expected


async def test_hover_on_a_revision_id(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    comments = session.open(session.revision("6e8b"))
    at = session.position_of(comments, f'"{MERGE}"', 5)
    hover = await session.hover(comments, at.line, at.character)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert text.startswith(f"**Revision `{MERGE}`**: merge display_name and published_at")
    assert ("File: `migrations/versions/5d2f9a4c1e83_merge_display_name_and_published_at.py`"
            in text)
    assert "Created: 2024-02-06 09:02:51.066412" in text
    assert "**merge of 2, branch point**" in text
    assert "Parents: `3a9d8c6e2f14` (add users.display_name), `4c1e7f3b8d62`" in text
    assert "Children: `6e8b3d5f2a97` (create comments table), `7f4a6c2e9b18`" in text
    assert hover.range is not None and hover.range.start == session.position_of(
        comments, f'"{MERGE}"')
    own = session.position_of(comments, '"6e8b3d5f2a97"', 1)
    mine = await session.hover(comments, own.line, own.character)
    assert mine is not None and "**head**" in mine.contents.value  # type: ignore[union-attr]


async def test_completion_of_revision_ids(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    session = await Session.start(client, client.name, root)
    # A new revision, not saved yet, typed up to the opening quote of down_revision.
    new = (root / "migrations/versions/9c0d1e2f3a4b_new.py").as_uri()
    text = revision_text("9c0d1e2f3a4b", None).replace("down_revision = None",
                                                        'down_revision = "')
    session.open(new, text)
    at = session.position_of(new, 'down_revision = "', len('down_revision = "'))

    async def complete(position: types.Position) -> list[types.CompletionItem]:
        found = await client.text_document_completion_async(types.CompletionParams(
            text_document=doc(new), position=position))
        if found is None:
            return []
        return list(found.items if isinstance(found, types.CompletionList) else found)

    items = await complete(at)
    ordered = [item.label for item in sorted(items, key=lambda i: i.sort_text or i.label)]
    assert set(ordered[:2]) == {"6e8b3d5f2a97", "7f4a6c2e9b18"}  # heads first
    assert set(ordered) == {"1f0c2a9b7d31", "2b7e4d1c9a05", "3a9d8c6e2f14", "4c1e7f3b8d62",
                            MERGE, "6e8b3d5f2a97", "7f4a6c2e9b18"}
    head = next(i for i in items if i.label == "7f4a6c2e9b18")
    assert head.detail == "head: create tags and post_tags tables"
    assert isinstance(head.text_edit, types.TextEdit) and head.text_edit.range.start == at
    # A prefix already typed is replaced; a tuple over several lines works too.
    session.replace_text(new, text.replace('down_revision = "', 'down_revision = (\n    "6e8b3d5f2a97",\n    "5d'))
    at = session.position_of(new, '"5d', 3)
    items = await complete(at)
    edit = next(i for i in items if i.label == MERGE).text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range.start.character == at.character - 2 and edit.range.end == at
    # Outside an id string: nothing.
    assert await complete(session.position_of(new, "branch_labels = None", 3)) == []


async def test_code_lens_on_the_revision_line(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    expected = {"1f0c": "base · 1 child", "2b7e": "2 children", "5d2f": "merge of 2 · 2 children",
                "6e8b": "head", "7f4a": "head"}
    for name, title in expected.items():
        uri = session.open(session.revision(name))
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(
            text_document=doc(uri)))
        assert lenses is not None and len(lenses) == 1
        (lens,) = lenses
        assert lens.command is not None and lens.command.title == title, name
        assert lens.range.start.line == 14  # revision: str = "..."


async def test_document_symbols(client: LanguageClient, tmp_path: Path) -> None:
    session = await Session.start(client, client.name, copy_blog(tmp_path))
    tags = session.open(session.revision("7f4a"))
    found = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=doc(tags)))
    assert found
    if isinstance(found[0], types.DocumentSymbol):
        names = [s.name for s in found]
        upgrade = next(s for s in found if isinstance(s, types.DocumentSymbol)
                       and s.name == "upgrade()")
        children = [(c.name, c.detail) for c in upgrade.children or ()]
    else:
        names = [s.name for s in found if not s.container_name]
        children = [(s.name, None) for s in found if s.container_name == "upgrade()"]
        children = [(name, detail) for name, detail in children]
    assert names == ["revision", "down_revision", "branch_labels", "depends_on", "upgrade()",
                     "downgrade()"]
    assert [name for name, _ in children] == ["op.create_table", "op.create_table"]
    if isinstance(found[0], types.DocumentSymbol):
        assert [detail for _, detail in children] == ["tags", "post_tags"]


async def test_workspace_symbols_by_id_or_message(client: LanguageClient,
                                                  tmp_path: Path) -> None:
    await Session.start(client, client.name, copy_blog(tmp_path))

    async def search(query: str) -> list[str]:
        found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))
        return [s.name for s in found or ()]

    assert await search("5d2f") == [f"{MERGE} merge display_name and published_at"]
    assert await search("comments table") == ["6e8b3d5f2a97 create comments table"]
    assert len(await search("")) == 7
    assert await search("no such revision") == []
