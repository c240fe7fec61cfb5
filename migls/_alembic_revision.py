"""Run Alembic's ``revision`` command for migls, in the project's own Python.

``migls revision --autogenerate`` starts this file as a script with the project's
interpreter (which has the project's models and database driver, and maybe not migls), so it
imports only the standard library and Alembic. It runs ``alembic.command.revision`` with the
project's configuration and ``env.py`` as ``alembic revision --autogenerate`` would, except
that the new file is written into a staging directory that migls chose: migls lints and
fixes it there and moves it into the versions directory itself. The outcome (the written
paths, or the project's error as one line) goes to a JSON file, never to stdout, which
``env.py`` may print to.

usage: python _alembic_revision.py REQUEST_JSON
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _one_line(exc: BaseException) -> str:
    """The exception as the project would see it, on one line, with the innermost place in
    the project's own files (not in installed libraries)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.getcwd()
    own = [f for f in frames if f.filename.startswith(here) and "site-packages" not in f.filename
           and os.path.abspath(f.filename) != os.path.abspath(__file__)]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} ({os.path.relpath(exc.filename, here)}:{exc.lineno})"
    if own:
        frame = own[-1]
        return f"{text} ({os.path.relpath(frame.filename, here)}:{frame.lineno})"
    return text


def main(argv: list[str]) -> int:
    request: dict[str, Any] = json.loads(argv[1])
    # Run like the `alembic` console script: this file's directory (migls' own modules) must
    # not shadow the project's.
    mine = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != mine]
    outcome: dict[str, Any] = {}
    try:
        outcome["paths"] = _revision(request)
    except BaseException as exc:  # the project's error, reported, never a traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        try:
            from alembic.util import CommandError
        except ImportError:
            CommandError = ()  # type: ignore[assignment,misc]  # noqa: N806
        missing = str(exc.name or "") if isinstance(exc, ImportError) else ""
        if missing.split(".")[0] == "alembic":
            outcome["error"] = f"Alembic is not installed in {sys.executable}; use --python"
        elif isinstance(exc, CommandError):
            outcome["error"] = f"alembic: {str(exc).strip()}"
        elif isinstance(exc, SyntaxError) and str(exc.filename or "").startswith(request["staging"]):
            # Alembic imports the file it wrote: the message broke it.
            outcome["error"] = (f"the generated revision is not valid Python (line {exc.lineno}: "
                                f"{exc.msg}); is there a quote or backslash in the message? "
                                "nothing was written")
        elif isinstance(exc, SystemExit):
            outcome["error"] = f"env.py exited (status {exc.code})"
        else:
            outcome["error"] = f"the project's env.py failed: {_one_line(exc)}"
    with open(request["result"], "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    return 0


def _revision(request: dict[str, Any]) -> list[str]:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config_path: str = request["config"]
    if config_path.endswith(".toml"):
        config = Config(toml_file=config_path)
    else:
        pyproject = os.path.join(os.path.dirname(config_path), "pyproject.toml")
        config = Config(file_=config_path,
                        toml_file=pyproject if os.path.isfile(pyproject) else None)
    staging: str = request["staging"]

    # The staging directory is one more version location, so that Alembic accepts it as the
    # new revision's version_path (and sees no revision in it).
    from_config = ScriptDirectory.from_config.__func__  # type: ignore[attr-defined]

    def with_staging(cls: type[ScriptDirectory], cfg: Config) -> ScriptDirectory:
        script: ScriptDirectory = from_config(cls, cfg)
        script.version_locations = [*(script.version_locations or
                                      [os.path.join(script.dir, "versions")]), staging]
        return script

    ScriptDirectory.from_config = classmethod(with_staging)  # type: ignore[method-assign,assignment]

    def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
        # Runs before env.py's own hook; the staging path travels with each directive.
        for directive in directives:
            directive.version_path = staging

    written = command.revision(
        config, message=request["message"], autogenerate=True, head=request["head"],
        version_path=staging, rev_id=request.get("rev_id"),
        process_revision_directives=process_revision_directives)
    scripts = written if isinstance(written, list) else [written]
    return [script.path for script in scripts if script is not None]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
