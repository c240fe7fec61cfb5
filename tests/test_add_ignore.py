"""``migls lint --add-ignore``: "ignore this rule on this line" for every finding at once, the
CLI face of the editor's "Ignore MGxxx on this line" action (both use migls.ignore)."""

from __future__ import annotations

import ast
import errno
import os
import shutil
from pathlib import Path

import pytest
from corpus import ensure_corpus
from test_cli import EXAMPLE, EXAMPLE_FINDINGS, INI, codes, migls, one_line_error, write

from migls.graph import build_graph
from migls.ignore import REASON_PLACEHOLDER


def _texts(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(root.rglob("versions/**/*.py"))}


def test_every_finding_of_the_example_is_suppressed_once_with_the_placeholder(
        tmp_path: Path) -> None:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLE, blog)
    added = migls("lint", "--add-ignore", cwd=blog)
    assert added.returncode == 0 and f"Added {len(EXAMPLE_FINDINGS)} suppressions." in added.stderr
    assert codes(migls("lint", "--format", "json", cwd=blog)) == []
    comments = [line for text in _texts(blog).values()
                for line in text.decode().splitlines() if "migls: ignore[" in line]
    assert len(comments) == len(EXAMPLE_FINDINGS)
    assert all(line.endswith(f"-- {REASON_PLACEHOLDER}") for line in comments)
    # the reason placeholder satisfies require-reason; a second run has nothing left to add
    before = _texts(blog)
    again = migls("lint", "--add-ignore", cwd=blog)
    assert "Added 0 suppressions." in again.stderr and _texts(blog) == before


def test_codes_on_one_line_share_one_comment_with_the_given_reason(tmp_path: Path) -> None:
    body = ('revision = "b2"\ndown_revision = "a1"\n\n\ndef upgrade():\n'
            '    op.drop_column("t", "c"); op.drop_table("u")\n\n\ndef downgrade():\n'
            '    raise NotImplementedError\n')
    root = write(tmp_path, {"alembic.ini": INI,
                            "migrations/versions/a1.py": 'revision = "a1"\ndown_revision = None\n',
                            "migrations/versions/b2.py": body})
    reported = codes(migls("lint", "--format", "json", "--select", "MG4", cwd=root))
    assert sorted(reported) == ["MG401", "MG402"]
    migls("lint", "--select", "MG4", "--add-ignore", "--reason", "dropped in 4.2", cwd=root)
    line = (root / "migrations/versions/b2.py").read_text().splitlines()[5]
    assert line.endswith("# migls: ignore[MG401, MG402] -- dropped in 4.2") \
        or line.endswith("# migls: ignore[MG402, MG401] -- dropped in 4.2"), line
    assert codes(migls("lint", "--format", "json", "--select", "MG4", cwd=root)) == []


def test_add_ignore_is_not_a_fix(tmp_path: Path) -> None:
    one_line_error(migls("lint", "--add-ignore", "--fix", cwd=tmp_path), "--add-ignore", "--fix")


def test_a_real_history_lints_clean_after_add_ignore_and_keeps_its_graph(
        tmp_path: Path) -> None:
    """Every finding of a real history (mlflow) suppressed where suppress.py looks for it:
    afterwards nothing is reported, every file still parses and the graph is the same."""
    source = ensure_corpus()["mlflow"]
    copy = tmp_path / "mlflow"
    shutil.copytree(source, copy)
    reported = codes(migls("lint", "--format", "json", "--exit-zero", cwd=copy))
    assert len(reported) > 20
    before = _graph(copy)
    added = migls("lint", "--add-ignore", cwd=copy)
    assert f"Added {len(reported)} suppressions." in added.stderr, added.stderr
    assert codes(migls("lint", "--format", "json", cwd=copy)) == []
    for path in _texts(copy):
        ast.parse(path.read_bytes(), str(path))
    assert _graph(copy) == before


def _graph(root: Path) -> dict[str, tuple[str, ...]]:
    from corpus import read_files
    files = read_files(sorted(root.rglob("versions/**/*.py")))
    graph = build_graph(files)
    return {rid: tuple(sorted(node.parents)) for rid, node in graph.nodes.items()}


def test_a_file_that_cannot_be_written_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """--fix and --add-ignore when the disk is full (the rename fails): exit 2, one line
    naming the file, every file as it was and no temporary file left behind."""
    from migls import cli, fixes
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLE, blog)
    before = _texts(blog)

    def full(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)

    monkeypatch.setattr(fixes.os, "replace", full)
    for flags in (["--fix"], ["--add-ignore"]):
        assert cli.main(["lint", *flags, str(blog)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("migls: error: ") \
            and "No space left on device" in lines[0] and str(blog) in lines[0], lines
        assert _texts(blog) == before
        assert not [p for p in blog.rglob("*") if p.name.endswith(".migls")]
