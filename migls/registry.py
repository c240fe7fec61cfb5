"""The rule registry: rules come from the ``migls.rules`` entry point group, so a third-party
rule pack installs the same way as the built-in one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib.metadata import entry_points

from migls.config import ConfigError, Settings
from migls.rule import LintRule

CODE_PATTERN = re.compile(r"^[A-Z]+[0-9]{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[LintRule], ...]:
    """Every installed rule, sorted by code."""
    rules: dict[str, type[LintRule]] = {}
    for entry in entry_points(group="migls.rules"):
        for rule in entry.load():
            if rule.CODE in rules and rules[rule.CODE] is not rule:
                raise ConfigError(f"rule code {rule.CODE} is defined twice "
                                  f"({rules[rule.CODE].__module__} and {rule.__module__})")
            rules[rule.CODE] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.CODE))


def rule_by_selector(name: str) -> type[LintRule] | None:
    """The rule whose code or name is ``name``."""
    for rule in all_rules():
        if name.upper() == rule.CODE or name == rule.NAME:
            return rule
    return None


def _specificity(selector: str, rule: type[LintRule]) -> int:
    """How precisely ``selector`` names ``rule``: 0 not at all, then longer is more precise."""
    if selector.upper() == "ALL":
        return 1
    if selector == rule.NAME or selector.upper() == rule.CODE:
        return 100
    if rule.CODE.startswith(selector.upper()) and selector[:1].isalpha():
        return 1 + len(selector)
    return 0


def validate_selectors(selectors: Iterable[str], where: str) -> None:
    """A selector must name at least one rule (code, code prefix or name)."""
    for selector in selectors:
        if not any(_specificity(selector, rule) for rule in all_rules()):
            raise ConfigError(f"{where}: unknown rule selector '{selector}'")


def select_rules(settings: Settings, cli_select: Sequence[str] | None = None,
                 cli_ignore: Sequence[str] = (), cli_where: str = "arguments") -> list[type[LintRule]]:
    """The enabled rules, ruff-style: the most specific matching selector wins, and an
    ignore wins over a select that is exactly as specific. Opt-in rules need a selector
    more specific than ``MG``/``ALL``."""
    where = str(settings.source) if settings.source else "configuration"
    select = list(cli_select) if cli_select is not None else (
        list(settings.select) if settings.select is not None else None)
    select_extra = list(settings.extend_select)
    ignore = list(settings.ignore) + list(cli_ignore)
    validate_selectors(cli_select or (), f"{cli_where}: --select")
    validate_selectors(cli_ignore, f"{cli_where}: --ignore")
    validate_selectors([*(settings.select or ()), *select_extra, *settings.ignore], where)
    for name in settings.severity:
        if rule_by_selector(name) is None:
            raise ConfigError(f"{where}: 'severity' names unknown rule '{name}'")
    for globs in settings.per_file_ignores.values():
        validate_selectors(globs, where)

    enabled: list[type[LintRule]] = []
    for rule in all_rules():
        chosen = max((_specificity(s, rule) for s in (*(select or ()), *select_extra)), default=0)
        if select is None and rule.DEFAULT_ENABLED:
            chosen = max(chosen, 1)
        if not rule.DEFAULT_ENABLED and chosen <= 3:  # "MG" or "ALL" alone do not opt in
            continue
        dropped = max((_specificity(s, rule) for s in ignore), default=0)
        if chosen and chosen > dropped:
            enabled.append(rule)
    if settings.downgrade == "optional":
        enabled = [r for r in enabled if r.CODE not in ("MG201", "MG202")]
    return enabled


def matches(selectors: Iterable[str], code: str) -> bool:
    """Whether any selector (code, prefix or name) covers the rule ``code``."""
    rule = rule_by_selector(code)
    if rule is None:
        return False
    return any(_specificity(s, rule) for s in selectors)
