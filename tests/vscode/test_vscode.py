"""The extension in a real VS Code (code-server + Chromium), as a user meets it: the packaged
.vsix installed, the example project (examples/blog: two heads, a stale header, an empty
downgrade) opened, migls found in the project's environment.

Each test starts its own code-server on its own copy of the project (about 10-20 s each).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vscode.conftest import OpenVSCode
from vscode.harness import VERSIONS, Workbench, migls_executable, wait_until

COMMENTS = "6e8b3d5f2a97_create_comments_table.py"  # MG108 (stale Revises:) and MG103 (a head)
TAGS = "7f4a6c2e9b18_create_tags_tables.py"  # the other head
USERS = "1f0c2a9b7d31_create_users_table.py"  # the base
#: A PATH with the system's tools but neither the test's Python nor its migls.
BARE_PATH = "/usr/bin:/bin"


def with_migls(**settings: object) -> dict[str, object]:
    """User settings pointing the extension at the migls under test."""
    return {"migls.path": [migls_executable()], **settings}


def revision_files(workspace: Path) -> set[str]:
    return {p.name for p in (workspace / VERSIONS).glob("*.py")}


def goto(bench: Workbench, line: int, column: int) -> None:
    """Ctrl+G to a 1-based line and column of the active editor."""
    bench.page.keyboard.press("Control+G")
    bench.page.wait_for_selector(".quick-input-widget .quick-input-box input")
    bench.page.keyboard.type(f"{line}:{column}")
    bench.page.keyboard.press("Enter")
    bench.page.locator(".monaco-editor.focused").wait_for()


def wait_status(bench: Workbench, pattern: str) -> str:
    """Waits until the migls status-bar item's text matches ``pattern``."""
    item = bench.status_item()
    return wait_until(bench.page, lambda: (t := item.inner_text()) and re.search(pattern, t) and t,
                      f"the status bar to show {pattern!r}", timeout=60)


def test_findings_problems_hover_and_quick_fix(open_vscode: OpenVSCode) -> None:
    bench = open_vscode(with_migls())
    bench.open_file(COMMENTS)
    page = bench.page

    # The squiggles: MG103 (error) on the revision id, MG108 (warning) in the header.
    page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=60_000)
    page.locator(".monaco-editor .squiggly-warning").first.wait_for()

    rows = bench.problems()
    mg108 = rows.filter(has_text="MG108").first
    mg103 = rows.filter(has_text="MG103").first
    mg108.wait_for()
    assert "the header says 'Revises: 4c1e7f3b8d62' but down_revision is '5d2f9a4c1e83'" \
        in mg108.inner_text()
    assert "migls" in mg108.inner_text() and "[Ln 4, Col 10]" in mg108.inner_text()
    assert "is one of several heads (also '7f4a6c2e9b18')" in mg103.inner_text()
    assert "[Ln 15, Col 17]" in mg103.inner_text()

    # The hover on the head's id: the finding and where the revision sits in the graph.
    goto(bench, 15, 20)
    page.keyboard.press("Control+K")
    page.keyboard.press("Control+I")
    hover = page.locator(".monaco-hover-content").first
    hover.wait_for()
    wait_until(page, lambda: "Revision 6e8b3d5f2a97" in hover.inner_text(), "the revision hover")
    text = hover.inner_text()
    assert "one of several heads" in text
    assert "MG103" in text
    page.keyboard.press("Escape")

    # The quick fix rewrites the stale header in the buffer (not on disk: nothing is saved).
    goto(bench, 4, 12)
    page.keyboard.press("Control+.")
    bench.choose_action("Revises")
    wait_until(page, lambda: "Revises: 5d2f9a4c1e83" in bench.editor_text(), "the fixed header")
    page.locator(".tabs-container .tab.active.dirty").wait_for()
    wait_until(page, lambda: rows.filter(has_text="MG108").count() == 0,
               "MG108 to leave the Problems panel")


def slow_to_fix(directory: Path) -> Path:
    """A ``migls`` whose server answers ``codeAction/resolve`` (the fix-all's edits) 2.5 s
    late, as a busy machine does: a proxy holds that request back."""
    script = directory / "migls"
    script.write_text(f"""#!{sys.executable}
import json, os, subprocess, sys, threading, time
REAL = {migls_executable()!r}
if sys.argv[1:] != ["server"]:
    os.execv(REAL, [REAL, *sys.argv[1:]])
server = subprocess.Popen([REAL, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

def answers() -> None:
    while chunk := server.stdout.read1(65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

threading.Thread(target=answers, daemon=True).start()
while True:
    headers = {{}}
    while (line := sys.stdin.buffer.readline()) not in (b"\\r\\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if not headers:
        break
    body = sys.stdin.buffer.read(int(headers["content-length"]))
    if json.loads(body).get("method") == "codeAction/resolve":
        time.sleep(2.5)  # the slow machine this script stands for
    server.stdin.write(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
    server.stdin.flush()
server.stdin.close()
sys.exit(server.wait())
""")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("fixing", ["quick", "slower than VS Code's 1.5 s for save hooks"])
def test_fix_all_on_save(fixing: str, open_vscode: OpenVSCode, workspace: Path,
                         tmp_path: Path) -> None:
    migls = [str(slow_to_fix(tmp_path))] if fixing != "quick" else [migls_executable()]
    bench = open_vscode({"migls.path": migls, "migls.fixAllOnSave": True})
    bench.open_file(COMMENTS)
    page = bench.page
    page.locator(".monaco-editor .squiggly-warning").first.wait_for(timeout=60_000)
    path = workspace / VERSIONS / COMMENTS
    assert "Revises: 4c1e7f3b8d62" in path.read_text()

    # An edit, then Ctrl+S: the safe fixes are applied as the file is saved.
    page.keyboard.press("Control+End")
    page.keyboard.type("# reviewed\n")
    page.keyboard.press("Control+S")
    wait_until(page, lambda: "Revises: 5d2f9a4c1e83" in path.read_text(), "the fix on disk")
    saved = path.read_text()
    assert saved.rstrip().endswith("# reviewed")
    assert 'down_revision: Union[str, Sequence[str], None] = "5d2f9a4c1e83"' in saved
    page.locator(".tabs-container .tab.active:not(.dirty)").wait_for()


def test_new_revision_on_a_chosen_head(open_vscode: OpenVSCode, workspace: Path) -> None:
    bench = open_vscode(with_migls())
    wait_status(bench, r"2 heads")
    before = revision_files(workspace)

    bench.run_command("migls: New Revision")
    bench.quick_input(text="add users email")
    bench.quick_input(pick="Empty revision")
    bench.quick_input(pick="7f4a6c2e9b18")  # two heads: which one to build on

    # The new file is written and opened.
    tab = bench.page.locator(".tabs-container .tab.active", has_text="add_users_email")
    tab.wait_for(timeout=60_000)
    created = revision_files(workspace) - before
    assert len(created) == 1
    new = (workspace / VERSIONS / created.pop()).read_text()
    assert new.startswith('"""add users email')
    assert "down_revision: Union[str, Sequence[str], None] = '7f4a6c2e9b18'" in new
    assert "Revises: 7f4a6c2e9b18" in new
    wait_until(bench.page, lambda: "def upgrade()" in bench.editor_text(), "the new file's text")
    # Still two heads: the new one replaced 7f4a6c2e9b18 as a head.
    wait_status(bench, r"2 heads")


def test_status_bar_and_merge_heads(open_vscode: OpenVSCode, workspace: Path) -> None:
    bench = open_vscode(with_migls())
    text = wait_status(bench, r"migls: 2 heads")
    assert "statusBarItem" not in text
    before = revision_files(workspace)

    bench.run_command("migls: Merge Heads")
    bench.quick_input(text="merge comments and tags")
    tab = bench.page.locator(".tabs-container .tab.active", has_text="merge_comments_and_tags")
    tab.wait_for(timeout=60_000)
    created = revision_files(workspace) - before
    assert len(created) == 1
    merge_id = created.pop().split("_")[0]
    merged = (workspace / VERSIONS / f"{merge_id}_merge_comments_and_tags.py").read_text()
    assert re.search(r"down_revision: .* = \('6e8b3d5f2a97', '7f4a6c2e9b18'\)", merged)

    # One head again: the status bar names it.
    wait_status(bench, rf"migls: {merge_id}")


def test_rebase_the_active_head_onto_the_other(open_vscode: OpenVSCode, workspace: Path) -> None:
    bench = open_vscode(with_migls())
    wait_status(bench, r"2 heads")
    bench.open_file(TAGS)
    bench.run_command("migls: Rebase onto Head")  # the active file is a head: no question
    # The open file is edited in the editor (undoable); one head again.
    wait_until(bench.page, lambda: "Revises: 6e8b3d5f2a97" in bench.editor_text(),
               "the rebased header in the editor")
    assert 'down_revision: Union[str, Sequence[str], None] = "6e8b3d5f2a97"' in bench.editor_text()
    wait_status(bench, r"migls: 7f4a6c2e9b18")
    bench.page.keyboard.press("Control+S")
    path = workspace / VERSIONS / TAGS
    wait_until(bench.page, lambda: '= "6e8b3d5f2a97"' in path.read_text(), "the rebased file")
    assert "Revises: 6e8b3d5f2a97" in path.read_text()


def test_revision_graph(open_vscode: OpenVSCode, workspace: Path) -> None:
    users = workspace / VERSIONS / USERS
    users.write_text(users.read_text().replace(
        "branch_labels: Union[str, Sequence[str], None] = None",
        "branch_labels: Union[str, Sequence[str], None] = ('blog',)"))
    bench = open_vscode(with_migls())
    wait_status(bench, r"2 heads")
    bench.run_command("migls: Show Revision Graph")
    frame = bench.webview_frame("migls-graph")
    frame.wait_for_selector(".row[data-revision]")

    rows = frame.locator(".row[data-revision]")
    assert rows.count() == 7
    order = [rows.nth(i).get_attribute("data-revision") for i in range(7)]
    assert set(order[:2]) == {"6e8b3d5f2a97", "7f4a6c2e9b18"}  # newest first: the heads
    assert order[-1] == "1f0c2a9b7d31"
    head_rows = frame.locator(".row:has(.badge.head)")
    assert {head_rows.nth(i).get_attribute("data-revision") for i in range(2)} == \
        {"6e8b3d5f2a97", "7f4a6c2e9b18"}
    assert frame.locator(".row:has(.badge.merge)").get_attribute("data-revision") == "5d2f9a4c1e83"
    base = frame.locator('.row[data-revision="1f0c2a9b7d31"]')
    assert "blog" in base.locator(".badge.label").inner_text()
    assert "create users table" in base.inner_text()
    findings = frame.locator('.row[data-revision="6e8b3d5f2a97"] .badge.finding')
    assert sorted(findings.all_inner_texts()) == ["MG103", "MG108"]
    assert "2 heads" in frame.locator(".heads-warning").inner_text()
    # Lines: six parent edges (the merge has two parents), lanes for the two branches.
    assert frame.locator("path.edge").count() == 7
    assert frame.locator("rect.merge").count() == 1

    # A click on a revision opens its file.
    base.click()
    bench.page.locator(".tabs-container .tab.active", has_text=USERS).wait_for()
    wait_until(bench.page, lambda: 'revision: str = "1f0c2a9b7d31"' in bench.editor_text(),
               "the revision's file")


def test_server_found_in_the_workspace_venv(open_vscode: OpenVSCode, workspace: Path) -> None:
    # A project .venv that has migls (through the test interpreter's site-packages); VS Code
    # runs with a PATH that has no migls, and no setting names one.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(workspace / ".venv")], check=True)
    assert shutil.which("migls", path=BARE_PATH) is None
    bench = open_vscode({}, path_env=BARE_PATH)
    bench.open_file(COMMENTS)
    bench.page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=60_000)
    wait_status(bench, r"2 heads")

    # The status tooltip says which migls runs and why.
    python = workspace / ".venv" / "bin" / "python"
    assert f"Runs {python} -m migls, found through the workspace's .venv." \
        in bench.status_tooltip()
    assert bench.code_server is not None
    assert bench.code_server.migls_servers() == [[str(python), "-m", "migls", "server"]]

    # The output, filtered to the extension's own lines about starting the server.
    bench.show_output()
    shown = bench.wait_output("found through the workspace's .venv",
                              ("[migls] starting", "starting"))
    assert ".venv/bin/python -m migls server" in shown

    bench.run_command("migls: Restart Server")
    wait_status(bench, r"2 heads")
    bench.wait_output("restarting the server (migls: Restart Server)",
                      ("[migls] restarting", "restarting the server"))


def test_missing_migls_is_reported_with_the_install_command(open_vscode: OpenVSCode) -> None:
    assert shutil.which("migls", path=BARE_PATH) is None
    bench = open_vscode({}, path_env=BARE_PATH)
    bench.open_file(COMMENTS)
    toast = bench.notification("migls is not installed")
    toast.wait_for(timeout=60_000)
    assert "pip install migls" in toast.inner_text()
    assert "Install in Terminal" in toast.inner_text()
    wait_status(bench, r"migls: not installed")


def test_follows_the_python_extensions_interpreter(open_vscode: OpenVSCode, tmp_path: Path,
                                                   extensions_dir_with_python: Path) -> None:
    # Two environments outside the workspace: one without migls, one with it (through the
    # test interpreter's site-packages). The Python extension (a stand-in answering its API)
    # selects the first, then the user selects the second.
    bare, full = tmp_path / "bare", tmp_path / "full"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(full)], check=True)
    bench = open_vscode({"standInPython.interpreter": str(bare / "bin" / "python")},
                        path_env=BARE_PATH, extensions=extensions_dir_with_python)
    bench.open_file(COMMENTS)
    toast = bench.notification("migls is not installed")
    toast.wait_for(timeout=60_000)
    assert f'"{bare / "bin" / "python"}" -m pip install migls' in toast.inner_text()
    wait_status(bench, r"not installed")

    bench.run_command("Python: Select Interpreter")
    bench.quick_input(text=str(full / "bin" / "python"))
    bench.page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=60_000)
    wait_status(bench, r"2 heads")
    tooltip = bench.status_tooltip()
    assert f"Runs {full / 'bin' / 'python'} -m migls, found through the Python extension's " \
        "selected interpreter." in tooltip
    assert bench.code_server is not None
    assert bench.code_server.migls_servers() == [[str(full / "bin" / "python"), "-m", "migls",
                                                  "server"]]
