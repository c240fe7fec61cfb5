"""Drives a real VS Code: code-server (VS Code in a browser, from npm) with the packaged
extension installed, in Debian's Chromium through Playwright.

What it needs is installed by ``vscode-extension/scripts/setup-e2e.sh`` (Node 24 and a pinned
code-server, into ``.cache/editors``) and by ``.ci/run`` (Chromium, compilers). When any of it
is missing the tests fail with the command to run: they never skip.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Frame, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "vscode-extension"
SETUP = EXTENSION / "scripts" / "setup-e2e.sh"
CHROMIUM = os.environ.get("MIGLS_E2E_CHROMIUM", "/usr/bin/chromium")
EXAMPLE = REPO / "examples" / "blog"
VERSIONS = Path("migrations") / "versions"

T = TypeVar("T")


class ToolMissing(Exception):
    """Something the end-to-end tests need is not installed (the message says how to get it)."""


@dataclass(frozen=True)
class Toolchain:
    """Node 24 and code-server, as installed by the setup script."""

    node: Path
    code_server: Path

    def env(self) -> dict[str, str]:
        """The environment to run npm and code-server in: Node 24 first on PATH."""
        env = dict(os.environ)
        env["PATH"] = f"{self.node.parent}{os.pathsep}{env.get('PATH', '')}"
        return env


def ensure_toolchain() -> Toolchain:
    """Runs the (idempotent) setup script and returns what it installed."""
    if not Path(CHROMIUM).exists():
        raise ToolMissing(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)")
    if shutil.which("npm") is None:
        raise ToolMissing("npm is missing: `apt-get install npm` (.ci/run does)")
    done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ToolMissing(f"{SETUP} failed:\n{done.stderr[-3000:]}")
    exports = dict(re.findall(r'^export (\w+)="(.*)"$', done.stdout, re.M))
    return Toolchain(Path(exports["MIGLS_E2E_NODE"]), Path(exports["MIGLS_E2E_CODE_SERVER"]))


def npm(toolchain: Toolchain, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs npm in vscode-extension/ with Node 24; the result carries its output."""
    return subprocess.run(["npm", *args], cwd=EXTENSION, env=toolchain.env(), capture_output=True,
                          text=True)


def build_vsix(toolchain: Toolchain) -> Path:
    """``npm ci`` (when node_modules is missing or older than the lock file), then
    ``npm run package``: the .vsix of the current sources."""
    marker = EXTENSION / "node_modules" / ".package-lock.json"
    lock = EXTENSION / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        done = npm(toolchain, "ci", "--no-audit", "--no-fund")
        if done.returncode != 0:
            raise ToolMissing(f"npm ci failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    done = npm(toolchain, "run", "package")
    if done.returncode != 0:
        raise AssertionError(f"npm run package failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return EXTENSION / "dist" / "migls.vsix"


def install_extension(toolchain: Toolchain, vsix: Path, extensions_dir: Path, scratch: Path) -> None:
    """Installs the .vsix into an extensions directory, offline, as a user would."""
    done = subprocess.run(
        [str(toolchain.code_server), "--config", str(scratch / "config.yaml"),
         "--user-data-dir", str(scratch / "user-data"), "--extensions-dir", str(extensions_dir),
         "--install-extension", str(vsix), "--force"],
        env={**toolchain.env(), "XDG_CONFIG_HOME": str(scratch / "xdg")},
        capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or "was successfully installed" not in done.stdout:
        raise AssertionError(f"installing {vsix.name} failed:\n{done.stdout}\n{done.stderr}")


STAND_IN = Path(__file__).resolve().parent / "python_extension_stand_in"


def build_stand_in_vsix(toolchain: Toolchain, out: Path) -> Path:
    """Packages the stand-in for the Python extension (``ms-python.python``) with the
    extension's own vsce."""
    target = out / "ms-python-stand-in.vsix"
    done = subprocess.run([str(EXTENSION / "node_modules" / ".bin" / "vsce"), "package",
                           "--no-dependencies", "--out", str(target)],
                          cwd=STAND_IN, env=toolchain.env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"packaging the Python extension stand-in failed:\n{done.stdout}{done.stderr}")
    return target


def migls_executable() -> str:
    """The ``migls`` console script of the Python running the tests."""
    beside = Path(sys.executable).parent / "migls"
    found = str(beside) if beside.exists() else shutil.which("migls")
    if found is None:
        raise ToolMissing("no migls console script: `pip install -e .` first")
    return found


#: Settings for a quiet, fresh profile: no welcome page, no trust prompt, no chat side bar
#: stealing the focus (VS Code 1.139), no update checks.
BASE_SETTINGS: dict[str, Any] = {
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "chat.disableAIFeatures": True,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.tips.enabled": False,
    "editor.hover.delay": 100,
    "files.autoSave": "off",
    "update.mode": "none",
    "git.enabled": False,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Workspace trust on, the folder opened untrusted (Restricted Mode) without a prompt.
UNTRUSTED_SETTINGS: dict[str, Any] = {
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
}


def write_workspace_settings(workspace: Path, settings: dict[str, Any]) -> None:
    """Replaces the workspace's ``.vscode/settings.json``, as a user editing it does (VS Code
    reads it again when it changes)."""
    (workspace / ".vscode").mkdir(exist_ok=True)
    (workspace / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))


class CodeServer:
    """One code-server process serving one workspace folder, with its own profile; an
    untrusted one (``trusted=False``) opens the folder in Restricted Mode."""

    def __init__(self, toolchain: Toolchain, extensions_dir: Path, scratch: Path,
                 workspace: Path, settings: dict[str, Any], path_env: str | None = None,
                 trusted: bool = True) -> None:
        self.workspace = workspace
        self.user_data = scratch / "user-data"
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        profile = {**BASE_SETTINGS, **settings, **({} if trusted else UNTRUSTED_SETTINGS)}
        (self.user_data / "User" / "settings.json").write_text(json.dumps(profile, indent=2))
        (scratch / "config.yaml").touch()
        self.port = free_port()
        # VSCODE_CLI: do not replace the environment by the login shell's (which would put
        # ~/.bashrc's PATH, and maybe a migls, back).
        env = {**toolchain.env(), "XDG_CONFIG_HOME": str(scratch / "xdg"), "VSCODE_CLI": "1"}
        if path_env is not None:
            env["PATH"] = f"{toolchain.node.parent}{os.pathsep}{path_env}"
        self.log = scratch / "code-server.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [str(toolchain.code_server), "--config", str(scratch / "config.yaml"), "--auth", "none",
             "--bind-addr", f"127.0.0.1:{self.port}", "--user-data-dir", str(self.user_data),
             "--extensions-dir", str(extensions_dir), "--disable-telemetry",
             "--disable-update-check", *(["--disable-workspace-trust"] if trusted else []),
             "--disable-getting-started-override", str(workspace)],
            env=env, cwd=scratch, stdout=self._log_file, stderr=subprocess.STDOUT,
            start_new_session=True)  # its file watcher and helpers outlive it: kill the group
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"code-server did not start:\n{self.log.read_text()[-3000:]}")
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={self.workspace}"

    def extension_logs(self) -> list[Path]:
        """The extension's output channel files (VS Code writes one per window), and the
        extension hosts' own logs (an extension's save hook timing out is said there)."""
        return sorted([*self.user_data.glob("logs/*/exthost*/output_logging_*/*-migls.log"),
                       *self.user_data.glob("logs/*/exthost*/remoteexthost.log")])

    def migls_servers(self) -> list[list[str]]:
        """The command lines of the migls language servers running under this code-server
        (its extension host starts them): which migls really runs."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getsid(int(entry.name)) != self.process.pid:
                    continue
                argv = [a.decode(errors="replace")
                        for a in (entry / "cmdline").read_bytes().split(b"\0")[:-1]]
            except OSError:  # the process ended while we looked
                continue
            if argv and argv[-1] == "server" and any("migls" in a for a in argv):
                found.append(argv)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log_file.close()


def wait_until(page: Page, probe: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """Polls ``probe`` (through the page, so the browser keeps running) until it returns a
    truthy value; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(100)


class Workbench:
    """What a user does in VS Code, through the keyboard (the action widget blocks pointer
    clicks), and what they see, read from the DOM."""

    def __init__(self, page: Page, code_server: CodeServer | None = None) -> None:
        self.page = page
        #: The code-server serving the page (for what the browser cannot see: processes).
        self.code_server = code_server

    def wait_ready(self) -> None:
        self.page.wait_for_selector(".explorer-folders-view .monaco-list-row", timeout=90_000)

    def open_file(self, name: str) -> None:
        """Quick Open (Ctrl+P) a file by name, as a user would."""
        self.page.keyboard.press("Control+P")
        self.page.wait_for_selector(".quick-input-widget .quick-input-box input")
        self.page.keyboard.type(name)
        self.page.locator(".quick-input-list .monaco-list-row", has_text=name).first.wait_for()
        self.page.keyboard.press("Enter")
        self.page.locator(".tabs-container .tab.active", has_text=name).wait_for()
        self.page.locator(".monaco-editor.focused").wait_for()

    def run_command(self, title: str, timeout: float = 60) -> None:
        """Runs a command from the Command Palette (F1) by its title. The palette lists the
        commands known when it opens: until the extension's are registered, reopen it."""
        deadline = time.monotonic() + timeout
        row = self.page.locator(".quick-input-list .monaco-list-row", has_text=title).first
        while True:
            self.page.keyboard.press("F1")
            self.page.wait_for_selector(".quick-input-widget .quick-input-box input")
            self.page.keyboard.type(title)
            try:
                row.wait_for(timeout=3000)
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no command {title!r} in the Command Palette") from None
                self.page.keyboard.press("Escape")
        self.page.keyboard.press("Enter")

    def quick_input(self, text: str | None = None, pick: str | None = None) -> None:
        """Answers an input box (types ``text``) or a quick pick (filters by ``pick``)."""
        widget = self.page.locator(".quick-input-widget:visible")
        widget.wait_for()
        box = widget.locator(".quick-input-box input")
        if text is not None:
            box.fill(text)
        if pick is not None:
            box.fill(pick)
            widget.locator(".quick-input-list .monaco-list-row", has_text=pick).first.wait_for()
        self.page.keyboard.press("Enter")

    def editor_text(self) -> str:
        """The visible lines of the active editor (Monaco renders only what is on screen)."""
        return self.page.locator(".editor-group-container.active .monaco-editor .view-lines") \
            .first.inner_text().replace("\u00a0", " ")

    def status_item(self) -> Locator:
        return self.page.locator("#workbench\\.parts\\.statusbar .statusbar-item",
                                 has_text="migls").first

    def status_tooltip(self) -> str:
        """Hovers the migls status-bar item: its tooltip's text (whitespace collapsed); the
        mouse then moves away, so that the next call shows it afresh."""
        self.status_item().hover()
        tooltip = self.page.locator(".monaco-hover-content", has_text="server:").first
        tooltip.wait_for()
        text = " ".join(tooltip.inner_text().split())
        self.page.mouse.move(200, 10)  # the title bar: no hover of its own
        tooltip.wait_for(state="hidden")
        return text

    def show_output(self) -> None:
        """migls: Show Output (the extension's output channel in the panel)."""
        self.run_command("migls: Show Output")
        self.page.locator(".panel .monaco-editor .view-lines").first.wait_for()

    def output_text(self) -> str:
        """The visible lines of the output panel, whitespace collapsed."""
        lines = self.page.locator(".panel .monaco-editor .view-lines").first
        return " ".join(lines.inner_text().replace("\u00a0", " ").split())

    def wait_output(self, expected: str, filters: tuple[str, ...], timeout: float = 30) -> str:
        """Filters the shown output until it shows ``expected``. A filter applies to the lines
        there when it is typed, so it alternates between ``filters`` (each must match the
        line, two make it retype)."""
        search = self.page.locator(".panel input[placeholder^='Filter']")
        cycle = itertools.cycle(filters)

        def probe() -> str | None:
            search.fill(next(cycle))
            self.page.wait_for_timeout(300)  # the filter applies after a short debounce
            text = self.output_text()
            return text if expected in text else None
        return wait_until(self.page, probe, f"{expected!r} in the output", timeout=timeout)

    def problems(self) -> Locator:
        """Opens the Problems panel; its rows."""
        self.page.keyboard.press("Control+Shift+M")
        self.page.locator(".markers-panel").wait_for()
        return self.page.locator(".markers-panel .monaco-list-row")

    def choose_action(self, title: str) -> None:
        """In an open Quick Fix / Source Action menu, moves to ``title`` and runs it."""
        widget = self.page.locator(".action-widget")
        widget.locator(".monaco-list-row", has_text=title).first.wait_for()
        for _ in range(40):
            focused = widget.locator(".monaco-list-row.focused")
            if focused.count() and title in focused.first.inner_text():
                self.page.keyboard.press("Enter")
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"no action titled {title!r} could be focused")

    def webview_frame(self, marker: str) -> Frame:
        """The frame of the webview whose body has class ``marker``."""
        def probe() -> Frame | None:
            for frame in self.page.frames:
                try:
                    if frame.query_selector(f"body.{marker}"):
                        return frame
                except Exception:  # a frame being replaced while we look
                    continue
            return None
        return wait_until(self.page, probe, f"the webview body.{marker}", timeout=60)

    def notification(self, text: str) -> Locator:
        return self.page.locator(".notifications-toasts .notification-toast", has_text=text).first
