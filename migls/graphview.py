"""``migls graph``: the revision graph of each environment with its heads, merges, branch
labels and the findings on each revision, as text, Mermaid, Graphviz DOT or JSON.

Built from the static graph and the lint engine (nothing is imported or run). Revisions are
listed newest first, in an order where every revision comes before its parents and a
branch's revisions stay together (a depth-first walk from the heads, as ``git log
--topo-order``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migls.graph import Graph
from migls.report import display_path
from migls.rule import Diagnostic

FORMATS = ("text", "mermaid", "dot", "json")
#: The version of the JSON document (README: "migls graph").
JSON_VERSION = 1


@dataclass
class Node:
    """One revision as shown."""

    id: str
    path: str
    message: str | None
    parents: tuple[str, ...]
    depends_on: tuple[str, ...]
    branch_labels: tuple[str, ...]
    head: bool
    base: bool
    merge: bool
    branch_point: bool
    findings: list[Diagnostic] = field(default_factory=list)


@dataclass
class View:
    """One environment's graph, ready to render."""

    name: str
    nodes: list[Node]
    heads: tuple[str, ...]
    bases: tuple[str, ...]
    #: Findings on files that declare no revision (MG002, an unreadable file).
    unattached: list[Diagnostic] = field(default_factory=list)


def build_view(name: str, graph: Graph, diagnostics: Sequence[Diagnostic]) -> View:
    """Attach each diagnostic to the revision its file declares."""
    by_path: dict[str, str] = {n.file.path: rev for rev, n in graph.nodes.items()}
    found: dict[str, list[Diagnostic]] = {}
    unattached: list[Diagnostic] = []
    for diagnostic in diagnostics:
        rev = by_path.get(diagnostic.path)
        if rev is None:
            unattached.append(diagnostic)
        else:
            found.setdefault(rev, []).append(diagnostic)
    nodes = []
    for rev in topological_order(graph):
        node = graph.nodes[rev]
        nodes.append(Node(
            rev, node.file.path, node.file.message, node.parents, node.dependencies, node.labels,
            head=rev in graph.heads, base=not node.parents, merge=len(node.parents) > 1,
            branch_point=len(node.children) > 1, findings=found.get(rev, [])))
    return View(name, nodes, graph.heads, graph.bases, unattached)


def topological_order(graph: Graph) -> list[str]:
    """Newest first: each revision before its parents (a reversed post-order of a
    depth-first walk from the heads; revisions on a cycle keep a stable place)."""
    order: list[str] = []
    done: set[str] = set()
    starts = [*graph.heads, *graph.nodes]  # on a cycle there may be no head
    for start in starts:
        if start in done:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        done.add(start)
        while stack:
            rev, index = stack.pop()
            parents = [p for p in graph.nodes[rev].parents if p in graph.nodes]
            if index < len(parents):
                stack.append((rev, index + 1))
                parent = parents[index]
                if parent not in done:
                    done.add(parent)
                    stack.append((parent, 0))
                continue
            order.append(rev)
    order.reverse()
    return order


def render(views: Sequence[View], fmt: str) -> str:
    """The views in one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps(to_json(views), indent=2, ensure_ascii=False) + "\n"
    if fmt == "mermaid":
        return mermaid(views)
    if fmt == "dot":
        return dot(views)
    return "\n".join(text(view) for view in views)


# -- text -----------------------------------------------------------------------------------


def _tags(node: Node) -> list[str]:
    tags = []
    if node.head:
        tags.append("head")
    if node.merge:
        tags.append("merge")
    if node.branch_point:
        tags.append("branch point")
    if node.base:
        tags.append("base")
    tags += [f"branch: {label}" for label in node.branch_labels]
    tags += [f"depends on {d}" for d in node.depends_on]
    return tags


def _codes(node: Node) -> str:
    return " ".join(sorted({d.code for d in node.findings}))


def text(view: View) -> str:
    """Lanes like ``git log --graph``: ``*`` a revision, ``|`` a line of history, ``/`` and
    ``\\`` where lines join (a branch point) and split (a merge)."""
    heads = ", ".join(view.heads) or "none"
    lines = [f"{view.name}: {len(view.nodes)} revision{'s' if len(view.nodes) != 1 else ''}, "
             f"{len(view.heads)} head{'s' if len(view.heads) != 1 else ''} ({heads})"]
    lanes: list[str | None] = []

    def row(marks: dict[int, str], hidden: frozenset[int] = frozenset()) -> str:
        """Lane ``i`` is drawn at column ``2 * i``; joins and splits between lanes."""
        cells = [" "] * (2 * max([len(lanes), *((p + 2) // 2 for p in marks)]))
        for i, lane in enumerate(lanes):
            if lane is not None and i not in hidden:
                cells[2 * i] = "|"
        for position, mark in marks.items():
            cells[position] = mark
        return "".join(cells).rstrip()

    for node in view.nodes:
        expecting = [i for i, lane in enumerate(lanes) if lane == node.id]
        if expecting:
            column = expecting[0]
            if len(expecting) > 1:  # several lines of history end here: a branch point
                joined = frozenset(expecting[1:])
                lines.append(row({2 * i - 1: "/" for i in joined}, joined))
                for i in joined:
                    lanes[i] = None
        else:
            column = lanes.index(None) if None in lanes else len(lanes)
            if column == len(lanes):
                lanes.append(None)
            lanes[column] = node.id
        tags = _tags(node)
        description = "  ".join(part for part in (
            node.id, node.message or "", f"({', '.join(tags)})" if tags else "",
            _codes(node)) if part)
        lines.append(f"{row({2 * column: '*'})}  {description}")
        parents = list(node.parents)
        lanes[column] = parents[0] if parents else None
        started: set[int] = set()
        for parent in parents[1:]:
            if parent in lanes:
                continue  # an existing line already leads there
            slot = next((i for i, lane in enumerate(lanes) if lane is None and i > column), None)
            if slot is None:
                lanes.append(None)
                slot = len(lanes) - 1
            lanes[slot] = parent
            started.add(slot)
        if started:
            lines.append(row({2 * i - 1: "\\" for i in started}, frozenset(started)))
        while lanes and lanes[-1] is None:
            lanes.pop()
    for diagnostic in view.unattached:
        lines.append(f"  {display_path(diagnostic.path)}: {diagnostic.code} (no revision id)")
    return "\n".join(lines) + "\n"


# -- Mermaid --------------------------------------------------------------------------------


def _mermaid_text(value: str) -> str:
    return (value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def mermaid(views: Sequence[View]) -> str:
    """A Mermaid flowchart, oldest at the bottom; heads bold, merges round, revisions with
    findings coloured by their worst severity."""
    out = ["flowchart BT"]
    classes: dict[str, list[str]] = {}
    for e, view in enumerate(views):
        ids = {node.id: f"e{e}r{i}" for i, node in enumerate(view.nodes)}
        indent = "  "
        if len(views) > 1:
            out.append(f'  subgraph e{e}["{_mermaid_text(view.name)}"]')
            indent = "    "
        for node in view.nodes:
            parts = [node.id]
            if node.message:
                parts.append(node.message)
            tags = [t for t in _tags(node) if not t.startswith("depends on")]
            if tags:
                parts.append(", ".join(tags))
            if node.findings:
                parts.append(_codes(node))
            label = "<br/>".join(_mermaid_text(p) for p in parts)
            opening, closing = ("([", "])") if node.merge else ('["', '"]')
            if node.merge:
                out.append(f'{indent}{ids[node.id]}(["{label}"])')
            else:
                out.append(f'{indent}{ids[node.id]}{opening}{label}{closing}')
            if node.head:
                classes.setdefault("head", []).append(ids[node.id])
            worst = max((d.severity for d in node.findings), default=None)
            if worst is not None:
                classes.setdefault(worst.label, []).append(ids[node.id])
        for node in view.nodes:
            for parent in node.parents:
                if parent in ids:
                    out.append(f"{indent}{ids[parent]} --> {ids[node.id]}")
            for dependency in node.depends_on:
                if dependency in ids:
                    out.append(f"{indent}{ids[dependency]} -.->|depends on| {ids[node.id]}")
        if len(views) > 1:
            out.append("  end")
    styles = {"head": "stroke-width:3px", "error": "fill:#fdd,stroke:#c00",
              "warning": "fill:#ffd,stroke:#b80", "info": "fill:#eef,stroke:#669"}
    for name, members in classes.items():
        out.append(f"  class {','.join(members)} {name}")
    for name in classes:
        out.append(f"  classDef {name} {styles[name]}")
    return "\n".join(out) + "\n"


# -- Graphviz DOT -----------------------------------------------------------------------------


def _dot_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot(views: Sequence[View]) -> str:
    """A Graphviz digraph, oldest at the bottom (``dot -Tsvg``); one cluster per
    environment when there are several."""
    colours = {"error": "#ffdddd", "warning": "#ffffdd", "info": "#eeeeff"}
    out = ["digraph migls {", "  rankdir=BT;", '  node [shape=box, fontname="monospace"];']
    for e, view in enumerate(views):
        indent = "  "
        if len(views) > 1:
            out.append(f"  subgraph {_dot_string(f'cluster_{e}')} {{")
            out.append(f"    label={_dot_string(view.name)};")
            indent = "    "
        ids = {node.id: _dot_string(f"{e}:{node.id}" if len(views) > 1 else node.id)
               for node in view.nodes}
        for node in view.nodes:
            label = "\n".join(part for part in (
                node.id, node.message or "",
                ", ".join(t for t in _tags(node) if not t.startswith("depends on")),
                _codes(node)) if part)
            attributes = [f"label={_dot_string(label)}"]
            if node.merge:
                attributes.append("shape=ellipse")
            if node.head:
                attributes.append("penwidth=3")
            worst = max((d.severity for d in node.findings), default=None)
            if worst is not None:
                attributes += ["style=filled", f"fillcolor={_dot_string(colours[worst.label])}"]
            out.append(f"{indent}{ids[node.id]} [{', '.join(attributes)}];")
        for node in view.nodes:
            for parent in node.parents:
                if parent in ids:
                    out.append(f"{indent}{ids[parent]} -> {ids[node.id]};")
            for dependency in node.depends_on:
                if dependency in ids:
                    out.append(f'{indent}{ids[dependency]} -> {ids[node.id]} '
                               '[style=dashed, label="depends on"];')
        if len(views) > 1:
            out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


# -- JSON -------------------------------------------------------------------------------------


def _finding(d: Diagnostic) -> dict[str, object]:
    return {"code": d.code, "name": d.name, "severity": d.severity.label, "line": d.span.line,
            "column": d.span.column + 1, "message": d.message}


def to_json(views: Sequence[View]) -> dict[str, object]:
    """The document described in the README (``migls graph --format json``)."""
    return {
        "version": JSON_VERSION,
        "environments": [{
            "name": view.name,
            "heads": list(view.heads),
            "bases": list(view.bases),
            "revisions": [{
                "id": node.id,
                "path": display_path(node.path),
                "message": node.message,
                "parents": list(node.parents),
                "depends_on": list(node.depends_on),
                "branch_labels": list(node.branch_labels),
                "head": node.head,
                "base": node.base,
                "merge": node.merge,
                "branch_point": node.branch_point,
                "findings": [_finding(d) for d in node.findings],
            } for node in view.nodes],
            "unattached_findings": [{**_finding(d), "path": display_path(d.path)}
                                    for d in view.unattached],
        } for view in views],
    }


def environment_name(config_path: Path | None, versions: Sequence[Path]) -> str:
    """How an environment is named in the output: its config file, else its versions
    directory, relative to the current directory."""
    return display_path(str(config_path or versions[0]))
