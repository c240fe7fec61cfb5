"""Linting never imports or executes project code.

A project full of traps, each writing a marker file when Python runs it: at module level of
a revision file, in its ``upgrade()``/``downgrade()``, in the helpers they call, in expressions
inside ``op.*`` arguments that the downgrade generator evaluates (SQLAlchemy constructs only),
in ``__init__.py`` of the versions directory, in ``env.py``, in a module the revisions import,
and in a ``sitecustomize.py``/``sqlalchemy.py`` in the project directory (run from there).
Every command that promises to run no project code (``lint`` in every format and with
``--fix``, ``--unsafe-fixes``, ``--diff``, ``--add-ignore``, ``--statistics``; ``graph`` in
every format; ``rebase``; ``rules``; ``rule``) must leave no marker, through the installed
``migls`` command as users run it. The same history is then imported by Alembic, which does
write the markers: the traps are real.

The commands that do run the project (``check``, ``revision --autogenerate``) say so in their
help.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

MARKERS = "markers"


def trap(name: str, depth: int = 2) -> str:
    """Python that creates ``markers/<name>`` in the project when it runs, from a file
    ``depth`` directories below the project (a revision file: 2)."""
    return (f"__import__('pathlib').Path(__file__).resolve().parents[{depth}].joinpath("
            f"'{MARKERS}', '{name}').touch()")


def revision(rev: str, parent: str | None, name: str) -> str:
    down = f"'{parent}'" if parent else "None"
    return f'''"""{name}

Revision ID: {rev}
Revises: {parent or ""}
Create Date: 2024-01-01 00:00:00

"""
import os
import sqlalchemy as sa
from alembic import op

{trap(f"{name}-module")}
os.system("touch " + os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
          "{MARKERS}", "{name}-os-system"))

revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None


def helper():
    {trap(f"{name}-helper")}


def upgrade():
    {trap(f"{name}-upgrade")}
    helper()
    op.add_column("t", sa.Column("c", sa.Integer(), nullable=False,
                                 server_default=__import__("os").system("touch {MARKERS}/x")))
    op.add_column("t", sa.Column("d", sa.String(length=len(open("{MARKERS}/y", "w").name))))
    op.create_index("ix_t_c", "t", ["c"])
    op.execute("ALTER TABLE t ADD COLUMN e int NOT NULL")


def downgrade():
    pass
'''


ENV_PY = f"""{trap("env-py", 1)}
from alembic import context
raise SystemExit("env.py ran")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / MARKERS).mkdir()
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        "sqlalchemy.url = postgresql://nobody@localhost/nothing\nprepend_sys_path = .\n"
        "path_separator = os\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "script.py.mako").write_text('"""${message}"""\nrevision = ${repr(up_revision)}\n')
    (versions / "__init__.py").write_text(trap("versions-init") + "\n")
    (versions / "0001_a1.py").write_text(revision("a1", None, "a1"))
    (versions / "0002_b2.py").write_text(revision("b2", "a1", "b2"))
    (versions / "0003_c3.py").write_text(revision("c3", "a1", "c3").replace(
        "import os\n", "import os\nimport project_models  # the application's code\n"))
    # Modules Python would pick up when run from the project directory.
    for module in ("project_models", "sitecustomize", "sqlalchemy", "libcst", "alembic"):
        (root / f"{module}.py").write_text(trap(f"module-{module}", 0) + "\n")
    return root


def marks(root: Path) -> list[str]:
    return sorted(p.name for p in (root / MARKERS).iterdir())


def migls_command() -> list[str]:
    """The installed console script (as users run it; ``python -m`` would put the current
    directory on ``sys.path`` by Python's own rule)."""
    script = Path(sys.executable).parent / "migls"
    found = str(script) if script.exists() else shutil.which("migls")
    assert found, "the migls command is not installed"
    return [found]


COMMANDS = [
    ["lint", "."],
    ["lint", "--format", "json", "."],
    ["lint", "--format", "sarif", "."],
    ["lint", "--statistics", "."],
    ["lint", "--select", "ALL", "."],
    ["lint", "--diff", "--unsafe-fixes", "."],
    ["lint", "--fix", "."],
    ["lint", "--fix", "--unsafe-fixes", "."],
    ["lint", "--add-ignore", "--reason", "trap test", "."],
    ["lint", "migrations/versions/0002_b2.py"],
    ["graph", "."],
    ["graph", "--format", "json", "."],
    ["graph", "--format", "dot", "."],
    ["graph", "--format", "mermaid", "."],
    ["rebase", "c3", "--onto", "b2"],
    ["rules"],
    ["rule", "MG101"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_no_command_runs_project_code(command: list[str], project: Path) -> None:
    done = subprocess.run([*migls_command(), *command], cwd=project, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), (done.returncode, done.stderr)
    assert marks(project) == []


def test_the_traps_are_real(project: Path) -> None:
    """Alembic itself imports the revision files (their module level runs)."""
    config = Config(str(project / "alembic.ini"))
    (project / "project_models.py").write_text("")
    saved = list(sys.path)
    try:  # Alembic puts the project on sys.path (prepend_sys_path): undone after
        sys.path.insert(0, str(project))
        ScriptDirectory.from_config(config).get_heads()
    finally:
        sys.path[:] = saved
        sys.modules.pop("project_models", None)
    assert {"a1-module", "a1-os-system", "b2-module", "c3-module"} <= set(marks(project))


@pytest.mark.parametrize("command", [["check"], ["revision", "-m", "x"]])
def test_commands_that_run_the_project_say_so(command: list[str]) -> None:
    done = subprocess.run([*migls_command(), *command, "--help"], capture_output=True,
                          text=True, timeout=60)
    assert "RUNS THE PROJECT'S CODE" in " ".join(done.stdout.split()), done.stdout
