"""``[tool.migls]`` / ``migls.toml``: every key of :data:`migls.config.KEYS`, its bad values,
and its effect on a real ``migls lint`` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migls.config import KEYS, ConfigError, Settings, parse_settings
from migls.rule import Severity

#: A valid TOML value for each key, and what it is parsed to.
VALID: dict[str, tuple[str, Any]] = {
    "select": ('["MG1", " MG2 "]', ("MG1", "MG2")),
    "extend-select": ('["MG101"]', ("MG101",)),
    "ignore": ('"MG108"', ("MG108",)),
    "severity": ('{ MG101 = "warning", empty-downgrade = "info" }',
                 {"MG101": Severity.WARNING, "empty-downgrade": Severity.INFO}),
    "per-file-ignores": ('{ "versions/0001_*.py" = ["MG2"] }', {"versions/0001_*.py": ("MG2",)}),
    "downgrade": ('"optional"', "optional"),
    "dialect": ('"sqlite"', "sqlite"),
    "postgres-version": ('"15.3"', 15),
    "require-reason": ("true", True),
    "application-packages": ('["myapp", "myapp_utils"]', ("myapp", "myapp_utils")),
    "lint-downgrade": ("true", True),
    "fail-on": ('"error"', Severity.ERROR),
}

#: Bad TOML values for each key.
BAD: dict[str, list[str]] = {
    "select": ["3", '["MG1", 2]'],
    "extend-select": ["{ a = 1 }"],
    "ignore": ["[1]", "false"],
    "severity": ['"error"', '{ MG101 = "fatal" }', "{ MG101 = 1 }"],
    "per-file-ignores": ['["x"]', '{ "x" = 3 }'],
    "downgrade": ['"sometimes"', "true"],
    "dialect": ['"db2"', "1"],
    "postgres-version": ["8", '"latest"', "true", "99"],
    "require-reason": ['"yes"', "1"],
    "application-packages": ["5"],
    "lint-downgrade": ["1"],
    "fail-on": ['"never"', "2"],
}


def migls(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "migls", *args], cwd=cwd, capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    return result


def found(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    """(file name, code, severity) of each finding."""
    return [(Path(d["path"]).name, d["code"], d["severity"]) for d in json.loads(result.stdout)]


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


# The fixtures are about MG2 findings; the lock_timeout keeps MG312 (another concern) out.
UPGRADE_ONLY = ('revision = "{rev}"\ndown_revision = {parent}\n\n\ndef upgrade():\n'
                '    op.execute("SET LOCAL lock_timeout = \'5s\'")\n'
                '    op.add_column("users", sa.Column("x", sa.Text()))\n')
EMPTY_DOWNGRADE = UPGRADE_ONLY + "\n\ndef downgrade():\n    pass\n"


def project(root: Path, config: str | None = None, config_file: str = "pyproject.toml") -> Path:
    """An environment with an empty downgrade (MG202) in 0001 and 0002, and a missing one
    (MG201) in 0003."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (versions / "0001_a.py").write_text(EMPTY_DOWNGRADE.format(rev="a1", parent=None))
    (versions / "0002_b.py").write_text(EMPTY_DOWNGRADE.format(rev="b2", parent='"a1"'))
    (versions / "0003_c.py").write_text(UPGRADE_ONLY.format(rev="c3", parent='"b2"'))
    if config is not None:
        header = "[tool.migls]\n" if config_file == "pyproject.toml" else ""
        (root / config_file).write_text(header + config)
    return root


BASELINE = [("0001_a.py", "MG202", "warning"), ("0002_b.py", "MG202", "warning"),
            ("0003_c.py", "MG201", "warning")]


# -- parsing --------------------------------------------------------------------------------

def test_the_tables_cover_every_key() -> None:
    assert set(VALID) == set(KEYS)
    assert set(BAD) == set(KEYS)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_key_is_parsed(key: str, tmp_path: Path) -> None:
    import tomllib
    text, expected = VALID[key]
    table = tomllib.loads(f"{key} = {text}\n")
    settings = parse_settings(table, None, "test")
    attribute = KEYS[key][0]
    assert getattr(settings, attribute) == expected
    assert getattr(Settings(), attribute) != expected  # it changed something


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_key_is_accepted_by_the_cli(key: str, tmp_path: Path) -> None:
    text, _ = VALID[key]
    result = migls("lint", "--format", "json", cwd=project(tmp_path, f"{key} = {text}\n"))
    assert result.returncode in (0, 1), result.stderr


@pytest.mark.parametrize(("key", "value"), [(k, v) for k in sorted(BAD) for v in BAD[k]])
def test_a_bad_value_names_the_key(key: str, value: str, tmp_path: Path) -> None:
    import tomllib
    with pytest.raises(ConfigError, match=key):
        parse_settings(tomllib.loads(f"{key} = {value}\n"), None, "test")
    result = migls("lint", cwd=project(tmp_path, f"{key} = {value}\n"))
    one_line_error(result, f"'{key}", "pyproject.toml")
    assert result.stdout == ""


def test_unknown_key(tmp_path: Path) -> None:
    result = migls("lint", cwd=project(tmp_path, 'downgrades = "optional"\n'))
    one_line_error(result, "unknown key 'downgrades'", "[tool.migls]")


def test_invalid_toml(tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=project(tmp_path, "select = [\n")), "pyproject.toml",
                   "invalid TOML")


def test_tool_migls_must_be_a_table(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool]\nmigls = "strict"\n')
    one_line_error(migls("lint", cwd=tmp_path), "[tool.migls]")


@pytest.mark.parametrize("config", [
    'select = ["MG1", "no-such-rule"]',
    'extend-select = ["no-such-rule"]',
    'ignore = ["no-such-rule"]',
    'severity = { no-such-rule = "error" }',
    'per-file-ignores = { "*.py" = ["no-such-rule"] }',
])
def test_unknown_selector(config: str, tmp_path: Path) -> None:
    one_line_error(migls("lint", cwd=project(tmp_path, config + "\n")), "no-such-rule")


def test_postgres_version_forms() -> None:
    assert parse_settings({"postgres-version": 12}, None, "t").postgres_version == 12
    assert parse_settings({"postgres-version": "16"}, None, "t").postgres_version == 16
    assert Settings().postgres_version == 14


# -- effects -------------------------------------------------------------------------------

def test_no_configuration(tmp_path: Path) -> None:
    assert found(migls("lint", "--format", "json", cwd=project(tmp_path))) == BASELINE


@pytest.mark.parametrize("config", ['severity = { MG202 = "error" }',
                                    'severity = { empty-downgrade = "error" }'])
def test_severity_override(config: str, tmp_path: Path) -> None:
    root = project(tmp_path, config + "\n")
    assert found(migls("lint", "--format", "json", cwd=root)) == [
        ("0001_a.py", "MG202", "error"), ("0002_b.py", "MG202", "error"),
        ("0003_c.py", "MG201", "warning")]
    assert migls("lint", "--fail-on", "error", cwd=root).returncode == 1


def test_severity_info_does_not_fail(tmp_path: Path) -> None:
    root = project(tmp_path, 'severity = { MG202 = "info", MG201 = "info" }\n')
    result = migls("lint", cwd=root)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "Found 3 problems (3 infos) in 3 revision files."


def test_fail_on_key(tmp_path: Path) -> None:
    root = project(tmp_path, 'fail-on = "error"\n')
    assert migls("lint", cwd=root).returncode == 0  # warnings only
    assert migls("lint", "--fail-on", "warning", cwd=root).returncode == 1  # the CLI wins


@pytest.mark.parametrize("glob", ["migrations/versions/0001_*.py",  # relative to the config
                                  "0001_a.py",                       # a file name
                                  "*/0001_*"])
def test_per_file_ignores(glob: str, tmp_path: Path) -> None:
    root = project(tmp_path, f'per-file-ignores = {{ "{glob}" = ["empty-downgrade"] }}\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[1:]


def test_per_file_ignores_of_a_directory(tmp_path: Path) -> None:
    root = project(tmp_path, 'per-file-ignores = { "migrations/versions" = ["MG2"] }\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == []


def test_downgrade_optional(tmp_path: Path) -> None:
    root = project(tmp_path, 'downgrade = "optional"\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == []
    # even when selected explicitly
    assert found(migls("lint", "--format", "json", "--select", "MG201,MG202", cwd=root)) == []


def test_downgrade_required(tmp_path: Path) -> None:
    root = project(tmp_path, 'downgrade = "required"\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE


def test_select_ignore_and_extend_select(tmp_path: Path) -> None:
    root = project(tmp_path, 'select = ["MG1"]\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == []
    root = project(tmp_path / "b", 'select = ["MG1"]\nextend-select = ["MG201"]\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[2:]
    # --select replaces `select` (extend-select still adds)
    assert found(migls("lint", "--format", "json", "--select", "MG202", cwd=root)) == (
        BASELINE[:2] + BASELINE[2:])
    root = project(tmp_path / "c", 'ignore = ["MG201"]\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[:2]
    # --ignore adds to `ignore`
    assert found(migls("lint", "--format", "json", "--ignore", "MG202", cwd=root)) == []


def test_migls_toml(tmp_path: Path) -> None:
    root = project(tmp_path, 'ignore = ["MG201"]\n', config_file="migls.toml")
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[:2]


def test_migls_toml_with_a_tool_table(tmp_path: Path) -> None:
    root = project(tmp_path, '[tool.migls]\nignore = ["MG201"]\n', config_file="migls.toml")
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[:2]


def test_migls_toml_wins_over_pyproject(tmp_path: Path) -> None:
    root = project(tmp_path, 'ignore = ["MG201"]\n', config_file="migls.toml")
    (root / "pyproject.toml").write_text('[tool.migls]\nignore = ["MG202"]\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[:2]


def test_the_nearest_configuration_wins(tmp_path: Path) -> None:
    (tmp_path / "migls.toml").write_text('ignore = ["MG2"]\n')
    root = project(tmp_path / "service", 'ignore = ["MG201"]\n')
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE[:2]
    # a pyproject.toml without [tool.migls] does not count: the parent's file applies
    (root / "pyproject.toml").write_text('[project]\nname = "service"\n')
    assert found(migls("lint", "--format", "json", str(root), cwd=tmp_path.parent)) == []


def test_a_parent_configuration_applies_when_linting_the_current_directory(
        tmp_path: Path) -> None:
    (tmp_path / "migls.toml").write_text('ignore = ["MG2"]\n')
    root = project(tmp_path / "service")
    assert found(migls("lint", "--format", "json", cwd=root)) == []


def test_configuration_is_not_read_past_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "migls.toml").write_text('ignore = ["MG2"]\n')
    root = project(tmp_path / "repo")
    (root / ".git").mkdir()
    assert found(migls("lint", "--format", "json", cwd=root)) == BASELINE


def test_require_reason(tmp_path: Path) -> None:
    root = project(tmp_path, "require-reason = true\n")
    versions = root / "migrations" / "versions"
    for name, comment in (("0001_a.py", "# migls: ignore[MG202]"),
                          ("0002_b.py", "# migls: ignore[MG202] -- never rolled back")):
        path = versions / name
        path.write_text(path.read_text().replace("def downgrade():", f"def downgrade():  {comment}"))
    result = found(migls("lint", "--format", "json", cwd=root))
    assert result == [("0001_a.py", "MG004", "warning"), ("0003_c.py", "MG201", "warning")]


def test_settings_error_wins_over_findings(tmp_path: Path) -> None:
    """A broken configuration is exit 2 even with --exit-zero, and prints no report."""
    result = migls("lint", "--exit-zero", cwd=project(tmp_path, 'fail-on = "sometimes"\n'))
    one_line_error(result, "'fail-on'")
    assert result.stdout == ""
    assert os.path.exists(tmp_path / "pyproject.toml")
