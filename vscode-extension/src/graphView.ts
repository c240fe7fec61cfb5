import * as crypto from "node:crypto";
import * as path from "node:path";
import * as vscode from "vscode";
import { EnvironmentGraph, GraphResult, RevisionNode } from "./graphData";
import { layoutGraph } from "./layout";

const LANE = 16;
const ROW = 28;
const RADIUS = 5;

function escape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The SVG lines and dots plus one clickable HTML row per revision, for one environment, and
 * the CSS that places the rows beside the graph (the page's CSP forbids style attributes).
 */
function renderEnvironment(graph: EnvironmentGraph, root: string | undefined, index: number): { html: string; css: string } {
  const layout = layoutGraph(graph.nodes);
  const at = new Map(layout.placements.map((p) => [p.node.id, p]));
  const heads = new Set(graph.heads);
  const x = (lane: number): number => LANE / 2 + lane * LANE + 4;
  const y = (row: number): number => ROW / 2 + row * ROW;
  const width = x(Math.max(layout.lanes, 1)) + LANE;
  const height = Math.max(layout.placements.length, 1) * ROW;
  const colour = (lane: number): string => `lane${lane % 6}`;

  const paths: string[] = [];
  for (const edge of layout.edges) {
    const from = at.get(edge.from);
    const to = at.get(edge.to);
    if (!from || !to) continue;
    const [xc, yc, xp, yp] = [x(from.lane), y(from.row), x(to.lane), y(to.row)];
    if (edge.kind === "dependency") {
      const bend = x(layout.lanes) + LANE / 2;
      paths.push(`<path class="dependency" d="M${xc},${yc} C${bend},${yc} ${bend},${yp} ${xp},${yp}"/>`);
      continue;
    }
    const xl = x(edge.lane);
    let d = `M${xc},${yc}`;
    d += xl === xc ? ` L${xl},${yc + ROW / 2}` : ` C${xc},${yc + ROW / 2} ${xl},${yc} ${xl},${yc + ROW / 2}`;
    d += ` L${xl},${yp - ROW / 2}`;
    d += xl === xp ? ` L${xp},${yp}` : ` C${xl},${yp} ${xp},${yp - ROW / 2} ${xp},${yp}`;
    paths.push(`<path class="edge ${colour(edge.lane)}" d="${d}"/>`);
  }
  for (const gap of layout.missing) {
    const from = at.get(gap.from);
    if (!from) continue;
    const [xc, yc] = [x(from.lane), y(from.row)];
    paths.push(`<path class="missing" d="M${xc},${yc} L${xc},${yc + ROW * 0.7}"/>`);
  }
  const dots = layout.placements.map((p) => {
    const merge = p.node.parents.length > 1;
    const shape = merge
      ? `<rect class="dot merge ${colour(p.lane)}" x="${x(p.lane) - RADIUS}" y="${y(p.row) - RADIUS}" width="${2 * RADIUS}" height="${2 * RADIUS}" transform="rotate(45 ${x(p.lane)} ${y(p.row)})"/>`
      : `<circle class="dot ${colour(p.lane)}" cx="${x(p.lane)}" cy="${y(p.row)}" r="${RADIUS}"/>`;
    const ring = heads.has(p.node.id) ? `<circle class="head-ring" cx="${x(p.lane)}" cy="${y(p.row)}" r="${RADIUS + 3}"/>` : "";
    return ring + shape;
  });

  const rows = layout.placements.map((p) => {
    const n: RevisionNode = p.node;
    const badges: string[] = [];
    if (heads.has(n.id)) badges.push(`<span class="badge head">head</span>`);
    if (n.parents.length > 1) badges.push(`<span class="badge merge">merge</span>`);
    if (n.parents.length === 0) badges.push(`<span class="badge base">base</span>`);
    for (const label of n.labels) badges.push(`<span class="badge label">${escape(label)}</span>`);
    for (const gone of layout.missing.filter((m) => m.from === n.id)) {
      badges.push(`<span class="badge missing">missing ${escape(gone.to)}</span>`);
    }
    for (const finding of n.findings) {
      badges.push(`<span class="badge finding ${escape(finding.severity)}" title="${escape(finding.message)}">${escape(finding.code)}</span>`);
    }
    if (n.dependsOn.length > 0) badges.push(`<span class="badge depends">depends on ${escape(n.dependsOn.join(", "))}</span>`);
    const file = n.path ? (root ? path.relative(root, n.path) : n.path) : "";
    const attrs = n.path
      ? ` role="button" tabindex="0" data-path="${escape(n.path)}" data-line="${n.line ?? -1}" title="Open ${escape(file)}"`
      : "";
    return (
      `<div class="row${n.path ? " link" : ""}" data-revision="${escape(n.id)}"${attrs}>` +
      `<span class="rev">${escape(n.id)}</span>${badges.join("")}<span class="message">${escape(n.message)}</span></div>`
    );
  });

  const title = graph.name || "Alembic environment";
  const headCount = graph.heads.length;
  const warning = headCount > 1
    ? `<p class="heads-warning">${headCount} heads: <code>alembic upgrade head</code> fails. ` +
      `<button data-command="migls.heads.merge">Merge Heads</button> ` +
      `<button data-command="migls.heads.rebase">Rebase onto Head…</button></p>`
    : "";
  const html =
    `<section class="environment env${index}" data-environment="${escape(title)}">` +
    `<h2>${escape(title)} <span class="summary">${graph.nodes.length} revisions, ${headCount} head${headCount === 1 ? "" : "s"}</span></h2>` +
    warning +
    `<div class="graph">` +
    `<svg width="${width}" height="${height}" aria-hidden="true">${paths.join("")}${dots.join("")}</svg>` +
    rows.join("") +
    `</div></section>`;
  return { html, css: `.env${index} .row { margin-left: ${width}px; }` };
}

/** The whole page: toolbar, one section per environment, and the click handling script. */
export function renderGraphPage(result: GraphResult, root: string | undefined, cspSource: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const sections = (result.graphs ?? []).map((g, i) => renderEnvironment(g, root, i));
  const body = result.graphs
    ? result.graphs.length > 0
      ? sections.map((s) => s.html).join("")
      : `<p>No Alembic environment found in this workspace.</p>`
    : `<p class="error">The revision graph is not available: ${escape(result.error)}</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Revision Graph</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 12px 24px; }
.toolbar { position: sticky; top: 0; background: var(--vscode-editor-background); padding: 8px 0; z-index: 2; }
button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 10px; cursor: pointer; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
h2 { font-size: 1.1em; margin: 16px 0 6px; }
.summary { font-weight: normal; opacity: 0.7; margin-left: 8px; }
.heads-warning { color: var(--vscode-editorWarning-foreground); }
.error { color: var(--vscode-errorForeground); }
.graph { position: relative; }
svg { position: absolute; left: 0; top: 0; overflow: visible; }
.edge { fill: none; stroke-width: 2; }
.dependency { fill: none; stroke: var(--vscode-descriptionForeground); stroke-width: 1.5; stroke-dasharray: 4 3; }
.missing { stroke: var(--vscode-errorForeground); stroke-width: 2; stroke-dasharray: 2 2; }
.dot { stroke: var(--vscode-editor-background); stroke-width: 1.5; }
.head-ring { fill: none; stroke: var(--vscode-charts-green); stroke-width: 2; }
.lane0 { stroke: var(--vscode-charts-blue); } circle.lane0, rect.lane0 { fill: var(--vscode-charts-blue); }
.lane1 { stroke: var(--vscode-charts-orange); } circle.lane1, rect.lane1 { fill: var(--vscode-charts-orange); }
.lane2 { stroke: var(--vscode-charts-purple); } circle.lane2, rect.lane2 { fill: var(--vscode-charts-purple); }
.lane3 { stroke: var(--vscode-charts-green); } circle.lane3, rect.lane3 { fill: var(--vscode-charts-green); }
.lane4 { stroke: var(--vscode-charts-yellow); } circle.lane4, rect.lane4 { fill: var(--vscode-charts-yellow); }
.lane5 { stroke: var(--vscode-charts-red); } circle.lane5, rect.lane5 { fill: var(--vscode-charts-red); }
.row { height: ${ROW}px; line-height: ${ROW}px; white-space: nowrap; padding: 0 6px; border-radius: 3px; }
.row.link { cursor: pointer; }
.row.link:hover, .row.link:focus { background: var(--vscode-list-hoverBackground); outline: none; }
.rev { font-family: var(--vscode-editor-font-family); margin-right: 8px; }
.message { margin-left: 8px; opacity: 0.85; }
.badge { font-size: 0.85em; padding: 1px 6px; border-radius: 8px; margin-right: 4px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.badge.head { background: var(--vscode-charts-green); color: var(--vscode-editor-background); }
.badge.missing { background: var(--vscode-errorForeground); color: var(--vscode-editor-background); }
.badge.finding.error { background: var(--vscode-editorError-foreground); color: var(--vscode-editor-background); }
.badge.finding.warning { background: var(--vscode-editorWarning-foreground); color: var(--vscode-editor-background); }
${sections.map((s) => s.css).join("\n")}
.badge.label { background: var(--vscode-charts-purple); color: var(--vscode-editor-background); }
</style></head>
<body class="migls-graph">
<div class="toolbar">
<button data-command="refresh">Refresh</button>
<button data-command="migls.revision.create">New Revision…</button>
</div>
${body}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
function activate(target) {
  const command = target.closest("[data-command]");
  if (command) { vscode.postMessage({ type: "command", command: command.dataset.command }); return; }
  const row = target.closest(".row.link");
  if (row) vscode.postMessage({ type: "open", path: row.dataset.path, line: Number(row.dataset.line) });
}
document.addEventListener("click", (event) => activate(event.target));
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { activate(event.target); event.preventDefault(); }
});
</script>
</body></html>`;
}

/** Messages the page posts. */
type PageMessage = { type: "open"; path: string; line: number } | { type: "command"; command: string };

/** The "Revision Graph" editor tab: one at a time, refreshed when revision files change. */
export class GraphPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(
    private readonly load: () => Promise<GraphResult>,
    private readonly root: () => string | undefined,
  ) {}

  /** Opens the tab (or brings it forward) and draws the current graph. */
  async show(): Promise<void> {
    if (this.panel) {
      this.panel.reveal(undefined, false);
    } else {
      this.panel = vscode.window.createWebviewPanel("migls.graph", "Revision Graph", vscode.ViewColumn.Active, {
        enableScripts: true,
        retainContextWhenHidden: false,
      });
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.webview.onDidReceiveMessage((message: PageMessage) => void this.handle(message));
    }
    await this.refresh();
  }

  /** Redraws an open tab; does nothing when it is closed. */
  async refresh(): Promise<void> {
    const panel = this.panel;
    if (!panel) return;
    const result = await this.load();
    if (this.panel === panel) panel.webview.html = renderGraphPage(result, this.root(), panel.webview.cspSource);
  }

  private async handle(message: PageMessage): Promise<void> {
    if (message.type === "open") {
      const document = await vscode.workspace.openTextDocument(vscode.Uri.file(message.path));
      // Without a line from the graph, put the cursor on the `revision = ...` assignment.
      const line = message.line >= 0 ? message.line : Math.max(0, document.getText().split(/\r?\n/).findIndex((l) => /^revision\b/.test(l)));
      const position = new vscode.Position(line, 0);
      // Beside the graph, which stays in view for the next click.
      await vscode.window.showTextDocument(document, {
        viewColumn: vscode.ViewColumn.Beside,
        selection: new vscode.Range(position, position),
      });
    } else if (message.command === "refresh") {
      await this.refresh();
    } else if (message.command.startsWith("migls.")) {
      await vscode.commands.executeCommand(message.command);
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
