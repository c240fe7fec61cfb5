"""Generated histories against Alembic's own ``RevisionMap``.

Hypothesis writes random revision graphs (merges, several bases, branch labels, ``depends_on``
on ids and labels) with faults injected now and then (cycles, self-loops, missing parents,
unknown ``depends_on``, duplicate labels, duplicate ids, labels equal to ids), lints them as
revision sources, and builds Alembic's ``RevisionMap`` from the same data:

* where Alembic loads the map without a warning, migls' heads and bases are Alembic's, no
  MG101/MG102/MG105/MG106 is reported, and MG103 is reported exactly on the heads that share
  a branch with another head (computed here from the labels Alembic gives each head);
* where Alembic warns or raises, migls reports the fault with the matching rule.

Deliberate differences, each asserted as such below:

* Alembic's cycle check only looks for revisions that cannot be reached from a head and from
  a base; a cycle that a merge (or a ``depends_on``) ties to a base slips through, and so
  does a ``depends_on`` on the revision's own branch label. Alembic then loads a map whose
  upgrades never terminate. migls reports MG104 for every real cycle, computed here
  independently.
* Heads after an accidental second base (MG110) are not reported as MG103: the missing
  parent is the cause, reported once on the base.

Profiles: the default runs 200 derandomized examples (stable in CI, a few seconds);
``HYPOTHESIS_PROFILE=long`` runs 5000 random ones.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from alembic.script.revision import (
    CycleDetected,
    Revision,
    RevisionError,
    RevisionMap,
)
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from migls.engine import LintResult, lint_sources

settings.register_profile(
    "migls-graph-oracle", max_examples=200, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(
    "long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "migls-graph-oracle")

IDS = ("a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8")
LABELS = ("x", "y", "z")
MISSING = "zz9"
FAULTS = ("cycle", "dep-cycle", "self-loop", "dep-self-loop", "dep-own-label",
          "missing-parent", "parent-is-label", "unknown-dep", "dup-label", "label-twice",
          "dup-id", "label-is-id")


@dataclass
class Rev:
    """One generated revision file."""

    id: str
    parents: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    #: How single values and empty values are written (str vs 1-tuple, None vs ()).
    tuple_style: bool = False
    filename: str = ""

    def source(self) -> str:
        return (f"revision = {self.id!r}\n"
                f"down_revision = {self._code(self.parents)}\n"
                f"branch_labels = {self._code(self.labels)}\n"
                f"depends_on = {self._code(self.deps)}\n")

    def _code(self, values: list[str]) -> str:
        if not values:
            return "()" if self.tuple_style else "None"
        if len(values) == 1 and not self.tuple_style:
            return repr(values[0])
        return repr(tuple(values)) if not self.tuple_style else repr(list(values))

    def alembic(self) -> Revision:
        return Revision(self.id, tuple(self.parents) or None,
                        dependencies=tuple(self.deps) or None,
                        branch_labels=tuple(self.labels) or None)


@st.composite
def histories(draw: st.DrawFn, faults: bool = True, pool: Sequence[str] = IDS) -> list[Rev]:
    """A history of up to ``len(pool)`` revisions, the first ids of ``pool`` in order."""
    count = draw(st.integers(1, len(pool)))
    ids = tuple(pool[:count])
    revs: list[Rev] = []
    declared: list[str] = []
    for index, rev in enumerate(ids):
        node = Rev(rev, tuple_style=draw(st.booleans()))
        if index and draw(st.integers(0, 9)) >= 2:  # mostly one history, sometimes a new base
            node.parents = draw(st.lists(st.sampled_from(ids[:index]), min_size=1, max_size=3,
                                         unique=True))
        if index and draw(st.integers(0, 9)) < 2:  # on earlier revisions, by id or label
            node.deps = draw(st.lists(st.sampled_from([*ids[:index], *declared]), min_size=1,
                                      max_size=2, unique=True))
        if draw(st.integers(0, 9)) < 3:
            node.labels = draw(st.lists(st.sampled_from([l for l in LABELS if l not in declared]
                                                        or [f"w{index}"]),
                                        min_size=1, max_size=2, unique=True))
            declared.extend(node.labels)
        revs.append(node)

    if faults and draw(st.integers(0, 9)) < 3:
        inject(draw, revs, draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2)))
    return name_files(draw, revs)


def inject(draw: st.DrawFn, revs: list[Rev], faults: list[str]) -> None:
    """Add faults to a generated history, in place."""
    ids = sorted({r.id for r in revs})
    note(f"faults: {faults}")
    for fault in faults:
        target = draw(st.sampled_from(revs))
        if fault in ("cycle", "dep-cycle"):
            # Mostly a revision after the target (a cycle), sometimes any later one.
            after = sorted(descendants(revs, [target.id]) - {target.id})
            later_ids = after if after and draw(st.integers(0, 3)) else [
                r.id for r in revs[revs.index(target):]]
            later = draw(st.sampled_from(later_ids))
            (target.parents if fault == "cycle" else target.deps).append(later)
        elif fault == "self-loop":
            target.parents.append(target.id)
        elif fault == "dep-self-loop":
            target.deps.append(target.id)
        elif fault == "dep-own-label":
            if not target.labels:
                target.labels.append("own")
            target.deps.append(target.labels[0])
        elif fault == "missing-parent":
            target.parents.append(MISSING)
        elif fault == "parent-is-label":
            target.parents.append(draw(st.sampled_from(LABELS)))
        elif fault == "unknown-dep":
            target.deps.append(draw(st.sampled_from(["nope", *LABELS])))
        elif fault == "dup-label":
            target.labels.append(draw(st.sampled_from(LABELS)))
        elif fault == "label-twice":
            label = draw(st.sampled_from(LABELS))
            target.labels.extend([label, label])
        elif fault == "label-is-id":
            target.labels.append(draw(st.sampled_from(ids)))
        elif fault == "dup-id":
            twin = Rev(target.id, tuple_style=draw(st.booleans()))
            twin.parents = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
            revs.append(twin)


def name_files(draw: st.DrawFn, revs: list[Rev]) -> list[Rev]:
    """File names in a random order (Alembic's file order is not the history's order)."""
    order = draw(st.permutations(range(len(revs))))
    for position, rev in zip(order, revs):
        rev.filename = f"{position:02d}_{rev.id}.py"
    return sorted(revs, key=lambda r: r.filename)


def show_counts(request: pytest.FixtureRequest, what: str, counts: Counter[str],
                total: int | None = None) -> None:
    """Print ``counts`` past pytest's capture, at the end of a module's tests (the counts
    of generated inputs that the long profiles report)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not counts:
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        count = sum(counts.values()) if total is None else total
        reporter.write_line(f"{request.module.__name__}: {count} {what}")
        for kind, count in counts.most_common():
            reporter.write_line(f"  {count:7d}  {kind}")


COMPARED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    show_counts(request, "generated histories compared with Alembic's RevisionMap", COMPARED)


def explain(text: str) -> None:
    """Shown with a falsifying example (and ignored outside Hypothesis)."""
    if currently_in_test_context():
        note(text)


def tally(what: str) -> str:
    """Counted by ``pytest --hypothesis-show-statistics`` (to see what the examples cover)."""
    if currently_in_test_context():
        event(what)
    return what


# -- what Alembic says -------------------------------------------------------------------------

@dataclass
class AlembicOutcome:
    revision_map: RevisionMap | None
    error: BaseException | None
    warnings: list[str]


def load_with_alembic(revs: list[Rev]) -> AlembicOutcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            revisions = [rev.alembic() for rev in revs]
            revision_map = RevisionMap(lambda: revisions)
            revision_map.heads  # noqa: B018 -- loads the map
        except (RevisionError, KeyError) as error:
            return AlembicOutcome(None, error, [str(w.message) for w in caught])
    return AlembicOutcome(revision_map, None, [str(w.message) for w in caught])


# -- what is true, computed here without migls -------------------------------------------------

def real_cycle(revs: list[Rev]) -> bool:
    """Whether ``down_revision``/``depends_on`` edges (labels resolved) have a cycle."""
    ids = {r.id for r in revs}
    owner = {label: r.id for r in revs for label in r.labels}
    edges: dict[str, set[str]] = {r.id: set() for r in revs}
    for r in revs:
        edges[r.id] |= {p for p in r.parents if p in ids}
        edges[r.id] |= {d if d in ids else owner[d] for d in r.deps if d in ids or d in owner}
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for target in edges[node]:
            if state.get(target) == 1 or (target not in state and visit(target)):
                return True
        state[node] = 2
        return False

    return any(visit(node) for node in edges if node not in state)


def descendants(revs: list[Rev], roots: Iterable[str]) -> set[str]:
    children: dict[str, set[str]] = {r.id: set() for r in revs}
    for r in revs:
        for p in r.parents:
            children.setdefault(p, set()).add(r.id)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children.get(current, ()))
    return seen


def conflicting_heads(revision_map: RevisionMap, heads: Iterable[str]) -> set[str]:
    """Heads that share a branch with another head: both unlabelled, or one label in common
    (the labels Alembic gives each head: its own and its ancestors')."""
    labels = {}
    for head in heads:
        revision = revision_map.get_revision(head)
        assert revision is not None
        labels[head] = set(revision.branch_labels)
    out: set[str] = set()
    for first, mine in labels.items():
        for second, theirs in labels.items():
            if first != second and ((not mine and not theirs) or mine & theirs):
                out.add(first)
    return out


# -- the property --------------------------------------------------------------------------

def codes(result: LintResult) -> dict[str, list[str]]:
    """code -> revision ids (of the files) it is reported on."""
    ids = {file.path: file.revision_id or "" for file in result.files}
    out: dict[str, list[str]] = {}
    for d in result.diagnostics:
        out.setdefault(d.code, []).append(ids[d.path])
    return out


def check(revs: list[Rev]) -> str:
    """Lint ``revs`` as in-memory sources and judge the result against ``RevisionMap``."""
    sources = {rev.filename: rev.source() for rev in revs}
    explain("\n".join(f"# {name}\n{text}" for name, text in sources.items()))
    return judge(revs, lint_sources(sources, select=["MG0", "MG1"]), load_with_alembic(revs))


def judge(revs: list[Rev], result: LintResult, outcome: AlembicOutcome) -> str:
    """Whether migls' graph and MG0/MG1 findings (``result``) agree with what Alembic made of
    the same history (``outcome``); returns the kind of case compared (for the counts).
    Shared with test_differential.py, which gets both from real files on disk."""
    found = codes(result)
    explain(f"migls: {[(d.code, d.path, d.message) for d in result.diagnostics]}")
    assert "MG001" not in found and "MG003" not in found and "MG107" not in found

    explain(f"alembic: {outcome.error!r} {outcome.warnings}")
    error, said = outcome.error, outcome.warnings
    cycle = real_cycle(revs)

    duplicated = len({rev.id for rev in revs}) < len(revs)
    if any("is present more than once" in w for w in said):
        assert duplicated
    if duplicated:  # Alembic warns unless another fault stops it first
        assert "MG102" in found
        # Alembic keeps the last file of an id, migls the first: nothing more to compare.
        return tally("duplicate id")
    assert "MG102" not in found

    ids = {rev.id for rev in revs}
    labels = {label for rev in revs for label in rev.labels}
    if any(p not in ids and p in labels for rev in revs for p in rev.parents):
        # A down_revision naming a branch label: Alembic resolves it while linking children
        # but not while checking cycles, and fails with a KeyError, "broken map" or a false
        # cycle. migls reports MG101 on that element whatever Alembic says.
        assert error is not None
        assert "MG101" in found
        return tally("down_revision names a label")
    if error is not None:
        kind = tally(f"Alembic raises {type(error).__name__}")
        if isinstance(error, CycleDetected):  # also Dependency*, LoopDetected, ...
            assert "MG104" in found
            assert cycle
        elif isinstance(error, KeyError):
            if any("is not present" in w for w in said):
                assert "MG101" in found
            else:  # an unknown depends_on, or a down_revision naming a label
                assert "MG105" in found or "MG101" in found
        elif isinstance(error, RevisionError) and "Branch name" in str(error):
            assert "MG106" in found or "MG109" in found
        else:
            raise AssertionError(f"unexpected Alembic error: {error!r}")
        return kind

    assert not said, said
    revision_map = outcome.revision_map
    assert revision_map is not None
    graph = result.graph
    assert set(graph.heads) == set(revision_map.heads)
    assert set(graph.bases) == set(revision_map.bases)
    for code in ("MG101", "MG105", "MG106"):
        assert code not in found, code
    if cycle:
        # Deliberate difference: a cycle Alembic's check misses (see the module docstring).
        assert "MG104" in found
        return tally("a cycle Alembic misses")
    assert "MG104" not in found
    for rev in revs:
        node = graph.nodes[rev.id]
        revision = revision_map.get_revision(rev.id)
        assert revision is not None
        assert set(node.parents) == set(revision._versioned_down_revisions)
        assert set(node.children) == set(revision.nextrev)
        assert {graph.resolve(d) for d in node.dependencies} == set(revision._resolved_dependencies)
    for head in revision_map.heads:  # the labels that decide which heads share a branch
        revision = revision_map.get_revision(head)
        assert revision is not None
        assert graph.inherited_labels[head] == revision.branch_labels

    # MG103: heads on one branch, less those that only follow an accidental base (MG110).
    accidental = set(found.get("MG110", []))
    for base in accidental:
        revision = revision_map.get_revision(base)
        assert revision is not None and revision.is_base and not revision.branch_labels
    if accidental:
        unlabelled = [b for b in revision_map.bases
                      if not (r := revision_map.get_revision(b)) or not r.branch_labels]
        assert len(unlabelled) >= 2
    others = descendants(revs, set(revision_map.bases) - accidental)
    hidden = descendants(revs, accidental) - others
    judged = [h for h in revision_map.heads if h not in hidden]
    expected = conflicting_heads(revision_map, judged)
    assert set(found.get("MG103", [])) == expected
    return tally(f"Alembic loads: {len(revision_map.heads)} heads, {len(expected)} conflicting, "
                 f"{'with' if accidental else 'no'} MG110")


@settings(PROFILE)
@given(histories())
def test_graph_agrees_with_alembic(revs: list[Rev]) -> None:
    COMPARED[check(revs).split(":")[0]] += 1


#: Faults that hide part of the graph, and the one rule that must report each.
HIDING_FAULTS = {"missing-parent": "MG101", "parent-is-label": "MG101", "cycle": "MG104",
                 "self-loop": "MG104", "dep-cycle": "MG104", "dep-self-loop": "MG104",
                 "unknown-dep": "MG105", "dup-id": "MG102"}


def findings(revs: list[Rev]) -> set[tuple[str, str]]:
    result = lint_sources({r.filename: r.source() for r in revs}, select=["MG0", "MG1"])
    return {(d.code, d.path) for d in result.diagnostics}


@settings(PROFILE)
@given(histories(faults=False), st.sampled_from(sorted(HIDING_FAULTS)), st.data())
def test_one_fault_one_diagnostic(revs: list[Rev], fault: str, data: st.DataObject) -> None:
    """The cause, not its echoes: one fault that hides part of a clean history (no MG1
    finding) gives findings of that fault's rule only; the heads and bases whose facts it
    hides are not judged (no MG103/MG110)."""
    before = findings(revs)
    assume(not before)
    target = data.draw(st.sampled_from(revs))
    labels = sorted({label for r in revs for label in r.labels})
    after_target = sorted(descendants(revs, [target.id]) - {target.id})
    if fault == "missing-parent":
        target.parents.append(MISSING)
    elif fault == "parent-is-label":
        assume(labels)
        target.parents.append(data.draw(st.sampled_from(labels)))
    elif fault in ("cycle", "dep-cycle"):
        assume(after_target)
        later = data.draw(st.sampled_from(after_target))
        (target.parents if fault == "cycle" else target.deps).append(later)
    elif fault == "self-loop":
        target.parents.append(target.id)
    elif fault == "dep-self-loop":
        target.deps.append(target.id)
    elif fault == "unknown-dep":
        target.deps.append("nope")
    else:
        twin = Rev(target.id, filename=f"{data.draw(st.integers(0, 99)):02d}_{target.id}_copy.py")
        twin.parents = data.draw(st.lists(st.sampled_from([r.id for r in revs]), max_size=2,
                                          unique=True))
        revs = sorted([*revs, twin], key=lambda r: r.filename)
    explain("\n".join(f"# {r.filename}\n{r.source()}" for r in revs))
    after = findings(revs)
    explain(f"before: {sorted(before)}\nafter: {sorted(after)}")
    assert {code for code, _ in after} == {HIDING_FAULTS[fault]}


# -- regressions found by the property, and the deliberate differences ---------------------------

def _lint(*revs: Rev) -> dict[str, list[str]]:
    for number, rev in enumerate(revs, 1):
        rev.filename = rev.filename or f"{number:02d}_{rev.id}.py"
    check(list(revs))
    return codes(lint_sources({r.filename: r.source() for r in revs}, select=["MG0", "MG1"]))


def test_cycle_alembic_misses_is_reported() -> None:
    """b2 merges c3 and the base a1; c3 follows b2. Alembic loads it (every revision is
    reachable from a head and from a base); migls reports the cycle."""
    revs = [Rev("a1"), Rev("b2", ["c3", "a1"]), Rev("c3", ["b2"]), Rev("h4", ["c3"])]
    assert load_with_alembic(revs).error is None
    assert sorted(_lint(*revs)["MG104"]) == ["b2", "c3"]


def test_depends_on_own_label_is_a_cycle() -> None:
    revs = [Rev("a1"), Rev("b2", ["a1"], deps=["x"], labels=["x"]), Rev("c3", ["b2"])]
    assert load_with_alembic(revs).error is None
    assert _lint(*revs)["MG104"] == ["b2"]


def test_same_label_twice_in_one_revision() -> None:
    """Alembic refuses it ("Branch name 'x' in revision a1 already used by revision a1")."""
    revs = [Rev("a1", labels=["x", "x"])]
    error = load_with_alembic(revs).error
    assert isinstance(error, RevisionError) and "Branch name" in str(error)
    assert _lint(*revs).get("MG106") == ["a1"]


def test_down_revision_naming_a_label() -> None:
    revs = [Rev("a1", labels=["x"]), Rev("b2", ["x"])]
    assert isinstance(load_with_alembic(revs).error, KeyError)
    assert _lint(*revs).get("MG101") == ["b2"]
    result = lint_sources({r.filename: r.source() for r in revs}, select=["MG101"])
    (diagnostic,) = result.diagnostics
    assert "'x', which is a branch label (declared by revision 'a1')" in diagnostic.message


def test_down_revision_naming_its_own_label() -> None:
    """Alembic calls it a cycle; the cause is naming a label where an id belongs."""
    revs = [Rev("a1", ["x"], labels=["x"])]
    assert isinstance(load_with_alembic(revs).error, CycleDetected)
    assert _lint(*revs) == {"MG101": ["a1"]}


def test_base_followed_by_one_revision_twice() -> None:
    """d4 follows a1 through down_revision and depends_on: a1 still has one next revision,
    so d4's label reaches a1 (as Alembic carries it), and a1 is not a second unlabelled
    base beside b2."""
    revs = [Rev("a1"), Rev("b2"), Rev("c3", labels=["x"]),
            Rev("d4", ["a1"], deps=["a1"], labels=["y"])]
    assert load_with_alembic(revs).error is None
    assert "MG110" not in _lint(*revs)


@pytest.mark.parametrize("fault", FAULTS)
def test_every_fault_is_generated(fault: str) -> None:
    """Each fault is something Alembic refuses or misreads, on a small example."""
    revs = {
        "cycle": [Rev("a1", ["b2"]), Rev("b2", ["a1"])],
        "dep-cycle": [Rev("a1", deps=["b2"]), Rev("b2", ["a1"])],
        "self-loop": [Rev("a1", ["a1"])],
        "dep-self-loop": [Rev("a1", deps=["a1"])],
        "dep-own-label": [Rev("a1", deps=["x"], labels=["x"])],
        "missing-parent": [Rev("a1", [MISSING])],
        "parent-is-label": [Rev("a1", labels=["x"]), Rev("b2", ["x"])],
        "unknown-dep": [Rev("a1", deps=["nope"])],
        "dup-label": [Rev("a1", labels=["x"]), Rev("b2", ["a1"], labels=["x"])],
        "label-twice": [Rev("a1", labels=["x", "x"])],
        "dup-id": [Rev("a1"), Rev("a1", filename="02_a1_copy.py")],
        "label-is-id": [Rev("a1", labels=["a1"])],
    }[fault]
    outcome = load_with_alembic(revs)
    assert outcome.error is not None or outcome.warnings or real_cycle(revs)
    _lint(*revs)


def _one_fault(clean: list[Rev], faulty: list[Rev], code: str) -> None:
    for number, rev in enumerate(clean, 1):
        rev.filename = rev.filename or f"{number:02d}_{rev.id}.py"
    for number, rev in enumerate(faulty, 1):
        rev.filename = rev.filename or f"{number:02d}_{rev.id}.py"
    assert findings(clean) == set()
    assert {c for c, _ in findings(faulty)} == {code}


def test_missing_parent_making_a_merge_does_not_unlabel_the_base() -> None:
    """x on c3 comes down to a1, so b2 is the only unlabelled base. c3's missing second
    parent would make it a merge and stop the label: unknown, so no MG110 for a1 or b2."""
    _one_fault([Rev("a1"), Rev("b2"), Rev("c3", ["a1"], labels=["x"])],
               [Rev("a1"), Rev("b2"), Rev("c3", ["a1", MISSING], labels=["x"])], "MG101")


def test_shadowed_duplicate_does_not_make_a_head_or_a_base() -> None:
    """A copy of c3 sorted first, with no parent, stands for c3: b2 loses its next revision
    in the graph, but the other file still names it. No MG103 for b2, no MG110 for a1."""
    history = [Rev("a1"), Rev("b2", ["a1"]), Rev("c3", ["b2"], labels=["x"]),
               Rev("d4", ["c3"]), Rev("e5")]
    _one_fault(history, [*history, Rev("c3", filename="00_c3_copy.py")], "MG102")


def test_label_of_a_shadowed_duplicate_is_known() -> None:
    """The copy of a1 sorted first stands for a1, but the label x declared by the other
    file is still a label: b2's depends_on on it is not unknown (MG105 would be an echo)."""
    history = [Rev("b2", deps=["x"], filename="00_b2.py"), Rev("a1", labels=["x"], filename="01_a1.py")]
    _one_fault(history, [Rev("a1", filename="00_a1_copy.py"), *history], "MG102")


def test_a_cycle_next_to_bases_leaves_them_unjudged() -> None:
    """a1 has the most revisions after it; c3 and d4 are second bases. A cycle through b2
    and g7 (which follow a1 and c3) hides which history is the main one: MG110 may go, but
    must not move to another base."""
    revs = [Rev("c3"), Rev("a1"), Rev("d4"), Rev("b2", ["a1"]), Rev("e5", ["a1", "c3"]),
            Rev("g7", ["a1", "b2", "c3"])]
    for number, rev in enumerate(revs):
        rev.filename = f"{number:02d}_{rev.id}.py"
    before = findings(revs)
    assert {f for f in before if f[0] == "MG110"} == {("MG110", "00_c3.py"), ("MG110", "02_d4.py")}
    revs[3].parents.append("g7")
    after = findings(revs)
    assert {c for c, _ in after - before} == {"MG104"}
