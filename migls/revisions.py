"""Making and moving revisions: rebase, merge, new revision.

The one implementation behind ``migls rebase``, ``migls merge``, ``migls revision``, the MG103
fix and the editor's ``migls.rebaseOnHead`` / ``migls.mergeHeads`` / ``migls.newRevision``.

What each runs:

- :func:`rebase` reads the revision files statically and returns new texts (nothing runs);
- :func:`merge` and :func:`new_revision` without autogenerate render the environment's own
  ``script.py.mako`` with Mako, as ``alembic merge`` / ``alembic revision`` do, but never run
  ``env.py`` nor import a revision file;
- :func:`new_revision` with ``autogenerate=True`` runs Alembic's ``revision --autogenerate``
  with the project's configuration and ``env.py``, in a subprocess with the project's Python
  (``migls/_alembic_revision.py``), writing into a staging directory; migls lints (and, when
  asked, fixes) the staged file and only then moves it into the versions directory.

Every file is written whole or not at all (a temporary file, then a link or rename). Alembic
is imported only inside the functions that render templates, so the lint path stays light.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migls.discovery import Environment
from migls.engine import LintResult, fix_files, lint_files, read_file, read_paths
from migls.fixes import Edit, apply_edits, write_atomically
from migls.graph import Graph, analyse_branches, build_graph
from migls.model import RevisionFile
from migls.registry import select_rules
from migls.rule import Diagnostic
from migls.rulekit import dialect_from_url, env_sets_lock_timeout
from migls.source import SourceText, UndecodableSource, decode
from migls.span import Span


class RevisionCommandError(Exception):
    """A one-line error for the user: the command changed nothing."""


class NothingToDo(RevisionCommandError):
    """The history is already as asked (one head, already on that parent)."""


# -- reading an environment ----------------------------------------------------------------


@dataclass
class History:
    """The revision files of one environment and their graph, read statically."""

    env: Environment
    files: list[RevisionFile]
    graph: Graph

    def file_of(self, revision: str) -> RevisionFile:
        """The file that declares ``revision``."""
        return self.graph.nodes[revision].file


def load_history(env: Environment) -> History:
    """Read every revision file of ``env`` (never importing one) and build the graph."""
    files = read_paths(env.revision_paths())
    return History(env, files, build_graph(files))


def resolve(graph: Graph, name: str) -> str:
    """A revision id for ``name``: an id, a unique prefix of one (as Alembic accepts), or a
    branch label (its head). :class:`RevisionCommandError` when it names nothing or is
    ambiguous."""
    name = name.strip()
    if name in graph.nodes:
        return name
    owners = graph.label_owners.get(name)
    if owners:
        labelled = graph.descendants(owners[:1])
        heads = [h for h in graph.heads if h in labelled]
        if len(heads) == 1:
            return heads[0]
        raise RevisionCommandError(
            f"branch '{name}' has {len(heads)} heads ({', '.join(heads)}): name one of them")
    matches = sorted(rev for rev in graph.nodes if name and rev.startswith(name))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RevisionCommandError(
            f"'{name}' is ambiguous: it starts {', '.join(matches[:5])}"
            + (" ..." if len(matches) > 5 else ""))
    raise RevisionCommandError(f"no revision '{name}' in {_where(graph)}")


def _where(graph: Graph) -> str:
    return f"this history ({len(graph.nodes)} revisions)"


def _require_sound(history: History) -> None:
    """Refuse to move revisions in a graph whose facts are not all known."""
    graph = history.graph
    if graph.unreadable:
        names = ", ".join(_display(f.path) for f in graph.unreadable[:3])
        raise RevisionCommandError(
            f"cannot change the history while some revision metadata cannot be read "
            f"statically ({names}); run `migls lint` and fix MG001/MG003 first")
    if graph.cycles:
        raise RevisionCommandError(
            f"the history has a cycle ({' -> '.join(graph.cycles[0])}); fix MG104 first")


def _display(path: str | Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


# -- rebase -------------------------------------------------------------------------------


def rebase_edits(file: RevisionFile, parents: Sequence[str]) -> tuple[Edit, ...] | None:
    """The edits that make ``file`` revise ``parents``: its ``down_revision`` value, written
    in the file's own quoting (a string for one parent, a tuple for several), and its
    header's ``Revises:`` line. ``None`` when ``down_revision`` is not a literal."""
    value = file.metadata.get("down_revision")
    if value is None or not value.is_static or file.source is None:
        return None
    lines = file.source.text.split("\n")
    span = _with_parentheses(lines, value.span)
    original = _span_text(lines, span)
    quote = _quote_of(original) or _quote_of(_span_text(lines, file.metadata["revision"].span)
                                             if "revision" in file.metadata else "") or '"'
    rendered = [f"{quote}{p}{quote}" for p in parents]
    if not parents:
        content = "None"
    elif len(parents) == 1:
        content = rendered[0]
    else:
        opening, closing = ("[", "]") if original.startswith("[") else ("(", ")")
        content = f"{opening}{', '.join(rendered)}{closing}"
    edits = [Edit(span, content)]
    header = file.docstring_revises
    if header is not None:
        said = ", ".join(parents)
        span = header.span
        if span.column > 0 and span.column == span.end_column and \
                lines[span.line - 1][span.column - 1:span.column] == ":" and said:
            said = " " + said  # "Revises:" with nothing after the colon
        edits.append(Edit(span, said))
    return tuple(edits)


def _with_parentheses(lines: list[str], span: Span) -> Span:
    """The span of a value with the parentheses around it (LibCST keeps a tuple's
    parentheses outside the node)."""
    before = lines[span.line - 1][:span.column]
    after = lines[span.end_line - 1][span.end_column:]
    if before.rstrip().endswith("(") and after.lstrip().startswith(")"):
        start = len(before.rstrip()) - 1
        end = span.end_column + len(after) - len(after.lstrip()) + 1
        return Span(span.line, start, span.end_line, end)
    return span


def _span_text(lines: list[str], span: Span) -> str:
    if span.line == span.end_line:
        return lines[span.line - 1][span.column:span.end_column]
    return "\n".join([lines[span.line - 1][span.column:], *lines[span.line:span.end_line - 1],
                      lines[span.end_line - 1][:span.end_column]])


def _quote_of(text: str) -> str | None:
    found = re.search(r"""(?<![A-Za-z])[rRuUbB]*(['"])""", text)
    return found.group(1) if found else None


def rebased_parents(graph: Graph, revision: str, onto: str) -> tuple[str, ...]:
    """The parents ``revision`` gets when moved onto ``onto``: ``onto``, plus any old parent
    that ``onto`` does not already follow (so a merge keeps what ``onto`` lacks)."""
    covered = graph.ancestors(onto) | {onto}
    old = graph.nodes[revision].parents
    return (onto, *[p for p in old if p not in covered and p != onto])


def rebase(env: Environment, revision: str, onto: str,
           history: History | None = None) -> list[tuple[Path, str]]:
    """Move ``revision`` (an id, a unique prefix or a branch label) onto the head ``onto``:
    the new texts of the files to change, as ``(path, text)`` (nothing is written; see
    :func:`write_changes`). Raises :class:`RevisionCommandError` for a revision or head that
    does not exist, a move that would make a cycle, and :class:`NothingToDo` when
    ``revision`` already revises ``onto``."""
    history = history or load_history(env)
    _require_sound(history)
    graph = history.graph
    rev = resolve(graph, revision)
    target = resolve(graph, onto)
    if target == rev or target in graph.descendants([rev]):
        raise RevisionCommandError(
            f"cannot rebase '{rev}' onto '{target}': '{target}' comes after '{rev}' "
            "(that would be a cycle)")
    parents = rebased_parents(graph, rev, target)
    node = graph.nodes[rev]
    if parents == node.parents:
        raise NothingToDo(f"nothing to do: '{rev}' already revises '{target}'")
    if target not in graph.heads:
        following = ", ".join(graph.nodes[target].children)
        raise RevisionCommandError(
            f"'{target}' is not a head (it is followed by {following}); rebase onto a head: "
            f"{', '.join(graph.heads)}")
    file = node.file
    edits = rebase_edits(file, parents)
    if edits is None or file.source is None:
        raise RevisionCommandError(
            f"{_display(file.path)}: down_revision is not a literal; edit it by hand")
    return [(Path(file.path), apply_edits(file.source.text, edits))]


def write_changes(changes: Sequence[tuple[Path, str]]) -> None:
    """Write new texts over existing files atomically, each in its own encoding and line
    endings."""
    for path, text in changes:
        try:
            source = decode(path.read_bytes())
        except (OSError, UndecodableSource) as exc:
            raise RevisionCommandError(f"{_display(path)}: cannot read: {exc}") from None
        write_atomically(path, source, text)


# -- which heads move, for MG103 -----------------------------------------------------------

_CREATE_DATE = re.compile(r"^[ \t]*Create Date:[ \t]*(?P<value>\S[^\n]*?)[ \t]*$", re.MULTILINE)


def create_date(file: RevisionFile) -> datetime.datetime | None:
    """The header's ``Create Date:`` (naive, in UTC when it has an offset), if readable."""
    if file.source is None:
        return None
    value = file.metadata.get("revision")
    end = value.statement_line if value is not None else 40
    head = "\n".join(file.source.text.split("\n")[:end])
    found = _CREATE_DATE.search(head)
    if found is None:
        return None
    try:
        date = datetime.datetime.fromisoformat(found.group("value"))
    except ValueError:
        return None
    if date.tzinfo is not None:
        date = date.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return date


@dataclass(frozen=True, slots=True)
class HeadMove:
    """One step of putting a group of heads into a single chain: ``revision`` (the first
    revision of ``head``'s branch since the others) gets ``onto`` as its parent."""

    head: str
    revision: str
    onto: str
    #: ``revision``'s new parents: ``onto``, which by then follows every old parent.
    parents: tuple[str, ...]


def head_groups(graph: Graph) -> list[list[str]]:
    """The groups of heads that MG103 reports (heads on the same branch), each in graph
    order; empty when the graph has hidden facts."""
    analysis = analyse_branches(graph)
    if not analysis.complete:
        return []
    conflicts = analysis.conflicting_heads
    groups: list[list[str]] = []
    seen: set[str] = set()
    for head in graph.heads:
        if head not in conflicts or head in seen:
            continue
        group: set[str] = set()
        stack = [head]
        while stack:
            current = stack.pop()
            if current not in group:
                group.add(current)
                stack.extend(conflicts.get(current, ()))
        seen |= group
        groups.append([h for h in graph.heads if h in group])
    return groups


def head_moves(graph: Graph) -> list[HeadMove]:
    """How to turn every group of conflicting heads into one chain, like ``git rebase``:
    the branch created first stays, and each later branch moves onto the head of the one
    before it. A branch's age is the ``Create Date`` of its first revision since the fork
    (when every branch of the group has one), else its file path (date- or sequence-prefixed
    file names sort by age). Branches whose first revision cannot be moved alone (several
    first revisions, or a base) are left as they are."""
    moves: list[HeadMove] = []
    for group in head_groups(graph):
        cover = {h: graph.ancestors(h) | {h} for h in group}
        firsts: dict[str, list[str]] = {}
        for head in group:
            others = set().union(*(cover[o] for o in group if o != head))
            own = cover[head] - others
            firsts[head] = sorted(r for r in own if not any(p in own for p in graph.nodes[r].parents))
        dates = {h: [create_date(graph.nodes[r].file) for r in firsts[h]] for h in group}
        dated = all(values and all(d is not None for d in values) for values in dates.values())
        ages: dict[str, tuple[Any, ...]] = {}
        for head in group:
            path = min((graph.nodes[r].file.path for r in firsts[head]), default="")
            ages[head] = ((min(d for d in dates[head] if d is not None), path, head) if dated
                          else (path, head))
        order = sorted(group, key=ages.__getitem__)
        covered = set(cover[order[0]])
        for previous, head in zip(order, order[1:]):
            segment = cover[head] - covered
            roots = [r for r in segment if not any(p in segment for p in graph.nodes[r].parents)]
            if len(roots) == 1 and graph.nodes[roots[0]].parents:
                # The first revision's parents are all in the chain built so far, which
                # ends at `previous`.
                moves.append(HeadMove(head, roots[0], previous, (previous,)))
            covered |= cover[head]
    return moves


# -- new files from the environment's template ---------------------------------------------


@dataclass
class _Template:
    """What Alembic's ``ScriptDirectory`` says about writing a revision file."""

    script: Any  # alembic.script.ScriptDirectory
    config: Any  # alembic.config.Config
    mako: Path


def _template(env: Environment) -> _Template:
    if env.config_path is None or env.script_location is None:
        raise RevisionCommandError(
            f"{env.name}: a new revision needs the environment's Alembic config "
            "(alembic.ini or [tool.alembic]) and its script.py.mako; give --alembic-config")
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
    except ImportError:
        raise RevisionCommandError("this command needs Alembic: pip install alembic") from None
    if env.config_path.suffix == ".toml":
        config = Config(toml_file=str(env.config_path))
    else:
        pyproject = env.config_path.parent / "pyproject.toml"
        config = Config(file_=str(env.config_path),
                        toml_file=str(pyproject) if pyproject.is_file() else None)
    mako = env.script_location / "script.py.mako"
    if not mako.is_file():
        raise RevisionCommandError(f"{_display(mako)}: no such template")

    def option(name: str, default: str | None = None) -> str | None:
        try:
            value = config.get_alembic_option(name, default)
        except Exception as exc:  # a broken value in the user's config
            raise RevisionCommandError(f"{env.config_path}: {name}: {exc}") from None
        return value if value is None or isinstance(value, str) else str(value)

    # Built from the locations migls found on disk: ScriptDirectory.from_config would
    # import a `package:path` location (application code) to find it.
    truncate = option("truncate_slug_length")
    try:
        script = ScriptDirectory(
            str(env.script_location),
            file_template=option("file_template", "%(rev)s_%(slug)s") or "%(rev)s_%(slug)s",
            truncate_slug_length=int(truncate) if truncate else None,
            version_locations=[str(p) for p in env.version_locations],
            output_encoding=option("output_encoding", "utf-8") or "utf-8",
            timezone=option("timezone"),
        )
    except Exception as exc:
        raise RevisionCommandError(f"{env.config_path}: {exc}") from None
    return _Template(script, config, mako)


def _rev_id(graph: Graph, rev_id: str | None) -> str:
    from alembic.util import rev_id as new_id
    revid = rev_id or new_id()
    if not revid or any(c in revid for c in "@-+: \t\n"):
        raise RevisionCommandError(f"'{revid}' is not a valid revision id (no @ - + : or spaces)")
    if revid in graph.nodes:
        raise RevisionCommandError(f"revision '{revid}' already exists")
    return revid


def render_revision(env: Environment, template: _Template, *, revid: str, message: str | None,
                    parents: Sequence[str], directory: Path,
                    extra: dict[str, Any] | None = None) -> tuple[Path, str]:
    """Render ``script.py.mako`` the way Alembic's ``generate_revision`` does (the same
    template arguments, file name from ``file_template``, create date in ``timezone``);
    returns the path it would be written to and its text. Nothing is written."""
    from alembic.script.revision import tuple_rev_as_scalar
    from alembic.util import CommandError, format_as_comma, to_tuple
    from mako import exceptions as mako_exceptions  # type: ignore[import-untyped]
    from mako.template import Template  # type: ignore[import-untyped]

    try:
        created = template.script._generate_create_date()
    except CommandError as exc:
        raise RevisionCommandError(f"{env.config_path}: {exc}") from None
    path = Path(template.script._rev_path(directory, revid, message, created))
    arguments: dict[str, Any] = {
        "config": template.config,
        "up_revision": revid,
        "down_revision": tuple_rev_as_scalar(tuple(parents)),
        "branch_labels": to_tuple(None),
        "depends_on": None,
        "create_date": created,
        "comma": format_as_comma,
        "message": message if message is not None else "empty message",
        "refresh": True,
        **(extra or {}),
    }
    try:
        text = Template(filename=str(template.mako)).render_unicode(**arguments)
    except Exception as exc:
        where = ""
        try:
            frames = mako_exceptions.RichTraceback().traceback
            own = [f for f in frames if f[0] == str(template.mako)]
            if own:
                where = f" at line {own[-1][1]} ({own[-1][3].strip()})"
        except Exception:  # the traceback of a template Mako could not even compile
            pass
        detail = str(exc).strip().splitlines()
        raise RevisionCommandError(
            f"{_display(template.mako)}: the template cannot be rendered{where}: "
            f"{type(exc).__name__}: {detail[0] if detail else ''} (migls does not run env.py, "
            "so template_args it would add are missing)") from None
    return path, text


def _check_rendered(path: Path, text: str, revid: str, parents: Sequence[str]) -> RevisionFile:
    """The rendered file must compile and say what was asked, or nothing is written."""
    _must_compile(text, "the rendered revision")
    file = read_file(str(path), text.encode("utf-8"))
    if file.revision_id != revid or file.parents() != tuple(parents):
        raise RevisionCommandError(
            "the template did not write `revision` / `down_revision` as given; "
            "nothing was written")
    return file


def _must_compile(text: str, what: str) -> None:
    """CPython's verdict (it also refuses what LibCST accepts, like a bad ``\\N{...}``)."""
    try:
        ast.parse(text)
    except SyntaxError as exc:
        raise RevisionCommandError(
            f"{what} is not valid Python (line {exc.lineno}: {exc.msg}); is there a quote or "
            "backslash in the message? nothing was written") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise RevisionCommandError(f"{what} cannot be compiled ({exc}); nothing was written") from None


def write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` whole or not at all; never replaces an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".migls",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and fails if the name is taken
        except FileExistsError:
            raise RevisionCommandError(f"{_display(path)} already exists") from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise RevisionCommandError(f"{_display(path)} already exists") from None
            os.replace(temporary, path)
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass


def _directory_for(env: Environment, graph: Graph, parents: Sequence[str]) -> Path:
    """Where Alembic puts a new revision: the only version location, else the directory
    of its first parent."""
    if len(env.version_locations) == 1:
        return env.version_locations[0]
    for parent in parents:
        if parent in graph.nodes:
            return Path(graph.nodes[parent].file.path).parent
    raise RevisionCommandError(
        "several version_locations are configured and the new revision has no parent to "
        "take the directory from")


# -- merge --------------------------------------------------------------------------------


def merge(env: Environment, heads: Sequence[str] | None = None, message: str | None = None,
          *, rev_id: str | None = None, history: History | None = None) -> Path:
    """Write a merge revision of ``heads`` (ids, unique prefixes or branch labels; default:
    the heads of the one branch that has several) from the environment's ``script.py.mako``
    and return its path. Runs no project code. :class:`NothingToDo` when there is nothing to
    merge, :class:`RevisionCommandError` for anything else that stops it."""
    history = history or load_history(env)
    _require_sound(history)
    graph = history.graph
    if heads:
        chosen = list(dict.fromkeys(resolve(graph, h) for h in heads))
        for head in chosen:
            if head not in graph.heads:
                raise RevisionCommandError(
                    f"'{head}' is not a head (it is followed by "
                    f"{', '.join(graph.nodes[head].children)}); the heads are "
                    f"{', '.join(graph.heads)}")
        if len(chosen) < 2:
            raise RevisionCommandError("name at least two heads to merge")
    else:
        groups = head_groups(graph)
        if not groups:
            raise NothingToDo(
                f"nothing to merge: {_heads_phrase(graph)}" if graph.heads else
                "nothing to merge: the history is empty")
        if len(groups) > 1:
            listed = "; ".join(", ".join(g) for g in groups)
            raise RevisionCommandError(
                f"several branches have more than one head ({listed}); name the heads to merge")
        chosen = groups[0]
    template = _template(env)
    revid = _rev_id(graph, rev_id)
    text_message = message if message is not None else f"merge {' and '.join(chosen)}"
    path, text = render_revision(env, template, revid=revid, message=text_message,
                                 parents=chosen, directory=_directory_for(env, graph, chosen))
    _check_rendered(path, text, revid, chosen)
    write_new_file(path, text.encode(template.script.output_encoding))
    return path


def _heads_phrase(graph: Graph) -> str:
    if len(graph.heads) == 1:
        return f"one head ({graph.heads[0]})"
    return f"the heads ({', '.join(graph.heads)}) are on different labelled branches"


# -- new revision ---------------------------------------------------------------------------


@dataclass
class NewRevision:
    """A revision file that :func:`new_revision` wrote, and what migls found in it."""

    path: Path
    revision: str
    #: Findings left in the written file (after the fixes that were applied).
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fixes_applied: int = 0
    #: What the project's ``alembic revision`` printed (autogenerate only).
    output: str = ""


def choose_head(graph: Graph, head: str | None) -> str | None:
    """The revision a new revision goes on: ``head`` resolved, else the only head (``None``
    for an empty history). Several heads and no ``head``: :class:`RevisionCommandError`
    listing them and the choices."""
    if head is not None:
        return resolve(graph, head)
    if len(graph.heads) <= 1:
        return graph.heads[0] if graph.heads else None
    described = ", ".join(f"{h} ({graph.nodes[h].file.message or 'no message'})"
                          for h in graph.heads)
    raise RevisionCommandError(
        f"the history has {len(graph.heads)} heads: {described}; choose the parent with "
        f"--head REV (e.g. --head {graph.heads[0]}), or merge them first with `migls merge`")


def project_python(env: Environment) -> str:
    """The project's interpreter: ``.venv`` or ``venv`` beside the Alembic config or in a
    directory above it (up to the repository root), else the one running migls."""
    start = (env.config_path.parent if env.config_path else env.root).resolve()
    for directory in (start, *start.parents):
        for name in (".venv", "venv"):
            for candidate in (directory / name / "bin" / "python",
                              directory / name / "Scripts" / "python.exe"):
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return str(candidate)
        if (directory / ".git").exists():
            break
    return sys.executable


def lint_history(env: Environment, files: list[RevisionFile], *,
                 report: Callable[[RevisionFile], bool] = lambda file: True,
                 fix: str | None = None) -> tuple[LintResult, dict[str, str], int]:
    """Lint the files of ``env`` as ``migls lint`` does (the environment's settings, dialect
    and ``env.py`` lock_timeout); with ``fix`` (``"safe"`` or ``"unsafe"``), also compute the
    fixed texts of the reported files. Returns the result, the new texts and the number of
    fixes applied."""
    settings = env.settings
    if settings.dialect is None:
        settings = replace(settings, dialect=dialect_from_url(env.sqlalchemy_url))
    rules = select_rules(settings, None, [], cli_where="command line")
    in_env = env_sets_lock_timeout(env.env_py_text())
    if fix is None:
        return lint_files(files, settings, report=report, rules=rules,
                          lock_timeout_in_env=in_env), {}, 0
    fixed = fix_files(files, settings, rules=rules, report=report, unsafe=fix == "unsafe",
                      lock_timeout_in_env=in_env)
    return fixed.result, fixed.texts, fixed.applied


def new_revision(env: Environment, message: str | None, *, autogenerate: bool = False,
                 head: str | None = None, fix: str | None = None, python: str | None = None,
                 rev_id: str | None = None,
                 cancelled: Callable[[], bool] | None = None) -> NewRevision:
    """Write a new revision on ``head`` (default: the only head) and lint it; ``fix``
    (``"safe"`` / ``"unsafe"``) applies those fixes before the file reaches the versions
    directory.

    Without ``autogenerate`` the file is rendered from ``script.py.mako`` here and no project
    code runs. With it, Alembic's ``revision --autogenerate`` runs in a subprocess with
    ``python`` (default :func:`project_python`), importing the project's ``env.py`` and
    models and connecting to its database; ``cancelled`` is polled while it runs. Errors of
    the project (``env.py`` raising, an unreachable database, models that do not import)
    become a :class:`RevisionCommandError` with the project's own message, and nothing is
    left in the versions directory.
    """
    history = load_history(env)
    _require_sound(history)
    parent = choose_head(history.graph, head)
    if parent is not None and parent not in history.graph.heads:
        raise RevisionCommandError(
            f"'{parent}' is not a head (it is followed by "
            f"{', '.join(history.graph.nodes[parent].children)}); a new revision goes on a head")
    template = _template(env)
    parents: tuple[str, ...] = (parent,) if parent else ()
    output = ""
    if autogenerate:
        (path, data), output = _autogenerate(env, history, message, parent, python, rev_id,
                                             cancelled)
        try:
            source = decode(data)
        except UndecodableSource as exc:
            raise RevisionCommandError(
                f"the generated revision cannot be read: {exc.reason}; nothing was written") from None
        _must_compile(source.text, "the generated revision")
        revid = read_file(str(path), data).revision_id or ""
    else:
        revid = _rev_id(history.graph, rev_id)
        path, text = render_revision(env, template, revid=revid, message=message, parents=parents,
                                     directory=_directory_for(env, history.graph, parents))
        _check_rendered(path, text, revid, parents)
        source = SourceText(text, template.script.output_encoding, "\n", False)
    if path.exists():
        raise RevisionCommandError(f"{_display(path)} already exists")
    files = sorted([*history.files, read_file(str(path), source.encode(source.text))],
                   key=lambda f: f.path)
    result, texts, applied = lint_history(env, files, report=lambda f: f.path == str(path), fix=fix)
    write_new_file(path, source.encode(texts.get(str(path), source.text)))
    return NewRevision(path, revid, [d for d in result.diagnostics if d.path == str(path)],
                       applied, output)


#: The script the project's Python runs (only the standard library and Alembic).
RUNNER = Path(__file__).resolve().parent / "_alembic_revision.py"


def _autogenerate(env: Environment, history: History, message: str | None, parent: str | None,
                  python: str | None, rev_id: str | None,
                  cancelled: Callable[[], bool] | None) -> tuple[tuple[Path, bytes], str]:
    """Run ``alembic revision --autogenerate`` in the project's Python, writing into a
    staging directory; returns (final path, file bytes) and what the run printed."""
    assert env.config_path is not None and env.script_location is not None
    interpreter = python or project_python(env)
    staging = Path(tempfile.mkdtemp(prefix=".migls-revision-", dir=env.script_location))
    result_file = staging / "result.json"
    versions = staging / "versions"
    versions.mkdir()
    request = {
        "config": str(env.config_path), "message": message, "head": parent or "base",
        "staging": str(versions), "result": str(result_file), "rev_id": rev_id,
    }
    try:
        try:
            process = subprocess.Popen(
                [interpreter, str(RUNNER), json.dumps(request)], cwd=env.config_path.parent,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace")
        except OSError as exc:
            raise RevisionCommandError(f"cannot run the project's Python {interpreter}: "
                                       f"{exc.strerror}") from None
        out, err = _wait(process, cancelled)
        try:
            outcome = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            detail = (err.strip().splitlines() or ["no output"])[-1]
            raise RevisionCommandError(
                f"{interpreter} could not run Alembic's revision command "
                f"(exit {process.returncode}): {detail}") from None
        if outcome.get("error"):
            raise RevisionCommandError(outcome["error"])
        written = [Path(p) for p in outcome.get("paths", [])]
        if len(written) != 1:
            raise RevisionCommandError(
                f"Alembic wrote {len(written)} revision files (an env.py process_revision_"
                "directives hook?); migls handles exactly one; nothing was written")
        staged = written[0]
        data = staged.read_bytes()
        if staged.parent.resolve() != versions.resolve():
            # env.py's own hook chose another place: Alembic already wrote it there.
            staged.unlink()
        staged_file = read_file(str(staged), data)
        parents = staged_file.parents() or ()
        target = _directory_for(env, history.graph, parents) / staged.name
        # What Alembic printed, less its "Generating <staging path>" line (migls writes the
        # file, elsewhere).
        printed = [line for line in (out + err).splitlines() if str(staging) not in line]
        return (target, data), "\n".join(printed).strip()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _wait(process: subprocess.Popen[str], cancelled: Callable[[], bool] | None) -> tuple[str, str]:
    """Wait for the subprocess, killing it as soon as ``cancelled()`` says so (it is asked
    first, then every 0.2 s)."""
    while True:
        if cancelled is not None and cancelled():
            process.kill()
            process.communicate()
            raise RevisionCommandError("cancelled; nothing was written")
        try:
            return process.communicate(timeout=0.2 if cancelled else None)
        except subprocess.TimeoutExpired:
            continue
