"""Real histories broken on purpose, one fault at a time.

Each fault must give one clear diagnostic on the line to change (the cause), and nothing for
the revisions whose facts it hides (its echoes). Where Alembic's own ``RevisionMap`` warns or
raises on the broken history, the test checks that it does, so that each case stays a real
fault; where Alembic loads it, its heads and bases must be migls' too.

Findings are compared as full sorted lists of (code, file name, line, column), with
``--select MG0,MG1``. The real histories have some stale headers (MG108, see
test_corpus.py); those present before the edit are left out of the comparison, and every
edit keeps the edited file's header in step with its variables, so that the only new
finding is the one the fault calls for.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script.revision import CycleDetected, RevisionMap
from corpus import alembic_map, corpus_dirs, environment, lint_directory, read_files

from migls.graph import Graph, build_graph
from migls.rule import Diagnostic

__all__ = ["corpus_dirs"]  # the fixture, imported so that pytest finds it

pytestmark = pytest.mark.corpus

#: Superset has merges (one with three parents) and branch points; MLflow is one straight
#: line; zenml's ids include release numbers ("0.98.0") and its base is "alembic_start".
HISTORIES = ("superset", "mlflow", "zenml")
SELECT = ["MG0", "MG1"]

Finding = tuple[str, str, int, int]

_ASSIGNMENT = {
    name: re.compile(rf"^{name}[ \t]*(?::[^=\n]*)?=[ \t]*(?P<value>[^#\n]*?)[ \t]*(?:#.*)?$",
                     re.MULTILINE)
    for name in ("revision", "down_revision")
}
_REVISES = re.compile(r"^[ \t]*Revises:[ \t]*(?P<value>[^\n]*?)[ \t]*$", re.MULTILINE)


@dataclass
class History:
    """A copy of a real history in a temporary directory, and the graph of the original."""

    name: str
    root: Path
    versions: Path
    graph: Graph
    baseline: frozenset[Finding] = frozenset()

    def path(self, rev: str) -> Path:
        """The copied file of a revision."""
        return self.versions / Path(self.graph.nodes[rev].file.path).name

    def diagnostics(self) -> list[Diagnostic]:
        return lint_directory(self.root, select=SELECT).diagnostics

    def all_findings(self) -> list[Finding]:
        return sorted((d.code, Path(d.path).name, d.span.line, d.span.column)
                      for d in self.diagnostics())

    def findings(self) -> list[Finding]:
        """The MG0/MG1 findings, less the stale headers the real history already had."""
        return [f for f in self.all_findings() if f not in self.baseline]

    def alembic(self) -> RevisionMap:
        """Alembic's map of the copy's facts (loaded on first use of ``.heads``)."""
        return alembic_map(read_files(environment(self.root).revision_paths()))

    def pick(self, candidates: list[str]) -> str:
        """A deterministic choice: the candidate in the middle of the history by file name."""
        assert candidates, f"{self.name}: no revision fits this case"
        ordered = sorted(candidates, key=lambda rev: self.path(rev).name)
        return ordered[len(ordered) // 2]

    def clean(self, rev: str) -> bool:
        """Whether a revision's file has no finding (so copies of it add none either)."""
        name = self.path(rev).name
        return not any(f[1] == name for f in self.baseline)

    def straight(self) -> list[str]:
        """Revisions in a straight stretch: one parent with one child, one child with one
        parent, and a parent that is not the base. Deleting or editing one of them touches
        nothing else."""
        nodes = self.graph.nodes
        out = []
        for rev, node in nodes.items():
            if len(node.parents) != 1 or len(node.children) != 1 or not self.clean(rev):
                continue
            parent, child = nodes[node.parents[0]], nodes[node.children[0]]
            if (len(parent.children) == 1 and len(child.parents) == 1 and parent.parents
                    and self.clean(child.id) and self.clean(parent.id)):
                out.append(rev)
        return out

    @property
    def head(self) -> str:
        (head,) = self.graph.heads
        return head

    @property
    def base(self) -> str:
        (base,) = self.graph.bases
        return base


def position(path: Path, name: str, item: str | None = None) -> tuple[int, int]:
    """(line, column) of the value of ``name = ...`` in the file, or of one quoted element."""
    text = path.read_text(encoding="utf-8")
    match = _ASSIGNMENT[name].search(text)
    assert match is not None, (path, name)
    line = text.count("\n", 0, match.start()) + 1
    column = match.start("value") - match.start()
    if item is not None:
        found = re.search(rf"""(['"]){re.escape(item)}\1""", match.group("value"))
        assert found is not None, (match.group("value"), item)
        column += found.start()
    return line, column


def set_parents(path: Path, parents: tuple[str, ...]) -> None:
    """Rewrite ``down_revision`` (and the header's ``Revises:``, to stay in step)."""
    text = path.read_text(encoding="utf-8")
    match = _ASSIGNMENT["down_revision"].search(text)
    assert match is not None, path
    if not parents:
        code = "None"
    elif len(parents) == 1:
        code = f'"{parents[0]}"'
    else:
        code = "(" + ", ".join(f'"{p}"' for p in parents) + ")"
    text = text[:match.start("value")] + code + text[match.end("value"):]
    header = _REVISES.search(text)
    if header is not None:
        text = text[:header.start("value")] + ", ".join(parents) + text[header.end("value"):]
    path.write_text(text, encoding="utf-8")


def new_revision(history: History, filename: str, rev: str, parent: str | None) -> Path:
    """A revision file as ``alembic revision`` writes it."""
    path = history.versions / filename
    down = f'"{parent}"' if parent else "None"
    path.write_text(
        f'"""add a column\n\nRevision ID: {rev}\nRevises: {parent or ""}\n'
        'Create Date: 2025-01-01 00:00:00\n\n"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "{rev}"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade():\n    op.add_column('t', sa.Column('c', sa.Integer()))\n\n\n"
        "def downgrade():\n    op.drop_column('t', 'c')\n",
        encoding="utf-8")
    return path


def warns_and_fails(revision_map: RevisionMap, message: str) -> None:
    """Alembic warns ``message`` and then fails with a bare KeyError."""
    with pytest.warns(UserWarning, match=message), pytest.raises(KeyError):
        revision_map.heads  # noqa: B018


def loads_quietly(revision_map: RevisionMap) -> RevisionMap:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        revision_map.heads  # noqa: B018
    return revision_map


@pytest.fixture(params=HISTORIES)
def history(request: pytest.FixtureRequest, corpus_dirs: dict[str, Path],
            tmp_path: Path) -> History:
    name: str = request.param
    root = tmp_path / name
    shutil.copytree(corpus_dirs[name], root)
    env = environment(root)
    (versions,) = env.version_locations
    graph = build_graph(read_files(env.revision_paths()))
    copy = History(name, root, versions, graph)
    baseline = copy.all_findings()
    # The copy is clean to start with, real stale headers aside (see test_corpus.py).
    assert [f for f in baseline if f[0] != "MG108"] == []
    copy.baseline = frozenset(baseline)
    return copy


def test_deleted_middle_revision(history: History) -> None:
    gone = history.pick(history.straight())
    child = history.graph.nodes[gone].children[0]
    history.path(gone).unlink()

    line, column = position(history.path(child), "down_revision")
    assert history.findings() == [("MG101", history.path(child).name, line, column)]
    # The parent of the deleted revision is now a head, and so is the real head behind the
    # gap: Alembic cannot even say that, it warns and then fails.
    warns_and_fails(history.alembic(), f"Revision {gone} referenced from .* is not present")


def test_duplicated_revision_id(history: History) -> None:
    rev = history.pick(history.straight())
    original = history.path(rev)
    copy = history.versions / f"zz_copy_of_{original.name}"
    shutil.copyfile(original, copy)

    expected = sorted(("MG102", path.name, *position(path, "revision")) for path in (original, copy))
    assert history.findings() == expected
    messages = [d.message for d in history.diagnostics() if d.code == "MG102"]
    assert all("Alembic keeps only one" in m for m in messages), messages
    with pytest.warns(UserWarning, match=f"Revision {re.escape(rev)} is present more than once"):
        history.alembic().heads  # noqa: B018


def test_copied_file_used_as_a_template(history: History) -> None:
    """The usual way to a duplicate id: a revision copied as a starting point, pointed at
    the head, the id left as it was. Alembic keeps the copy and then finds a cycle; migls
    reports the duplicate on both files, and neither the cycle nor a second head."""
    rev = history.pick(history.straight())
    original = history.path(rev)
    copy = history.versions / "zz_new_revision.py"
    shutil.copyfile(original, copy)
    set_parents(copy, (history.head,))

    expected = sorted(("MG102", path.name, *position(path, "revision")) for path in (original, copy))
    assert history.findings() == expected
    with pytest.warns(UserWarning, match="is present more than once"), \
            pytest.raises(CycleDetected):
        history.alembic().heads  # noqa: B018


def test_extra_head(history: History) -> None:
    nodes = history.graph.nodes
    parent = history.pick([rev for rev, node in nodes.items()
                           if len(node.children) == 1 and history.clean(rev)])
    extra = new_revision(history, "zz_extra_head.py", "feedfacecafe", parent)

    expected = sorted([("MG103", extra.name, *position(extra, "revision")),
                       ("MG103", history.path(history.head).name,
                        *position(history.path(history.head), "revision"))])
    assert history.findings() == expected
    alembic = loads_quietly(history.alembic())
    assert set(alembic.heads) == {history.head, "feedfacecafe"}
    graph = lint_directory(history.root, select=SELECT).graph
    assert set(graph.heads) == set(alembic.heads) and set(graph.bases) == set(alembic.bases)


def test_cycle_through_an_older_revision(history: History) -> None:
    """``b`` (older) is pointed at ``d`` (two revisions later): the cycle is b -> d -> c -> b.
    Alembic's message lists every revision after the cycle too; migls names the three."""
    nodes = history.graph.nodes
    candidates = []
    for b in history.straight():
        c = nodes[b].children[0]
        if len(nodes[c].children) == 1 and len(nodes[c].parents) == 1:
            d = nodes[c].children[0]
            if len(nodes[d].parents) == 1 and history.clean(d) and nodes[d].children:
                candidates.append(b)
    b = history.pick(candidates)
    c = nodes[b].children[0]
    d = nodes[c].children[0]
    set_parents(history.path(b), (d,))

    expected = sorted(("MG104", history.path(rev).name, *position(history.path(rev), "down_revision"))
                      for rev in (b, c, d))
    assert history.findings() == expected
    messages = {d.message for d in history.diagnostics() if d.code == "MG104"}
    assert len(messages) == 1
    (message,) = messages
    named = set(re.findall(r"[\w.]+", message.split(":", 1)[1].split(";")[0]))
    assert named == {b, c, d}, message
    with pytest.raises(CycleDetected) as raised:
        history.alembic().heads  # noqa: B018
    assert {b, c, d} < set(raised.value.revisions)


def test_cycle_through_the_base(history: History) -> None:
    """The base pointed at the head: every revision is on the cycle, and no base is left."""
    set_parents(history.path(history.base), (history.head,))

    # A merge's range is the element that closes the cycle (its first parent here).
    nodes = history.graph.nodes
    expected = sorted(("MG104", history.path(rev).name,
                       *position(history.path(rev), "down_revision",
                                 nodes[rev].parents[0] if len(nodes[rev].parents) > 1 else None))
                      for rev in nodes)
    assert history.findings() == expected
    with pytest.raises(CycleDetected):
        history.alembic().heads  # noqa: B018


def _typo(rev: str, existing: set[str]) -> str:
    """``rev`` with one character changed, naming no revision."""
    middle = len(rev) // 2
    for replacement in "0123456789abcdef":
        typo = rev[:middle] + replacement + rev[middle + 1:]
        if typo != rev and typo not in existing:
            return typo
    raise AssertionError(rev)


def test_typo_in_down_revision(history: History) -> None:
    nodes = history.graph.nodes
    rev = history.pick([r for r in history.straight() if len(nodes[r].parents[0]) >= 12])
    right = nodes[rev].parents[0]
    typo = _typo(right, set(nodes))
    set_parents(history.path(rev), (typo,))

    line, column = position(history.path(rev), "down_revision")
    assert history.findings() == [("MG101", history.path(rev).name, line, column)]
    (diagnostic,) = [d for d in history.diagnostics() if d.code == "MG101"]
    assert f"did you mean '{right}'?" in diagnostic.message
    assert (diagnostic.span.end_line, diagnostic.span.end_column) == (line, column + len(typo) + 2)
    warns_and_fails(history.alembic(), f"Revision {re.escape(typo)} referenced from .* is not present")


def test_merge_with_a_missing_parent(history: History) -> None:
    rev = history.pick(history.straight())
    parent = history.graph.nodes[rev].parents[0]
    set_parents(history.path(rev), (parent, "0badc0ffee00"))

    line, column = position(history.path(rev), "down_revision", "0badc0ffee00")
    assert history.findings() == [("MG101", history.path(rev).name, line, column)]
    # The element, not the whole tuple.
    before, _ = position(history.path(rev), "down_revision")
    assert column > before
    warns_and_fails(history.alembic(), "Revision 0badc0ffee00 referenced from .* is not present")


@pytest.mark.parametrize("where", ["body", "revision line"])
def test_syntax_error_in_the_middle(history: History, where: str) -> None:
    """A file that does not parse: MG001 only. The graph recovers its metadata where it can
    (so nothing dangles) and otherwise stays silent about what the file hides."""
    rev = history.pick(history.straight())
    path = history.path(rev)
    lines = path.read_text(encoding="utf-8").split("\n")
    if where == "body":
        index = next(i for i, text in enumerate(lines) if text.startswith("def upgrade("))
        lines.insert(index + 1, "    return )")
        expected_line, expected_column = index + 2, len("    return ")
    else:
        index = next(i for i, text in enumerate(lines) if re.match(r"revision\s*(:[^=]*)?=", text))
        lines[index] = lines[index].rstrip().rstrip("\"'")  # an unterminated string
        expected_line, expected_column = index + 1, lines[index].index("=") + 2
    path.write_text("\n".join(lines), encoding="utf-8")

    assert history.findings() == [("MG001", path.name, expected_line, expected_column)]


def test_accidental_second_base(history: History) -> None:
    extra = new_revision(history, "zz_second_base.py", "0a0b0c0d0e0f", None)

    assert history.findings() == [("MG110", extra.name, *position(extra, "down_revision"))]
    (diagnostic,) = [d for d in history.diagnostics() if d.code == "MG110"]
    assert f"the first is '{history.base}'" in diagnostic.message
    alembic = loads_quietly(history.alembic())
    assert set(alembic.bases) == {history.base, "0a0b0c0d0e0f"}
    assert set(alembic.heads) == {history.head, "0a0b0c0d0e0f"}
    graph = lint_directory(history.root, select=SELECT).graph
    assert set(graph.heads) == set(alembic.heads) and set(graph.bases) == set(alembic.bases)
