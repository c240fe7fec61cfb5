"""``migls merge``, ``migls rebase`` and the MG103 fix, on real Alembic projects in tmp_path,
with Alembic's own ``ScriptDirectory`` / ``RevisionMap`` as the oracle (it imports the
revision files, which the tests may do: they are the tests' own)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import to_tuple

from migls.discovery import discover
from migls.engine import lint_sources
from migls.revisions import (
    NothingToDo,
    RevisionCommandError,
    head_moves,
    merge,
    rebase,
    write_changes,
)

ROOT = Path(__file__).resolve().parent.parent
BLOG = ROOT / "examples" / "blog"
TEMPLATE = (BLOG / "migrations" / "script.py.mako").read_text(encoding="utf-8")
INI = "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"


def migls(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m migls ARGS`` as a user runs it; never a traceback."""
    result = subprocess.run([sys.executable, "-m", "migls", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def revision_file(rev: str, parents: tuple[str, ...] = (), *, date: str | None = None,
                  quote: str = '"', message: str | None = None) -> str:
    """A revision file as Alembic's template writes it."""
    down = "None" if not parents else (
        f"{quote}{parents[0]}{quote}" if len(parents) == 1
        else "(" + ", ".join(f"{quote}{p}{quote}" for p in parents) + ")")
    created = f"Create Date: {date}\n" if date else ""
    return (f'"""{message or "revision " + rev}\n\nRevision ID: {rev}\nRevises: '
            f'{", ".join(parents)}\n{created}\n"""\nfrom alembic import op\n\n'
            f"revision = {quote}{rev}{quote}\ndown_revision = {down}\nbranch_labels = None\n"
            "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")


def project(tmp_path: Path, revisions: dict[str, str], ini: str = INI) -> Path:
    """An Alembic project: alembic.ini, migrations/script.py.mako, versions/NAME.py."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "alembic.ini").write_text(ini, encoding="utf-8")
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "script.py.mako").write_text(TEMPLATE, encoding="utf-8")
    for name, text in revisions.items():
        (versions / name).write_text(text, encoding="utf-8")
    return tmp_path


def alembic_graph(root: Path, config: str = "alembic.ini") -> tuple[set[str], set[str], dict[str, tuple[str, ...]]]:
    """Heads, bases and parents as Alembic itself sees them."""
    script = ScriptDirectory.from_config(Config(str(root / config)))
    parents = {s.revision: tuple(to_tuple(s.down_revision, default=())) for s in script.walk_revisions()}
    return set(script.get_heads()), set(script.get_bases()), parents


def environment(root: Path):  # type: ignore[no-untyped-def]
    environments, _ = discover([root])
    assert len(environments) == 1
    return environments[0]


def files_in(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "migrations" / "versions").iterdir())


def two_heads(tmp_path: Path, older: str = "c3") -> Path:
    """a1 <- b2, a1 <- c3; ``older`` has the earlier Create Date."""
    dates = {"b2": "2024-03-02 10:00:00", "c3": "2024-03-02 10:00:00"}
    dates[older] = "2024-03-01 09:00:00.123456"
    return project(tmp_path, {
        "0001_a1.py": revision_file("a1", date="2024-01-01 00:00:00"),
        "0002_b2.py": revision_file("b2", ("a1",), date=dates["b2"]),
        "0003_c3.py": revision_file("c3", ("a1",), date=dates["c3"], quote="'"),
    })


# -- merge ------------------------------------------------------------------------------------


def test_merge_of_the_blog_is_what_alembic_merge_writes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(BLOG, ours)
    shutil.copytree(BLOG, theirs)
    result = migls("merge", "-m", "merge comments and tags", "--rev-id", "m0e1r2g3e4", cwd=ours)
    assert result.returncode == 0, result.stderr
    name = "m0e1r2g3e4_merge_comments_and_tags.py"
    assert result.stdout.strip() == f"Wrote migrations/versions/{name}"
    subprocess.run([sys.executable, "-m", "alembic", "merge", "-m", "merge comments and tags",
                    "--rev-id", "m0e1r2g3e4", "heads"], cwd=theirs, check=True,
                   capture_output=True)
    mine = (ours / "migrations" / "versions" / name).read_text(encoding="utf-8")
    alembic = (theirs / "migrations" / "versions" / name).read_text(encoding="utf-8")
    date = re.compile(r"^Create Date: .*$", re.MULTILINE)
    assert date.sub("", mine) == date.sub("", alembic)
    heads, _, parents = alembic_graph(ours)
    assert heads == {"m0e1r2g3e4"}
    assert set(parents["m0e1r2g3e4"]) == {"6e8b3d5f2a97", "7f4a6c2e9b18"}
    assert migls("lint", "--select", "MG1", "--ignore", "MG108", ".", cwd=ours).returncode == 0


def test_merge_of_three_heads_leaves_one(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1"),
        "0002_b2.py": revision_file("b2", ("a1",)),
        "0003_c3.py": revision_file("c3", ("a1",)),
        "0004_d4.py": revision_file("d4", ("b2",)),
        "0005_e5.py": revision_file("e5", ("b2",)),
    })
    path = merge(environment(root), rev_id="m9")
    heads, bases, parents = alembic_graph(root)
    assert heads == {"m9"} and bases == {"a1"}
    assert parents["m9"] == ("c3", "d4", "e5")
    assert path.name == "m9_merge_c3_and_d4_and_e5.py"


def test_merge_of_named_heads_by_prefix_and_label(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1"),
        "0002_b2.py": revision_file("b2aaaa", ("a1",)),
        "0003_c3.py": revision_file("c3", ("a1",)).replace(
            "branch_labels = None", 'branch_labels = ("tags",)'),
        "0004_d4.py": revision_file("d4", ("a1",)),
    })
    merge(environment(root), ["b2", "tags"], "join", rev_id="m1")
    heads, _, parents = alembic_graph(root)
    assert heads == {"m1", "d4"}
    assert parents["m1"] == ("b2aaaa", "c3")


@pytest.mark.parametrize(("heads", "error"), [
    (["a1", "b2"], "'a1' is not a head"),
    (["zz", "b2"], "no revision 'zz'"),
    (["b2"], "at least two heads"),
])
def test_merge_refuses_what_is_not_two_heads(tmp_path: Path, heads: list[str], error: str) -> None:
    root = two_heads(tmp_path)
    before = files_in(root)
    result = migls("merge", *heads, cwd=root)
    assert result.returncode == 2
    assert result.stderr.startswith("migls: error:") and error in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files_in(root) == before


def test_merge_with_one_head_has_nothing_to_do(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_a1.py": revision_file("a1"),
                              "0002_b2.py": revision_file("b2", ("a1",))})
    result = migls("merge", cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == "migls: nothing to merge: one head (b2)"
    assert files_in(root) == ["0001_a1.py", "0002_b2.py"]


def test_merge_uses_the_file_template_and_a_toml_config(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    (root / "alembic.ini").unlink()
    (root / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
        'file_template = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"\n'
        "truncate_slug_length = 10\n", encoding="utf-8")
    result = migls("merge", "-m", "merge the two heads please", "--rev-id", "ff01", cwd=root)
    assert result.returncode == 0, result.stderr
    created = [n for n in files_in(root) if "ff01" in n]
    assert len(created) == 1
    assert re.fullmatch(r"\d{4}_\d\d_\d\d_ff01_merge_the_\.py", created[0]), created
    script = ScriptDirectory.from_config(Config(toml_file=str(root / "pyproject.toml")))
    assert script.get_heads() == ["ff01"]


def test_merge_goes_to_the_first_heads_version_location(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_a1.py": revision_file("a1")},
                   ini=INI + "version_locations = %(here)s/migrations/versions"
                               f"{os.pathsep}%(here)s/other\n")
    (root / "other").mkdir()
    (root / "other" / "0002_b2.py").write_text(revision_file("b2", ("a1",)))
    (root / "migrations" / "versions" / "0003_c3.py").write_text(revision_file("c3", ("a1",)))
    path = merge(environment(root), ["b2", "c3"], rev_id="m5")
    assert path.parent == root / "other"
    heads, _, _ = alembic_graph(root)
    assert heads == {"m5"}


@pytest.mark.parametrize("message", ['say """hi"""', "back\\N{slash"])
def test_a_message_that_breaks_the_file_writes_nothing(tmp_path: Path, message: str) -> None:
    root = two_heads(tmp_path)
    before = files_in(root)
    result = migls("merge", "-m", message, cwd=root)
    assert result.returncode == 2
    assert "not valid Python" in result.stderr and "nothing was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files_in(root) == before


def test_odd_but_valid_characters_in_the_message(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    message = "Ünïcode 'quotes' \"double\" ${not_mako} % 100% — merge"
    assert migls("merge", "-m", message, "--rev-id", "u1", cwd=root).returncode == 0
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    assert script.get_heads() == ["u1"]
    assert script.get_revision("u1").doc == message


def test_a_template_that_fails_to_render_writes_nothing(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    mako = root / "migrations" / "script.py.mako"
    mako.write_text(TEMPLATE.replace("${message}", "${message} ${tenant.name}"), encoding="utf-8")
    before = files_in(root)
    result = migls("merge", cwd=root)
    assert result.returncode == 2
    assert "script.py.mako: the template cannot be rendered" in result.stderr
    assert "at line 1 (\"\"\"${message} ${tenant.name})" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files_in(root) == before


def test_merge_needs_an_alembic_config(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text(revision_file("a1"))
    (versions / "b.py").write_text(revision_file("b2", ("a1",)))
    (versions / "c.py").write_text(revision_file("c3", ("a1",)))
    result = migls("merge", cwd=versions)
    assert result.returncode == 2 and "script.py.mako" in result.stderr


# -- rebase -----------------------------------------------------------------------------------


def test_rebase_moves_one_head_onto_the_other(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    result = migls("rebase", "c3", "--onto", "b2", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Rewrote migrations/versions/0003_c3.py"
    text = (root / "migrations" / "versions" / "0003_c3.py").read_text()
    assert "down_revision = 'b2'\n" in text  # the file's own quotes
    assert "Revises: b2\n" in text
    heads, bases, parents = alembic_graph(root)
    assert heads == {"c3"} and bases == {"a1"} and parents["c3"] == ("b2",)
    lint = json.loads(migls("lint", "--format", "json", ".", cwd=root).stdout)
    assert lint == []
    again = migls("rebase", "c3", "--onto", "b2", cwd=root)
    assert again.returncode == 1 and "already revises 'b2'" in again.stderr


def test_rebase_of_a_merge_keeps_the_parents_the_head_lacks(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1"),
        "0002_b2.py": revision_file("b2", ("a1",)),
        "0003_c3.py": revision_file("c3", ("a1",)),
        "0004_d4.py": revision_file("d4", ("a1",)),
        "0005_m5.py": revision_file("m5", ("b2", "c3")),
    })
    write_changes(rebase(environment(root), "m5", "d4"))
    text = (root / "migrations" / "versions" / "0005_m5.py").read_text()
    assert 'down_revision = ("d4", "b2", "c3")\n' in text and "Revises: d4, b2, c3\n" in text
    heads, _, parents = alembic_graph(root)
    assert heads == {"m5"} and parents["m5"] == ("d4", "b2", "c3")


def test_rebase_keeps_encoding_line_endings_and_an_empty_revises(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    path = root / "migrations" / "versions" / "0003_c3.py"
    text = "# -*- coding: latin-1 -*-\n# Café\n" + path.read_text().replace("Revises: a1", "Revises:")
    path.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    write_changes(rebase(environment(root), "c3", "b2"))
    data = path.read_bytes()
    assert b"\r\nRevises: b2\r\n" in data and b"Caf\xe9" in data
    assert b"down_revision = 'b2'\r\n" in data
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("revision", "onto", "error"), [
    ("a1", "b2", "that would be a cycle"),
    ("c3", "a1", "already revises 'a1'"),
    ("c3", "nope", "no revision 'nope'"),
    ("zz", "b2", "no revision 'zz'"),
])
def test_rebase_refusals(tmp_path: Path, revision: str, onto: str, error: str) -> None:
    root = two_heads(tmp_path)
    before = {p: p.read_bytes() for p in (root / "migrations" / "versions").iterdir()}
    result = migls("rebase", revision, "--onto", onto, cwd=root)
    assert result.returncode == (1 if "already" in error else 2)
    assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in (root / "migrations" / "versions").iterdir()} == before


def test_rebase_onto_a_revision_that_is_not_a_head(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1"),
        "0002_b2.py": revision_file("b2", ("a1",)),
        "0003_c3.py": revision_file("c3", ("a1",)),
        "0004_d4.py": revision_file("d4", ("b2",)),
    })
    result = migls("rebase", "c3", "--onto", "b2", cwd=root)
    assert result.returncode == 2
    assert "'b2' is not a head (it is followed by d4); rebase onto a head: " in result.stderr


def test_rebase_refuses_a_dynamic_down_revision(tmp_path: Path) -> None:
    root = two_heads(tmp_path)
    path = root / "migrations" / "versions" / "0003_c3.py"
    path.write_text(path.read_text().replace("down_revision = 'a1'", "down_revision = PARENT"))
    with pytest.raises(RevisionCommandError, match="MG001/MG003"):
        rebase(environment(root), "c3", "b2")


def test_rebase_api_raises_nothing_to_do(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_a1.py": revision_file("a1"),
                              "0002_b2.py": revision_file("b2", ("a1",))})
    with pytest.raises(NothingToDo):
        rebase(environment(root), "b2", "a1")


# -- the MG103 fix ------------------------------------------------------------------------------


def test_only_the_newer_head_gets_the_fix(tmp_path: Path) -> None:
    for older, newer in (("c3", "b2"), ("b2", "c3")):
        root = two_heads(tmp_path / older, older=older)
        found = json.loads(migls("lint", "--format", "json", ".", cwd=root).stdout)
        fixed = {d["path"].rsplit("_", 1)[-1][:-3]: d["fix"] for d in found if d["code"] == "MG103"}
        assert set(fixed) == {"b2", "c3"}
        assert fixed[older] is None
        assert fixed[newer]["safety"] == "unsafe"
        assert f"onto the other head '{older}'" in fixed[newer]["title"]


@pytest.mark.parametrize("older", ["b2", "c3"])
def test_unsafe_fixes_rebase_the_newer_head_once(tmp_path: Path, older: str) -> None:
    root = two_heads(tmp_path, older=older)
    result = migls("lint", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert "Fixed 1 problem." in result.stderr
    heads, _, parents = alembic_graph(root)
    newer = {"b2", "c3"} - {older}
    assert heads == newer and parents[newer.pop()] == (older,)
    assert "Fixed 0 problems." in migls("lint", "--fix", "--unsafe-fixes", ".", cwd=root).stderr


def chain_is_single(root: Path) -> None:
    heads, bases, parents = alembic_graph(root)
    assert len(heads) == 1 and len(bases) == 1
    children: dict[str, int] = {}
    for rev, ps in parents.items():
        assert len(ps) <= 1, (rev, ps)
        for p in ps:
            children[p] = children.get(p, 0) + 1
    assert all(count == 1 for count in children.values()), children


@pytest.mark.parametrize("dated", [True, False])
def test_three_and_four_heads_become_one_chain_in_one_run(tmp_path: Path, dated: bool) -> None:
    def d(day: int) -> str | None:
        return f"2024-05-{day:02d} 12:00:00" if dated else None

    # a1 - b2 - c3 ; heads e5 (on a1), f6 (on b2), g7 (on c3), h8 (on b2). Dates do not follow
    # the file names, so the two orders differ.
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1", date=d(1)),
        "0002_b2.py": revision_file("b2", ("a1",), date=d(2)),
        "0003_c3.py": revision_file("c3", ("b2",), date=d(3)),
        "0005_e5.py": revision_file("e5", ("a1",), date=d(9)),
        "0006_f6.py": revision_file("f6", ("b2",), date=d(5)),
        "0007_g7.py": revision_file("g7", ("c3",), date=d(8)),
        "0008_h8.py": revision_file("h8", ("b2",), date=d(4)),
    })
    result = migls("lint", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert "Fixed 3 problems." in result.stderr, result.stderr
    chain_is_single(root)
    _, _, parents = alembic_graph(root)
    if dated:  # oldest branch first: c3-g7 (c3 is older than every other branch's first)
        assert parents["h8"] == ("g7",) and parents["f6"] == ("h8",) and parents["e5"] == ("f6",)
    else:  # by file path: c3-g7's first file 0003 < e5 < f6 < h8
        assert parents["e5"] == ("g7",) and parents["f6"] == ("e5",) and parents["h8"] == ("f6",)
    assert "Fixed 0 problems." in migls("lint", "--fix", "--unsafe-fixes", ".", cwd=root).stderr


def test_head_moves_never_form_a_cycle() -> None:
    files = {f"{i:04d}_{name}.py": f'revision = "{name}"\ndown_revision = "a"\n'
             for i, name in enumerate("bcdefg", start=2)}
    files["0001_a.py"] = 'revision = "a"\ndown_revision = None\n'
    graph = lint_sources(files).graph
    moves = head_moves(graph)
    assert [(m.revision, m.onto) for m in moves] == [
        ("c", "b"), ("d", "c"), ("e", "d"), ("f", "e"), ("g", "f")]


def test_a_branch_of_several_revisions_is_moved_by_the_rebase_command(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "0001_a1.py": revision_file("a1"),
        "0002_b2.py": revision_file("b2", ("a1",), date="2024-01-01 00:00:00"),
        "0003_c3.py": revision_file("c3", ("a1",), date="2024-02-01 00:00:00"),
        "0004_d4.py": revision_file("d4", ("c3",), date="2024-02-02 00:00:00"),
    })
    found = json.loads(migls("lint", "--format", "json", ".", cwd=root).stdout)
    assert [d["fix"] for d in found if d["code"] == "MG103"] == [None, None]
    write_changes(rebase(environment(root), "c3", "b2"))
    heads, _, parents = alembic_graph(root)
    assert heads == {"d4"} and parents["c3"] == ("b2",)
