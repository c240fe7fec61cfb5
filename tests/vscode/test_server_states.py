"""The status-bar item through the server's life: starting (a spinner), running, restarting
after the server exits, stopped when it cannot come back, and Restart Server.

The migls here is a wrapper the test controls: its ``server`` waits for a gate file before
the real server starts (a slow start that lasts exactly as long as the test wants), and
fails at once while a ``crash`` file exists; it writes its pid, so that the test can kill the
running server as a crash would.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from vscode.conftest import OpenVSCode
from vscode.harness import Workbench, migls_executable, wait_until
from vscode.test_vscode import COMMENTS, wait_status


def gated_migls(directory: Path) -> Path:
    script = directory / "migls"
    script.write_text(
        "#!/bin/sh\n"
        'here="$(dirname "$0")"\n'
        'if [ "$1" = server ]; then\n'
        '    echo $$ > "$here/server.pid"\n'
        '    if [ -e "$here/crash" ]; then\n'
        '        echo "migls: error: cannot start (the test says so)" >&2\n'
        "        exit 3\n"
        "    fi\n"
        '    while [ ! -e "$here/gate" ]; do sleep 0.05; done\n'
        "fi\n"
        f'exec "{migls_executable()}" "$@"\n')
    script.chmod(0o755)
    return script


def wait_starting(bench: Workbench) -> None:
    """The spinner, and the tooltip saying so."""
    bench.status_item().locator(".codicon-sync.codicon-modifier-spin").wait_for(timeout=60_000)
    assert "migls server: starting" in bench.status_tooltip()


class Server:
    """The gated migls's files: the gate, the crash switch, the pid of the last start."""

    def __init__(self, directory: Path) -> None:
        self.gate, self.crash, self.pid = (directory / "gate", directory / "crash",
                                           directory / "server.pid")

    def kill(self) -> None:
        """Kills the running server, as a crash would."""
        pid = int(self.pid.read_text())
        self.pid.unlink()
        os.kill(pid, signal.SIGKILL)


def test_status_follows_the_server(open_vscode: OpenVSCode, tmp_path: Path) -> None:
    script = gated_migls(tmp_path)
    server = Server(tmp_path)
    bench = open_vscode({"migls.path": [str(script)]})
    page = bench.page
    bench.open_file(COMMENTS)
    squiggle = page.locator(".monaco-editor .squiggly-error").first

    # Started, not answering yet: starting, and no findings.
    wait_until(page, server.pid.exists, "the server process")
    wait_starting(bench)
    assert page.locator(".monaco-editor .squiggly-error").count() == 0
    server.gate.touch()
    wait_status(bench, r"migls: 2 heads")
    squiggle.wait_for(timeout=60_000)
    assert "migls server: running" in bench.status_tooltip()

    # The server exits: the extension starts it again (starting while it is slow to).
    server.gate.unlink()
    server.kill()
    wait_until(page, server.pid.exists, "the server started again")
    wait_starting(bench)
    server.gate.touch()
    wait_status(bench, r"migls: 2 heads")

    # It keeps exiting: after the fifth time in three minutes it stays stopped.
    for _ in range(3):
        server.kill()
        wait_until(page, server.pid.exists, "the server started again")
        wait_status(bench, r"migls: 2 heads")
    server.kill()
    wait_status(bench, r"migls: stopped")
    bench.notification("exited 5 times in 3 minutes").wait_for()
    assert "migls server: stopped" in bench.status_tooltip()
    assert not server.pid.exists()  # not started again

    # Restart Server, while the server cannot start: an error, said once.
    server.crash.touch()
    bench.run_command("migls: Restart Server")
    wait_status(bench, r"migls: failed to start")
    bench.notification("the language server did not start").wait_for()
    assert bench.notification("couldn't create connection").count() == 0

    # Restart Server, the server slow to start: starting, then running with its findings.
    server.crash.unlink()
    server.gate.unlink()
    server.pid.unlink()
    bench.run_command("migls: Restart Server")
    wait_until(page, server.pid.exists, "the new server process")
    wait_starting(bench)
    server.gate.touch()
    wait_status(bench, r"migls: 2 heads")
    squiggle.wait_for(timeout=60_000)
