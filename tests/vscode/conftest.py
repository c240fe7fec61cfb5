"""Fixtures of the VS Code end-to-end tests: the toolchain, the packaged extension, Chromium,
and per test a fresh copy of the example project opened in a fresh code-server profile.

On failure, a screenshot, the extension's output and code-server's log are kept in
``$MIGLS_E2E_ARTIFACTS`` (default: ``.cache/e2e-artifacts/<test>`` in the repository);
``MIGLS_E2E_KEEP=1`` keeps them for passing tests too (to look at what a user sees).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from vscode.harness import (CHROMIUM, EXAMPLE, REPO, CodeServer, Toolchain, ToolMissing,
                            Workbench, build_stand_in_vsix, build_vsix, ensure_toolchain,
                            install_extension)

ARTIFACTS = Path(os.environ.get("MIGLS_E2E_ARTIFACTS", REPO / ".cache" / "e2e-artifacts"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    try:
        return ensure_toolchain()
    except ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def vsix(toolchain: Toolchain) -> Path:
    try:
        return build_vsix(toolchain)
    except ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def extensions_dir(toolchain: Toolchain, vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An extensions directory with the packaged .vsix installed (shared by the tests)."""
    scratch = tmp_path_factory.mktemp("install")
    extensions = scratch / "extensions"
    install_extension(toolchain, vsix, extensions, scratch)
    return extensions


@pytest.fixture(scope="session")
def extensions_dir_with_python(toolchain: Toolchain, vsix: Path,
                               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension plus a stand-in for the Python extension (``ms-python.python``)."""
    scratch = tmp_path_factory.mktemp("install-python")
    extensions = scratch / "extensions"
    install_extension(toolchain, vsix, extensions, scratch)
    install_extension(toolchain, build_stand_in_vsix(toolchain, scratch), extensions, scratch)
    return extensions


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"])
    yield browser
    browser.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the example project (examples/blog), which the test may change."""
    target = tmp_path / "blog"
    shutil.copytree(EXAMPLE, target)
    return target


OpenVSCode = Callable[..., Workbench]


@pytest.fixture
def open_vscode(request: pytest.FixtureRequest, toolchain: Toolchain, extensions_dir: Path,
                browser: Browser, workspace: Path, tmp_path: Path) -> Iterator[OpenVSCode]:
    """Starts code-server on ``workspace`` with the given user settings and opens it in a new
    browser page; returns the page's Workbench. Keeps artifacts when the test fails."""
    servers: list[CodeServer] = []
    benches: list[Workbench] = []

    def open_(settings: dict[str, Any] | None = None, path_env: str | None = None,
              extensions: Path | None = None, trusted: bool = True) -> Workbench:
        server = CodeServer(toolchain, extensions or extensions_dir, tmp_path / f"cs{len(servers)}",
                            workspace, settings or {}, path_env=path_env, trusted=trusted)
        servers.append(server)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(server.url)
        bench = Workbench(page, server)
        benches.append(bench)
        bench.wait_ready()
        return bench

    yield open_

    report = getattr(request.node, "report_call", None)
    failed = report is None or report.failed
    keep = failed or os.environ.get("MIGLS_E2E_KEEP") == "1"
    if keep:
        where = ARTIFACTS / request.node.name
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        for i, bench in enumerate(benches):
            try:
                bench.page.screenshot(path=str(where / f"screen{i}.png"))
            except Exception as exc:  # the page may be gone: keep the other artifacts
                (where / f"screen{i}.error.txt").write_text(str(exc))
        for i, server in enumerate(servers):
            for log in server.extension_logs():
                shutil.copy(log, where / f"cs{i}-{log.name}")
    for bench in benches:
        bench.page.context.close()
    for server in servers:
        server.stop()
    if keep:
        for i, server in enumerate(servers):
            shutil.copy(server.log, where / f"cs{i}-code-server.log")
        print(f"\nartifacts of {request.node.name}: {where}")
