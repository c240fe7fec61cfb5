"""The command line: ``migls lint``, ``migls rules``, ``migls rule CODE``.

Exit codes: 0 nothing at or above the failing severity, 1 findings, 2 a usage or
configuration error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from migls import __version__
from migls.cache import NoCacheAction
from migls.config import ConfigError
from migls.discovery import Environment, discover
from migls.ignore import REASON_PLACEHOLDER
from migls.report import FORMATS, display_path, render
from migls.rule import Diagnostic, Severity

if TYPE_CHECKING:
    from migls.config import Settings
    from migls.model import RevisionFile
    from migls.rule import LintRule

#: ``migls graph --format`` (as migls.graphview renders them; that module loads only then).
GRAPH_FORMATS = ("text", "mermaid", "dot", "json")


class UsageError(Exception):
    """A one-line error for the user (exit 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migls",
        description="Linter and language server for Alembic migration scripts. Reads revision "
                    "files statically: never imports or runs them.")
    parser.add_argument("--version", action="version", version=f"migls {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    lint = commands.add_parser(
        "lint", help="check the Alembic environments under PATH (default: .)",
        description="Check revision chains, downgrades and operations of every Alembic "
                    "environment found under the given paths. Explicit files (as pre-commit "
                    "passes them) limit what is reported, not what is read.")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="directories or revision files (default: .)")
    lint.add_argument("--format", choices=FORMATS, default="text", help="output format")
    lint.add_argument("--select", type=_selectors, metavar="RULES",
                      help="comma-separated codes, code prefixes or names to enable "
                           "(replaces the configured selection)")
    lint.add_argument("--ignore", type=_selectors, default=[], metavar="RULES",
                      help="comma-separated codes, code prefixes or names to disable")
    lint.add_argument("--since", metavar="GIT_REF",
                      help="report only on revision files added or changed since GIT_REF "
                           "(the graph is still built from all of them)")
    lint.add_argument("--alembic-config", type=Path, metavar="PATH",
                      help="an Alembic config file with another name (alembic.ini or "
                           "pyproject.toml style)")
    lint.add_argument("--fail-on", choices=[s.label for s in Severity], default=None,
                      help="lowest severity that makes the exit code 1 (default: warning, "
                           "or `fail-on` in [tool.migls])")
    lint.add_argument("--fix", action="store_true",
                      help="apply the safe fixes (files are replaced atomically, keeping their "
                           "encoding and line endings)")
    lint.add_argument("--unsafe-fixes", action="store_true",
                      help="with --fix or --diff, also apply the fixes that change behaviour")
    lint.add_argument("--diff", action="store_true",
                      help="print the changes --fix would make, write nothing (exit 1 if any)")
    lint.add_argument("--add-ignore", action="store_true",
                      help="suppress every reported finding with a `# migls: ignore[CODE] -- "
                           "REASON` comment on its line")
    lint.add_argument("--reason", default=REASON_PLACEHOLDER, metavar="TEXT",
                      help=f"the reason --add-ignore writes (default: {REASON_PLACEHOLDER!r})")
    lint.add_argument("--exit-zero", action="store_true",
                      help="exit 0 even when problems are found")
    lint.add_argument("--statistics", action="store_true",
                      help="print the number of findings per rule instead of each finding")
    lint.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="colour the text output (default: only on a terminal)")
    lint.add_argument("--no-cache", action=NoCacheAction)

    _add_project_commands(commands)

    commands.add_parser("rules", help="list every rule", description="List every rule.")
    rule = commands.add_parser("rule", help="show one rule's page", description="Show one rule's page.")
    rule.add_argument("rule", metavar="RULE", help="a code (MG101) or a name (dangling-down-revision)")
    server = commands.add_parser(
        "server", help="run the language server (LSP over stdio)",
        description="Run the migls language server: LSP over stdio (or TCP with --tcp), for "
                    "any editor. Reads revision files statically: never imports or runs them.")
    from migls.server import add_arguments as add_server_arguments
    add_server_arguments(server)
    return parser


def _add_project_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``merge``, ``rebase``, ``graph`` and ``revision``: making and moving revisions."""
    config_help = ("the environment's Alembic config (alembic.ini or a .toml with "
                   "[tool.alembic]; default: the one environment under the current directory)")

    merge = commands.add_parser(
        "merge", help="write a merge revision of the heads",
        description="Write a merge revision whose down_revision is the given heads (default: "
                    "every head of the branch that has several), from the environment's own "
                    "script.py.mako. env.py is not run and no revision file is imported, but "
                    "the project's Mako template is rendered, as `alembic merge` does (a "
                    "template may hold Python in <% %> blocks, which then runs). Post-write "
                    "hooks are not run.")
    merge.add_argument("heads", nargs="*", metavar="HEAD",
                       help="heads to merge: ids, unique prefixes or branch labels")
    merge.add_argument("-m", "--message", help="the revision message (default: 'merge A and B')")
    merge.add_argument("--rev-id", help="the new revision's id (default: a new random one)")
    merge.add_argument("--alembic-config", type=Path, metavar="PATH", help=config_help)

    rebase = commands.add_parser(
        "rebase", help="move a revision onto another head",
        description="Re-point REVISION (made on an old head) onto HEAD: rewrite its "
                    "down_revision (in the file's own quoting; a merge keeps the parents HEAD "
                    "does not already follow) and its header's Revises: line. Runs no project "
                    "code: files are read and rewritten as text, atomically.")
    rebase.add_argument("revision", metavar="REVISION",
                        help="the revision to move: an id or a unique prefix")
    rebase.add_argument("--onto", required=True, metavar="HEAD", help="the head to move it onto")
    rebase.add_argument("--alembic-config", type=Path, metavar="PATH", help=config_help)

    graph = commands.add_parser(
        "graph", help="show the revision graph with the findings on each revision",
        description="Show the revision graph of each environment: heads, merges, branch "
                    "points, branch labels, and the codes of the findings on each revision "
                    "(as `migls lint` reports them). Runs no project code.")
    graph.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="directories to look for environments in (default: .)")
    graph.add_argument("--format", choices=GRAPH_FORMATS, default="text",
                       help="text (lanes, like git log --graph), mermaid, dot (Graphviz) or "
                            "json (default: text)")
    graph.add_argument("--alembic-config", type=Path, metavar="PATH",
                       help="an Alembic config with another name")

    revision = commands.add_parser(
        "revision", help="write a new revision, linted (and fixed) before it is saved",
        description="Write a new revision on the head (or --head) and lint it before it "
                    "reaches the versions directory. Without --autogenerate, the file is "
                    "rendered from the environment's script.py.mako (env.py is not run; Python "
                    "in the template's <% %> blocks, if any, is). "
                    "With --autogenerate, this RUNS THE PROJECT'S CODE: Alembic's revision "
                    "command with the project's configuration, env.py and models, in a "
                    "subprocess with the project's Python, connecting to its database. The "
                    "generated file is written to a staging directory, linted, fixed with "
                    "--fix / --unsafe-fixes, and only then moved into the versions directory.")
    revision.add_argument("-m", "--message", required=True, help="the revision message")
    revision.add_argument("--autogenerate", action="store_true",
                          help="compare the models with the database (runs env.py)")
    revision.add_argument("--head", metavar="REV",
                          help="the revision to put the new one on (required when there are "
                               "several heads)")
    revision.add_argument("--fix", action="store_true",
                          help="apply the safe fixes to the new file before it is saved")
    revision.add_argument("--unsafe-fixes", action="store_true",
                          help="also apply the unsafe fixes (e.g. concurrent index builds, "
                               "NOT VALID foreign keys)")
    revision.add_argument("--python", metavar="PATH",
                          help="the project's Python for --autogenerate (default: .venv or "
                               "venv beside the Alembic config or above it, else this one)")
    revision.add_argument("--rev-id", help="the new revision's id (default: a new random one)")
    revision.add_argument("--alembic-config", type=Path, metavar="PATH", help=config_help)

    check = commands.add_parser(
        "check", help="show the drift between the models and the migrations as op code",
        description="Compare the models with a database at head, as `alembic check` does, and "
                    "show each difference as the op.* code Alembic would write to fix it. This "
                    "RUNS THE PROJECT'S CODE: env.py and the models it imports, in a "
                    "subprocess with the project's Python, connecting to a database: --database "
                    "URL (given to env.py as sqlalchemy.url), else the configured one, else "
                    "(only when none is configured) a temporary SQLite database that migls "
                    "upgrades to head (running the revisions) and removes. Exit 0: no drift, "
                    "1: drift, 2: the comparison could not be made.")
    check.add_argument("--database", metavar="URL",
                       help="the database to compare with (a SQLAlchemy URL)")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text, or json (an array, one object per difference; default: text)")
    check.add_argument("--python", metavar="PATH",
                       help="the project's Python (default: .venv or venv beside the Alembic "
                            "config or above it, else this one)")
    check.add_argument("--alembic-config", type=Path, metavar="PATH", help=config_help)


def _selectors(text: str) -> list[str]:
    selectors = [part.strip() for part in text.split(",") if part.strip()]
    if not selectors:
        raise argparse.ArgumentTypeError("expected comma-separated rule codes, prefixes or names")
    return selectors


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "lint":
            return _lint(args)
        if args.command in PROJECT_COMMANDS:
            return _project_command(args)
        if args.command == "rules":
            return _rules()
        if args.command == "rule":
            return _rule(args.rule)
        if args.command == "server":
            from migls.server import run as run_server
            return run_server(args)
        parser.print_help()
        return 2
    except (ConfigError, UsageError) as exc:
        print(f"migls: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:  # a file that cannot be written (read-only, disk full): say which
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"migls: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _project_command(args: argparse.Namespace) -> int:
    """Run a command that makes or moves revisions (their code loads only now)."""
    from migls.revisions import NothingToDo, RevisionCommandError

    try:
        return PROJECT_COMMANDS[args.command](args)
    except NothingToDo as exc:
        print(f"migls: {exc}", file=sys.stderr)
        return 1
    except RevisionCommandError as exc:
        raise UsageError(str(exc)) from None


def _lint(args: argparse.Namespace) -> int:
    # A run's models hold no reference cycles: the cyclic collector would only walk the
    # million objects a large history makes, again and again (~10% of a run). Restored
    # afterwards for whoever called main() in the same process.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _lint_environments(args)
    finally:
        if enabled:
            gc.enable()


def _lint_environments(args: argparse.Namespace) -> int:
    from migls.engine import fix_files, lint_files, read_paths
    from migls.fixes import write_atomically
    from migls.registry import select_rules
    from migls.rulekit import dialect_from_url, env_sets_lock_timeout

    if args.add_ignore and (args.fix or args.diff):
        raise UsageError("--add-ignore cannot be combined with --fix or --diff")
    paths = args.paths or [Path(".")]
    environments, explicit_files = discover(paths, args.alembic_config)
    changed = ({str(path) for path in _changed_files(args.since, paths)}
               if args.since else None)
    given = [str(p.resolve()) for p in paths]
    # Only the JSON output shows fixes: computing them (some import Alembic) is skipped else.
    with_fixes = args.format == "json"

    diagnostics: list[Diagnostic] = []
    thresholds: dict[int, Severity] = {}
    applied = 0
    diffs: list[str] = []
    checked = 0
    env_paths = [env.revision_paths() for env in environments]
    parsed = iter(read_paths([path for paths_ in env_paths for path in paths_]))
    for env, paths_of_env in zip(environments, env_paths):
        settings = env.settings
        if settings.dialect is None:
            settings = replace(settings, dialect=dialect_from_url(env.sqlalchemy_url))
        rules = select_rules(settings, args.select, args.ignore, cli_where="command line")
        files = [next(parsed) for _ in paths_of_env]
        config_given = env.config_path is not None and any(
            _inside(str(env.config_path.resolve().parent), g) for g in given)
        wanted = {
            file.path for file, real in zip(files, _real_paths(paths_of_env))
            if (changed is None or real in changed)
            and (config_given or any(_inside(real, g) for g in given))}

        def reported(file: RevisionFile, wanted: set[str] = wanted) -> bool:
            return file.path in wanted

        in_env = env_sets_lock_timeout(env.env_py_text())
        if args.add_ignore:
            from migls.ignore import add_ignores

            def lint_now(current: list[RevisionFile], settings: Settings = settings,
                         rules: list[type[LintRule]] = rules, in_env: bool = in_env,
                         ) -> list[Diagnostic]:
                return lint_files(current, settings, report=reported, rules=rules,
                                  lock_timeout_in_env=in_env, fixes=False).diagnostics

            texts, added = add_ignores(files, lint_now, reason=args.reason)
            applied += added
            originals = {f.path: f for f in files}
            for path, text in texts.items():
                source = originals[path].source
                assert source is not None
                write_atomically(Path(path), source, text)
            continue
        if args.fix or args.diff:
            fixed = fix_files(files, settings, rules=rules, report=reported,
                              unsafe=args.unsafe_fixes, lock_timeout_in_env=in_env)
            applied += fixed.applied
            originals = {f.path: f for f in files}
            for path, text in sorted(fixed.texts.items()):
                source = originals[path].source
                assert source is not None
                if args.diff:
                    import difflib

                    diffs.append("".join(difflib.unified_diff(
                        source.text.splitlines(keepends=True), text.splitlines(keepends=True),
                        fromfile=display_path(path), tofile=display_path(path))))
                else:
                    write_atomically(Path(path), source, text)
            result = fixed.result
        else:
            result = lint_files(files, settings, report=reported, rules=rules,
                                lock_timeout_in_env=in_env, fixes=with_fixes)
        checked += len(wanted)
        threshold = Severity.parse(args.fail_on) if args.fail_on else settings.fail_on
        for d in result.diagnostics:
            thresholds[id(d)] = threshold
        diagnostics.extend(result.diagnostics)

    if args.add_ignore:
        print(f"Added {applied} suppression{'s' if applied != 1 else ''}.", file=sys.stderr)
        return 0
    if explicit_files and not environments:
        print("migls: none of the given files is in an Alembic versions directory", file=sys.stderr)
    diagnostics.sort(key=Diagnostic.sort_key)
    if args.diff:
        sys.stdout.write("".join(diffs))
        print(f"{applied} fix{'es' if applied != 1 else ''} would be applied.", file=sys.stderr)
        return 1 if diffs and not args.exit_zero else 0
    if args.fix:
        print(f"Fixed {applied} problem{'s' if applied != 1 else ''}.", file=sys.stderr)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    sys.stdout.write(render(diagnostics, args.format, color=color, statistics=args.statistics,
                            files_checked=checked))
    sys.stdout.flush()
    if args.exit_zero:
        return 0
    return 1 if any(d.severity >= thresholds[id(d)] for d in diagnostics) else 0


def _inside(path: str, directory: str) -> bool:
    """Whether the real path ``path`` is ``directory`` or under it."""
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _real_paths(paths: list[Path]) -> list[str]:
    """Each path's real path, as ``Path.resolve()`` gives it; each directory is resolved
    once (a file on its own only when it is a symbolic link)."""
    directories: dict[str, str] = {}
    out: list[str] = []
    for path in paths:
        text = str(path)
        if os.path.islink(text):
            out.append(os.path.realpath(text))
            continue
        head, name = os.path.split(text)
        real = directories.get(head)
        if real is None:
            real = directories[head] = os.path.realpath(head or ".")
        out.append(os.path.join(real, name))
    return out


def _changed_files(ref: str, paths: list[Path]) -> set[Path]:
    """Files added or changed since ``ref`` (committed, staged, unstaged or untracked) in the
    repositories of the linted paths, wherever migls is run from."""
    import subprocess

    def git(directory: Path, *command: str) -> list[str]:
        try:
            out = subprocess.run(["git", "-C", str(directory), *command],
                                 capture_output=True, text=True, check=True)
        except FileNotFoundError:
            raise UsageError("--since needs git, which is not installed") from None
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr.strip().splitlines() or ["git failed"])[-1]
            raise UsageError(f"--since {ref}: {detail}") from None
        return [line for line in out.stdout.splitlines() if line]

    changed: set[Path] = set()
    tops = {Path(git(p if p.is_dir() else p.parent, "rev-parse", "--show-toplevel")[0])
            for p in (path.resolve() for path in paths)}
    for top in tops:
        names = git(top, "diff", "--name-only", "--diff-filter=ACMR", ref, "--")
        names += git(top, "ls-files", "--others", "--exclude-standard", "--full-name", ":/")
        changed.update((top / name).resolve() for name in names)
    return changed


def _rules() -> int:
    from migls.registry import all_rules

    rows = [(r.CODE, r.NAME, r.SEVERITY.label + ("" if r.DEFAULT_ENABLED else " (opt-in)"), r.SUMMARY)
            for r in all_rules()]
    width = max(len(name) for _, name, _, _ in rows)
    for code, name, severity, summary in rows:
        print(f"{code}  {name:<{width}}  {severity:<8}  {summary}")
    return 0


def _rule(selector: str) -> int:
    from migls.docs import rule_page
    from migls.registry import rule_by_selector

    rule = rule_by_selector(selector)
    if rule is None:
        raise UsageError(f"unknown rule '{selector}' (see `migls rules`)")
    sys.stdout.write(rule_page(rule))
    return 0


# -- making and moving revisions ------------------------------------------------------------


def _environment(config: Path | None) -> Environment:
    """The one environment a project command works on."""
    environments, _ = discover([Path(".")] if config is None else [], config)
    if not environments:
        raise UsageError("no Alembic environment here; give --alembic-config")
    if len(environments) > 1:
        names = ", ".join(display_path(env.name) for env in environments)
        raise UsageError(f"several Alembic environments here ({names}); choose one with "
                         "--alembic-config")
    return environments[0]


def _merge(args: argparse.Namespace) -> int:
    from migls.revisions import merge

    env = _environment(args.alembic_config)
    path = merge(env, args.heads or None, args.message, rev_id=args.rev_id)
    print(f"Wrote {display_path(str(path))}")
    return 0


def _rebase(args: argparse.Namespace) -> int:
    from migls.revisions import rebase, write_changes

    env = _environment(args.alembic_config)
    changes = rebase(env, args.revision, args.onto)
    write_changes(changes)
    for path, _ in changes:
        print(f"Rewrote {display_path(str(path))}")
    return 0


def _graph(args: argparse.Namespace) -> int:
    from migls.graphview import build_view
    from migls.graphview import render as render_graph
    from migls.revisions import lint_history, load_history

    if args.alembic_config is not None:
        environments, _ = discover([], args.alembic_config)
    else:
        environments, _ = discover(args.paths or [Path(".")])
    views = []
    for env in environments:
        history = load_history(env)
        result, _, _ = lint_history(env, history.files)
        views.append(build_view(display_path(env.name), history.graph, result.diagnostics))
    sys.stdout.write(render_graph(views, args.format))
    return 0


def _revision(args: argparse.Namespace) -> int:
    from migls.revisions import new_revision

    env = _environment(args.alembic_config)
    fix = "unsafe" if args.unsafe_fixes else "safe" if args.fix else None
    made = new_revision(env, args.message, autogenerate=args.autogenerate, head=args.head,
                        fix=fix, python=args.python, rev_id=args.rev_id)
    if made.output:
        print(made.output, file=sys.stderr)
    if made.fixes_applied:
        print(f"Fixed {made.fixes_applied} problem{'s' if made.fixes_applied != 1 else ''}.",
              file=sys.stderr)
    if made.diagnostics:
        sys.stdout.write(render(made.diagnostics, "text", color=sys.stdout.isatty(),
                                statistics=False, files_checked=1))
    print(f"Wrote {display_path(str(made.path))}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from migls.check import check, exit_code, render_report

    report = check(_environment(args.alembic_config), database=args.database,
                   python=args.python)
    sys.stdout.write(render_report(report, args.format, color=sys.stdout.isatty()))
    return exit_code(report)


PROJECT_COMMANDS = {"merge": _merge, "rebase": _rebase, "graph": _graph, "revision": _revision,
                    "check": _check}
