"""Hover over LSP on an operation (what it does to a PostgreSQL table, from the facts the
lock rules use) and on a rule code in a suppression comment (the rule and its page)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_session import Session, copy_blog, revision_text, write_revision
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

BODY = """op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("audit", sa.Column("note", sa.Text()))
    op.add_column("posts", sa.Column("slug", sa.Text()))  # migls: ignore[MG401, MG3, XX9] -- x
    op.create_index("ix_posts_slug", "posts", ["slug"])
    with op.get_context().autocommit_block():
        op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)
    op.execute("UPDATE posts SET slug = title")
    op.create_foreign_key("fk_comments_editor", "comments", "users", ["author_id"], ["id"])
    op.alter_column("posts", "slug", nullable=False)"""


async def test_hover_on_operations_and_suppressed_codes(client: LanguageClient,
                                                        tmp_path: Path) -> None:
    root = copy_blog(tmp_path)
    path = write_revision(root, "8d9e0f1a2b3c_ops.py", revision_text(
        "8d9e0f1a2b3c", "7f4a6c2e9b18", body=BODY, downgrade="raise NotImplementedError"))
    session = await Session.start(client, client.name, root)
    uri = session.open(path.as_uri())
    await session.diagnostics(uri, version=1)

    async def hover(needle: str, offset: int = 4, occurrence: int = 0) -> str:
        at = session.position_of(uri, needle, offset, occurrence)
        found = await session.hover(uri, at.line, at.character)
        assert found is not None, needle
        assert isinstance(found.contents, types.MarkupContent)
        return found.contents.value

    added = await hover('op.add_column("posts"')
    assert added.startswith("**`op.add_column`** on PostgreSQL")
    assert ("`posts`: **ACCESS EXCLUSIVE** until the revision's transaction commits: blocks "
            "reads and writes; catalog only: instant") in added
    assert "lock_timeout" in added
    assert "created earlier in this revision" in await hover('op.add_column("audit"')
    index = await hover('op.create_index("ix_posts_slug"')
    assert "`posts`: **SHARE** until the revision's transaction commits: blocks writes, not reads" in index
    assert "builds the index" in index
    concurrent = await hover('op.create_index("ix_users_name"')
    assert "**SHARE UPDATE EXCLUSIVE** until the statement ends" in concurrent
    update = await hover("op.execute")
    assert "**ROW EXCLUSIVE**" in update and "row-locks each one" in update
    foreign = await hover("op.create_foreign_key")
    assert "`comments`: **SHARE ROW EXCLUSIVE**" in foreign and "`users`: **SHARE ROW EXCLUSIVE**" in foreign
    not_null = await hover('op.alter_column("posts"')
    assert "scans the whole table" in not_null and "validated CHECK" in not_null
    table = await hover('op.create_table("audit"')
    assert "`audit` is new" in table

    rule = await hover("MG401", 2)
    assert rule.startswith("**MG401** `drop-column` (warning)")
    assert "(https://github.com/migls/migls/blob/main/rules/docs/MG401.md)" in rule
    family = await hover("MG3,", 1)
    assert "**MG301** `add-column-not-null-without-default`" in family
    assert "**MG312** `missing-lock-timeout`" in family
    assert "names no migls rule" in await hover("XX9", 1)
