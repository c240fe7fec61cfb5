"""Finding the Alembic environments of a workspace and the revision files of each.

The configuration is read the way Alembic reads it (``[alembic]`` in ``alembic.ini`` first,
then ``[tool.alembic]`` in ``pyproject.toml``; ``%(here)s``; ``path_separator`` and its
legacy fallback; ``recursive_version_locations``) but without importing Alembic or the
project: a ``package:path`` location is found on disk, not imported. Relative locations are
taken relative to the configuration file's directory, where ``alembic`` is normally run.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migls.config import ConfigError, Settings, find_settings, load_toml

#: Directories never searched for environments.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "env",
                          "build", "dist"})
#: Alembic's ``_only_source_rev_file``: what counts as a revision file in a versions directory.
REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_LEGACY_SPLIT = re.compile(r", *|(?: +)")
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


@dataclass
class Environment:
    """One Alembic environment: where its revisions live and how to lint them."""

    root: Path
    config_path: Path | None
    script_location: Path | None
    version_locations: list[Path]
    recursive: bool = False
    sqlalchemy_url: str | None = None
    settings: Settings = field(default_factory=Settings)

    @property
    def name(self) -> str:
        """How the environment is named in messages."""
        return str(self.config_path or self.version_locations[0])

    def revision_paths(self) -> list[Path]:
        """The revision files, in Alembic's order (sorted per directory), each once."""
        seen: set[str] = set()
        paths: list[Path] = []
        for location in self.version_locations:
            if not location.is_dir():
                continue
            for directory, dirnames, filenames in os.walk(location):
                dirnames.sort()
                if os.path.basename(directory).endswith("__pycache__"):
                    dirnames.clear()
                    continue
                real_directory = os.path.realpath(directory)
                links = _symbolic_links(directory)
                for filename in sorted(filenames):
                    if not REVISION_FILE.match(filename):
                        continue
                    name = os.path.join(directory, filename)
                    # The directory is resolved once; a file only when it is a link itself.
                    real = (os.path.realpath(name) if filename in links
                            else os.path.join(real_directory, filename))
                    if real not in seen:
                        seen.add(real)
                        paths.append(Path(name))
                if not self.recursive:
                    break
        return paths

    def env_py_text(self) -> str:
        """The text of ``env.py`` (empty when there is none or it cannot be read)."""
        if self.script_location is None:
            return ""
        try:
            return (self.script_location / "env.py").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def contains(self, path: Path) -> bool:
        """Whether ``path`` is inside one of the version locations."""
        resolved = path.resolve()
        for location in self.version_locations:
            location = location.resolve()
            if resolved == location or location in resolved.parents:
                if self.recursive or resolved.parent == location or resolved == location:
                    return True
        return False


def _symbolic_links(directory: str) -> set[str]:
    """The names of the symbolic links in ``directory`` (one listing, not a stat a file)."""
    try:
        with os.scandir(directory) as entries:
            return {entry.name for entry in entries if entry.is_symlink()}
    except OSError:
        return set()


def read_alembic_config(ini: Path | None, pyproject: Path | None) -> Environment:
    """An environment from ``alembic.ini`` and/or ``[tool.alembic]``; :class:`ConfigError`
    with a one-line message when it cannot be read."""
    options: dict[str, str] = {}
    if ini is not None:
        parser = configparser.ConfigParser(defaults={"here": ini.resolve().parent.as_posix()})
        try:
            with ini.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except (configparser.Error, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{ini}: not a valid Alembic config: {first}") from None
        except OSError as exc:
            raise ConfigError(f"{ini}: cannot read: {exc.strerror}") from None
        if parser.has_section("alembic"):
            for key in parser.options("alembic"):
                if key == "here":
                    continue
                try:
                    options[key] = parser.get("alembic", key)
                except configparser.Error as exc:
                    first = str(exc).splitlines()[0]
                    raise ConfigError(f"{ini}: [alembic] {key}: {first}") from None
    toml: dict[str, object] = {}
    if pyproject is not None:
        data = load_toml(pyproject)
        table = data.get("tool", {}).get("alembic", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{pyproject}: [tool.alembic] must be a table")
        here = pyproject.resolve().parent.as_posix()
        toml = {k: _substitute(v, here, pyproject, k) for k, v in table.items()}

    config_path = ini or pyproject
    assert config_path is not None
    base = config_path.resolve().parent

    script_location_text = options.get("script_location") or _toml_str(toml, "script_location", pyproject)
    if not script_location_text:
        raise ConfigError(f"{config_path}: no 'script_location' key found in [alembic]"
                          + (" or [tool.alembic]" if pyproject else ""))
    script_location = _resolve_location(script_location_text, base, config_path)
    if not script_location.is_dir():
        raise ConfigError(f"{config_path}: script_location '{script_location_text}' "
                          f"does not exist ({script_location})")

    locations_text = options.get("version_locations")
    if locations_text:
        separator_name = options.get("path_separator") or options.get("version_path_separator")
        if separator_name is None:
            names = _LEGACY_SPLIT.split(locations_text)
        else:
            if separator_name not in _SEPARATORS:
                raise ConfigError(f"{config_path}: '{separator_name}' is not a valid value for "
                                  "path_separator; expected 'space', 'newline', 'os', ':', ';'")
            names = [x.strip() for x in locations_text.split(_SEPARATORS[separator_name]) if x]
        names = [n for n in names if n]
    else:
        value = toml.get("version_locations")
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{pyproject}: [tool.alembic] version_locations must be a list of strings")
        names = list(value) if isinstance(value, list) else []
    versions = [_resolve_location(n, base, config_path) for n in names] or [script_location / "versions"]

    recursive_text = options.get("recursive_version_locations")
    if recursive_text is not None:
        recursive = recursive_text == "true"
    else:
        value = toml.get("recursive_version_locations", False)
        if not isinstance(value, bool):
            raise ConfigError(f"{pyproject}: [tool.alembic] recursive_version_locations must be true or false")
        recursive = value
    return Environment(root=base, config_path=config_path, script_location=script_location,
                       version_locations=versions, recursive=recursive,
                       sqlalchemy_url=options.get("sqlalchemy.url"))


def _substitute(value: object, here: str, pyproject: Path, key: str) -> object:
    """Alembic applies ``%``-substitution (``%(here)s``) to every string of ``[tool.alembic]``."""
    try:
        if isinstance(value, str):
            return value % {"here": here}
        if isinstance(value, list):
            return [v % {"here": here} if isinstance(v, str) else v for v in value]
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"{pyproject}: [tool.alembic] {key}: bad %-substitution ({exc})") from None
    return value


def _toml_str(toml: dict[str, object], key: str, pyproject: Path | None) -> str | None:
    value = toml.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{pyproject}: [tool.alembic] {key} must be a string")
    return value


def _resolve_location(text: str, base: Path, config_path: Path) -> Path:
    """A directory path, or Alembic's ``package:path`` resource form found on disk."""
    if ":" in text and not re.match(r"^[A-Za-z]:[\\/]", text) and not text.startswith("/"):
        package, _, sub = text.partition(":")
        parts = package.split(".")
        for root in (base, base / "src", *base.parents):
            candidate = root.joinpath(*parts)
            if (candidate / "__init__.py").is_file() or candidate.is_dir():
                return (candidate / sub).resolve() if sub else candidate.resolve()
        raise ConfigError(f"{config_path}: cannot find package '{package}' of location '{text}' "
                          "on disk (migls does not import it)")
    path = Path(text)
    return (path if path.is_absolute() else base / path).resolve()


def _has_tool_alembic(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "tool.alembic" in text and "alembic" in load_toml(pyproject).get("tool", {})


def environment_at(directory: Path) -> Environment | None:
    """The environment configured in ``directory`` itself, if any."""
    ini = directory / "alembic.ini"
    pyproject = directory / "pyproject.toml"
    has_ini = ini.is_file()
    has_toml = pyproject.is_file() and _has_tool_alembic(pyproject)
    if not has_ini and not has_toml:
        return None
    env = read_alembic_config(ini if has_ini else None, pyproject if has_toml else None)
    env.settings = find_settings(directory)
    return env


def discover(paths: Sequence[Path], alembic_config: Path | None = None) -> tuple[list[Environment], list[Path]]:
    """The environments that the given paths belong to or contain, and the explicitly given
    files (which limit what is reported).

    Raises :class:`ConfigError` for a path that does not exist or a broken configuration.
    """
    environments: dict[Path, Environment] = {}

    def add(env: Environment) -> None:
        key = (env.config_path or env.version_locations[0]).resolve()
        environments.setdefault(key, env)

    if alembic_config is not None:
        if not alembic_config.is_file():
            raise ConfigError(f"{alembic_config}: no such Alembic config file")
        if alembic_config.suffix == ".toml":
            env = read_alembic_config(None, alembic_config)
        else:
            env = read_alembic_config(alembic_config, None)
        env.settings = find_settings(alembic_config.resolve().parent)
        add(env)

    files: list[Path] = []
    bare_candidates: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or directory")
        if path.is_file():
            files.append(path)
            if alembic_config is None:
                for env in _environments_above(path.resolve().parent):
                    add(env)
            continue
        if alembic_config is not None:
            continue
        found = list(_environments_below(path))
        above = list(_environments_above(path.resolve()))
        for env in found + above:
            add(env)
        if not found and not any(env.contains(path / "x.py") for env in above):
            bare_candidates.append(path)

    for directory in bare_candidates:
        if any(env.contains(directory / "x.py") for env in environments.values()):
            continue
        if any(REVISION_FILE.match(p.name) for p in directory.iterdir() if p.is_file()):
            env = Environment(root=directory.resolve(), config_path=None, script_location=None,
                              version_locations=[directory.resolve()])
            env.settings = find_settings(directory.resolve())
            add(env)
        elif not environments:
            raise ConfigError(f"{directory}: no Alembic environment found (no alembic.ini, no "
                              "[tool.alembic] in pyproject.toml, no revision files)")
    return list(environments.values()), files


def _environments_below(directory: Path) -> Iterable[Environment]:
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "alembic.ini" in filenames or "pyproject.toml" in filenames:
            env = environment_at(Path(root))
            if env is not None:
                yield env


def _environments_above(directory: Path) -> Iterable[Environment]:
    for candidate in (directory, *directory.parents):
        env = environment_at(candidate)
        if env is not None:
            yield env
            return
        if (candidate / ".git").exists():
            return
