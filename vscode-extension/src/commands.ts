import * as path from "node:path";
import * as vscode from "vscode";
import { fetchGraphs } from "./graph";
import { EnvironmentGraph, GraphResult } from "./graphData";
import { lastLine, run } from "./process";
import { ServerController } from "./server";

/** What a revision command changed: the files written, for opening them. */
interface CommandOutcome {
  paths: string[];
  message?: string;
  /** The server already showed its message (and errors): do not show them twice. */
  shownByServer: boolean;
}

/** A command the server refused; it showed the message itself. */
class ServerRefused extends Error {}

/** The files in a server command's result: `{path}` or `{paths: [...]}`, absolute. */
function resultPaths(result: unknown): string[] {
  if (!result || typeof result !== "object") return [];
  const { path: one, paths: many } = result as { path?: unknown; paths?: unknown };
  const all: unknown[] = [...(typeof one === "string" ? [one] : []), ...(Array.isArray(many) ? (many as unknown[]) : [])];
  return all.filter((p): p is string => typeof p === "string" && path.isAbsolute(p));
}

/**
 * Runs one of the revision commands: the server's `workspace/executeCommand` when it offers
 * it, else the same command of the migls CLI in the workspace's environment.
 */
async function runRevisionCommand(
  server: ServerController,
  name: "migls.newRevision" | "migls.mergeHeads" | "migls.rebaseOnHead",
  args: Record<string, unknown>,
  cli: string[],
): Promise<CommandOutcome> {
  const root = server.folder?.uri.fsPath;
  if (server.supports(name)) {
    let result: unknown;
    try {
      result = await server.execute<unknown>(name, [args]);
    } catch (error) {
      throw new ServerRefused(error instanceof Error ? error.message : String(error));
    }
    const message = result && typeof result === "object" ? (result as { message?: unknown }).message : undefined;
    return { paths: resultPaths(result), message: typeof message === "string" ? message : undefined, shownByServer: true };
  }
  if (!server.command) throw new Error("migls is not installed in this workspace's Python environment");
  const argv = [...server.command.argv, ...cli];
  server.output.appendLine(`[migls] ${argv.join(" ")}`);
  const result = await run(argv, { cwd: root, timeoutMs: 600_000 });
  server.output.append(result.stdout + result.stderr);
  if (result.code !== 0) throw new Error(lastLine(result.stderr) || `${argv.join(" ")} exited with ${result.code}`);
  // The CLI ends with one "Wrote PATH" / "Rewrote PATH" line per file it wrote.
  const written = [...result.stdout.matchAll(/^(?:Wrote|Rewrote) (.+)$/gm)].map((m) => path.resolve(root ?? "", m[1].trim()));
  return { paths: written, message: lastLine(result.stdout) || undefined, shownByServer: false };
}

/** The environment to act on: the active editor's, the only one, or the user's choice. */
async function chooseEnvironment(server: ServerController): Promise<EnvironmentGraph | undefined> {
  const result: GraphResult = await fetchGraphs(server);
  if (!result.graphs) {
    void vscode.window.showErrorMessage(`migls: ${result.error}`);
    return undefined;
  }
  if (result.graphs.length === 0) {
    void vscode.window.showErrorMessage("migls: no Alembic environment (alembic.ini or [tool.alembic]) in this workspace.");
    return undefined;
  }
  const active = vscode.window.activeTextEditor?.document.uri.fsPath;
  if (result.graphs.length === 1) return result.graphs[0];
  const ofEditor = active ? result.graphs.find((g) => g.nodes.some((n) => n.path === active)) : undefined;
  if (ofEditor) return ofEditor;
  const pick = await vscode.window.showQuickPick(
    result.graphs.map((g) => ({ label: g.name || ".", description: `${g.nodes.length} revisions`, graph: g })),
    { title: "migls: Alembic environment", placeHolder: "Which environment?" },
  );
  return pick?.graph;
}

function environmentArgs(env: EnvironmentGraph): { alembicConfig?: string; cli: string[] } {
  return env.config ? { alembicConfig: env.config, cli: ["--alembic-config", env.config] } : { cli: [] };
}

function headItems(env: EnvironmentGraph, except?: string): (vscode.QuickPickItem & { id: string })[] {
  return env.heads
    .filter((h) => h !== except)
    .map((h) => {
      const node = env.nodes.find((n) => n.id === h);
      return { label: h, description: node?.message, detail: node?.path ? vscode.workspace.asRelativePath(node.path) : undefined, id: h };
    });
}

async function openAll(paths: string[]): Promise<void> {
  for (const file of paths) {
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  }
}

async function report(server: ServerController, title: string, work: () => Promise<CommandOutcome>): Promise<void> {
  try {
    // A spinner in the status bar; autogenerate's own progress (cancellable) comes from the server.
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `migls: ${title}` }, work);
    await openAll(outcome.paths);
    if (outcome.paths.length === 0 && outcome.message && !outcome.shownByServer) {
      void vscode.window.showInformationMessage(`migls: ${outcome.message}`);
    }
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    server.output.appendLine(`[migls] ${title}: ${text}`);
    if (error instanceof ServerRefused) return; // the server showed it
    const choice = await vscode.window.showErrorMessage(`migls: ${title}: ${text}`, "Show Output");
    if (choice) server.output.show(true);
  }
}

/** New Revision: asks for a message and whether to autogenerate, then writes the file. */
export async function newRevision(server: ServerController, onDone: () => void): Promise<void> {
  const env = await chooseEnvironment(server);
  if (!env) return;
  const message = await vscode.window.showInputBox({
    title: "migls: New Revision",
    prompt: "The revision message (its docstring and file name)",
    placeHolder: "add users.email",
    validateInput: (value) => (value.trim() ? undefined : "A revision needs a message"),
  });
  if (message === undefined) return;
  const kind = await vscode.window.showQuickPick(
    [
      { label: "Empty revision", description: "upgrade() and downgrade() to write by hand", autogenerate: false },
      {
        label: "Autogenerate",
        description: "compare the models with the database: runs the project's env.py",
        autogenerate: true,
      },
    ],
    { title: "migls: New Revision", placeHolder: "What should the new revision contain?" },
  );
  if (!kind) return;
  if (kind.autogenerate && !vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage("migls: autogenerate runs the project's env.py; trust this workspace first.");
    return;
  }
  let head: string | undefined;
  if (env.heads.length > 1) {
    const pick = await vscode.window.showQuickPick(headItems(env), {
      title: "migls: New Revision",
      placeHolder: `${env.heads.length} heads: on which one? (or cancel and Merge Heads first)`,
    });
    if (!pick) return;
    head = pick.id;
  }
  const where = environmentArgs(env);
  // The selected interpreter is the project's: autogenerate imports its models with it.
  const python = server.command?.python && server.command.origin !== "PATH" ? server.command.python : undefined;
  const cli = [
    "revision", "-m", message.trim(),
    ...(kind.autogenerate ? ["--autogenerate"] : []),
    ...(kind.autogenerate && python ? ["--python", python] : []),
    ...(head ? ["--head", head] : []),
    ...where.cli,
  ];
  await report(server, "New Revision", () =>
    runRevisionCommand(
      server,
      "migls.newRevision",
      { message: message.trim(), autogenerate: kind.autogenerate, head: head ?? null, python: python ?? null, alembicConfig: where.alembicConfig ?? null },
      cli,
    ),
  );
  onDone();
}

/** Merge Heads: writes a merge revision of every head of the environment. */
export async function mergeHeads(server: ServerController, onDone: () => void): Promise<void> {
  const env = await chooseEnvironment(server);
  if (!env) return;
  if (env.heads.length < 2) {
    void vscode.window.showInformationMessage(`migls: ${env.name || "the environment"} has one head; nothing to merge.`);
    return;
  }
  const message = await vscode.window.showInputBox({
    title: "migls: Merge Heads",
    prompt: `Message of the merge revision of ${env.heads.join(", ")}`,
    value: "merge heads",
  });
  if (message === undefined) return;
  const where = environmentArgs(env);
  await report(server, "Merge Heads", () =>
    runRevisionCommand(
      server,
      "migls.mergeHeads",
      { heads: env.heads, message: message.trim() || null, alembicConfig: where.alembicConfig ?? null },
      ["merge", "-m", message.trim() || "merge heads", ...where.cli],
    ),
  );
  onDone();
}

/** Rebase onto Head: moves one head's revision on top of another head. */
export async function rebaseOnHead(server: ServerController, onDone: () => void): Promise<void> {
  const env = await chooseEnvironment(server);
  if (!env) return;
  if (env.heads.length < 2) {
    void vscode.window.showInformationMessage(`migls: ${env.name || "the environment"} has one head; nothing to rebase.`);
    return;
  }
  const active = vscode.window.activeTextEditor?.document.uri.fsPath;
  // The active file's revision moves when it is a head; otherwise the user picks one.
  const activeHead = env.nodes.find((n) => n.path === active && env.heads.includes(n.id));
  const moving =
    activeHead ? { id: activeHead.id } : await vscode.window.showQuickPick(headItems(env), { title: "migls: Rebase onto Head", placeHolder: "Which revision moves?" });
  if (!moving) return;
  const others = headItems(env, moving.id);
  const onto = others.length === 1 ? others[0] : await vscode.window.showQuickPick(others, { title: "migls: Rebase onto Head", placeHolder: `Move ${moving.id} on top of which head?` });
  if (!onto) return;
  const where = environmentArgs(env);
  await report(server, "Rebase onto Head", () =>
    runRevisionCommand(
      server,
      "migls.rebaseOnHead",
      { revision: moving.id, onto: onto.id, alembicConfig: where.alembicConfig ?? null },
      ["rebase", moving.id, "--onto", onto.id, ...where.cli],
    ),
  );
  onDone();
}
