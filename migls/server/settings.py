"""The editor's settings for migls: read from ``initializationOptions`` and
``workspace/didChangeConfiguration``, validated key by key. A bad value falls back to that
key's default with a warning for the user; it never stops the server.

They apply on top of the project's ``[tool.migls]`` (or ``migls.toml``), the way the CLI's
options do: ``select`` replaces the configured selection, ``ignore`` adds to it, ``severity``
overrides per rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migls.registry import all_rules, rule_by_selector
from migls.rule import Severity

#: Setting (as documented, camelCase) -> what it does; the README's table lists the same.
DOCUMENTED = {
    "select": "rule codes, code prefixes or names to enable (replaces the project's `select`)",
    "ignore": "rule codes, code prefixes or names to disable (added to the project's `ignore`)",
    "severity": "rule or code prefix -> \"error\" | \"warning\" | \"info\" (over the "
                "project's `severity`)",
    "fixAll": "whether `source.fixAll.migls` applies the safe fixes (default true)",
    "alembicConfig": "path of the Alembic config to use (relative to the workspace folder); "
                     "default: every alembic.ini / [tool.alembic] found in the workspace",
}


class BadSetting(Exception):
    """A setting's value that cannot be used (its message says why)."""


@dataclass(frozen=True)
class ClientSettings:
    """The editor's settings (defaults: none of them change what the project says)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    fix_all: bool = True
    alembic_config: str | None = None


@dataclass(frozen=True)
class ParsedSettings:
    """The settings, and what was wrong with the given ones."""

    settings: ClientSettings
    #: One sentence per bad value (each fell back to its default).
    problems: tuple[str, ...] = ()
    #: Keys migls does not know (ignored; editors often send more than ours).
    unknown: tuple[str, ...] = ()


_KEYS = {"select": "select", "ignore": "ignore", "severity": "severity",
         "fixall": "fix_all", "alembicconfig": "alembic_config"}


def unwrap(raw: Any) -> Any:
    """The migls settings inside what editors send: ``{"settings": ...}`` (VS Code
    extensions, ruff style; a list of per-workspace settings takes the first),
    ``{"migls": {...}}`` (didChangeConfiguration of the whole configuration), or the table
    itself."""
    for _ in range(3):
        if isinstance(raw, Mapping) and isinstance(raw.get("migls"), Mapping):
            raw = raw["migls"]
        elif isinstance(raw, Mapping) and "settings" in raw and len(raw) <= 2:
            raw = raw["settings"]
        elif isinstance(raw, list):
            raw = raw[0] if raw else {}
        else:
            break
    return raw


def parse_client_settings(raw: Any) -> ParsedSettings:
    """Validate the editor's settings; unknown keys are reported, not fatal."""
    raw = unwrap(raw)
    if raw is None:
        return ParsedSettings(ClientSettings())
    if not isinstance(raw, Mapping):
        return ParsedSettings(ClientSettings(), (f"settings must be an object, not {raw!r}",))
    values: dict[str, Any] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for key, value in raw.items():
        attribute = _KEYS.get(str(key).replace("-", "").replace("_", "").lower())
        if attribute is None:
            if str(key) not in ("workspace", "cwd", "globalSettings"):
                unknown.append(str(key))
            continue
        try:
            parsed = _PARSERS[attribute](value)
        except BadSetting as exc:
            problems.append(f"'{key}': {exc}; using the default")
            continue
        if parsed is not None or attribute in ("select", "alembic_config"):
            values[attribute] = parsed
    return ParsedSettings(ClientSettings(**values), tuple(problems), tuple(unknown))


def _selectors(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        raise BadSetting(f"expected a list of rule codes, prefixes or names, not {value!r}")
    for item in items:
        if not _names_a_rule(item):
            raise BadSetting(f"unknown rule selector '{item}'")
    return tuple(items)


def _names_a_rule(selector: str) -> bool:
    if selector.upper() == "ALL":
        return True
    return any(selector == rule.NAME or (selector[:1].isalpha()
                                         and rule.CODE.startswith(selector.upper()))
               for rule in all_rules())


def _select(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _selectors(value)


def _ignore(value: Any) -> tuple[str, ...]:
    return () if value is None else _selectors(value)


def _severity(value: Any) -> dict[str, Severity]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadSetting(f"expected an object of rule -> \"error\" | \"warning\" | \"info\", "
                         f"not {value!r}")
    chosen: list[tuple[int, list[str], Severity]] = []
    for selector, level in value.items():
        name = str(selector)
        rule = rule_by_selector(name)
        # A code prefix (MG3) sets a family; an exact code or name wins over it.
        codes = [rule.CODE] if rule is not None else [
            r.CODE for r in all_rules() if name[:1].isalpha() and r.CODE.startswith(name.upper())]
        if not codes:
            raise BadSetting(f"unknown rule '{name}'")
        try:
            severity = Severity.parse(level if isinstance(level, str) else "")
        except ValueError:
            raise BadSetting(f"'{name}' must be \"error\", \"warning\" or \"info\", "
                             f"not {level!r}") from None
        chosen.append((100 if rule is not None else len(name), codes, severity))
    out: dict[str, Severity] = {}
    for _, codes, severity in sorted(chosen, key=lambda item: item[0]):
        out.update(dict.fromkeys(codes, severity))
    return out


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadSetting(f"expected true or false, not {value!r}")
    return value


def _path(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadSetting(f"expected a path, not {value!r}")
    return value


_PARSERS = {"select": _select, "ignore": _ignore, "severity": _severity,
            "fix_all": _boolean, "alembic_config": _path}
