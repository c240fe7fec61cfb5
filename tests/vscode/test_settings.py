"""The extension's settings, changed in the workspace's ``.vscode/settings.json`` while VS Code
runs (as a user edits them): each changes what the user sees without a restart."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator

from vscode.conftest import OpenVSCode
from vscode.harness import Workbench, wait_until, write_workspace_settings
from vscode.test_vscode import COMMENTS, wait_status, with_migls


def severity(row: Locator) -> str:
    """A Problems row's severity, as a screen reader says it ("Error: ...")."""
    return (row.get_attribute("aria-label") or "").split(":")[0].lower()


def rows_of(rows: Locator, code: str) -> list[Locator]:
    matching = rows.filter(has=rows.page.locator(".marker-code", has_text=code))
    return [matching.nth(i) for i in range(matching.count())]


def severities(rows: Locator, code: str) -> set[str]:
    """The severities of the Problems rows of ``code`` (empty: none)."""
    return {severity(row) for row in rows_of(rows, code)}


def source_actions(bench: Workbench) -> list[str]:
    """Source Action... on the active editor: the menu's entries (none when VS Code says
    there are no source actions)."""
    page = bench.page
    bench.run_command("Source Action")
    entries = page.locator(".action-widget .monaco-list-row")
    none = page.locator(".monaco-editor-overlaymessage", has_text="No source actions")
    wait_until(page, lambda: entries.count() > 0 or none.count() > 0, "the Source Action menu")
    titles = [" ".join(t.split()) for t in entries.all_inner_texts()]
    page.keyboard.press("Escape")
    return titles


def test_settings_change_the_findings(open_vscode: OpenVSCode, workspace: Path) -> None:
    # The Alembic config under a name the server does not look for: only
    # migls.alembicConfig makes it an environment.
    (workspace / "alembic.ini").rename(workspace / "blog.ini")
    bench = open_vscode(with_migls())
    page = bench.page
    bench.open_file(COMMENTS)
    bench.run_command("migls: New Revision")
    bench.notification("no Alembic environment").wait_for(timeout=60_000)
    page.keyboard.press("Escape")

    settings: dict[str, object] = {"migls.alembicConfig": "blog.ini"}
    write_workspace_settings(workspace, settings)
    page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=60_000)
    wait_status(bench, r"2 heads")
    rows = bench.problems()
    wait_until(page, lambda: severities(rows, "MG103") == {"error"}, "MG103, an error")
    wait_until(page, lambda: severities(rows, "MG108") == {"warning"}, "MG108, a warning")

    # A severity: MG103's rows and its squiggle become warnings.
    settings["migls.severity"] = {"MG103": "warning"}
    write_workspace_settings(workspace, settings)
    wait_until(page, lambda: severities(rows, "MG103") == {"warning"}, "MG103 as a warning")
    squiggles = page.locator(".editor-group-container.active .monaco-editor .squiggly-error")
    wait_until(page, lambda: squiggles.count() == 0, "the error squiggle to go")
    assert page.locator(".monaco-editor .squiggly-warning").count() >= 2

    # Ignoring a rule removes its rows; the others stay.
    settings["migls.ignore"] = ["MG103"]
    write_workspace_settings(workspace, settings)
    wait_until(page, lambda: not rows_of(rows, "MG103"), "MG103 to leave the Problems panel")
    assert severities(rows, "MG108") == {"warning"}

    # Fix all (MG108 has a safe fix) is offered until migls.fixAll turns it off.
    bench.open_file(COMMENTS)
    assert "migls: fix all auto-fixable problems" in source_actions(bench)
    settings["migls.fixAll"] = False
    write_workspace_settings(workspace, settings)
    wait_until(page, lambda: "migls: fix all auto-fixable problems" not in source_actions(bench),
               "fix all to leave the Source Action menu")

    # Selecting one rule keeps only its rows.
    del settings["migls.ignore"]
    settings["migls.select"] = ["MG103"]
    write_workspace_settings(workspace, settings)
    wait_until(page, lambda: severities(rows, "MG103") == {"warning"} and not rows_of(rows, "MG108"),
               "MG103 back, MG108 gone")

    # The protocol trace: none in the output until migls.trace.server asks for it.
    bench.show_output()
    page.locator(".panel input[placeholder^='Filter']").fill("Sending notification")
    page.wait_for_timeout(300)  # the filter's debounce (the lines cannot be there anyway)
    assert "Sending notification" not in bench.output_text()
    settings["migls.trace.server"] = "messages"
    write_workspace_settings(workspace, settings)
    bench.wait_output("Sending notification '$/setTrace'", ("[Trace", "Trace -"))
    # An edit, now: its didChange is traced.
    bench.open_file(COMMENTS)
    page.keyboard.press("Control+End")
    page.keyboard.type("# traced\n")
    bench.show_output()
    bench.wait_output("Sending notification 'textDocument/didChange'",
                      ("Sending notification 'textDocument/didChange'", "textDocument/didChange"))
