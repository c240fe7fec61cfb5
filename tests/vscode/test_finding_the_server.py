"""Which migls the extension runs, with no setting but the environment around the project: a
workspace ``venv/`` (the ``.venv`` case is in test_vscode.py), ``migls`` on PATH, and the
``migls.interpreter`` setting. Each case also has another migls on PATH that must lose (but
PATH's own case), and checks the server process that really runs, not only what the
extension says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vscode.conftest import OpenVSCode
from vscode.harness import Workbench, migls_executable, wait_until
from vscode.test_vscode import BARE_PATH, COMMENTS, wait_status


def venv_with_migls(where: Path) -> Path:
    """A virtual environment that has migls (through the test interpreter's site-packages,
    without a ``migls`` script of its own); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(where)], check=True)
    return where / "bin" / "python"


def migls_on_path(directory: Path) -> Path:
    """A ``migls`` in ``directory`` (the one under test, linked there); its path."""
    directory.mkdir()
    script = directory / "migls"
    script.symlink_to(migls_executable())
    return script


def running_server(bench: Workbench) -> list[str]:
    """The command line of the one migls server running for this window."""
    assert bench.code_server is not None
    servers = wait_until(bench.page, bench.code_server.migls_servers, "a migls server process")
    assert len(servers) == 1, servers
    return servers[0]


@pytest.mark.parametrize("source", ["venv", "PATH", "migls.interpreter"])
def test_the_server_found_is_the_one_that_runs(source: str, open_vscode: OpenVSCode,
                                               workspace: Path, tmp_path: Path) -> None:
    on_path = migls_on_path(tmp_path / "bin")
    path_env = f"{on_path.parent}:{BARE_PATH}"
    settings: dict[str, object] = {}
    if source == "venv":
        python = venv_with_migls(workspace / "venv")
        expected, origin = [str(python), "-m", "migls", "server"], "the workspace's venv"
    elif source == "PATH":
        expected, origin = [str(on_path), "server"], "PATH"
    else:
        python = venv_with_migls(tmp_path / "tools")
        settings["migls.interpreter"] = [str(python)]
        expected = [str(python), "-m", "migls", "server"]
        origin = "the migls.interpreter setting"

    bench = open_vscode(settings, path_env=path_env)
    bench.open_file(COMMENTS)
    bench.page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=60_000)
    wait_status(bench, r"2 heads")

    argv = running_server(bench)
    # A script runs as `interpreter script server`: compare from the script on.
    assert argv[-len(expected):] == expected, argv
    tooltip = bench.status_tooltip()
    assert f"Runs {' '.join(expected[:-1])}, found through {origin}." in tooltip
