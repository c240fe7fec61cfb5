"""MG104 revision-cycle."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class RevisionCycle(LintRule):
    """A cycle in ``down_revision`` or ``depends_on``, including a revision that names itself.

    **Why**: Alembic refuses to load the history ("Cycle is detected in revisions"), and the
    message lists every revision after the cycle too, not just the ones to fix. migls names
    only the revisions on the cycle, on the line that closes it.

    **Fix**: one of the named ``down_revision`` (or ``depends_on``) values points forward in
    history; point it back at the revision it was created on.
    """

    CODE = "MG104"
    NAME = "revision-cycle"
    SEVERITY = Severity.ERROR
    SUMMARY = "a cycle in `down_revision` or `depends_on`"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
        "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\ndepends_on = "a1"\n',
    })]
    INVALID = [
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = "b2"\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
            "0003_c.py": 'revision = "c3"\ndown_revision = "b2"\n',
        }, path="0001_a.py", range=(2, 17, 2, 21), message="a1 -> b2 -> a1"),
        Invalid('revision = "a1"\ndown_revision = "a1"\n', range=(2, 17, 2, 21)),
    ]

    def check_graph(self, ctx: Context) -> Iterator[tuple[RevisionFile, Span, str]]:
        graph = ctx.graph
        for cycle in graph.cycles:
            members = set(cycle)
            if any(len(graph.files_by_id.get(rev, ())) > 1 for rev in cycle):
                continue  # a duplicated id makes a false cycle; MG102 is the cause
            path = _cycle_path(ctx, cycle, members)
            for rev in cycle:
                node = graph.nodes[rev]
                parents = [p for p in node.parents if p in members]
                if parents:
                    span = node.file.metadata["down_revision"].span_of(parents[0])
                    via = "down_revision"
                else:
                    deps = [d for d in node.dependencies if graph.resolve(d) in members]
                    span = node.file.metadata["depends_on"].span_of(deps[0])
                    via = "depends_on"
                yield (node.file, span,
                       f"revision cycle through {via}: {path}; no upgrade order exists")


def _cycle_path(ctx: Context, cycle: list[str], members: set[str]) -> str:
    """The cycle as ``a -> b -> a``, following child-to-parent edges from the smallest id."""
    graph = ctx.graph
    start = cycle[0]
    path = [start]
    current = start
    while True:
        node = graph.nodes[current]
        targets = [p for p in node.parents if p in members]
        targets += [t for d in node.dependencies if (t := graph.resolve(d)) in members]
        following = next((t for t in targets if t not in path), None)
        if following is None:
            closing = start if start in targets else (targets[0] if targets else start)
            path.append(closing)
            break
        path.append(following)
        current = following
    return " -> ".join(path)
