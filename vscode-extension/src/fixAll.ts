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

/**
 * Applies the safe fixes when a Python file is saved, when `migls.fixAllOnSave` is on.
 *
 * Not through `onWillSaveTextDocument`'s `waitUntil`: VS Code gives those listeners 1.5 s in
 * all, then saves without their edits (and after a few such saves ignores the extension for
 * the rest of the session). Fixing a file lints its whole history, which on a busy machine
 * takes longer. So the file is saved as typed, then fixed and saved again; the fixes are
 * dropped if the user edits the file in between.
 */
export function registerFixAllOnSave(server: ServerController): vscode.Disposable {
  /** Documents to fix once saved: their version when the save began. */
  const toFix = new Map<string, number>();
  /** Documents being saved again by this extension, with their fixes: not fixed again. */
  const ownSaves = new Set<string>();

  const willSave = vscode.workspace.onWillSaveTextDocument((event) => {
    const document = event.document;
    const key = document.uri.toString();
    toFix.delete(key);
    if (document.languageId !== "python" || ownSaves.has(key)) return;
    if (!vscode.workspace.getConfiguration("migls", document.uri).get<boolean>("fixAllOnSave", false)) return;
    if (event.reason === vscode.TextDocumentSaveReason.AfterDelay) return; // not while auto-saving as one types
    toFix.set(key, document.version);
  });

  const didSave = vscode.workspace.onDidSaveTextDocument(async (document) => {
    const key = document.uri.toString();
    if (ownSaves.delete(key)) return;
    const version = toFix.get(key);
    toFix.delete(key);
    if (version === undefined || version !== document.version || !server.languageClient) return;
    let edits: vscode.TextEdit[];
    try {
      edits = await fixAllEdits(document);
    } catch (error) {
      server.output.appendLine(`[migls] fix all on save: ${String(error)}`);
      return;
    }
    if (edits.length === 0 || document.version !== version || document.isClosed) return;
    const edit = new vscode.WorkspaceEdit();
    edit.set(document.uri, edits);
    if (!(await vscode.workspace.applyEdit(edit))) return;
    ownSaves.add(key);
    if (!(await document.save())) ownSaves.delete(key);
  });

  return vscode.Disposable.from(willSave, didSave);
}
