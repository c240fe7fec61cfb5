"""The revision graph of one Alembic environment, built from statically read facts.

It follows Alembic's ``RevisionMap`` (heads, bases, branch labels, ``depends_on``) and, where
Alembic warns or crashes, keeps going and records the fault so that the rules can report its
cause once. The test suite checks it against ``RevisionMap`` on real and generated histories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from migls.model import RevisionFile


@dataclass(slots=True)
class Node:
    """One revision in the graph."""

    id: str
    file: RevisionFile
    parents: tuple[str, ...]
    dependencies: tuple[str, ...]
    labels: tuple[str, ...]
    children: list[str] = field(default_factory=list)
    #: Revisions that name this one in ``depends_on`` (resolved through labels).
    dependents: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Graph:
    """The revision graph and the faults found while building it."""

    nodes: dict[str, Node]
    #: Every file declaring a revision id, including duplicates (in path order).
    files_by_id: dict[str, list[RevisionFile]]
    #: Files whose own id or parents cannot be read without running code.
    unreadable: list[RevisionFile]
    #: (file, missing parent id) for each ``down_revision`` naming nothing.
    dangling: list[tuple[RevisionFile, str]]
    #: (file, unknown name) for each ``depends_on`` naming no revision or label.
    unknown_dependencies: list[tuple[RevisionFile, str]]
    #: label -> revisions declaring it (more than one is a fault).
    label_owners: dict[str, list[str]]
    #: Each cycle as the list of revision ids on it.
    cycles: list[list[str]]
    heads: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    #: Branch labels carried by each revision (its own and its ancestors').
    inherited_labels: dict[str, frozenset[str]] = field(default_factory=dict)

    def resolve(self, name: str) -> str | None:
        """A revision id for an id or a branch label, as ``depends_on`` allows."""
        if name in self.nodes:
            return name
        owners = self.label_owners.get(name)
        return owners[0] if owners else None

    def ancestors(self, rev: str) -> set[str]:
        """Every revision reachable through ``down_revision`` from ``rev`` (not itself)."""
        seen: set[str] = set()
        stack = [p for p in self.nodes[rev].parents if p in self.nodes]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(p for p in self.nodes[current].parents if p in self.nodes)
        return seen

    def descendants(self, revs: Iterable[str]) -> set[str]:
        """``revs`` and every revision after them through ``down_revision``."""
        seen: set[str] = set()
        stack = list(revs)
        while stack:
            current = stack.pop()
            if current in seen or current not in self.nodes:
                continue
            seen.add(current)
            stack.extend(self.nodes[current].children)
        return seen


def build_graph(files: Sequence[RevisionFile]) -> Graph:
    """Build the graph from the files of one environment (already sorted by path)."""
    nodes: dict[str, Node] = {}
    files_by_id: dict[str, list[RevisionFile]] = {}
    unreadable: list[RevisionFile] = []
    shadowed_labels: list[tuple[str, str]] = []
    for file in files:
        rev = file.revision_id
        parents = file.parents()
        dependencies = file.dependencies()
        labels = file.branch_labels()
        if rev is None:
            # A file without any `revision` (MG002) hides nothing; one whose id is dynamic
            # or lost in a syntax error may be the parent that others name.
            if "revision" in file.metadata or file.syntax_error is not None:
                unreadable.append(file)
            continue
        files_by_id.setdefault(rev, []).append(file)
        if parents is None or dependencies is None or labels is None:
            unreadable.append(file)
        if rev in nodes:  # a duplicate: the first file in path order stands for the id,
            shadowed_labels.extend((label, rev) for label in labels or ())  # its labels too
            continue
        nodes[rev] = Node(rev, file, _dedupe(parents or ()), _dedupe(dependencies or ()),
                          labels or ())

    label_owners: dict[str, list[str]] = {}
    for node in nodes.values():
        for label in node.labels:
            label_owners.setdefault(label, []).append(node.id)
    for label, rev in shadowed_labels:  # so that depends_on on them is not unknown
        owners = label_owners.setdefault(label, [])
        if rev not in owners:
            owners.append(rev)

    graph = Graph(nodes, files_by_id, unreadable, [], [], label_owners, [])
    for node in nodes.values():
        for parent in node.parents:
            if parent in nodes:
                nodes[parent].children.append(node.id)
            else:
                graph.dangling.append((node.file, parent))
        for dependency in node.dependencies:
            target = graph.resolve(dependency)
            if target is None:
                graph.unknown_dependencies.append((node.file, dependency))
            else:
                nodes[target].dependents.append(node.id)

    graph.heads = tuple(n.id for n in nodes.values() if not n.children)
    graph.bases = tuple(n.id for n in nodes.values() if not n.parents)
    graph.cycles = _cycles(graph)
    graph.inherited_labels = _inherited_labels(graph)
    return graph


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components with a cycle, over ``down_revision`` and ``depends_on``
    edges (Tarjan's algorithm, iterative so that long histories do not hit the recursion
    limit)."""
    edges: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        targets = [p for p in node.parents if p in graph.nodes]
        targets += [t for d in node.dependencies if (t := graph.resolve(d)) is not None]
        edges[node.id] = targets
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in graph.nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            current, position = work.pop()
            if position == 0:
                index[current] = low[current] = counter
                counter += 1
                stack.append(current)
                on_stack.add(current)
            targets = edges[current]
            if position < len(targets):
                work.append((current, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[current] = min(low[current], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1 or current in edges[current]:
                    cycles.append(sorted(component))
    return cycles


def _inherited_labels(graph: Graph) -> dict[str, frozenset[str]]:
    """Labels of each revision: its own plus every ancestor's (Alembic carries a branch
    label forward to all descendants through ``down_revision``)."""
    result: dict[str, frozenset[str]] = {}
    in_cycle = {rev for cycle in graph.cycles for rev in cycle}
    # Kahn's order from the bases; revisions on or after a cycle keep only their own labels.
    pending = {rev: sum(1 for p in n.parents if p in graph.nodes) for rev, n in graph.nodes.items()}
    ready = [rev for rev, count in pending.items() if count == 0]
    while ready:
        rev = ready.pop()
        node = graph.nodes[rev]
        labels = set(node.labels)
        for parent in node.parents:
            labels |= result.get(parent, frozenset())
        result[rev] = frozenset(labels)
        for child in node.children:
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    for rev, node in graph.nodes.items():
        if rev not in result or rev in in_cycle:
            result[rev] = frozenset(node.labels)
    return result


@dataclass(frozen=True, slots=True)
class BranchAnalysis:
    """Where the graph has more than one head or base, with the echoes of other faults
    removed: revisions after a dangling parent, a cycle, a duplicate id or unreadable
    metadata have hidden facts, so they are not judged."""

    #: False when some file's id or parents are unknown: nothing about heads can be said.
    complete: bool
    tainted: frozenset[str]
    #: Bases that look created without a parent (all unlabelled bases but the main one).
    accidental_bases: tuple[str, ...]
    main_base: str | None
    #: head -> the other heads it conflicts with (same branch).
    conflicting_heads: dict[str, tuple[str, ...]]


def analyse_branches(graph: Graph) -> BranchAnalysis:
    """Compute (once per graph) the multiple-heads and multiple-bases picture."""
    cached = _ANALYSES.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    complete = not graph.unreadable
    seeds = {file.revision_id for file, _ in graph.dangling if file.revision_id}
    seeds |= {rev for cycle in graph.cycles for rev in cycle}
    seeds |= {rev for rev, files in graph.files_by_id.items() if len(files) > 1}
    tainted = frozenset(graph.descendants(seeds))
    # A duplicate file that does not stand for its id still names parents: they have a next
    # revision that the graph does not show, so they are neither heads nor ends of a walk.
    hidden_next: dict[str, list[str]] = {}
    for rev, files in graph.files_by_id.items():
        for file in files[1:]:
            for parent in file.parents() or ():
                hidden_next.setdefault(parent, []).append(rev)

    base_labels = {b: _base_labels(graph, b, tainted, hidden_next)
                   for b in graph.bases if b not in tainted}
    unlabelled = [b for b, labels in base_labels.items() if labels == set()]
    #: Bases whose labels a fault hides: neither they nor what follows only them is judged.
    unknown = [b for b, labels in base_labels.items() if labels is None]
    accidental: tuple[str, ...] = ()
    main_base: str | None = unlabelled[0] if unlabelled else None
    if len(unlabelled) > 1:
        sizes = {b: len(graph.descendants([b])) for b in unlabelled}
        main_base = max(unlabelled, key=lambda b: (sizes[b], -unlabelled.index(b)))
        accidental = tuple(b for b in unlabelled if b != main_base)
    accidental_only = graph.descendants([*accidental, *unknown]) - graph.descendants(
        b for b in graph.bases if b not in accidental and b not in unknown)

    heads = [h for h in graph.heads
             if h not in tainted and h not in accidental_only and h not in hidden_next]
    conflicts: dict[str, list[str]] = {h: [] for h in heads}
    for i, first in enumerate(heads):
        for second in heads[i + 1:]:
            a, b = graph.inherited_labels[first], graph.inherited_labels[second]
            if (not a and not b) or (a & b):
                conflicts[first].append(second)
                conflicts[second].append(first)
    analysis = BranchAnalysis(
        complete, tainted, accidental, main_base,
        {h: tuple(others) for h, others in conflicts.items() if others})
    _ANALYSES.clear()
    _ANALYSES[id(graph)] = (graph, analysis)
    return analysis


_ANALYSES: dict[int, tuple[Graph, BranchAnalysis]] = {}


def _base_labels(graph: Graph, base: str, tainted: frozenset[str],
                 hidden_next: dict[str, list[str]]) -> set[str] | None:
    """Labels that Alembic gives a base: its own, and those of the revisions above it up to
    the first branch or merge point (Alembic carries a label down to there). ``None`` when
    the walk meets a revision with hidden facts (after a dangling parent, a cycle, a
    duplicate id) before any label: whether a label comes down to the base is then unknown."""
    labels: set[str] = set()
    current: str | None = base
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        node = graph.nodes[current]
        labels.update(node.labels)
        # One revision may follow both through down_revision and depends_on: count it once,
        # as Alembic's set of next revisions does.
        following = list(dict.fromkeys(
            node.children + node.dependents + hidden_next.get(current, [])))
        if any(rev in tainted for rev in following):
            return labels or None  # is it a merge, a branch? its facts are not all known
        current = None
        if len(following) == 1 and len(graph.nodes[following[0]].parents) <= 1:
            current = following[0]
    return labels
