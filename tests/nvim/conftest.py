"""The ``neovim`` fixture: a headless Neovim whose whole configuration is one of the README's
Lua snippets, verbatim, started in a fresh copy of ``examples/blog`` with its own XDG
directories (so its LSP log lands in the test's tmp dir and nothing of the user's is read)."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nvim.harness import (NeovimMissing, Session, copy_blog, current_neovim, debian_neovim,
                          readme_configs)

#: (which Neovim, the README snippet it runs): the current API on the current Neovim, the
#: 0.8-0.10 ``vim.lsp.start`` form (still valid) on it too, and 0.7's on Debian's 0.7.
EDITORS = [("current", "vim.lsp.config"), ("current", "vim.lsp.start"),
           ("debian", "start_client")]


@dataclass
class Opened:
    """A running Neovim and the project it was started in."""

    nvim: Session
    project: Path


@pytest.fixture(params=EDITORS, ids=lambda p: f"{p[0]}-{p[1]}")
def neovim(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Opened]:
    which, config = request.param
    try:
        binary = debian_neovim() if which == "debian" else current_neovim()
    except NeovimMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    configs = readme_configs()
    assert config in configs, f"README.md has no `<!-- neovim-config: {config} -->` block"
    snippet, tested = configs[config]
    assert tested, f"the README marks {config} untested, yet a test runs it"
    init = tmp_path / "init.lua"
    init.write_text(snippet + "\n", encoding="utf-8")
    # The snippets run `migls server` from PATH: the one installed with this interpreter.
    scripts = Path(sysconfig.get_path("scripts"))
    assert (scripts / "migls").exists(), f"no migls in {scripts}: `pip install -e '.[test]'`"
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / "xdg" / name.lower()))
    monkeypatch.setenv("NVIM_LOG_FILE", str(tmp_path / "xdg" / "nvim.log"))
    project = copy_blog(tmp_path)
    monkeypatch.chdir(project)
    session = Session(binary, init)
    try:
        yield Opened(session, project)
    finally:
        session.close()
