"""migls in a real Neovim, configured by the README as written: the diagnostics of an opened
revision file, a quick fix and the fix-all action chosen from the code-action menu, go to
definition on a ``down_revision`` id, and hover on it. Each test runs for every (Neovim, README snippet) pair
of ``conftest.EDITORS``."""

from __future__ import annotations

import json

from nvim.conftest import Opened
from nvim.harness import VERSIONS, readme_initialization_options

COMMENTS = VERSIONS / "6e8b3d5f2a97_create_comments_table.py"
MERGE = VERSIONS / "5d2f9a4c1e83_merge_display_name_and_published_at.py"
#: vim.diagnostic.severity
ERROR, INFO = 1, 3
FIX_TITLE = "Rewrite the header's Revises line (MG108)"
FIX_ALL_TITLE = "migls: fix all auto-fixable problems"


def open_comments(neovim: Opened) -> list[dict[str, object]]:
    """Opens the comments revision (two findings: MG108, MG103) and waits for them."""
    neovim.nvim.edit(neovim.project / COMMENTS)
    neovim.nvim.wait("migls_test.codes() == 'MG103,MG108'",
                     "the diagnostics of the comments revision")
    return neovim.nvim.diagnostics()


def test_diagnostics_of_an_opened_revision(neovim: Opened) -> None:
    found = open_comments(neovim)
    assert [(d["code"], d["source"], d["severity"], d["lnum"], d["col"], d["end_lnum"],
             d["end_col"], d["message"]) for d in found] == [
        # The header's "Revises: 4c1e7f3b8d62": the id only. Info, not a warning: the
        # README's init_options reached the server.
        ("MG108", "migls", INFO, 3, 9, 3, 21,
         "the header says 'Revises: 4c1e7f3b8d62' but down_revision is '5d2f9a4c1e83'"),
        # revision: str = "6e8b3d5f2a97": the quoted id.
        ("MG103", "migls", ERROR, 14, 16, 14, 30,
         ("'6e8b3d5f2a97' is one of several heads (also '7f4a6c2e9b18'): "
          "`alembic upgrade head` fails; rebase onto the other head or merge them")),
    ]
    lines = neovim.nvim.lines()
    assert lines[3][9:21] == "4c1e7f3b8d62" and lines[14][16:30] == '"6e8b3d5f2a97"'
    (client,) = neovim.nvim.lua("return migls_test.clients()")
    assert client["name"] == "migls" and client["root_dir"] == str(neovim.project)
    # The settings the README's snippet sends are the ones its "Any LSP client" section shows.
    assert client["init_options"] == readme_initialization_options()


def test_quick_fix_from_the_code_action_menu(neovim: Opened) -> None:
    nvim = neovim.nvim
    found = open_comments(neovim)
    before = nvim.lines()
    mg108 = next(d for d in found if d["code"] == "MG108")
    nvim.cursor_on(int(mg108["lnum"]), "4c1e7f3b8d62")  # type: ignore[call-overload]
    nvim.lua("migls_test.choose(...)", FIX_TITLE)
    nvim.lua("vim.lsp.buf.code_action()")
    nvim.wait("migls_test.menu ~= nil", "the code-action menu")
    menu = nvim.lua("return migls_test.menu")
    assert menu[:2] == [FIX_TITLE, "Ignore MG108 on this line"], menu
    nvim.wait("vim.api.nvim_buf_get_lines(0, 3, 4, true)[1] ~= 'Revises: 4c1e7f3b8d62'",
              "the quick fix's edit")
    expected = list(before)
    expected[3] = "Revises: 5d2f9a4c1e83"
    assert nvim.lines() == expected
    # The server lints the edited buffer: only the other head remains.
    nvim.wait("migls_test.codes() == 'MG103'", "the diagnostics after the fix")
    nvim.nvim.command("write")
    assert (neovim.project / COMMENTS).read_text(encoding="utf-8") == "\n".join(expected) + "\n"


def test_go_to_the_parent_revision(neovim: Opened) -> None:
    nvim = neovim.nvim
    open_comments(neovim)
    line = next(i for i, text in enumerate(nvim.lines()) if text.startswith("down_revision"))
    nvim.cursor_on(line, "5d2f9a4c1e83")
    nvim.lua("vim.lsp.buf.definition()")
    nvim.wait(f"vim.api.nvim_buf_get_name(0) == {json.dumps(str(neovim.project / MERGE))}",
              "the jump to the parent revision")
    row, column = nvim.nvim.current.window.cursor
    assert nvim.lines()[row - 1] == 'revision: str = "5d2f9a4c1e83"'
    assert column == len("revision: str = ")
    # The parent's buffer is served by the same server (one per project, as configured).
    nvim.wait("#migls_test.clients(0) == 1", "the server attached to the parent's buffer")
    assert [c["name"] for c in nvim.lua("return migls_test.clients()")] == ["migls"]


def test_hover_on_a_parent_id_shows_its_message(neovim: Opened) -> None:
    nvim = neovim.nvim
    open_comments(neovim)
    line = next(i for i, text in enumerate(nvim.lines()) if text.startswith("down_revision"))
    nvim.cursor_on(line, "5d2f9a4c1e83")
    nvim.lua("vim.lsp.buf.hover()")
    nvim.wait("#migls_test.floats() > 0", "the hover window")
    (hover,) = nvim.lua("return migls_test.floats()")
    assert "Revision `5d2f9a4c1e83`**: merge display_name and published_at" in hover
    assert "Parents: `3a9d8c6e2f14` (add users.display_name)" in hover
    assert "Children: `6e8b3d5f2a97` (create comments table)" in hover


def test_fix_all_source_action(neovim: Opened) -> None:
    """``source.fixAll.migls`` asked for by kind, as a fix-on-save mapping would: the server
    leaves its edit to ``codeAction/resolve``, which each Neovim does its own way."""
    nvim = neovim.nvim
    open_comments(neovim)
    before = nvim.lines()
    nvim.lua("migls_test.choose(...)", FIX_ALL_TITLE)
    nvim.lua("""
      local context = { only = { "source.fixAll.migls" } }
      if vim.fn.has("nvim-0.8") == 1 then vim.lsp.buf.code_action({ context = context })
      else vim.lsp.buf.code_action(context) end  -- 0.7 takes the context itself
    """)
    nvim.wait("migls_test.menu ~= nil", "the code-action menu")
    assert nvim.lua("return migls_test.menu") == [FIX_ALL_TITLE]
    nvim.wait("vim.api.nvim_buf_get_lines(0, 3, 4, true)[1] ~= 'Revises: 4c1e7f3b8d62'",
              "the fix-all edit")
    expected = list(before)
    expected[3] = "Revises: 5d2f9a4c1e83"  # MG108's safe fix; MG103's rebase is unsafe
    assert nvim.lines() == expected
    nvim.wait("migls_test.codes() == 'MG103'", "the diagnostics after the fix-all")
