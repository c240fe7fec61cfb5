/** The revision graph as `migls graph --format json` gives it (no VS Code API here: unit-tested with node:test). */
import * as path from "node:path";

/** One revision of an environment's history. */
export interface RevisionNode {
  id: string;
  parents: string[];
  dependsOn: string[];
  labels: string[];
  message: string;
  /** Absolute path of the revision file, when known. */
  path?: string;
  /** 0-based line of `revision = ...` in it. */
  line?: number;
  /** migls' findings on this revision (as `migls lint` reports them). */
  findings: Finding[];
}

/** One finding on a revision, as the graph JSON lists it. */
export interface Finding {
  code: string;
  severity: string;
  message: string;
}

/** The revision graph of one Alembic environment. */
export interface EnvironmentGraph {
  /** A short name: the environment's directory relative to the workspace. */
  name: string;
  /** The Alembic configuration file, absolute. */
  config?: string;
  heads: string[];
  nodes: RevisionNode[];
}

/** Graphs of every environment in the workspace, or why there are none. */
export type GraphResult = { graphs: EnvironmentGraph[]; error?: undefined } | { graphs?: undefined; error: string };

type Json = Record<string, unknown>;

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function pick(object: Json, ...keys: string[]): unknown {
  for (const key of keys) if (object[key] !== undefined && object[key] !== null) return object[key];
  return undefined;
}

/** Reads the graph JSON of `migls graph --format json` or the `migls.showGraph` command. */
export function parseGraphs(data: unknown, root: string | undefined): EnvironmentGraph[] {
  const environments: unknown[] = Array.isArray(data)
    ? data
    : data && typeof data === "object" && Array.isArray((data as Json).environments)
      ? ((data as Json).environments as unknown[])
      : [data];
  const graphs: EnvironmentGraph[] = [];
  for (const env of environments) {
    if (!env || typeof env !== "object") continue;
    const e = env as Json;
    const rawNodes = pick(e, "revisions", "nodes");
    if (!Array.isArray(rawNodes)) continue;
    // `migls graph` names an environment by its config file (relative to where it ran).
    const name0 = text(pick(e, "name"));
    const config = text(pick(e, "config", "config_path", "alembic_config")) ?? (name0 && /\.(ini|toml)$/.test(name0) ? name0 : undefined);
    const nodes: RevisionNode[] = [];
    for (const raw of rawNodes) {
      if (!raw || typeof raw !== "object") continue;
      const n = raw as Json;
      const id = text(pick(n, "id", "revision"));
      if (!id) continue;
      const file = text(pick(n, "path", "file"));
      const line = pick(n, "line");
      nodes.push({
        id,
        parents: strings(pick(n, "parents", "down_revision", "down_revisions")),
        dependsOn: strings(pick(n, "depends_on", "dependencies", "dependsOn")),
        labels: strings(pick(n, "branch_labels", "labels", "branchLabels")),
        message: text(pick(n, "message", "doc")) ?? "",
        // Paths are relative to where migls ran: the workspace folder.
        path: file ? path.resolve(root ?? "", file) : undefined,
        // JSON lines are 1-based like the CLI's other output.
        line: typeof line === "number" ? Math.max(0, line - 1) : undefined,
        findings: (Array.isArray(n.findings) ? (n.findings as unknown[]) : []).flatMap((f) => {
          if (!f || typeof f !== "object") return [];
          const finding = f as Json;
          const code = text(finding.code);
          return code ? [{ code, severity: text(finding.severity) ?? "warning", message: text(finding.message) ?? "" }] : [];
        }),
      });
    }
    const heads = strings(pick(e, "heads"));
    const name = name0 ?? config ?? "";
    graphs.push({
      name,
      config: config ? path.resolve(root ?? "", config) : undefined,
      heads: Array.isArray(e.heads) ? heads : computeHeads(nodes),
      nodes,
    });
  }
  return graphs;
}

/** Revisions no other revision names as its parent. */
export function computeHeads(nodes: RevisionNode[]): string[] {
  const parents = new Set(nodes.flatMap((n) => n.parents));
  return nodes.filter((n) => !parents.has(n.id)).map((n) => n.id);
}

/** The environment whose revision files include `file`, else the only or first one. */
export function environmentOf(graphs: EnvironmentGraph[], file: string | undefined): EnvironmentGraph | undefined {
  if (file) {
    const hit = graphs.find((g) => g.nodes.some((n) => n.path === file));
    if (hit) return hit;
  }
  return graphs[0];
}
