import * as vscode from "vscode";
import { PythonExtension } from "@vscode/python-extension";
import { mergeHeads, newRevision, rebaseOnHead } from "./commands";
import { registerFixAllOnSave } from "./fixAll";
import { fetchGraphs } from "./graph";
import { GraphPanel } from "./graphView";
import { ServerController } from "./server";
import { RESTART_SETTINGS } from "./settings";
import { StatusItem } from "./status";

let server: ServerController | undefined;

/** Debounces `fn`: many file events in a burst (a branch switch) refresh once. */
function debounce(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("migls");
  const version = (context.extension.packageJSON as { version: string }).version;
  server = new ServerController(output, version);
  const controller = server;
  const status = new StatusItem(controller);
  const graph = new GraphPanel(() => fetchGraphs(controller), () => controller.folder?.uri.fsPath);
  context.subscriptions.push(output, controller, status, graph);

  let refreshes = 0;
  const refreshHeads = async (): Promise<void> => {
    const mine = ++refreshes;
    if (controller.state !== "running") {
      status.setGraphs(undefined);
      return;
    }
    const graphs = await fetchGraphs(controller);
    if (mine === refreshes) status.setGraphs(graphs);
    await graph.refresh();
  };
  const refreshSoon = debounce(() => void refreshHeads(), 400);

  context.subscriptions.push(
    controller.onDidChangeState((state) => {
      status.render();
      if (state === "running") refreshSoon();
    }),
    vscode.window.onDidChangeActiveTextEditor(() => status.render()),
    vscode.workspace.onDidSaveTextDocument((document) => {
      if (document.languageId === "python") refreshSoon();
    }),
    registerFixAllOnSave(controller),
  );
  // Revision files written, edited or removed outside the editor (git pull, alembic revision).
  const watcher = vscode.workspace.createFileSystemWatcher("**/*.py");
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate(refreshSoon),
    watcher.onDidChange(refreshSoon),
    watcher.onDidDelete(refreshSoon),
  );

  context.subscriptions.push(
    vscode.commands.registerCommand("migls.revision.create", () => newRevision(controller, refreshSoon)),
    vscode.commands.registerCommand("migls.heads.merge", () => mergeHeads(controller, refreshSoon)),
    vscode.commands.registerCommand("migls.heads.rebase", () => rebaseOnHead(controller, refreshSoon)),
    vscode.commands.registerCommand("migls.graph.show", () => graph.show()),
    vscode.commands.registerCommand("migls.server.restart", () => controller.restart("migls: Restart Server")),
    vscode.commands.registerCommand("migls.output.show", () => output.show(true)),
  );

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SETTINGS.some((s) => event.affectsConfiguration(s))) void controller.restart("settings changed");
      // The language client tells the server, which asks for the new settings (middleware).
      else if (event.affectsConfiguration("migls")) refreshSoon();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void controller.restart("workspace folders changed")),
    // Trusting the workspace allows its own .venv.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void controller.restart("workspace trusted")),
  );
  if (vscode.extensions.getExtension("ms-python.python")) {
    try {
      const python = await PythonExtension.api();
      context.subscriptions.push(python.environments.onDidChangeActiveEnvironmentPath(() => void controller.restart("Python interpreter changed")));
    } catch (error) {
      output.appendLine(`[migls] the Python extension's API is not available: ${String(error)}`);
    }
  }
  await controller.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
