"""MG501 imports-application-code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from migls.model import Import, RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid

#: Never the application's: the standard library and what a revision is written with.
ALWAYS_FINE = frozenset(sys.stdlib_module_names) | {"__future__", "alembic", "sqlalchemy"}


@dataclass(frozen=True, slots=True)
class _Project:
    """Where a revision file's project is, as found on disk from the file."""

    #: Directories whose top-level packages and modules are the project's own, in order.
    roots: tuple[Path, ...]
    #: The migration scripts' directory (the one holding ``env.py``, else the versions
    #: directory): code under it belongs to the migrations, not to the application.
    migrations: Path


class ImportsApplicationCode(LintRule):
    """A revision imports the application's own modules (models, services, constants).

    **Why**: a revision is a snapshot of one moment of the schema, run again on every new
    database (tests, CI, a new environment) for years. The application's code moves on: a
    model gains a column the database does not have yet at that revision, a helper is renamed
    or deleted, an enum loses a member. Then the old revision fails to import, or — worse —
    silently does something other than what it did when it was written. Importing the
    application also runs its import-time code (settings, connections) inside ``alembic``.

    "Own" means a top-level package or module found in the project — beside the Alembic
    config (``alembic.ini``), beside the nearest ``pyproject.toml`` above the revision, or
    under their ``src/`` — or listed in ``application-packages`` in ``[tool.migls]``
    (``"myapp"`` covers ``myapp.models``; use it for code that lives elsewhere). The standard
    library, ``sqlalchemy``, ``alembic`` and installed third-party packages are fine, and so
    is code under the migration scripts' own directory (the one holding ``env.py``: shared
    migration helpers). Imports anywhere in the file count (module level, inside
    ``upgrade()``), except under ``if TYPE_CHECKING:``, which never runs. A relative import
    is judged by where it points: within the migration scripts' directory (``from . import
    helpers`` in ``versions/``, ``from ..helpers import x``) it is migration code, further out
    (``from ...models import User``) it is the application's; for a file not on disk, the
    versions directory is the limit. (Alembic loads each revision as a top-level module, so
    any relative import fails there with "attempted relative import with no known parent
    package".) Reported on the module name in the import statement.

    **Safe alternative**: give the revision its own copy of what it needs — a lightweight
    table for data changes, literal values instead of application constants:

    ```python
    import sqlalchemy as sa
    from alembic import op

    users = sa.table("users", sa.column("id", sa.Integer), sa.column("status", sa.String))


    def upgrade():
        op.execute(users.update().where(users.c.status.is_(None)).values(status="active"))
    ```

    **Fix**: replace the import with a local definition (``sa.table``/``sa.column``, copied
    constants), frozen as they are at this revision.
    """

    CODE = "MG501"
    NAME = "imports-application-code"
    SEVERITY = Severity.WARNING
    SUMMARY = "a revision imports the application's own modules"
    VALID = [
        Valid('''
            import json
            from datetime import datetime, timezone

            import sqlalchemy as sa
            from alembic import op
            from sqlalchemy.dialects import postgresql

            def upgrade():
                op.add_column("users", sa.Column("prefs", postgresql.JSONB()))
        ''', settings={"application-packages": ["myapp"]}),
        Valid('''
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from myapp.models import User

            def upgrade():
                op.execute("UPDATE users SET status = 'active' WHERE status IS NULL")
        ''', settings={"application-packages": ["myapp"]}),
        Valid('''
            import myapplication_tools
            from myorg.vendored import retry

            def upgrade():
                retry(lambda: op.drop_index("ix_users_email", table_name="users"))
        ''', settings={"application-packages": ["myapp", "myorg.app"]}),
    ]
    INVALID = [
        Invalid('''
            from alembic import op
            from myapp.models import User

            def upgrade():
                op.execute(sa.update(User).values(status="active"))
        ''', settings={"application-packages": ["myapp"]}, range=(2, 6, 2, 18),
            message="imports myapp.models, the application's own code"),
        Invalid('''
            def upgrade():
                import myorg.app.constants as constants
                op.execute(f"UPDATE users SET plan = '{constants.DEFAULT_PLAN}'")
        ''', settings={"application-packages": ["myorg.app"]}, range=(2, 12, 2, 31)),
        Invalid('''
            from ...models import Base

            def upgrade():
                op.create_table(Base.metadata.tables["users"])
        ''', range=(1, 6, 1, 15), message="...models, which lies outside the migrations"),
    ]

    def __init__(self) -> None:
        # Filesystem facts, cached for one lint run (the engine makes a rule per run).
        self._projects: dict[Path, _Project] = {}
        self._names: dict[Path, frozenset[str]] = {}
        self._directories: dict[Path, Path] = {}

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        packages = ctx.settings.application_packages
        imports = [i for i in file.imports if not i.type_checking and (
            i.relative or i.top not in ALWAYS_FINE or _listed(i, packages))]
        if not imports:  # the usual case (alembic, sqlalchemy, typing): no filesystem access
            return
        path = Path(file.path)
        directory = self._real_directory(path)
        # A file that is not on disk (an example, an unsaved buffer) has no project to look
        # at: only `application-packages` and relative imports can be judged.
        project = self._project(directory, ctx) if path.is_file() else None
        migrations = project.migrations if project is not None else directory
        for imported in imports:
            if imported.relative:
                target = _relative_target(directory, imported)
                if target is None or not _within(target, migrations):
                    written = "." * imported.level + imported.module
                    yield (file, imported.name_span,
                           f"imports {written}, which lies outside the migrations directory: "
                           "when that code changes, this revision breaks or does something "
                           "else than when it was written; copy what it needs into the revision")
                continue
            if self._is_own(imported, packages, project, migrations):
                yield (file, imported.name_span,
                       f"imports {imported.module}, the application's own code: when it "
                       "changes, this revision breaks or does something else than when it was "
                       "written; copy what it needs into the revision (sa.table() for data)")

    def _real_directory(self, path: Path) -> Path:
        """The resolved directory of ``path`` (each directory resolved once per run)."""
        if path.is_symlink():
            return path.resolve().parent
        real = self._directories.get(path.parent)
        if real is None:
            real = self._directories[path.parent] = path.parent.resolve()
        return real

    def _is_own(self, imported: Import, packages: tuple[str, ...], project: _Project | None,
                migrations: Path) -> bool:
        listed = _listed(imported, packages)
        if not listed and imported.top in ALWAYS_FINE:
            return False
        if project is not None:
            for root in project.roots:
                if imported.top in self._top_level_names(root):
                    target = root.joinpath(*imported.module.split("."))
                    return not _within(target, migrations)
        return listed

    def _project(self, directory: Path, ctx: Context) -> _Project:
        """The project roots and migrations directory of the files in ``directory``."""
        cached = self._projects.get(directory)
        if cached is not None:
            return cached
        env_root: Path | None = None
        pyproject_root: Path | None = None
        for candidate in (directory, *directory.parents):
            if env_root is None and (candidate / "alembic.ini").is_file():
                env_root = candidate
            if pyproject_root is None and (candidate / "pyproject.toml").is_file():
                pyproject_root = candidate
            if (env_root and pyproject_root) or (candidate / ".git").exists():
                break
        roots: list[Path] = []
        for base in (env_root, pyproject_root, ctx.settings.root):
            if base is None:
                continue
            base = base.resolve()
            for root in (base, base / "src"):
                if root not in roots and root.is_dir():
                    roots.append(root)
        migrations = directory
        for candidate in (directory, *directory.parents):
            if candidate in roots:
                break
            if (candidate / "env.py").is_file():
                migrations = candidate
                break
        project = _Project(tuple(roots), migrations)
        self._projects[directory] = project
        return project

    def _top_level_names(self, root: Path) -> frozenset[str]:
        """The packages (with ``__init__.py``, or namespace directories holding modules) and
        modules directly in ``root``."""
        cached = self._names.get(root)
        if cached is not None:
            return cached
        names: set[str] = set()
        try:
            entries = list(os.scandir(root))
        except OSError:
            entries = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if name.endswith(".py") and name[:-3].isidentifier() and entry.is_file():
                names.add(name[:-3])
            elif name.isidentifier() and entry.is_dir() and _is_package(Path(entry.path)):
                names.add(name)
        result = frozenset(names)
        self._names[root] = result
        return result


def _is_package(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:  # closed even when any() stops early
            return any(entry.name.endswith(".py") and entry.is_file() for entry in entries)
    except OSError:
        return False


def _listed(imported: Import, packages: tuple[str, ...]) -> bool:
    """Whether the import is in ``application-packages`` (a package covers its modules)."""
    modules = [imported.module] + [f"{imported.module}.{name}" for name in imported.names
                                   if name != "*"]
    return any(module == package or module.startswith(package + ".")
               for module in modules for package in packages)


def _relative_target(directory: Path, imported: Import) -> Path | None:
    """Where ``from ..x import y`` in a file of ``directory`` points (``None``: above the
    filesystem root)."""
    base = directory
    for _ in range(imported.level - 1):
        if base.parent == base:
            return None
        base = base.parent
    return base.joinpath(*imported.module.split(".")) if imported.module else base


def _within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents
