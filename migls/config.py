"""``[tool.migls]`` (pyproject.toml) or ``migls.toml``: reading and validating the settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migls.rule import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found]


class ConfigError(Exception):
    """A configuration problem, shown as one line (exit 2)."""


DOWNGRADE_POLICIES = ("required", "optional")
DIALECTS = ("postgresql", "sqlite", "mysql", "mariadb", "oracle", "mssql")


@dataclass(frozen=True)
class Settings:
    """The settings of one environment (defaults when nothing is configured)."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downgrade: str = "required"
    dialect: str | None = None
    postgres_version: int = 14
    require_reason: bool = False
    application_packages: tuple[str, ...] = ()
    lint_downgrade: bool = False
    fail_on: Severity = Severity.WARNING
    #: The file these settings came from (``None``: defaults).
    source: Path | None = None

    @property
    def root(self) -> Path | None:
        """The directory that relative settings (per-file-ignores) are relative to."""
        return self.source.parent if self.source is not None else None


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"'{key}' must be a list of strings")


def _parse_select(key: str, value: Any) -> tuple[str, ...]:
    return tuple(s.strip() for s in _strings(key, value))


def _parse_severity(key: str, value: Any) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be a table of rule = \"error\" | \"warning\" | \"info\"")
    out: dict[str, Severity] = {}
    for rule, level in value.items():
        try:
            out[rule] = Severity.parse(level if isinstance(level, str) else "")
        except ValueError:
            raise ConfigError(f"'{key}.{rule}' must be \"error\", \"warning\" or \"info\", "
                              f"not {level!r}") from None
    return out


def _parse_per_file_ignores(key: str, value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be a table of \"glob\" = [rules]")
    return {glob: _strings(f"{key}.{glob}", rules) for glob, rules in value.items()}


def _choice(choices: tuple[str, ...]) -> Any:
    def parse(key: str, value: Any) -> str:
        if value not in choices:
            raise ConfigError(f"'{key}' must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return str(value)
    return parse


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false, not {value!r}")
    return value


def _postgres_version(key: str, value: Any) -> int:
    if isinstance(value, str) and value.split(".")[0].isdigit():
        value = int(value.split(".")[0])
    if not isinstance(value, int) or isinstance(value, bool) or not 9 <= value <= 30:
        raise ConfigError(f"'{key}' must be a PostgreSQL major version such as 14, not {value!r}")
    return value


def _fail_on(key: str, value: Any) -> Severity:
    try:
        return Severity.parse(value if isinstance(value, str) else "")
    except ValueError:
        raise ConfigError(f"'{key}' must be \"error\", \"warning\" or \"info\", not {value!r}") from None


#: key in the file -> (attribute, parser)
KEYS: dict[str, tuple[str, Any]] = {
    "select": ("select", _parse_select),
    "extend-select": ("extend_select", _parse_select),
    "ignore": ("ignore", _parse_select),
    "severity": ("severity", _parse_severity),
    "per-file-ignores": ("per_file_ignores", _parse_per_file_ignores),
    "downgrade": ("downgrade", _choice(DOWNGRADE_POLICIES)),
    "dialect": ("dialect", _choice(DIALECTS)),
    "postgres-version": ("postgres_version", _postgres_version),
    "require-reason": ("require_reason", _boolean),
    "application-packages": ("application_packages", lambda k, v: _strings(k, v)),
    "lint-downgrade": ("lint_downgrade", _boolean),
    "fail-on": ("fail_on", _fail_on),
}


def parse_settings(table: dict[str, Any], source: Path | None, where: str) -> Settings:
    """Validate a ``[tool.migls]`` table. ``where`` names it in error messages."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{where}: unknown key '{key}' (known keys: {known})")
        attribute, parser = KEYS[key]
        try:
            values[attribute] = parser(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return replace(Settings(), source=source, **values)


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None


def find_settings(start: Path, stop: Path | None = None) -> Settings:
    """The settings that apply at ``start``: the nearest ``migls.toml`` or ``pyproject.toml``
    with a ``[tool.migls]`` table in ``start`` or above it (up to ``stop`` if given, and never
    past a repository root)."""
    start = start.resolve()  # "." has no parents to walk up to
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        migls_toml = candidate / "migls.toml"
        if migls_toml.is_file():
            data = load_toml(migls_toml)
            table = data.get("tool", {}).get("migls", data) if "tool" in data else data
            return parse_settings(table, migls_toml, str(migls_toml))
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            data = load_toml(pyproject)
            table = data.get("tool", {}).get("migls")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.migls] must be a table")
                return parse_settings(table, pyproject, f"{pyproject} [tool.migls]")
        if (candidate / ".git").exists() or candidate == stop:
            break
    return Settings()
