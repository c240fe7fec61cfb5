import assert from "node:assert/strict";
import { test } from "node:test";
import { RevisionNode, parseGraphs } from "../graphData";
import { layoutGraph } from "../layout";

function node(id: string, parents: string[] = [], extra: Partial<RevisionNode> = {}): RevisionNode {
  return { id, parents, dependsOn: [], labels: [], message: id, findings: [], ...extra };
}

test("parses `migls graph --format json`", () => {
  const graphs = parseGraphs(
    {
      version: 1,
      environments: [
        {
          name: "alembic.ini",
          heads: ["c"],
          bases: ["a"],
          revisions: [
            { id: "c", path: "versions/c.py", message: "third", parents: ["b"], depends_on: [], branch_labels: ["main"], findings: [{ code: "MG202", severity: "error", message: "m" }] },
            { id: "b", path: "versions/b.py", message: "second", parents: ["a"], depends_on: ["a"], branch_labels: [], findings: [] },
            { id: "a", path: "versions/a.py", message: null, parents: [], depends_on: [], branch_labels: [], findings: [] },
          ],
        },
      ],
    },
    "/w",
  );
  assert.equal(graphs.length, 1);
  const [env] = graphs;
  assert.equal(env.config, "/w/alembic.ini");
  assert.deepEqual(env.heads, ["c"]);
  assert.deepEqual(env.nodes.map((n) => [n.id, n.path, n.message]), [["c", "/w/versions/c.py", "third"], ["b", "/w/versions/b.py", "second"], ["a", "/w/versions/a.py", ""]]);
  assert.deepEqual(env.nodes[0].labels, ["main"]);
  assert.deepEqual(env.nodes[0].findings, [{ code: "MG202", severity: "error", message: "m" }]);
  assert.deepEqual(env.nodes[1].dependsOn, ["a"]);
});

test("ignores what is not a graph", () => {
  assert.deepEqual(parseGraphs(null, "/w"), []);
  assert.deepEqual(parseGraphs({ environments: [{ name: "x" }, 3, { revisions: [{}, { id: 1 }] }] }, "/w").map((g) => g.nodes), [[]]);
});

test("a straight history stays in one lane", () => {
  const layout = layoutGraph([node("c", ["b"]), node("b", ["a"]), node("a")]);
  assert.deepEqual(layout.placements.map((p) => [p.node.id, p.row, p.lane]), [["c", 0, 0], ["b", 1, 0], ["a", 2, 0]]);
  assert.equal(layout.lanes, 1);
  assert.ok(layout.edges.every((e) => e.lane === 0));
});

test("two heads on one parent take two lanes that join at the parent", () => {
  const layout = layoutGraph([node("h1", ["m"]), node("h2", ["m"]), node("m", ["a"]), node("a")]);
  const lane = Object.fromEntries(layout.placements.map((p) => [p.node.id, p.lane]));
  assert.equal(lane.h1, 0);
  assert.equal(lane.h2, 1);
  assert.equal(lane.m, 0);
  assert.deepEqual(layout.edges.map((e) => [e.from, e.to, e.lane]), [["h1", "m", 0], ["h2", "m", 1], ["m", "a", 0]]);
});

test("a merge opens a lane for its second parent, which closes at the branch point", () => {
  const layout = layoutGraph([node("merge", ["x", "y"]), node("y", ["base"]), node("x", ["base"]), node("base")]);
  const lane = Object.fromEntries(layout.placements.map((p) => [p.node.id, p.lane]));
  assert.equal(lane.merge, 0);
  assert.equal(lane.y, 1);
  assert.equal(lane.x, 0);
  assert.equal(lane.base, 0);
  assert.equal(layout.lanes, 2);
});

test("revisions out of order are sorted so each comes before its parents", () => {
  const layout = layoutGraph([node("a"), node("b", ["a"]), node("c", ["b"])]);
  assert.deepEqual(layout.placements.map((p) => p.node.id), ["c", "b", "a"]);
});

test("a missing parent and a cycle do not break the layout", () => {
  const layout = layoutGraph([node("x", ["gone"]), node("p", ["q"]), node("q", ["p"])]);
  assert.deepEqual(layout.missing, [{ from: "x", to: "gone" }]);
  assert.equal(layout.placements.length, 3);
});
