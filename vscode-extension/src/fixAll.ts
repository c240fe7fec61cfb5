import * as vscode from "vscode";
import { ServerController } from "./server";

/** The code action kind of migls' safe fixes, as ruff names its own. */
export const FIX_ALL_KIND = vscode.CodeActionKind.SourceFixAll.append("migls");

/**
 * The edits of `source.fixAll.migls` for `document`: the safe fixes of every finding, asked
 * through VS Code so that the language client converts and resolves them.
 */
export async function fixAllEdits(document: vscode.TextDocument): Promise<vscode.TextEdit[]> {
  const whole = new vscode.Range(0, 0, document.lineCount, 0);
  const actions =
    (await vscode.commands.executeCommand<vscode.CodeAction[]>(
      "vscode.executeCodeActionProvider",
      document.uri,
      whole,
      FIX_ALL_KIND.value,
      1,
    )) ?? [];
  const action = actions.find((a) => a.kind && FIX_ALL_KIND.contains(a.kind) && a.edit);
  return action?.edit?.get(document.uri) ?? [];
}

/** Applies the safe fixes before a Python file is saved, when `migls.fixAllOnSave` is on. */
export function registerFixAllOnSave(server: ServerController): vscode.Disposable {
  return vscode.workspace.onWillSaveTextDocument((event) => {
    const document = event.document;
    if (document.languageId !== "python" || !server.languageClient) return;
    if (!vscode.workspace.getConfiguration("migls", document.uri).get<boolean>("fixAllOnSave", false)) return;
    if (event.reason === vscode.TextDocumentSaveReason.AfterDelay) return; // not while auto-saving as one types
    event.waitUntil(fixAllEdits(document));
  });
}
