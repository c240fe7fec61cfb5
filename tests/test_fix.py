"""``migls lint --fix / --unsafe-fixes / --diff``: what is written, and how."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import ensure_corpus, lint_directory

from migls.graph import build_graph

INI = "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://h/db\n"
BASE = '''"""base

Revision ID: a1
Revises:
Create Date: 2024-01-01 00:00:00

"""
revision = "a1"
down_revision = None
branch_labels = "None"


def upgrade():
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)  # migls: ignore[MG101]


def downgrade():
    op.drop_index("ix_t_n", table_name="t")
'''
FIXED_SAFE = BASE.replace(
    '    op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)  # migls: ignore[MG101]',
    '    with op.get_context().autocommit_block():\n'
    '        op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)')
CHILD = '''"""child

Revision ID: b2
Revises: zz
Create Date: 2024-01-02 00:00:00

"""
revision = "b2"
down_revision = "a1"


def upgrade():
    pass


def downgrade():
    pass
'''


def migls(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migls", *args], cwd=cwd,
                          capture_output=True, text=True)


def project(tmp_path: Path, base: bytes | None = None) -> Path:
    (tmp_path / "alembic.ini").write_text(INI)
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_a1.py").write_bytes(base if base is not None else BASE.encode())
    (versions / "0002_b2.py").write_text(CHILD)
    return versions


def test_fix_applies_the_safe_fixes_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    versions = project(tmp_path)
    result = migls("lint", "--fix", "--format", "json", ".", cwd=tmp_path)
    assert "Fixed 3 problems." in result.stderr, result.stderr
    assert (versions / "0001_a1.py").read_text() == FIXED_SAFE
    assert "Revises: a1" in (versions / "0002_b2.py").read_text()
    remaining = [d["code"] for d in json.loads(result.stdout)]
    assert remaining == ["MG109"]  # unsafe: only offered
    before = {p.name: p.read_bytes() for p in versions.iterdir()}
    again = migls("lint", "--fix", ".", cwd=tmp_path)
    assert "Fixed 0 problems." in again.stderr
    assert {p.name: p.read_bytes() for p in versions.iterdir()} == before
    assert sorted(p.name for p in versions.iterdir()) == ["0001_a1.py", "0002_b2.py"]  # no temp files


def test_unsafe_fixes_only_when_asked(tmp_path: Path) -> None:
    versions = project(tmp_path)
    migls("lint", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert 'branch_labels = None\n' in (versions / "0001_a1.py").read_text()


def test_diff_writes_nothing(tmp_path: Path) -> None:
    versions = project(tmp_path)
    before = (versions / "0001_a1.py").read_bytes()
    result = migls("lint", "--diff", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "+    with op.get_context().autocommit_block():" in result.stdout
    assert "-Revises: zz" in result.stdout and "+Revises: a1" in result.stdout
    assert (versions / "0001_a1.py").read_bytes() == before
    migls("lint", "--fix", ".", cwd=tmp_path)
    assert migls("lint", "--diff", ".", cwd=tmp_path).returncode == 0


def test_encoding_and_line_endings_are_kept(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\n# Café\n" + BASE
    versions = project(tmp_path, text.replace("\n", "\r\n").encode("latin-1"))
    migls("lint", "--fix", ".", cwd=tmp_path)
    data = (versions / "0001_a1.py").read_bytes()
    assert data == ("# -*- coding: latin-1 -*-\n# Café\n" + FIXED_SAFE).replace(
        "\n", "\r\n").encode("latin-1")


def test_writes_replace_the_file_and_do_not_follow_symlinks(tmp_path: Path) -> None:
    versions = project(tmp_path)
    outside = tmp_path / "outside.py"
    outside.write_text(BASE)
    (versions / "0001_a1.py").unlink()
    (versions / "0001_a1.py").symlink_to(outside)
    migls("lint", "--fix", ".", cwd=tmp_path)
    assert outside.read_text() == BASE  # the file outside the environment is untouched
    assert not (versions / "0001_a1.py").is_symlink()
    assert (versions / "0001_a1.py").read_text() == FIXED_SAFE


def test_json_carries_the_fix(tmp_path: Path) -> None:
    project(tmp_path)
    found = json.loads(migls("lint", "--format", "json", ".", cwd=tmp_path).stdout)
    fixes = {d["code"]: d["fix"] for d in found}
    assert fixes["MG304"]["safety"] == "safe"
    assert fixes["MG109"]["safety"] == "unsafe"
    assert fixes["MG004"]["edits"] == [{"line": 15, "column": 72, "end_line": 15,
                                        "end_column": 96, "content": ""}]
    assert fixes["MG108"]["edits"][0]["content"] == "a1"
    assert os.path.exists(tmp_path / "migrations" / "versions" / "0001_a1.py")


@pytest.mark.corpus
def test_fixing_the_real_histories_breaks_nothing(tmp_path: Path) -> None:
    """--fix and --unsafe-fixes on copies of the six histories: every file still parses, the
    graph is unchanged (labels aside, which the unsafe MG109 fix changes on purpose), and a
    second run changes nothing."""
    dirs = ensure_corpus()
    copies = []
    for name, directory in dirs.items():
        shutil.copytree(directory, tmp_path / name)
        copies.append(str(tmp_path / name))

    def graphs() -> dict[str, object]:
        out: dict[str, object] = {}
        for copy in copies:
            graph = build_graph(lint_directory(Path(copy)).files)
            out[copy] = ({rev: (n.parents, n.dependencies) for rev, n in graph.nodes.items()},
                         graph.heads, graph.bases)
        return out

    before = graphs()
    safe = migls("lint", "--fix", *copies, cwd=tmp_path)
    applied = int(re.search(r"Fixed (\d+) problem", safe.stderr).group(1))  # type: ignore[union-attr]
    unsafe = migls("lint", "--fix", "--unsafe-fixes", *copies, cwd=tmp_path)
    assert re.search(r"Fixed [1-9]\d* problem", unsafe.stderr), unsafe.stderr
    assert 'branch_labels = None' in next(tmp_path.glob("airflow/**/0042_*.py")).read_text()
    assert applied >= 60, safe.stderr
    for path in tmp_path.rglob("*.py"):
        ast.parse(path.read_bytes(), str(path))
    assert graphs() == before
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    again = migls("lint", "--fix", "--unsafe-fixes", *copies, cwd=tmp_path)
    assert "Fixed 0 problems." in again.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == snapshot


def test_an_explicit_false_keyword_is_rewritten_not_replaced_by_a_bare_value() -> None:
    from migls.engine import lint_sources
    from migls.fixes import apply_edits

    source = ('revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n'
              '    op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=False)\n')
    found = [d for d in lint_sources({"0001_a1.py": source}).diagnostics if d.code == "MG303"]
    assert found and found[0].fix is not None
    fixed = apply_edits(source, found[0].fix.edits)
    assert 'op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)' in fixed
    ast.parse(fixed)
