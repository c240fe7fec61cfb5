"""Discovery reads Alembic configuration exactly as Alembic does; Alembic's own ``Config``
and ``ScriptDirectory`` are the oracle (they only parse configuration here; nothing of the
project is imported)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.script.base import _only_source_rev_file

from migls.config import ConfigError
from migls.discovery import discover, read_alembic_config

REVISION = 'revision = "{rev}"\ndown_revision = {parent}\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _alembic_view(ini: Path | None, toml: Path | None) -> tuple[list[Path], list[Path]]:
    """What Alembic itself sees: version locations and the revision files it would load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = Config(file_=str(ini) if ini else None, toml_file=str(toml) if toml else None)
        script = ScriptDirectory.from_config(config)
        locations = [Path(p).resolve() for p in script._version_locations]
        files = [p.resolve() for loc in script._version_locations if Path(loc).exists()
                 for p in Script._list_py_dir(script, Path(loc))
                 if _only_source_rev_file.match(p.name)]
    return locations, files


CASES = {
    "plain": ("[alembic]\nscript_location = %(here)s/migrations\n", None, ["migrations/versions/a.py"]),
    "separator os": (
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
        "version_locations = %(here)s/migrations/versions:%(here)s/extra\n",
        None, ["migrations/versions/a.py", "extra/b.py"]),
    "separator space": (
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = space\n"
        "version_locations = %(here)s/one %(here)s/two\n",
        None, ["one/a.py", "two/b.py"]),
    "separator newline": (
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = newline\n"
        "version_locations =\n    %(here)s/one\n    %(here)s/two\n",
        None, ["one/a.py", "two/b.py"]),
    "legacy comma split": (
        "[alembic]\nscript_location = %(here)s/migrations\n"
        "version_locations = %(here)s/one, %(here)s/two\n",
        None, ["one/a.py", "two/b.py"]),
    "recursive": (
        "[alembic]\nscript_location = %(here)s/migrations\nrecursive_version_locations = true\n",
        None, ["migrations/versions/a.py", "migrations/versions/2024/b.py",
               "migrations/versions/2024/q1/c.py"]),
    "not recursive ignores subdirs": (
        "[alembic]\nscript_location = %(here)s/migrations\n",
        None, ["migrations/versions/a.py", "migrations/versions/2024/b.py"]),
    "toml only": (
        None,
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
        'version_locations = ["%(here)s/migrations/versions", "%(here)s/more"]\n',
        ["migrations/versions/a.py", "more/b.py"]),
    "toml recursive": (
        None,
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\nrecursive_version_locations = true\n',
        ["migrations/versions/x/a.py"]),
    "ini wins over toml": (
        "[alembic]\nscript_location = %(here)s/migrations\n",
        '[tool.alembic]\nscript_location = "%(here)s/elsewhere"\n',
        ["migrations/versions/a.py"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_discovery_agrees_with_alembic(tmp_path: Path, name: str) -> None:
    ini_text, toml_text, files = CASES[name]
    for i, relative in enumerate(files):
        _write(tmp_path / relative, REVISION.format(rev=f"r{i}", parent=None))
    _write(tmp_path / "migrations" / "versions" / "__init__.py", "")
    _write(tmp_path / "migrations" / "versions" / ".#lock.py", "")
    _write(tmp_path / "migrations" / "versions" / "__pycache__" / "a.cpython-311.py", "")
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    ini = _write(tmp_path / "alembic.ini", ini_text) if ini_text else None
    toml = _write(tmp_path / "pyproject.toml", toml_text) if toml_text else None

    env = read_alembic_config(ini, toml)
    locations, alembic_files = _alembic_view(ini, toml)
    assert [p.resolve() for p in env.version_locations] == locations
    assert env.recursive == ("recursive" in name and "not" not in name)
    assert sorted(p.resolve() for p in env.revision_paths()) == sorted(alembic_files)

    environments, explicit = discover([tmp_path])
    assert len(environments) == 1 and explicit == []


def test_several_environments_in_one_tree(tmp_path: Path) -> None:
    for name in ("service_a", "service_b"):
        _write(tmp_path / name / "alembic.ini", "[alembic]\nscript_location = migrations\n")
        _write(tmp_path / name / "migrations" / "versions" / "a.py", REVISION.format(rev="a", parent=None))
    environments, _ = discover([tmp_path])
    assert sorted(e.root.name for e in environments) == ["service_a", "service_b"]


def test_relative_script_location_is_taken_from_the_config_directory(tmp_path: Path) -> None:
    ini = _write(tmp_path / "proj" / "alembic.ini", "[alembic]\nscript_location = db/migrations\n")
    (tmp_path / "proj" / "db" / "migrations" / "versions").mkdir(parents=True)
    env = read_alembic_config(ini, None)
    assert env.version_locations == [(tmp_path / "proj" / "db" / "migrations" / "versions").resolve()]


def test_package_resource_location_is_found_on_disk_without_importing(tmp_path: Path) -> None:
    _write(tmp_path / "src" / "myapp" / "__init__.py", "raise SystemExit('imported!')\n")
    (tmp_path / "src" / "myapp" / "migrations" / "versions").mkdir(parents=True)
    ini = _write(tmp_path / "alembic.ini", "[alembic]\nscript_location = myapp:migrations\n")
    env = read_alembic_config(ini, None)
    assert env.script_location == (tmp_path / "src" / "myapp" / "migrations").resolve()


def test_bare_versions_directory(tmp_path: Path) -> None:
    _write(tmp_path / "versions" / "a.py", REVISION.format(rev="a", parent=None))
    environments, _ = discover([tmp_path / "versions"])
    assert len(environments) == 1 and environments[0].config_path is None


@pytest.mark.parametrize("ini_text, message", [
    ("[alembic]\nscript_location = nowhere\n", "does not exist"),
    ("[alembic]\nsqlalchemy.url = sqlite://\n", "script_location"),
    ("not an ini file\n", "not a valid Alembic config"),
    ("[alembic]\nscript_location = %(nothere)s/x\n", "script_location"),
    ("[alembic]\nscript_location = m\npath_separator = comma\nversion_locations = a\n", "path_separator"),
])
def test_broken_configs_are_one_line_errors(tmp_path: Path, ini_text: str, message: str) -> None:
    (tmp_path / "m").mkdir()
    ini = _write(tmp_path / "alembic.ini", ini_text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_alembic_config(ini, None)
    assert "\n" not in str(caught.value)


def test_a_file_linked_twice_is_read_once_as_alembic_loads_it(tmp_path: Path) -> None:
    real = _write(tmp_path / "migrations" / "versions" / "a.py",
                  REVISION.format(rev="r0", parent=None))
    (tmp_path / "migrations" / "versions" / "b.py").symlink_to(real)  # the same file again
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "c.py").symlink_to(real)  # and from another version location
    ini = _write(tmp_path / "alembic.ini",
                 "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
                 "version_locations = %(here)s/migrations/versions:%(here)s/extra\n")
    env = read_alembic_config(ini, None)
    assert [p.name for p in env.revision_paths()] == ["a.py"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Alembic warns "loaded twice! ignoring"
        script = ScriptDirectory.from_config(Config(str(ini)))
        assert [Path(s.path).name for s in script.walk_revisions()] == ["a.py"]
