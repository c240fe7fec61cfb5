"""The server's in-memory view of the workspace: its Alembic environments, the parsed
revision files of each (open documents override the files on disk), and the lint jobs that
run on them.

Everything here is plain data and pure functions. The server (``server.py``) changes this
state on the event loop only; the jobs (:class:`LintJob`) run in one worker thread on
snapshots and return new data, which the loop then stores. Parsing happens once per file
content: a lint after an edit re-parses the edited document and reuses every other file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from migls import cache as cache_module
from migls.config import ConfigError, Settings, find_settings, load_toml
from migls.discovery import REVISION_FILE, SKIPPED_DIRS, Environment, read_alembic_config
from migls.engine import LintResult, lint_files, read_file, read_paths
from migls.fixes import Fix
from migls.graph import Graph, build_graph
from migls.model import RevisionFile, read_revision
from migls.registry import select_rules
from migls.rule import Context, Diagnostic, LintRule
from migls.rulekit import dialect_from_url, env_sets_lock_timeout
from migls.server.settings import ClientSettings
from migls.source import from_text
from migls.span import Span

CONFIG_FILE_NAMES = frozenset({"alembic.ini", "pyproject.toml", "migls.toml"})


def canonical(path: str | Path) -> str:
    """The key of a file: its directory resolved (symlinks, ``..``), its name kept, as
    :meth:`Environment.revision_paths` builds paths."""
    path = Path(path)
    try:
        return str(path.parent.resolve() / path.name)
    except OSError:
        return str(path.absolute())


# -- discovery --------------------------------------------------------------------------------


@dataclass
class Discovery:
    """The environments of a workspace and the problems met while finding them."""

    environments: list[Environment]
    problems: list[str]


def environment_in(directory: Path, problems: list[str]) -> Environment | None:
    """The environment configured in ``directory``: a broken ``[tool.migls]`` falls back to
    the default settings, a broken Alembic config to no environment (each with a problem)."""
    ini = directory / "alembic.ini"
    pyproject = directory / "pyproject.toml"
    has_ini = ini.is_file()
    has_toml = False
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if "tool.alembic" in text:
            try:
                has_toml = "alembic" in load_toml(pyproject).get("tool", {})
            except ConfigError as exc:
                problems.append(str(exc))
    if not has_ini and not has_toml:
        return None
    try:
        env = read_alembic_config(ini if has_ini else None, pyproject if has_toml else None)
    except ConfigError as exc:
        problems.append(str(exc))
        return None
    env.settings = project_settings(directory, problems)
    return env


def project_settings(directory: Path, problems: list[str]) -> Settings:
    """``[tool.migls]``/``migls.toml`` for ``directory``; the defaults when it is broken."""
    try:
        return find_settings(directory)
    except ConfigError as exc:
        problems.append(f"{exc} (using the default settings)")
        return Settings()


def discover_workspace(roots: Iterable[Path], alembic_config: Path | None) -> Discovery:
    """Every environment under the workspace folders, or only the one of ``alembic_config``
    (as ``migls lint --alembic-config``)."""
    problems: list[str] = []
    found: dict[Path, Environment] = {}
    roots = list(roots)
    if alembic_config is not None:
        if not alembic_config.is_file():
            problems.append(f"{alembic_config}: no such Alembic config file (the setting "
                            "'alembicConfig'); looking for alembic.ini files instead")
        else:
            try:
                if alembic_config.suffix == ".toml":
                    env = read_alembic_config(None, alembic_config)
                else:
                    env = read_alembic_config(alembic_config, None)
                env.settings = project_settings(alembic_config.resolve().parent, problems)
                return Discovery([env], problems)
            except ConfigError as exc:
                problems.append(str(exc))
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(".") and d not in SKIPPED_DIRS)
            if "alembic.ini" in filenames or "pyproject.toml" in filenames:
                here = environment_in(Path(directory), problems)
                if here is not None:
                    key = (here.config_path or here.version_locations[0]).resolve()
                    found.setdefault(key, here)
    return Discovery(list(found.values()), problems)


def environment_above(path: Path, problems: list[str]) -> Environment | None:
    """The environment configured in a directory above ``path`` (up to a repository
    root): for files opened outside the workspace folders."""
    for candidate in path.parents:
        env = environment_in(candidate, problems)
        if env is not None:
            return env
        if (candidate / ".git").exists():
            return None
    return None


def env_key(env: Environment) -> str:
    """What identifies an environment across re-discoveries."""
    return canonical(env.config_path or env.version_locations[0])


# -- reading files ----------------------------------------------------------------------------


def read_disk(path: str) -> RevisionFile:
    """Parse a file from disk; an unreadable file becomes a syntax error saying why."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return RevisionFile(path=path, syntax_error=(
            f"cannot read the file: {exc.strerror or exc}", Span.point(1)))
    try:
        return read_file(path, data).without_syntax_tree()
    except Exception as exc:  # noqa: BLE001 - one file must not stop the environment
        return _not_parsed(path, exc)


def read_text(path: str, text: str) -> RevisionFile:
    """Parse an open document's text (what the editor shows, saved or not)."""
    bom = text.startswith("\ufeff")
    source = from_text(text[1:] if bom else text, bom=bom)
    try:
        return read_revision(path, source).without_syntax_tree()
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the server
        file = _not_parsed(path, exc)
        file.source = source
        return file


def _not_parsed(path: str, exc: Exception) -> RevisionFile:
    """A file migls failed to read because of a bug in migls (said as such)."""
    return RevisionFile(path=path, syntax_error=(
        f"migls failed to read this file (a bug in migls: {exc!r})", Span.point(1)))


def is_unreadable(file: RevisionFile) -> bool:
    """Whether the file could not be read at all (as opposed to not parsing)."""
    return file.source is None and file.syntax_error is not None and (
        file.syntax_error[0].startswith("cannot read the file"))


# -- one environment --------------------------------------------------------------------------


@dataclass
class Lints:
    """Diagnostics of some files of an environment, and the document versions they are of."""

    diagnostics: dict[str, list[Diagnostic]]
    versions: dict[str, int | None]
    #: The environment generation each file's diagnostics were computed at.
    generations: dict[str, int] = field(default_factory=dict)


@dataclass
class EnvState:
    """One environment as the server knows it."""

    env: Environment
    settings: Settings
    rules: list[type[LintRule]]
    lock_timeout_in_env: bool = False
    #: Revision files on disk, in Alembic's order (sorted per directory).
    disk_paths: list[str] = field(default_factory=list)
    #: Parsed files, by path: from disk, or from the document's text at ``versions[path]``.
    files: dict[str, RevisionFile] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)
    loaded: bool = False
    #: Bumped when files are created or deleted: a listing started before is outdated.
    listing: int = 0
    #: Bumped by every change of an input (a document, a file, the settings).
    generation: int = 0
    #: The latest diagnostics of each file, with the version they were computed for.
    current: Lints = field(default_factory=lambda: Lints({}, {}))
    #: Paths edited since their diagnostics were last published.
    focus: set[str] = field(default_factory=set)
    graph_cache: tuple[int, Graph] | None = None
    #: Modification times of the configuration files this state was built from.
    stamps: dict[str, int] = field(default_factory=dict)
    #: Where its lint task is: idle, waiting (debounce), editing (the edited files),
    #: pausing (before the whole environment), whole.
    stage: str = "idle"

    @property
    def key(self) -> str:
        """What identifies the environment."""
        return env_key(self.env)

    def contains(self, path: str) -> bool:
        """Whether ``path`` is a revision file of this environment (by its place and name:
        Alembic skips ``__init__.py`` and editors' ``.#`` lock files)."""
        if not REVISION_FILE.match(Path(path).name):
            return False
        try:
            return self.env.contains(Path(path))
        except OSError:
            return False

    def paths(self, open_paths: Iterable[str]) -> list[str]:
        """The files of the environment in order: those on disk, then open documents that are
        not saved yet."""
        on_disk = set(self.disk_paths)
        extra = sorted(p for p in open_paths if p not in on_disk and self.contains(p))
        return self.disk_paths + extra


def env_state(env: Environment, client: ClientSettings,
              problems: list[str]) -> EnvState:
    """The state of a newly found environment with the editor's settings applied."""
    settings, rules = effective_settings(env, client, problems)
    return EnvState(env, settings, rules, env_sets_lock_timeout(env.env_py_text()),
                    stamps=config_stamps(env))


def config_stamps(env: Environment) -> dict[str, int]:
    """Modification times of the files the environment's configuration comes from (and of
    those that would take over if created), so that a change is noticed even by a client
    that does not report file changes."""
    paths = {env.config_path, env.settings.source}
    if env.config_path is not None:
        directory = env.config_path.parent
        paths.update({directory / "alembic.ini", directory / "pyproject.toml",
                      directory / "migls.toml"})
    stamps: dict[str, int] = {}
    for path in paths:
        if path is None:
            continue
        try:
            stamps[str(path)] = path.stat().st_mtime_ns
        except OSError:
            stamps[str(path)] = -1
    return stamps


def effective_settings(env: Environment, client: ClientSettings,
                       problems: list[str]) -> tuple[Settings, list[type[LintRule]]]:
    """The project's settings with the editor's on top, and the rules they enable."""
    settings = env.settings
    if settings.dialect is None:
        settings = replace(settings, dialect=dialect_from_url(env.sqlalchemy_url))
    if client.severity:
        settings = replace(settings, severity={**settings.severity, **client.severity})
    try:
        return settings, select_rules(settings, client.select, client.ignore, "settings")
    except ConfigError as exc:
        problems.append(f"{exc} (using the default rules)")
        return Settings(), select_rules(Settings())


# -- jobs (run in the worker thread) ----------------------------------------------------------


@dataclass
class LintJob:
    """A snapshot of one environment to parse and lint, away from the event loop."""

    generation: int
    order: list[str]
    files: dict[str, RevisionFile]
    #: Open documents whose text is newer than their parse: path -> (version, text).
    texts: dict[str, tuple[int, str]]
    #: Files on disk to (re-)read.
    disk: list[str]
    settings: Settings
    rules: list[type[LintRule]]
    lock_timeout_in_env: bool
    #: Only these files' diagnostics are wanted (``None``: every file's).
    report: set[str] | None

    def parse(self) -> dict[str, RevisionFile]:
        """Parse what changed; returns the new files by path."""
        parsed: dict[str, RevisionFile] = {}
        for path in self.disk:
            parsed[path] = read_disk(path)
        for path, (_, text) in self.texts.items():
            parsed[path] = read_text(path, text)
        self.files = {**self.files, **parsed}
        return parsed

    def lint(self) -> LintResult:
        """Lint the snapshot (after :meth:`parse`), without the rules' fixes: they are
        computed when the editor asks for code actions (:func:`fixes_for`)."""
        files = [self.files[path] for path in self.order if path in self.files]
        report = self.report

        def wanted(file: RevisionFile) -> bool:
            return report is None or file.path in report

        # No on-disk cache: the editor's texts change with every keystroke.
        return lint_files(files, self.settings, report=wanted, rules=without_fixes(self.rules),
                          lock_timeout_in_env=self.lock_timeout_in_env, cache=None)


_WITHOUT_FIX: dict[type[LintRule], type[LintRule]] = {}


def without_fixes(rules: list[type[LintRule]]) -> list[type[LintRule]]:
    """The rules, each with its ``fix`` turned off: a lint for the editor only needs the
    findings, and some fixes cost far more than finding (rendering code with Alembic). (Not
    ``lint_files(fixes=False)``: that drops the engine's own fixes of unused suppressions,
    which cost nothing and which the quick fixes use.)"""
    out = []
    for rule in rules:
        if rule.fix is LintRule.fix:
            out.append(rule)
            continue
        quiet = _WITHOUT_FIX.get(rule)
        if quiet is None:
            quiet = _WITHOUT_FIX[rule] = type(rule.__name__, (rule,), {
                "fix": LintRule.fix, "__doc__": rule.__doc__, "__module__": rule.__module__})
        out.append(quiet)
    return out


def fixes_for(files: list[RevisionFile], settings: Settings, rules: list[type[LintRule]],
              lock_timeout_in_env: bool, path: str,
              diagnostics: list[Diagnostic]) -> list[list[Fix]]:
    """The fixes of each diagnostic of the file ``path`` (in the worker thread): the
    engine's own (unused suppressions) or the rule's ``fix``, then its alternatives."""
    file = next((f for f in files if f.path == path), None)
    by_code = {rule.CODE: rule for rule in rules}
    ctx = Context(files, build_graph(files), settings, lock_timeout_in_env)
    out: list[list[Fix]] = []
    for diagnostic in diagnostics:
        rule = by_code.get(diagnostic.code)
        if diagnostic.fix is not None or file is None or rule is None:
            out.append([diagnostic.fix] if diagnostic.fix is not None else [])
            continue
        checker = rule()
        first = checker.fix(ctx, file, diagnostic.span, diagnostic.message)
        others = checker.alternative_fixes(ctx, file, diagnostic.span, diagnostic.message)
        out.append(([first] if first is not None else []) + list(others))
    return out


@dataclass
class JobOutcome:
    """What a job produced."""

    parsed: dict[str, RevisionFile]
    result: LintResult | None


def run_job(job: LintJob) -> JobOutcome:
    """Parse and lint (in the worker thread)."""
    parsed = job.parse()
    return JobOutcome(parsed, job.lint())


def parse_only(job: LintJob) -> JobOutcome:
    """Parse without linting (in the worker thread)."""
    return JobOutcome(job.parse(), None)


def list_revision_files(env: Environment) -> list[str]:
    """The revision files on disk, in Alembic's order (in the worker thread)."""
    try:
        return [canonical(path) for path in env.revision_paths()]
    except OSError:
        return []


def load_files(paths: list[str]) -> dict[str, RevisionFile]:
    """Read and parse every file of an environment (in the worker thread).

    The files on disk go through migls's cache, keyed by their bytes: a history that
    ``migls lint`` or an earlier session read loads from it (a fifth of the parsing time on
    superset), which is most of what stands between opening a file and its first findings.
    One process (``jobs=1``): the server has threads, which a fork must not copy."""
    try:
        read = read_paths([Path(path) for path in paths], jobs=1,
                          cache=cache_module.default())
        return {path: file.without_syntax_tree() for path, file in zip(paths, read)}
    except Exception:  # noqa: BLE001 - a bug or a broken cache: each file alone, as uncached
        return {path: read_disk(path) for path in paths}


def graph_of(files: list[RevisionFile]) -> Graph:
    """The revision graph of parsed files (in the worker thread)."""
    return build_graph(files)
