import { RevisionNode } from "./graphData";

/** Where a revision is drawn: its row (newest first) and lane (column of the graph). */
export interface Placement {
  node: RevisionNode;
  row: number;
  lane: number;
}

/** A line from a revision down to its parent, running in `lane` between the two rows. */
export interface Edge {
  from: string;
  to: string;
  lane: number;
  kind: "parent" | "dependency";
}

/** The result of `layoutGraph`. */
export interface Layout {
  placements: Placement[];
  edges: Edge[];
  /** Parents named by a revision but absent from the history (dangling down_revision). */
  missing: { from: string; to: string }[];
  lanes: number;
}

/** Length of the longest parent chain below each revision (cycles count as 0). */
function depths(nodes: Map<string, RevisionNode>): Map<string, number> {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id);
    if (!node || visiting.has(id)) return -1;
    visiting.add(id);
    let d = 0;
    for (const parent of node.parents) d = Math.max(d, visit(parent) + 1);
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const id of nodes.keys()) visit(id);
  return depth;
}

/** Whether every revision comes before all of its parents. */
function isNewestFirst(input: RevisionNode[]): boolean {
  const seen = new Set<string>();
  for (const node of input) {
    if (seen.has(node.id) || node.parents.some((p) => seen.has(p))) return false;
    seen.add(node.id);
  }
  return true;
}

function byDepth(input: RevisionNode[], nodes: Map<string, RevisionNode>): RevisionNode[] {
  const depth = depths(nodes);
  const index = new Map(input.map((n, i) => [n.id, i]));
  return [...nodes.values()].sort(
    (a, b) => (depth.get(b.id) ?? 0) - (depth.get(a.id) ?? 0) || (index.get(b.id) ?? 0) - (index.get(a.id) ?? 0),
  );
}

/**
 * Lays the history out as `git log --graph` does: one row per revision, newest first (every
 * revision above its parents), each line of development in its own lane, merges joining lanes.
 */
export function layoutGraph(input: RevisionNode[]): Layout {
  const nodes = new Map(input.map((n) => [n.id, n]));
  // `migls graph` already lists revisions newest first with each branch together; any other
  // order (or a cycle) is sorted by depth, which still puts every revision above its parents.
  const order = isNewestFirst(input) ? input : byDepth(input, nodes);

  const lanes: (string | null)[] = [];
  const allocate = (): number => {
    const free = lanes.indexOf(null);
    if (free >= 0) return free;
    lanes.push(null);
    return lanes.length - 1;
  };
  const placements: Placement[] = [];
  const edges: Edge[] = [];
  const missing: { from: string; to: string }[] = [];

  order.forEach((node, row) => {
    const waiting = lanes.flatMap((id, i) => (id === node.id ? [i] : []));
    const lane = waiting.length > 0 ? waiting[0] : allocate();
    for (const i of waiting) lanes[i] = null;
    placements.push({ node, row, lane });
    for (const parent of node.parents) {
      if (!nodes.has(parent)) {
        missing.push({ from: node.id, to: parent });
        continue;
      }
      // The first parent continues the revision's own lane (lanes waiting for the same parent
      // converge on its row); another parent joins a lane already waiting for it, or opens one.
      const existing = lanes.indexOf(parent);
      let edgeLane: number;
      if (lanes[lane] === null) edgeLane = lane;
      else if (existing >= 0) edgeLane = existing;
      else edgeLane = allocate();
      lanes[edgeLane] = parent;
      edges.push({ from: node.id, to: parent, lane: edgeLane, kind: "parent" });
    }
    for (const dependency of node.dependsOn) {
      if (nodes.has(dependency)) edges.push({ from: node.id, to: dependency, lane: -1, kind: "dependency" });
    }
  });
  const used = Math.max(0, ...placements.map((p) => p.lane + 1), ...edges.map((e) => e.lane + 1));
  return { placements, edges, missing, lanes: used };
}
