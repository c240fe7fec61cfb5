"""Differential testing against Alembic's ``ScriptDirectory``, on real revision files on disk.

Hypothesis draws a history as test_graph_oracle.py does (merges, several bases, branch
labels, ``depends_on``, and now and then cycles, self-loops, missing parents, unknown
dependencies, duplicate labels and ids), and writes it as a real Alembic project: an
``alembic.ini``, revision files written the ways real projects write them (header docstrings,
type annotations, tuples or lists or strings, single or double quotes, omitted empty
``branch_labels``/``depends_on``, UTF-8, UTF-8 with a BOM, latin-1 with a PEP 263 cookie,
CRLF line endings), ids of every shape seen in the corpus (hex, numbered, release numbers,
slugs, legacy file-name ids), one or two version locations, recursive version locations,
and files that are not revisions (``__init__.py``, editor lock files, stale ``.pyc``).

Alembic's own ``ScriptDirectory.from_config`` loads it (importing every file, as Alembic
does), and migls lints it as the CLI does (discovery, static reading, MG0/MG1). They must
agree on which files are revisions, heads, bases, each revision's parents, dependencies and
labels, and on the presence of each error, with Alembic's exceptions mapped to rules:

==================================================  ==========
Alembic                                              migls
==================================================  ==========
``SyntaxError`` while importing a file               MG001 (same line)
``CommandError`` "Could not determine revision id"   MG002
``RevisionError`` "... not allowed in revision ..."  MG107
imports a file whose ``down_revision`` is computed   MG003
warns "is present more than once"                    MG102
warns "... is not present" and a ``KeyError``        MG101
``CycleDetected`` and its kin                        MG104
``KeyError`` for a ``depends_on``                    MG105
``RevisionError`` "Branch name ... already used"     MG106 or MG109
==================================================  ==========

The graph comparison itself is test_graph_oracle.judge (shared, with its documented
deliberate differences).

Profiles: the default runs a fixed set of derandomized examples (stable in CI, a few
seconds); the long one is run on demand::

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_differential.py tests/test_graph_oracle.py

Each module prints how many generated histories it compared, by kind, at its end.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import DependencyLoopDetected, LoopDetected, RevisionError
from alembic.util import CommandError, to_tuple
from corpus import environment
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_graph_oracle import (
    LABELS,
    MISSING,
    AlembicOutcome,
    Rev,
    codes,
    explain,
    histories,
    judge,
    show_counts,
    tally,
)

from migls.engine import LintResult, lint_files, read_paths

settings.register_profile(
    "migls-differential", max_examples=200, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "long", max_examples=5000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Without shrinking, for a quick look at a failure while working on this file.
settings.register_profile("debug", max_examples=250, deadline=None, phases=[
    Phase.explicit, Phase.reuse, Phase.generate, Phase.explain])
PROFILE = settings.get_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "") if os.environ.get("HYPOTHESIS_PROFILE") in (
        "long", "debug") else "migls-differential")

SELECT = ["MG0", "MG1"]
MAX_REVISIONS = 14
#: Names the generator uses for labels and faults: never drawn as ids.
RESERVED = {*LABELS, MISSING, "nope", "own", "base", "head", "heads"}
#: Files Alembic and migls must both ignore (path relative to the project, content).
NOISE = (
    ("migrations/versions/__init__.py", b"raise SystemExit('not a revision')\n"),
    ("migrations/versions/.#01_lock.py", b"user@host.1234:1700000000"),
    ("migrations/versions/README", b"revision = 'readme'\n"),
    ("migrations/versions/notes.py~", b"revision = 'backup'\ndown_revision = None\n"),
    ("migrations/versions/__pycache__/01_stale.cpython-311.pyc", b"\x00\x01garbage"),
)
#: File-level faults: each makes Alembic refuse the whole directory (but "dynamic"), and
#: the rule that reports it.
FILE_FAULTS = {"syntax-error": "MG001", "no-revision": "MG002", "invalid-id": "MG107",
               "dynamic": "MG003"}

COMPARED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many projects were compared, by kind (the long profile's count)."""
    yield
    show_counts(request, "generated projects compared with Alembic's ScriptDirectory", COMPARED)


# -- what is generated -------------------------------------------------------------------------

#: Ids of every shape real histories use: Alembic's 12 hex digits, numbered files, release
#: numbers (zenml), slugs.
ID_SHAPES = st.one_of(
    st.text("0123456789abcdef", min_size=12, max_size=12),
    st.integers(1, 9999).map("{:04d}".format),
    st.tuples(st.integers(0, 9), st.integers(0, 99), st.integers(0, 9)).map(
        lambda t: "%d.%d.%d" % t),
    st.from_regex(r"[a-z][a-z0-9_]{2,20}", fullmatch=True),
).filter(lambda rev: rev not in RESERVED and not re.fullmatch(r"w\d+", rev))


@dataclass
class Style:
    """How one revision file is written."""

    quote: str = '"'
    annotated: bool = False
    header: bool = True
    lists: bool = False
    single_as_string: bool = True
    empty_as_tuple: bool = False
    omit_empty: bool = False
    encoding: str = "utf-8"
    crlf: bool = False


STYLES = st.builds(
    Style, quote=st.sampled_from(['"', "'"]), annotated=st.booleans(), header=st.booleans(),
    lists=st.booleans(), single_as_string=st.booleans(), empty_as_tuple=st.booleans(),
    omit_empty=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1"]),
    crlf=st.integers(0, 4).map(lambda n: n == 0))


@dataclass
class RevFile:
    """One revision written as a file: ``rev.filename`` is its path in the project."""

    rev: Rev
    style: Style
    legacy: bool = False
    fault: str | None = None
    #: The id written in the file (differs from ``rev.id`` for an invalid id).
    written_id: str = ""

    def render(self) -> bytes:
        rev, style = self.rev, self.style
        q = style.quote

        def literal(value: str) -> str:
            return f"{q}{value}{q}"

        def value(values: list[str]) -> str:
            if not values:
                return "()" if style.empty_as_tuple else "None"
            if len(values) == 1 and style.single_as_string:
                return literal(values[0])
            inner = ", ".join(literal(v) for v in values)
            if style.lists:
                return f"[{inner}]"
            return f"({inner},)" if len(values) == 1 else f"({inner})"

        annotation = ": Union[str, Sequence[str], None]" if style.annotated else ""
        lines: list[str] = []
        if style.encoding == "latin-1":
            lines.append("# -*- coding: latin-1 -*-")
        if style.header:
            lines += [f'"""add the caf\u00e9 table to {rev.id}', "",
                      f"Revision ID: {self.written_id or rev.id}",
                      f"Revises: {', '.join(rev.parents)}",
                      "Create Date: 2024-05-01 12:00:00.000000", "", '"""']
        lines += ["from alembic import op", "import sqlalchemy as sa"]
        if style.annotated:
            lines.append("from typing import Sequence, Union")
        lines += ["", "# revision identifiers, used by Alembic (\u00e9t\u00e9)."]
        if self.fault != "no-revision" and not self.legacy:
            typed = ": str" if style.annotated else ""
            lines.append(f"revision{typed} = {literal(self.written_id or rev.id)}")
        if self.fault == "dynamic":
            lines.append(f"_PARENTS = {value(rev.parents)}")
            lines.append(f"down_revision{annotation} = _PARENTS")
        else:
            lines.append(f"down_revision{annotation} = {value(rev.parents)}")
        for name, values in (("branch_labels", rev.labels), ("depends_on", rev.deps)):
            if values or not style.omit_empty:
                lines.append(f"{name}{annotation} = {value(values)}")
        lines += ["", "", "def upgrade() -> None:"]
        if self.fault == "syntax-error":
            lines += ["    op.add_column('t', sa.Column('c', sa.Integer())", ""]
        lines += ["    op.execute(\"SELECT 1\")", "", "", "def downgrade() -> None:",
                  "    pass", ""]
        text = "\n".join(lines)
        if style.crlf:
            text = text.replace("\n", "\r\n")
        return text.encode(style.encoding)


@dataclass
class Project:
    """A generated Alembic project."""

    files: list[RevFile]
    locations: list[str]
    recursive: bool
    noise: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def revs(self) -> list[Rev]:
        return [f.rev for f in self.files]

    def ini(self) -> str:
        locations = " ".join(f"%(here)s/{location}" for location in self.locations)
        return ("[alembic]\nscript_location = %(here)s/migrations\n"
                f"version_locations = {locations}\npath_separator = space\n"
                f"recursive_version_locations = {'true' if self.recursive else 'false'}\n")

    def write(self, root: Path) -> None:
        (root / "alembic.ini").write_text(self.ini(), encoding="utf-8")
        for location in self.locations:
            (root / location).mkdir(parents=True, exist_ok=True)
        entries = [(f.rev.filename, f.render()) for f in self.files] + self.noise
        for relative, data in entries:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def describe(self) -> str:
        return "\n".join([self.ini()] + [
            f"# {f.rev.filename} ({f.style.encoding}{', CRLF' if f.style.crlf else ''})\n"
            + f.render().decode(f.style.encoding, errors="replace") for f in self.files])


@st.composite
def projects(draw: st.DrawFn) -> Project:
    pool = draw(st.lists(ID_SHAPES, min_size=MAX_REVISIONS, max_size=MAX_REVISIONS,
                         unique=True))
    revs = draw(histories(pool=pool))
    locations = ["migrations/versions"]
    # Rare cases are the large numbers: Hypothesis draws small ones more often.
    if draw(st.integers(0, 9)) >= 8:
        locations.append("more_versions")
    recursive = draw(st.integers(0, 9)) >= 8
    directories = [*locations, *(["migrations/versions/2024", "migrations/versions/2024/q1"]
                                 if recursive else [])]
    files: list[RevFile] = []
    taken: set[str] = set()
    for position, rev in enumerate(draw(st.permutations(revs))):
        directory = draw(st.sampled_from(directories))
        legacy = bool(re.fullmatch(r"[0-9a-f]+", rev.id)) and draw(st.integers(0, 5)) == 5
        name = f"{directory}/{rev.id}.py"
        if not legacy or name in taken:
            legacy = False
            name = f"{directory}/{position:02d}_{rev.id}.py"
        taken.add(name)
        rev.filename = name
        files.append(RevFile(rev, draw(STYLES), legacy))
    if draw(st.integers(0, 9)) == 9:
        target = draw(st.sampled_from(files))
        target.fault = draw(st.sampled_from(list(FILE_FAULTS)))
        if target.fault == "no-revision" and target.legacy:  # the file name would be its id
            target.legacy = False
            target.rev.filename = target.rev.filename.replace(
                f"/{target.rev.id}.py", f"/99_{target.rev.id}.py")
        if target.fault == "invalid-id":
            mark = draw(st.sampled_from(["-", "@", "+", ":"]))
            target.written_id = f"{target.rev.id[:2]}{mark}{target.rev.id[2:]}"
            target.legacy = False
            target.rev.filename = target.rev.filename.replace(
                f"/{target.rev.id}.py", f"/99_{target.rev.id}.py")
    noise = draw(st.lists(st.sampled_from(NOISE), max_size=3, unique=True))
    return Project(files, locations, recursive, list(noise))


# -- what Alembic says, from the files -----------------------------------------------------------

def load_script_directory(root: Path) -> AlembicOutcome:
    """Alembic's ``ScriptDirectory`` of the project (every file imported, as Alembic does;
    no bytecode written, so that nothing is cached between examples)."""
    config = Config(str(root / "alembic.ini"))
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                script = ScriptDirectory.from_config(config)
                script.get_heads()
            except (RevisionError, KeyError, CommandError, SyntaxError) as error:
                return AlembicOutcome(None, error, [str(w.message) for w in caught])
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return AlembicOutcome(script.revision_map, None, [str(w.message) for w in caught])


# -- what migls says -----------------------------------------------------------------------------

def lint_directory(root: Path) -> LintResult:
    """Lint the project as ``migls lint`` does: discovery, then the engine's own reading
    (not corpus.read_files, whose cache by content would give two legacy files without a
    ``revision`` line the id of the first one's name)."""
    env = environment(root)
    return lint_files(read_paths(env.revision_paths()), env.settings, select=SELECT)


# -- the property --------------------------------------------------------------------------------

_EXAMPLES = itertools.count()


def compare(project: Project, base: Path) -> str:
    """Write the project under ``base``, load it both ways, and compare."""
    root = base / f"p{next(_EXAMPLES)}"
    root.mkdir()
    project.write(root)
    explain(project.describe())
    result = lint_directory(root)
    outcome = load_script_directory(root)
    kind = _compare(project, root, result, outcome)
    COMPARED[kind.split(":")[0] if kind.startswith("Alembic loads") else kind] += 1
    return kind


def _compare(project: Project, root: Path, result: LintResult, outcome: AlembicOutcome) -> str:
    found_at: dict[Path, set[str]] = {}
    for d in result.diagnostics:
        found_at.setdefault(Path(d.path).resolve(), set()).add(d.code)
    # Both read the same files: the revision files, not the noise.
    assert sorted(Path(f.path).resolve() for f in result.files) == sorted(
        (root / f.rev.filename).resolve() for f in project.files)

    faulty = [f for f in project.files if f.fault is not None]
    if faulty:
        (target,) = faulty
        path = (root / target.rev.filename).resolve()
        code = FILE_FAULTS[target.fault or ""]
        assert code in found_at.get(path, set()), (code, found_at)
        error = outcome.error
        explain(f"alembic: {error!r}")
        if target.fault == "dynamic":
            # Alembic runs the computed value (and may then find any fault in it); migls
            # says it cannot know without running code, and judges nothing it hides.
            return tally("file fault: dynamic")
        if isinstance(error, (LoopDetected, DependencyLoopDetected)):
            # Alembic checks self-loops as it loads each file: one loaded first stops it.
            assert "MG104" in codes(result)
            return tally("file fault after a self-loop")
        if target.fault == "syntax-error":
            assert isinstance(error, SyntaxError)
            (mg001,) = [d for d in result.diagnostics if d.code == "MG001"]
            assert mg001.span.line == error.lineno, (mg001.span, error.lineno)
        elif target.fault == "no-revision":
            assert isinstance(error, CommandError)
            assert "Could not determine revision id" in str(error)
        else:
            assert isinstance(error, RevisionError)
            assert "not allowed in revision identifier" in str(error)
        return tally(f"file fault: {target.fault}")

    kind = judge(project.revs, result, outcome)
    revision_map = outcome.revision_map
    if revision_map is None or not kind.startswith("Alembic loads"):
        return kind
    graph = result.graph
    alembic_ids = {r.revision for r in revision_map._revision_map.values() if r is not None}
    assert set(graph.nodes) == alembic_ids
    for rev, node in graph.nodes.items():
        script = revision_map.get_revision(rev)
        assert script is not None
        # The same file, read the same way: parents in order, dependencies, own labels.
        assert Path(script.path).resolve() == Path(node.file.path).resolve()  # type: ignore[attr-defined]
        assert node.parents == script._versioned_down_revisions
        # Alembic keeps a dependency named twice twice; migls once.
        assert node.dependencies == tuple(dict.fromkeys(to_tuple(script.dependencies, default=())))
        assert set(node.labels) == set(script._orig_branch_labels)
    return kind


@settings(PROFILE)
@given(projects())
def test_script_directory_agrees_with_migls(project: Project) -> None:
    with tempfile.TemporaryDirectory(prefix="migls-diff-") as directory:
        compare(project, Path(directory))


# -- fixed examples: every shape and fault at least once, whatever Hypothesis draws ----------------

def _project(*files: RevFile, locations: tuple[str, ...] = ("migrations/versions",),
             recursive: bool = False, noise: tuple[tuple[str, bytes], ...] = ()) -> Project:
    for number, file in enumerate(files, 1):
        if not file.rev.filename:
            file.rev.filename = f"{locations[0]}/{number:02d}_{file.rev.id}.py"
    return Project(list(files), list(locations), recursive, list(noise))


@pytest.mark.parametrize("fault", sorted(FILE_FAULTS))
def test_each_file_fault(fault: str, tmp_path: Path) -> None:
    broken = RevFile(Rev("b2", ["a1"]), Style(), fault=fault,
                     written_id="b-2" if fault == "invalid-id" else "")
    kind = compare(_project(RevFile(Rev("a1"), Style()), broken,
                            RevFile(Rev("c3", ["b2"]), Style())), tmp_path)
    assert kind == f"file fault: {fault}"


@pytest.mark.parametrize("style", [
    Style(encoding="latin-1", crlf=True), Style(encoding="utf-8-sig"),
    Style(annotated=True, lists=True, single_as_string=False, quote="'"),
    Style(header=False, omit_empty=True, empty_as_tuple=True),
], ids=["latin1-crlf", "bom", "annotated-lists", "bare"])
def test_file_styles(style: Style, tmp_path: Path) -> None:
    project = _project(RevFile(Rev("a1", labels=["x"]), style),
                       RevFile(Rev("b2", ["a1"], deps=["x"]), style),
                       RevFile(Rev("c3", ["a1"]), style), RevFile(Rev("d4", ["b2", "c3"]), style))
    assert compare(project, tmp_path).startswith("Alembic loads: 1 heads")


def test_layouts_and_noise(tmp_path: Path) -> None:
    """Legacy file-name ids, two locations, recursive subdirectories, and files that are not
    revisions (Alembic imports none of them: the __init__.py would stop it)."""
    files = (RevFile(Rev("0a1b2c3d4e5f", filename="migrations/versions/0a1b2c3d4e5f.py"),
                     Style(), legacy=True),
             RevFile(Rev("0.2.0", ["0a1b2c3d4e5f"], filename="more_versions/02_0.2.0.py"), Style()),
             RevFile(Rev("0003", ["0.2.0"], filename="migrations/versions/2024/q1/03_0003.py"),
                     Style()))
    project = _project(*files, locations=("migrations/versions", "more_versions"),
                       recursive=True, noise=NOISE)
    assert compare(project, tmp_path) == "Alembic loads: 1 heads, 0 conflicting, no MG110"


def test_subdirectories_are_not_read_unless_recursive(tmp_path: Path) -> None:
    """Without recursive_version_locations, a revision in a subdirectory is invisible to
    both: its child names a missing parent."""
    project = _project(RevFile(Rev("a1"), Style()),
                       RevFile(Rev("b2", ["a1"], filename="migrations/versions/sub/02_b2.py"),
                               Style()),
                       RevFile(Rev("c3", ["b2"]), Style()))
    root = tmp_path / "p"
    root.mkdir()
    project.write(root)
    result = lint_directory(root)
    assert {Path(f.path).name for f in result.files} == {"01_a1.py", "03_c3.py"}
    assert set(codes(result)) == {"MG101"}
    outcome = load_script_directory(root)
    assert isinstance(outcome.error, KeyError)
    assert any("Revision b2 referenced from" in w for w in outcome.warnings)
