"""Bad input never crashes migls: a broken file is a diagnostic (MG001, MG002) at its place,
a broken configuration or path is exit 2 with one line on stderr, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def migls(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "migls", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, encoding="utf-8", errors="replace",
                            timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
    return result


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("migls: error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


GOOD = b'revision = "a1"\ndown_revision = None\n'


def lint_file(tmp_path: Path, data: bytes, *args: str) -> list[dict[str, object]]:
    """Lint a versions directory with a good base revision and ``data`` as 0002_x.py;
    the findings in 0002_x.py."""
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_bytes(GOOD)
    (versions / "0002_x.py").write_bytes(data)
    result = migls("lint", "--format", "json", *args, "versions", cwd=tmp_path)
    assert result.stderr == ""
    found = json.loads(result.stdout)
    assert all(d["path"] == "versions/0002_x.py" for d in found), found
    assert result.returncode == (1 if found else 0)
    return found


def where(found: list[dict[str, object]]) -> list[tuple[str, object, object]]:
    return [(str(d["code"]), d["line"], d["column"]) for d in found]


# -- files -------------------------------------------------------------------------------------

def test_syntax_error(tmp_path: Path) -> None:
    found = lint_file(tmp_path, b'revision = "b2"\ndown_revision = "a1"\n\ndef upgrade(:\n    pass\n')
    assert where(found) == [("MG001", 4, 13)]
    assert "syntax" in str(found[0]["message"])


def test_syntax_error_keeps_the_graph(tmp_path: Path) -> None:
    """The broken file's revision stays in the graph: its child has a parent, and there is
    no second head or base because of it."""
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_bytes(GOOD)
    (versions / "0002_b.py").write_bytes(
        b'revision = "b2"\ndown_revision = "a1"\n\ndef upgrade(:\n    pass\n')
    (versions / "0003_c.py").write_bytes(b'revision = "c3"\ndown_revision = "b2"\n')
    result = migls("lint", "--format", "json", "versions", cwd=tmp_path)
    assert [(d["path"], d["code"]) for d in json.loads(result.stdout)] == [
        ("versions/0002_b.py", "MG001")]


def test_binary_file(tmp_path: Path) -> None:
    found = lint_file(tmp_path, b'revision = "b2"\n\x00\x01\x02\xff\xfe binary\n')
    assert where(found) == [("MG001", 2, 1)]
    assert "binary" in str(found[0]["message"])


def test_non_utf8_without_a_coding_cookie(tmp_path: Path) -> None:
    found = lint_file(tmp_path, 'revision = "b2"\ndown_revision = "a1"\n# café\n'.encode("latin-1"))
    assert where(found) == [("MG001", 3, 6)]
    assert "utf-8" in str(found[0]["message"]).lower()


def test_latin1_with_a_coding_cookie(tmp_path: Path) -> None:
    data = '# -*- coding: latin-1 -*-\n"""Café."""\nrevision = "b2"\ndown_revision = "zz"\n'
    found = lint_file(tmp_path, data.encode("latin-1"))
    assert where(found) == [("MG101", 4, 17)]  # read, and its parent checked


def test_a_wrong_coding_cookie(tmp_path: Path) -> None:
    found = lint_file(tmp_path, b'# -*- coding: no-such-codec -*-\nrevision = "b2"\n')
    assert [d["code"] for d in found] == ["MG001"]


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbfrevision = "b2"\r\ndown_revision = "zz"\r\n'
    assert where(lint_file(tmp_path, data)) == [("MG101", 2, 17)]


def test_empty_file(tmp_path: Path) -> None:
    found = lint_file(tmp_path, b"")
    assert where(found) == [("MG002", 1, 1)]


def test_file_without_a_revision(tmp_path: Path) -> None:
    assert [d["code"] for d in lint_file(tmp_path, b"import os\n")] == ["MG002"]


def test_deeply_nested_expression(tmp_path: Path) -> None:
    data = ('revision = "b2"\ndown_revision = "a1"\nx = ' + "(" * 2000 + "1" + ")" * 2000 + "\n")
    found = lint_file(tmp_path, data.encode())
    assert [d["code"] for d in found] == ["MG001"]


def test_more_nested_parentheses_than_cpython_accepts(tmp_path: Path) -> None:
    data = ('revision = "b2"\ndown_revision = "a1"\nx = ' + "(" * 500 + "1" + ")" * 500 + "\n")
    found = lint_file(tmp_path, data.encode())
    assert [d["code"] for d in found] == ["MG001"]
    assert found[0]["line"] == 3


def test_nested_parentheses_within_cpython_limits(tmp_path: Path) -> None:
    data = ('revision = "b2"\ndown_revision = "zz"\nx = ' + "(" * 150 + "1" + ")" * 150 + "\n")
    assert [d["code"] for d in lint_file(tmp_path, data.encode())] == ["MG101"]


DEEP_BUT_VALID = {
    # CPython compiles these; their syntax trees are ~500-1000 levels deep
    "unary": "x = " + "-" * 1000 + "1\n",
    "sum": "x = " + " + ".join(["1"] * 1000) + "\n",
    "sql": "def upgrade():\n    op.execute(\n" + "".join(
        f'        "INSERT INTO t VALUES ({i});\\n"\n' for i in range(600)) + "    )\n\ndef downgrade():\n    pass\n",
}


@pytest.mark.parametrize("code", sorted(DEEP_BUT_VALID))
def test_deeply_nested_valid_code(code: str, tmp_path: Path) -> None:
    data = 'revision = "b2"\ndown_revision = "zz"\n' + DEEP_BUT_VALID[code]
    compile(data, "0002_x.py", "exec")
    assert [d["code"] for d in lint_file(tmp_path, data.encode())] == ["MG101"]


def test_huge_string_literal(tmp_path: Path) -> None:
    data = b'revision = "b2"\ndown_revision = "zz"\nx = "' + b"a" * 20_000_000 + b'"\n'
    assert where(lint_file(tmp_path, data)) == [("MG101", 2, 17)]


def test_huge_revision_id(tmp_path: Path) -> None:
    data = b'revision = "' + b"b" * 100_000 + b'"\ndown_revision = "a1"\n'
    assert lint_file(tmp_path, data) == []


def test_a_directory_named_like_a_revision(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    (versions / "0002_dir.py").mkdir(parents=True)
    (versions / "0001_a.py").write_bytes(GOOD)
    assert migls("lint", "versions", cwd=tmp_path).returncode == 0


# -- configuration and paths -------------------------------------------------------------------

def env(tmp_path: Path, ini: str) -> Path:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "versions" / "0001_a.py").write_bytes(GOOD)
    (tmp_path / "alembic.ini").write_text(ini)
    return tmp_path


def test_missing_alembic_config(tmp_path: Path) -> None:
    one_line_error(migls("lint", "--alembic-config", "nope.ini", cwd=tmp_path), "nope.ini")


def test_alembic_config_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "conf.ini").mkdir()
    one_line_error(migls("lint", "--alembic-config", "conf.ini", cwd=tmp_path), "conf.ini")


@pytest.mark.parametrize("ini", [
    "this is not an ini file\n",
    "[alembic]\nscript_location = migrations\nscript_location = again\n",  # duplicate key
    "[alembic\nscript_location = migrations\n",
])
def test_broken_alembic_ini(ini: str, tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=env(tmp_path, ini)), "alembic.ini")


@pytest.mark.parametrize("ini", [
    "[alembic]\nscript_location = %(nope)s/migrations\n",
    "[alembic]\nscript_location = %(here/migrations\n",
    "[alembic]\nscript_location = migrations\nversion_locations = %(here)s/%(x)s\n",
])
def test_bad_interpolation(ini: str, tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=env(tmp_path, ini)), "alembic.ini")


def test_alembic_ini_not_utf8(tmp_path: Path) -> None:
    root = env(tmp_path, "")
    (root / "alembic.ini").write_bytes(b"[alembic]\nscript_location = migr\xe9\n")
    one_line_error(migls("lint", cwd=root), "alembic.ini")


def test_alembic_ini_without_script_location(tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=env(tmp_path, "[alembic]\nsqlalchemy.url = sqlite://\n")),
                   "script_location")


def test_script_location_that_does_not_exist(tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=env(tmp_path, "[alembic]\nscript_location = nowhere\n")),
                   "script_location", "nowhere")


def test_package_location_that_cannot_be_found(tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=env(tmp_path, "[alembic]\nscript_location = nopkg:mig\n")),
                   "nopkg")


def test_bad_path_separator(tmp_path: Path) -> None:
    ini = "[alembic]\nscript_location = migrations\nversion_locations = a b\npath_separator = tab\n"
    one_line_error(migls("lint", cwd=env(tmp_path, ini)), "path_separator")


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    one_line_error(migls("lint", "does/not/exist", cwd=tmp_path), "does/not/exist")


def test_directory_without_an_environment(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n")
    one_line_error(migls("lint", cwd=tmp_path), "no Alembic environment")


@pytest.mark.parametrize(("name", "data", "word"), [
    ("pyproject.toml", b'[tool.alembic\nscript_location = "migrations"\n', "invalid TOML"),
    ("pyproject.toml", b"[tool.alembic]\nscript_location = 3\n", "script_location"),
    ("pyproject.toml", b'[tool.alembic]\nscript_location = "%(nope)s"\n', "script_location"),
    ("pyproject.toml", b'[tool.alembic]\nscript_location = "migrations"\n'
                       b'version_locations = "notalist"\n', "version_locations"),
    ("pyproject.toml", b'[tool.alembic]\nscript_location = "migr\xe9"\n', "pyproject.toml"),
    ("migls.toml", b'select = "\xff"\n', "migls.toml"),
    ("migls.toml", b"select = \n", "invalid TOML"),
])
def test_broken_toml(name: str, data: bytes, word: str, tmp_path: Path) -> None:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "versions" / "0001_a.py").write_bytes(GOOD)
    if name == "migls.toml":
        (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (tmp_path / name).write_bytes(data)
    one_line_error(migls("lint", cwd=tmp_path), word)


def test_a_broken_file_is_read_without_warnings() -> None:
    """CPython's parser warns (to stderr, e.g. in an editor's server log) about invalid
    escapes and number literals while judging a broken file; the finding is MG001 and
    nothing else is printed."""
    import warnings

    from migls.engine import read_file
    text = 'revision = "a1"\ndown_revision = None\npattern = "\\d+"\nx = 1_\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        file = read_file("versions/a1.py", text.encode())
    assert file.syntax_error is not None and file.syntax_error[1].line == 4
    assert [str(w.message) for w in caught] == []
