"""Run Alembic's drift check for ``migls check``, in the project's own Python.

``migls check`` starts this file as a script with the project's interpreter (which has the
project's models and database driver, and maybe not migls), so it imports only the standard
library, Alembic and SQLAlchemy. It does what ``alembic check`` does — runs the project's
``env.py`` with autogenerate's comparison and no revision written — but returns each
difference as the ``op.*`` code Alembic's renderer writes for it. The database compared
with is the one ``env.py`` connects to: the configured one, the ``--database`` URL (given to
``env.py`` as ``sqlalchemy.url``), or, when none is configured, a temporary SQLite file in a
directory migls created (and removes), upgraded to head first. The outcome goes to a JSON
file, never to stdout, which ``env.py`` may print to.

usage: python _alembic_check.py REQUEST_JSON
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

# The revision runner's one-line description of a project's exception (this directory is
# still on sys.path here: it is removed below, before any project code runs).
from _alembic_revision import _one_line  # type: ignore[import-not-found]


class Refused(Exception):
    """migls' own reason not to compare, already a whole sentence."""


class WrongDatabase(Refused):
    """``env.py`` connected to another database than the one migls set as sqlalchemy.url."""

    def __init__(self, connected: str) -> None:
        super().__init__(
            f"env.py does not connect to sqlalchemy.url (it connected to {connected}), so "
            "--database cannot choose the database it compares with")


def main(argv: list[str]) -> int:
    request: dict[str, Any] = json.loads(argv[1])
    # Run like the `alembic` console script: this file's directory (migls' own modules) must
    # not shadow the project's.
    mine = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != mine]
    outcome: dict[str, Any]
    try:
        outcome = _check(request)
    except BaseException as exc:  # the project's error, reported, never a traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        outcome = {"error": _describe(exc)}
    with open(request["result"], "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    return 0


def _describe(exc: BaseException) -> str:
    try:
        from alembic.util import CommandError
    except ImportError:
        CommandError = ()  # type: ignore[assignment,misc]
    missing = str(exc.name or "") if isinstance(exc, ImportError) else ""
    if missing.split(".")[0] in ("alembic", "sqlalchemy"):
        return f"Alembic is not installed in {sys.executable}; use --python"
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, CommandError):
        message = str(exc).strip()
        if message == "Target database is not up to date.":
            message += (" Upgrade it (`alembic upgrade head`), or compare with another one "
                        "(--database URL).")
        return f"alembic: {message}"
    if isinstance(exc, SystemExit):
        return f"env.py exited (status {exc.code})"
    return f"the project's env.py failed: {_one_line(exc)}"


def _config(path: str) -> Any:
    from alembic.config import Config

    if path.endswith(".toml"):
        return Config(toml_file=path)
    pyproject = os.path.join(os.path.dirname(path), "pyproject.toml")
    return Config(file_=path, toml_file=pyproject if os.path.isfile(pyproject) else None)


def _shown(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def _same_database(connected: Any, expected: Any) -> bool:
    if connected.get_backend_name() != expected.get_backend_name():
        return False
    if connected.get_backend_name() == "sqlite":
        return os.path.realpath(connected.database or "") == \
            os.path.realpath(expected.database or "")
    return (connected.host, connected.port, connected.database, connected.username) == \
        (expected.host, expected.port, expected.database, expected.username)


class _Watch:
    """Watches what ``env.py`` passes to ``context.configure``: remembers the database it
    connected to and, when ``expected`` is a URL, refuses a connection elsewhere (before any
    migration runs or a version table is made)."""

    def __init__(self, expected: Any | None) -> None:
        self.expected = expected
        self.connected: Any = None

    def context(self, config: Any, script: Any, **options: Any) -> Any:
        """Alembic's EnvironmentContext with ``configure`` watched (on the instance: the
        ``alembic.context`` proxy is installed from the instance's attributes)."""
        from alembic.runtime.environment import EnvironmentContext

        environment = EnvironmentContext(config, script, **options)
        configure = environment.configure

        def watched_configure(*args: Any, **kwargs: Any) -> None:
            configure(*args, **kwargs)
            connection = environment.get_context().connection
            if connection is None:  # no connection: Alembic's own error follows
                return
            self.connected = connection.engine.url
            if self.expected is not None and not _same_database(self.connected, self.expected):
                raise WrongDatabase(_shown(self.connected))

        environment.configure = watched_configure  # type: ignore[method-assign]
        return environment


def _check(request: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    config = _config(request["config"])
    given: str | None = request.get("database")
    source = "given" if given else "configured"
    if not given and not (config.get_main_option("sqlalchemy.url") or "").strip():
        path = os.path.join(request["temporary"], "check.db")
        given = f"sqlite:///{path}"
        source = "temporary"
    expected = make_url(given) if given else None
    if given:
        # ConfigParser interpolation: a % in the URL (an escaped password) must be doubled.
        config.set_main_option("sqlalchemy.url", given.replace("%", "%%"))
    if source == "temporary":
        migrating: list[bool] = []
        try:
            _upgrade(config, expected, migrating)
        except WrongDatabase:
            # env.py finds its database itself (an environment variable, the application's
            # settings): that database is the configured one.
            config, given, expected, source = _config(request["config"]), None, None, "env.py"
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if migrating:
                what = "the revisions cannot be applied to"
            elif isinstance(exc, SQLAlchemyError):  # env.py's own SQL, e.g. SET lock_timeout
                what = "env.py cannot run on"
            else:  # env.py's own failure, whatever the database
                raise
            raise Refused(f"no database is configured, and {what} a temporary SQLite "
                          f"database: {_one_line(exc)}; give one with --database URL") from None
    missing = _missing_sqlite_file(given or config.get_main_option("sqlalchemy.url"))
    try:
        outcome = _compare(config, expected)
    except Exception as exc:
        if missing is not None and os.path.exists(missing):
            raise Refused(
                f"the SQLite database {missing} does not exist (create it with `alembic "
                "upgrade head`, or leave sqlalchemy.url unset to compare with a temporary "
                "database)") from exc
        raise
    finally:
        if missing is not None and os.path.exists(missing):
            os.unlink(missing)  # SQLite made an empty file when env.py connected
    outcome["source"] = source
    return outcome


def _missing_sqlite_file(url: str | None) -> str | None:
    """The path of a SQLite file database that does not exist yet (connecting creates it
    empty), else ``None``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return None
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # env.py's own error will say it
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or \
            parsed.query.get("uri") or database.startswith("file:"):
        return None
    path = os.path.abspath(database)
    return None if os.path.exists(path) else path


def _upgrade(config: Any, expected: Any, migrating: list[bool]) -> None:
    """``alembic upgrade heads`` on the temporary database, refused if env.py connects
    elsewhere; ``migrating`` gets an entry once the revisions start running."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)

    def upgrade(rev: Any, context: Any) -> Any:
        migrating.append(True)
        return script._upgrade_revs("heads", rev)

    with _Watch(expected).context(config, script, fn=upgrade, as_sql=False,
                                  destination_rev="heads"):
        script.run_env()


def _compare(config: Any, expected: Any) -> dict[str, Any]:
    """``alembic check``'s comparison, kept as op objects and rendered by Alembic."""
    from alembic.autogenerate.api import AutogenContext, RevisionContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    revision_context = RevisionContext(config, script, {
        "message": None, "autogenerate": True, "sql": False, "head": "head", "splice": False,
        "branch_label": None, "version_path": None, "rev_id": None, "depends_on": None,
    }, process_revision_directives=lambda context, rev, directives: seen.append(
        (context, list(directives))))
    seen: list[tuple[Any, list[Any]]] = []

    def retrieve_migrations(rev: Any, context: Any) -> list[Any]:
        revision_context.run_autogenerate(rev, context)
        return []

    watch = _Watch(expected)
    # dont_mutate: the comparison never creates the version table (as `alembic current`).
    with watch.context(config, script, fn=retrieve_migrations, as_sql=False,
                 template_args=revision_context.template_args,
                 revision_context=revision_context, dont_mutate=True):
        script.run_env()
    if not seen:
        raise Refused("env.py did not call context.run_migrations(), so Alembic compared "
                      "nothing")
    context, before_hook = seen[-1]
    # What env.py's own process_revision_directives left (as `alembic revision` would write
    # it), or, when that hook emptied the list (the usual "no empty revisions" recipe), the
    # comparison itself.
    scripts = revision_context.generated_revisions or before_hook
    autogen = AutogenContext(context, autogenerate=False)
    differences: list[dict[str, Any]] = []
    for migration_script in scripts[-1:]:
        for upgrade_ops in migration_script.upgrade_ops_list:
            for top in upgrade_ops.ops:
                differences.extend(_differences(autogen, top))
    return {
        "database": _shown(watch.connected) if watch.connected is not None else None,
        "differences": differences,
    }


def _render(autogen: Any, op: Any) -> tuple[str, list[str]]:
    """The op's code as Alembic writes it into a revision, and the imports it needs
    (beyond ``op`` and ``sa``)."""
    from io import StringIO

    from alembic.autogenerate.render import render_op
    from mako.pygen import PythonPrinter  # type: ignore[import-untyped]

    autogen.imports = set()
    # As Alembic's _render_cmd_body writes a revision's body: the printer indents a batch
    # block's lines under its `with`.
    buffer = StringIO()
    printer = PythonPrinter(buffer)
    for line in render_op(autogen, op):
        printer.writeline(line)
    printer.close()
    return buffer.getvalue().rstrip(), sorted(autogen.imports)


def _differences(autogen: Any, op: Any) -> list[dict[str, Any]]:
    """One entry per operation: nested containers (ModifyTableOps) give one per inner
    operation, each rendered alone in its container (so batch mode keeps its block)."""
    from alembic.operations import ops

    if isinstance(op, ops.ModifyTableOps):
        found = []
        for inner in op.ops:
            alone = ops.ModifyTableOps(op.table_name, [inner], schema=op.schema)
            found.append(_difference(inner, *_render(autogen, alone),
                                     table=op.table_name, schema=op.schema))
        return found
    if isinstance(op, ops.OpContainer):
        return [d for inner in op.ops for d in _differences(autogen, inner)]
    return [_difference(op, *_render(autogen, op))]


def _operation_name(op: Any) -> str:
    """``AddColumnOp`` -> ``add_column``: the ``op.`` function it renders as."""
    name = re.sub(r"Op$", "", type(op).__name__)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _difference(op: Any, code: str, imports: list[str], *, table: str | None = None,
                schema: str | None = None) -> dict[str, Any]:
    """The operation as ``migls check`` reports it; ``table`` and ``schema`` are its
    container's (ModifyTableOps), for the operations that name them otherwise."""
    try:
        diffs = op.to_diff_tuple()
    except (NotImplementedError, AttributeError):
        diffs = []
    if isinstance(diffs, tuple):
        diffs = [diffs]
    table = getattr(op, "table_name", None) or getattr(op, "source_table", None) or table
    schema = getattr(op, "schema", None) or getattr(op, "source_schema", None) or schema
    name = next((getattr(op, attribute) for attribute in
                 ("column_name", "index_name", "constraint_name")
                 if getattr(op, attribute, None) is not None), None)
    if name is None and getattr(op, "column", None) is not None:
        name = op.column.name
    messages = [_message(diff) for diff in diffs] or [f"{_operation_name(op)} on {table}"]
    return {
        "operation": _operation_name(op),
        "changes": [diff[0] for diff in diffs],
        "schema": schema,
        "table": table,
        "name": None if name is None else str(name),
        "message": "; ".join(messages),
        "code": code,
        "imports": imports,
    }


def _qualified(schema: str | None, table: str, column: str | None = None) -> str:
    return ".".join(part for part in (schema, table, column) if part)


def _table_of(item: Any) -> str:
    table = getattr(item, "table", None)
    return _qualified(getattr(table, "schema", None), getattr(table, "name", "?"))


def _columns(item: Any) -> str:
    names = [getattr(c, "name", None) or str(c) for c in getattr(item, "expressions", ())
             or getattr(item, "columns", ())]
    return f" ({', '.join(names)})" if names else ""


_SIDES = {"add": ("in the models", "not in the database"),
          "remove": ("in the database", "not in the models")}


def _message(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    verb, _, what = kind.partition("_")
    if verb in _SIDES and what in ("table", "column", "index", "constraint", "fk"):
        here, there = _SIDES[verb]
        if what == "table":
            subject = f"table {_qualified(diff[1].schema, diff[1].name)}"
        elif what == "column":
            subject = f"column {_qualified(diff[1], diff[2], diff[3].name)}"
        elif what == "index":
            subject = (f"{'unique ' if diff[1].unique else ''}index {diff[1].name} on "
                       f"{_table_of(diff[1])}{_columns(diff[1])}")
        elif what == "fk":
            target = next(iter(diff[1].elements), None)
            points = f" -> {target.target_fullname}" if target is not None else ""
            subject = f"foreign key {diff[1].name or '(unnamed)'} on " \
                      f"{_table_of(diff[1])}{_columns(diff[1])}{points}"
        else:
            label = diff[1].__visit_name__.replace("_", " ")
            subject = f"{label} {diff[1].name or '(unnamed)'} on " \
                      f"{_table_of(diff[1])}{_columns(diff[1])}"
        return f"{subject} is {here}, {there}"
    if kind.startswith("modify_") and len(diff) == 7:
        column = _qualified(diff[1], diff[2], diff[3])
        old, new = diff[5], diff[6]
        if kind == "modify_nullable":
            def state(nullable: Any) -> str:
                return "nullable" if nullable else "NOT NULL"
            return f"column {column} is {state(new)} in the models, {state(old)} in the database"
        what = {"modify_type": "type", "modify_default": "server default",
                "modify_comment": "comment"}.get(kind, kind[len("modify_"):])
        return f"column {column}: {what} {_value(new)} in the models, " \
               f"{_value(old)} in the database"
    if kind == "add_table_comment":
        return f"table {_qualified(diff[1].schema, diff[1].name)}: comment " \
               f"{diff[1].comment!r} in the models, {diff[2]!r} in the database"
    if kind == "remove_table_comment":
        return f"table {_qualified(diff[1].schema, diff[1].name)}: no comment in the " \
               "models, a comment in the database"
    return f"{kind}: {', '.join(str(part) for part in diff[1:])}"


def _value(value: Any) -> str:
    """A type, a server default or a comment as a reader wants it."""
    if value is None or value is False:
        return "none"
    argument = getattr(value, "arg", value)  # DefaultClause
    text = getattr(argument, "text", None)  # TextClause
    if isinstance(text, str):
        return text
    if isinstance(argument, str):
        return repr(argument)
    return repr(argument)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
