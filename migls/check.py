"""``migls check``: drift between the models and the migrations, as the code that fixes it.

Like ``alembic check``, it runs the project's ``env.py`` with autogenerate's comparison of the
models (``target_metadata``) and a database at head; unlike it, each difference comes back as
the ``op.*`` code Alembic's renderer would write into a revision, with a message saying
which side has what.

The database compared with: ``--database URL`` (given to ``env.py`` as ``sqlalchemy.url``),
else the environment's configured one (``sqlalchemy.url``, or whatever ``env.py`` connects
to), else — only when nothing is configured — a temporary SQLite database that migls creates
in a directory of its own, upgrades to head and removes.

This is project code running: the comparison happens in a subprocess with the project's
Python (``migls/_alembic_check.py``, as ``migls revision --autogenerate`` does), never in the
lint or server paths.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migls.discovery import Environment
from migls.report import display_path
from migls.revisions import RevisionCommandError, _wait, project_python


class CheckError(RevisionCommandError):
    """A one-line error: the comparison could not be made."""


@dataclass(frozen=True)
class Difference:
    """One operation that would bring the database to the models."""

    #: The ``op.`` function: ``add_column``, ``create_index``, ``alter_column``, ...
    operation: str
    #: Alembic's names for what differs (as ``alembic check`` lists them):
    #: ``add_column``, ``remove_index``, ``modify_nullable``, ...
    changes: tuple[str, ...]
    schema: str | None
    table: str | None
    #: The column, index or constraint (``None`` for a table).
    name: str | None
    message: str
    #: The code Alembic's renderer writes for it (a batch block when env.py renders as batch).
    code: str
    #: Imports the code needs beyond ``op`` and ``sa`` (user types).
    imports: tuple[str, ...] = ()


@dataclass
class DriftReport:
    """What ``migls check`` found for one environment."""

    env: Environment
    #: The database compared with (password hidden), ``None`` for the temporary one.
    database: str | None
    #: ``given`` (--database), ``configured``, ``env.py`` (its own URL) or ``temporary``.
    source: str
    differences: list[Difference] = field(default_factory=list)

    def compared_with(self) -> str:
        """The database, as the summary names it."""
        if self.source == "temporary":
            return "a temporary SQLite database upgraded to head"
        if self.source == "env.py":
            return f"{self.database} (the database env.py connects to)"
        if self.source == "given":
            return f"{self.database} (--database)"
        return f"{self.database}"


#: The script the project's Python runs (only the standard library, Alembic and SQLAlchemy).
RUNNER = Path(__file__).resolve().parent / "_alembic_check.py"


def check(env: Environment, *, database: str | None = None, python: str | None = None,
          cancelled: Callable[[], bool] | None = None) -> DriftReport:
    """Compare the models of ``env`` with a database at head, in the project's Python
    (``python``, default :func:`~migls.revisions.project_python`). :class:`CheckError` with
    the project's own message when ``env.py`` raises, the models do not import or the
    database is unreachable or not at head. The temporary database (when one is used) is
    removed in every case."""
    if env.config_path is None or env.script_location is None:
        raise CheckError(
            f"{env.name}: a drift check needs the environment's Alembic config (alembic.ini "
            "or [tool.alembic]) and its env.py; give --alembic-config")
    if database is not None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(database)
        except ArgumentError:  # not echoed: it may hold a password
            raise CheckError("--database: not a SQLAlchemy URL "
                             "(dialect+driver://user:password@host/database)") from None
    interpreter = python or project_python(env)
    # Outside the project: the result file and the temporary database.
    workspace = Path(tempfile.mkdtemp(prefix="migls-check-"))
    result_file = workspace / "result.json"
    request = {"config": str(env.config_path), "database": database,
               "temporary": str(workspace), "result": str(result_file)}
    try:
        try:
            process = subprocess.Popen(
                [interpreter, str(RUNNER), json.dumps(request)], cwd=env.config_path.parent,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CheckError(f"cannot run the project's Python {interpreter}: "
                             f"{exc.strerror}") from None
        try:
            _, err = _wait(process, cancelled)
        except RevisionCommandError:
            raise CheckError("cancelled") from None
        try:
            outcome = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            detail = (err.strip().splitlines() or ["no output"])[-1]
            raise CheckError(f"{interpreter} could not run Alembic's comparison "
                             f"(exit {process.returncode}): {detail}") from None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    if outcome.get("error"):
        raise CheckError(outcome["error"])
    differences = [Difference(d["operation"], tuple(d["changes"]), d["schema"], d["table"],
                              d["name"], d["message"], d["code"], tuple(d["imports"]))
                   for d in outcome["differences"]]
    return DriftReport(env, outcome.get("database"), outcome["source"], differences)


def render_report(report: DriftReport, fmt: str, *, color: bool = False) -> str:
    """The report as ``text`` (one diagnostic per difference, its code indented under it,
    then a summary) or ``json`` (an array, one object per difference)."""
    if fmt == "json":
        return json.dumps([_json(d, report) for d in report.differences], indent=2,
                          ensure_ascii=False) + "\n"
    where = display_path(str(report.env.config_path or report.env.name))
    bold, reset = ("\x1b[1m", "\x1b[0m") if color else ("", "")
    lines: list[str] = []
    for d in report.differences:
        lines.append(f"{bold}{where}{reset}: {bold}{d.operation}{reset}  {d.message}")
        lines.extend(f"    {line}" if line else "" for line in _with_imports(d).splitlines())
        lines.append("")
    count = len(report.differences)
    if count:
        lines.append(f"Found {count} difference{'s' if count != 1 else ''} between the models "
                     f"and {report.compared_with()}; `migls revision --autogenerate` writes "
                     "them as a revision.")
    else:
        lines.append(f"No differences between the models and {report.compared_with()}.")
    return "\n".join(lines) + "\n"


def _with_imports(d: Difference) -> str:
    return "\n".join([*d.imports, d.code]) if d.imports else d.code


def _json(d: Difference, report: DriftReport) -> dict[str, object]:
    return {
        "operation": d.operation,
        "changes": list(d.changes),
        "schema": d.schema,
        "table": d.table,
        "name": d.name,
        "message": d.message,
        "code": d.code,
        "imports": list(d.imports),
        "environment": display_path(str(report.env.config_path or report.env.name)),
        "database": report.compared_with(),
    }


def exit_code(report: DriftReport) -> int:
    """1 when the models and the migrations differ, else 0."""
    return 1 if report.differences else 0
