import * as vscode from "vscode";
import { EnvironmentGraph, GraphResult, environmentOf } from "./graphData";
import { ServerController, ServerState } from "./server";

const ICONS: Record<ServerState, string> = {
  starting: "$(sync~spin)",
  running: "$(database)",
  stopped: "$(circle-slash)",
  notFound: "$(error)",
  failed: "$(error)",
};

const STATE_TEXT: Record<ServerState, string> = {
  starting: "starting",
  running: "running",
  stopped: "stopped",
  notFound: "not installed",
  failed: "failed to start",
};

/** The short form of a revision id for the status bar. */
function short(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

/**
 * The status-bar item: the server's state and the head(s) of the Alembic environment of the
 * active editor (the first environment when the editor is elsewhere). Clicking opens the graph.
 */
export class StatusItem implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem("migls.status", vscode.StatusBarAlignment.Left, 50);
  private graphs: GraphResult | undefined;

  constructor(private readonly server: ServerController) {
    this.item.name = "migls";
    this.render();
    this.item.show();
  }

  /** Takes freshly fetched graphs (undefined: not fetched yet). */
  setGraphs(graphs: GraphResult | undefined): void {
    this.graphs = graphs;
    this.render();
  }

  /** Redraws for the current state, graphs and active editor. */
  render(): void {
    const state = this.server.state;
    const active = vscode.window.activeTextEditor?.document.uri.fsPath;
    const env: EnvironmentGraph | undefined = this.graphs?.graphs ? environmentOf(this.graphs.graphs, active) : undefined;
    let text = `${ICONS[state]} migls`;
    this.item.backgroundColor = undefined;
    if (state === "running" && env) {
      if (env.heads.length === 1) text += `: ${short(env.heads[0])}`;
      else if (env.heads.length > 1) {
        text = `$(warning) migls: ${env.heads.length} heads`;
        this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
      } else text += ": no revisions";
    } else if (state === "notFound" || state === "failed") {
      text += `: ${STATE_TEXT[state]}`;
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    } else if (state === "stopped") {
      // A server that exited and was not restarted: no findings are coming.
      text += `: ${STATE_TEXT[state]}`;
    }
    this.item.text = text;
    this.item.command = state === "running" || state === "starting" ? "migls.graph.show" : "migls.output.show";

    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.isTrusted = { enabledCommands: ["migls.graph.show", "migls.server.restart", "migls.output.show"] };
    const version = this.server.version ? ` (migls ${this.server.version})` : "";
    tooltip.appendMarkdown(`**migls** server: ${STATE_TEXT[state]}${version}\n\n`);
    if (this.server.command) {
      tooltip.appendMarkdown(`Runs \`${this.server.command.argv.join(" ")}\`, found through ${this.server.command.origin}.\n\n`);
    }
    for (const g of this.graphs?.graphs ?? []) {
      const heads = g.heads.map((h) => {
        const node = g.nodes.find((n) => n.id === h);
        return `\`${h}\`${node?.message ? ` ${node.message}` : ""}`;
      });
      tooltip.appendMarkdown(`Environment \`${g.name || "."}\`: ${heads.length === 1 ? "head" : "heads"} ${heads.join(", ") || "none"}\n\n`);
    }
    if (this.graphs?.error) tooltip.appendMarkdown(`Heads unknown: ${this.graphs.error}\n\n`);
    tooltip.appendMarkdown(
      "[Show Revision Graph](command:migls.graph.show) · [Restart Server](command:migls.server.restart) · [Show Output](command:migls.output.show)",
    );
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
