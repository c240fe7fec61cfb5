"""migls on real Alembic histories: no false MG0/MG1 findings, and the same graph as
Alembic's own ``RevisionMap``.

The histories come from pinned wheels (see ``corpus.py``). They are consistent (Alembic
loads each of them), so every MG0/MG1 finding is either a false positive or one of the two
justified kinds checked here: Airflow's ``branch_labels = "None"`` (MG109) and headers whose
``Revises:`` line went stale after a rebase (MG108).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from alembic.script.revision import RevisionMap
from corpus import (
    CORPORA,
    CORPUS_NAMES,
    alembic_map,
    corpus_dirs,
    environment,
    lint_directory,
    read_files,
)

from migls.graph import build_graph
from migls.model import RevisionFile
from migls.rule import Diagnostic

__all__ = ["corpus_dirs"]  # the fixture, imported so that pytest finds it

pytestmark = pytest.mark.corpus

#: Findings that are right on these histories: (corpus, code) -> file name prefix.
JUSTIFIED_MG109 = {"airflow": "0042_3_0_0_add_uuid_primary_key_to_task_instance_"}


def _files(directory: Path) -> list[RevisionFile]:
    return read_files(environment(directory).revision_paths())


def test_every_history_is_there(corpus_dirs: dict[str, Path]) -> None:
    assert sorted(corpus_dirs) == sorted(CORPUS_NAMES)
    for corpus in CORPORA:
        paths = environment(corpus_dirs[corpus.name]).revision_paths()
        assert len(paths) == corpus.revision_files, corpus.name


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_no_unjustified_graph_findings(corpus_dirs: dict[str, Path], name: str) -> None:
    result = lint_directory(corpus_dirs[name], select=["MG0", "MG1"])
    unexpected = [d for d in result.diagnostics if d.code not in ("MG108", "MG109")]
    assert unexpected == [], [(d.code, d.path, d.span.line, d.message) for d in unexpected]

    labels = [d for d in result.diagnostics if d.code == "MG109"]
    if name in JUSTIFIED_MG109:
        assert len(labels) == 1, labels
        path = Path(labels[0].path)
        assert path.name.startswith(JUSTIFIED_MG109[name])
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[labels[0].span.line - 1] == 'branch_labels = "None"'
        # The range is the string literal, so that the unsafe fix can replace it with None.
        assert (labels[0].span.column, labels[0].span.end_column) == (16, 22)
    else:
        assert labels == []


# -- MG108, recomputed from the text --------------------------------------------------------

_DOCSTRING = re.compile(r'^(?:#[^\n]*\n|\s*\n)*[rRuU]?("""|\'\'\')(?P<body>.*?)\1', re.DOTALL)
_HEADER = re.compile(r"^[ \t]*(?P<key>Revision ID|Revises):[ \t]*(?P<value>[^\n]*?)[ \t]*$",
                     re.MULTILINE)
_VARIABLE = re.compile(r"^(?P<name>revision|down_revision)[ \t]*(?::[^=\n]*)?=[ \t]*(?P<value>[^#\n]+)",
                       re.MULTILINE)
_NO_PARENT = {"", "None", "<base>"}


def _header_values(text: str) -> set[str]:
    """``a, b`` / ``('a', 'b')`` / ``None`` / ``<base>`` -> the ids named."""
    parts = (part.strip().strip("'\"") for part in text.strip().strip("()[]").split(","))
    return {part for part in parts if part not in _NO_PARENT}


def _stale_header_lines(path: Path) -> dict[int, str]:
    """Line number -> key of each header line that disagrees with the variables."""
    text = path.read_text(encoding="utf-8")
    variables: dict[str, set[str]] = {}
    for match in _VARIABLE.finditer(text):
        value = ast.literal_eval(match.group("value").strip())
        if value is None:
            variables[match.group("name")] = set()
        elif isinstance(value, str):
            variables[match.group("name")] = {value}
        else:
            variables[match.group("name")] = set(value)
    docstring = _DOCSTRING.match(text)
    if docstring is None:
        return {}
    stale: dict[int, str] = {}
    for match in _HEADER.finditer(docstring.group("body")):
        key = match.group("key")
        said = _header_values(match.group("value"))
        actual = variables["revision" if key == "Revision ID" else "down_revision"]
        if said != actual:
            line = text.count("\n", 0, docstring.start("body") + match.start("value")) + 1
            stale[line] = key
    return stale


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_docstring_mismatches_are_real_stale_headers(corpus_dirs: dict[str, Path], name: str) -> None:
    result = lint_directory(corpus_dirs[name], select=["MG108"])
    found: dict[tuple[str, int], Diagnostic] = {}
    for d in result.diagnostics:
        assert d.code == "MG108"
        found[(d.path, d.span.line)] = d
    expected: dict[tuple[str, int], str] = {}
    for path in environment(corpus_dirs[name]).revision_paths():
        for line, key in _stale_header_lines(path).items():
            expected[(str(path), line)] = key
    assert sorted(found) == sorted(expected)
    for where, key in expected.items():
        message = found[where].message
        assert message.startswith(f"the header says '{key}:"), message


def test_docstring_mismatch_recomputation_is_not_vacuous(corpus_dirs: dict[str, Path]) -> None:
    counts = {name: sum(len(_stale_header_lines(p))
                        for p in environment(corpus_dirs[name]).revision_paths())
              for name in CORPUS_NAMES}
    assert counts["superset"] > 10 and counts["zenml"] > 5, counts


# -- the graph oracle: Alembic's RevisionMap --------------------------------------------------

def _loaded_alembic_map(files: list[RevisionFile]) -> RevisionMap:
    """Alembic's map of the same statically read facts, loaded with warnings as errors."""
    assert all(file.revision_id is not None and file.is_readable for file in files)
    revision_map = alembic_map(files)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        revision_map.heads  # noqa: B018 -- loads the map
    return revision_map


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_graph_matches_alembic(corpus_dirs: dict[str, Path], name: str) -> None:
    files = _files(corpus_dirs[name])
    graph = build_graph(files)
    alembic = _loaded_alembic_map(files)

    assert set(graph.heads) == set(alembic.heads)
    assert set(graph.bases) == set(alembic.bases)
    assert len(graph.heads) == 1 and len(graph.bases) == 1  # what the projects ship
    assert set(graph.nodes) == {f.revision_id for f in files}
    assert graph.cycles == [] and graph.dangling == [] and graph.unknown_dependencies == []
    for rev, node in graph.nodes.items():
        revision = alembic.get_revision(rev)
        assert revision is not None
        assert set(node.parents) == set(revision._versioned_down_revisions), rev
        assert set(node.children) == set(revision.nextrev), rev
        assert set(node.dependencies) == set(revision._resolved_dependencies), rev
    for head in graph.heads:  # the labels a head carries decide which heads conflict
        revision = alembic.get_revision(head)
        assert revision is not None
        assert graph.inherited_labels[head] == revision.branch_labels


def test_corpus_shapes(corpus_dirs: dict[str, Path]) -> None:
    """What the fetch script promises about these histories (guards the oracle's coverage)."""
    superset = build_graph(_files(corpus_dirs["superset"]))
    merges = [n for n in superset.nodes.values() if len(n.parents) > 1]
    branch_points = [n for n in superset.nodes.values() if len(n.children) > 1]
    assert len(merges) == 32 and len(branch_points) == 27
    assert max(len(n.parents) for n in merges) == 3
    airflow = build_graph(_files(corpus_dirs["airflow"]))
    assert airflow.label_owners == {"None": ["d59cbbef95eb"]}  # a real label for Alembic too
    zenml = build_graph(_files(corpus_dirs["zenml"]))
    assert zenml.bases == ("alembic_start",)


# -- the CLI on everything at once ----------------------------------------------------------

JSON_KEYS = {"code", "name", "severity", "message", "path", "line", "column", "end_line",
             "end_column", "url", "fix"}


def test_cli_json_on_all_histories(corpus_dirs: dict[str, Path]) -> None:
    directories = [str(corpus_dirs[name]) for name in CORPUS_NAMES]
    done = subprocess.run([sys.executable, "-m", "migls", "lint", *directories, "--format", "json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert isinstance(report, list) and report
    for item in report:
        assert set(item) == JSON_KEYS, item
        assert re.fullmatch(r"MG\d{3}", item["code"])
        assert item["severity"] in ("error", "warning", "info")
        for key in ("line", "column", "end_line", "end_column"):
            assert isinstance(item[key], int) and item[key] >= 1, item
        assert (item["end_line"], item["end_column"]) >= (item["line"], item["column"]), item
        assert item["url"].endswith(f"/{item['code']}.md")
        assert item["fix"] is None or isinstance(item["fix"], dict)
    # The CLI and the engine agree on the graph findings.
    cli_mg1 = sorted((Path(i["path"]).resolve(), i["line"], i["code"])
                     for i in report if i["code"].startswith(("MG0", "MG1")))
    engine_mg1 = sorted((Path(d.path).resolve(), d.span.line, d.code)
                        for name in CORPUS_NAMES
                        for d in lint_directory(corpus_dirs[name], select=["MG0", "MG1"]).diagnostics)
    assert cli_mg1 == engine_mg1
