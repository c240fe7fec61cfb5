import * as vscode from "vscode";
import { lastLine, run } from "./process";
import { GraphResult, parseGraphs } from "./graphData";
import { ServerController } from "./server";

/**
 * Fetches the revision graphs: from the server's `migls.showGraph` command when it offers it,
 * else from `migls graph --format json` of the same environment.
 */
export async function fetchGraphs(server: ServerController): Promise<GraphResult> {
  const folder = server.folder;
  const root = folder?.uri.fsPath;
  if (server.supports("migls.showGraph")) {
    try {
      const data = await server.execute<unknown>("migls.showGraph", [{ uri: folder?.uri.toString() }]);
      return { graphs: parseGraphs(data, root) };
    } catch (error) {
      return { error: `migls.showGraph failed: ${String(error)}` };
    }
  }
  const command = server.command;
  if (!command) return { error: "migls is not installed in this workspace's Python environment" };
  const alembicConfig = vscode.workspace.getConfiguration("migls", folder?.uri).get<string>("alembicConfig", "").trim();
  const argv = [...command.argv, "graph", "--format", "json"];
  if (alembicConfig) argv.push("--alembic-config", alembicConfig);
  argv.push(root ?? ".");
  try {
    const result = await run(argv, { cwd: root, timeoutMs: 60_000 });
    if (result.code !== 0 && !result.stdout.trim()) {
      return { error: lastLine(result.stderr) || `${argv.join(" ")} exited with ${result.code}` };
    }
    return { graphs: parseGraphs(JSON.parse(result.stdout), root) };
  } catch (error) {
    return { error: `${argv.join(" ")}: ${String(error)}` };
  }
}

