"""The on-disk cache: what reading a file and linting an environment gave, reused when
nothing they depend on has changed.

Two kinds of entries, each one file written atomically (a temporary file renamed into place,
so that overlapping runs never see half an entry):

- ``files``: the model of one revision file (:class:`~migls.model.RevisionFile` without its
  path and text), keyed by the file's bytes, its name (Alembic's legacy naming gives the id
  from it) and the code that reads it.
- ``results``: the raw findings of one environment's cacheable rules and the fixes of those
  that were reported, keyed by every file's path and bytes, the settings, the selected rules,
  ``env.py``'s lock timeout, the code of migls and of the rules, and the versions of the
  libraries rules call. Rules that read more than the revision files and settings (the
  filesystem, like MG501) run on every run; see :func:`cacheable`.

An entry that does not load (truncated, corrupt, from another version, or holding anything
but migls's own data) is ignored, as is a directory that cannot be written. ``--no-cache``
bypasses the cache; ``$MIGLS_CACHE_DIR`` moves it (default: the user's cache directory).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import importlib.util
import io
import os
import pickle
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from migls import __version__

CACHE_VARIABLE = "MIGLS_CACHE_DIR"
#: Bump when the layout or meaning of entries changes.
FORMAT = 1
_MAGIC = b"MIGLSC%02d" % FORMAT
_DIGEST_SIZE = 16
#: Rules known to read more than the revision files and the settings (MG501 looks at the
#: project's packages on disk). A rule can also say so itself with ``CACHEABLE = False``.
READS_OUTSIDE_THE_FILES = frozenset({"MG501"})
#: Libraries whose behaviour rules and fixes depend on.
_LIBRARIES = ("libcst", "pglast", "alembic", "sqlalchemy")


def default_directory() -> Path:
    """``$MIGLS_CACHE_DIR``, else ``migls`` in the platform's user cache directory."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / "migls" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "migls"
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "migls"


#: Kinds of entries kept in append-only logs (many small entries: one file each would cost
#: a file creation apiece, slow on some disks) rather than one file each.
LOGGED = frozenset({"files"})
#: Logs per kind (entries go to the log of their key's first hex digit).
_LOGS = 16
#: A log larger than this is started afresh (its entries are then read again once).
_LOG_LIMIT = 64 * 1024 * 1024
_RECORD = b"MGR1"
_KEY_SIZE = 40


class Cache:
    """Entries under one directory; every failure to read or write is a miss, never an
    error.

    Writes happen in a background thread (the thread waits in the kernel while this one
    lints); the process does not end before they are done, and reads what it wrote from
    memory. Parsed files (``files``) go to 16 append-only logs, one ``write`` per log and
    run, each record ``MGR1``, its key, its length and the entry (whose checksum catches a
    torn or interleaved record); results go to a file each, written to a temporary file
    and renamed into place.
    """

    def __init__(self, directory: Path) -> None:
        self.root = directory / f"v{FORMAT}"
        self._writable = True
        self._lock = threading.Lock()
        #: target (a file, or "kind/key" of a logged kind) -> entry, written or not yet.
        self._mine: dict[str, bytes] = {}
        self._work: collections.deque[tuple[str, str, bytes]] = collections.deque()
        self._writer: threading.Thread | None = None
        #: log file -> key -> (offset, length), read once.
        self._indexes: dict[str, dict[str, tuple[int, int]]] = {}
        #: Kinds pruned by this process (once is enough).
        self._pruned: set[str] = set()

    def path(self, kind: str, key: str) -> Path:
        """Where an entry lives (two-character fan-out, as git does); for a logged kind,
        the log that holds it."""
        if kind in LOGGED:
            return self.root / kind / f"{key[:1]}.log"
        return self.root / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry exists (it may still fail to load)."""
        if kind in LOGGED:
            return f"{kind}/{key}" in self._mine or key in self._index(str(self.path(kind, key)))
        target = str(self.path(kind, key))
        return target in self._mine or os.path.exists(target)

    def load(self, kind: str, key: str) -> Any | None:
        """The entry, or ``None`` when missing or unreadable. A file entry that loads is
        marked as used (pruning removes the entries used longest ago)."""
        name = f"{kind}/{key}" if kind in LOGGED else str(self.path(kind, key))
        data = self._mine.get(name)
        if data is None:
            data = self._read(kind, key)
            if data is not None and kind not in LOGGED:
                try:
                    os.utime(name)
                except OSError:
                    pass
        return None if data is None else decode_entry(data)

    def _read(self, kind: str, key: str) -> bytes | None:
        target = str(self.path(kind, key))
        try:
            if kind not in LOGGED:
                with open(target, "rb") as handle:
                    return handle.read()
            place = self._index(target).get(key)
            if place is None:
                return None
            descriptor = os.open(target, os.O_RDONLY)
            try:
                return os.pread(descriptor, place[1], place[0])
            finally:
                os.close(descriptor)
        except OSError:
            return None

    def _index(self, log: str) -> dict[str, tuple[int, int]]:
        """Where each record of a log is (read once; a torn end or garbage stops it)."""
        index = self._indexes.get(log)
        if index is not None:
            return index
        index = {}
        try:
            with open(log, "rb") as handle:
                data = handle.read()
        except OSError:
            data = b""
        position, header = 0, len(_RECORD) + _KEY_SIZE + 8
        while position + header <= len(data) and data.startswith(_RECORD, position):
            key = data[position + 4:position + 4 + _KEY_SIZE].decode("ascii", "replace")
            size = int.from_bytes(data[position + 4 + _KEY_SIZE:position + header], "little")
            if position + header + size > len(data):
                break
            index[key] = (position + header, size)
            position += header + size
        self._indexes[log] = index
        return index

    def store(self, kind: str, key: str, value: object) -> None:
        """Write an entry; give up silently when the directory is not writable."""
        if not self._writable:
            return
        try:
            data = encode_entry(value)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return  # something that does not pickle: not cached, still correct
        self.write(kind, key, data)

    def write(self, kind: str, key: str, data: bytes) -> None:
        """Queue an entry already encoded by :func:`encode_entry` for writing."""
        if not self._writable or not data:
            return
        if kind in LOGGED and len(key) != _KEY_SIZE:
            return
        name = f"{kind}/{key}" if kind in LOGGED else str(self.path(kind, key))
        with self._lock:
            self._mine[name] = data
            self._work.append((kind, key, data))
            if self._writer is None:
                # Not a daemon: the interpreter waits for it before exiting. It stops when
                # nothing is left to write (the next write starts another).
                self._writer = threading.Thread(target=self._write_all,
                                                name="migls-cache-writer")
                self._writer.start()

    def flush(self) -> None:
        """Wait until every queued entry is written."""
        while True:
            with self._lock:
                writer = self._writer
            if writer is None:
                return
            writer.join()

    def _write_all(self) -> None:
        while True:
            with self._lock:
                if not self._work:
                    self._writer = None
                    return
                work = list(self._work)
                self._work.clear()
            records: dict[str, list[bytes]] = {}
            for kind, key, data in work:
                if kind in LOGGED:
                    header = _RECORD + key.encode("ascii") + len(data).to_bytes(8, "little")
                    records.setdefault(str(self.path(kind, key)), []).extend((header, data))
                elif self._writable:
                    self._write_file(str(self.path(kind, key)), data)
            for log, parts in records.items():
                if self._writable:
                    self._append(log, b"".join(parts))
            with self._lock:
                # Parsed files are read back at most once a run, and rarely: once written,
                # they need not stay in memory too (a large history's would double it).
                for kind, key, data in work:
                    name = f"{kind}/{key}"
                    if kind in LOGGED and self._writable and self._mine.get(name) is data:
                        del self._mine[name]
            kinds = {kind for kind, _, _ in work if kind not in LOGGED}
            for kind in kinds - self._pruned:
                self._pruned.add(kind)
                self._prune(kind)

    def _prune(self, kind: str, most: int = 512, keep: int = 256) -> None:
        """Past ``most`` entries of a kind, remove those used longest ago down to ``keep``
        (every change of an environment writes a new result; old ones are never read)."""
        found: list[tuple[float, str]] = []
        try:
            with os.scandir(self.root / kind) as fans:  # closed when a stat fails midway
                for fan in fans:
                    if fan.is_dir():
                        with os.scandir(fan.path) as entries:
                            found.extend((entry.stat().st_mtime, entry.path)
                                         for entry in entries if entry.is_file())
        except OSError:
            return
        if len(found) <= most:
            return
        for _, path in sorted(found)[:len(found) - keep]:
            try:
                os.unlink(path)
            except OSError:
                pass

    def _append(self, log: str, data: bytes) -> None:
        """One write to the end of a log (appends of other processes do not interleave
        with it on local disks; the checksums catch it elsewhere)."""
        try:
            os.makedirs(os.path.dirname(log), exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            try:
                if os.path.getsize(log) > _LOG_LIMIT:
                    flags |= os.O_TRUNC
            except OSError:
                pass
            handle = os.open(log, flags, 0o644)
            try:
                _write_fully(handle, data)
            finally:
                os.close(handle)
        except OSError:
            self._writable = False

    def _write_file(self, target: str, data: bytes) -> None:
        """One entry: a temporary file of this process and thread, renamed into place."""
        directory = os.path.dirname(target)
        temporary = os.path.join(directory, f".tmp-{os.getpid()}-{threading.get_ident()}-"
                                            f"{os.path.basename(target)}")
        try:
            os.makedirs(directory, exist_ok=True)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_fully(handle, data)
            finally:
                os.close(handle)
            os.replace(temporary, target)
        except OSError:
            self._writable = False
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _write_fully(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view):]


def encode_entry(value: object) -> bytes:
    """Magic, digest of the payload, payload (a pickle)."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest() + payload


def decode_entry(data: bytes) -> Any | None:
    """The value of an entry written by :func:`encode_entry`, or ``None``."""
    header = len(_MAGIC) + _DIGEST_SIZE
    if len(data) < header or not data.startswith(_MAGIC):
        return None
    payload = data[header:]
    if hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest() != data[len(_MAGIC):header]:
        return None
    try:
        return _Unpickler(io.BytesIO(payload)).load()
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss
        return None


#: What an entry may contain besides migls's own classes.
_SAFE_BUILTINS = frozenset({"frozenset", "set", "tuple", "list", "dict", "str", "bytes", "int",
                            "float", "bool", "complex", "NoneType"})


class _Unpickler(pickle.Unpickler):
    """Loads migls's own data only: an entry cannot make the unpickler call anything else
    (a cache directory shared with someone else must not run their code)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if module == "copyreg" and name == "_reconstructor":
            return super().find_class(module, name)
        if module.split(".", 1)[0] in ("migls", "migls_rules"):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
            if module == "migls.ops" and name == "DYNAMIC":
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a migls cache entry")


# -- the switch -----------------------------------------------------------------------------

_disabled = False


def disable(flag: bool = True) -> None:
    """Bypass the cache in this process (``--no-cache``)."""
    global _disabled
    _disabled = flag


def default() -> Cache | None:
    """The cache runs use by default; ``None`` when bypassed."""
    return None if _disabled else Cache(default_directory())


class NoCacheAction(argparse.Action):
    """``--no-cache``: bypass the cache. Building the parser turns the cache back on, so
    that each ``main()`` in one process starts from the default."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", f"neither read nor write the cache (kept in ${CACHE_VARIABLE}, "
                                  "default: the user's cache directory)")
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)
        disable(False)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, True)
        disable(True)


# -- keys -----------------------------------------------------------------------------------

def content_hash(data: bytes) -> str:
    """The key of a file's bytes."""
    return hashlib.blake2b(data, digest_size=_DIGEST_SIZE).hexdigest()


def key(*parts: object) -> str:
    """A key from ``repr`` of its parts (all of them plain data)."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=20).hexdigest()


_fingerprints: dict[tuple[str, ...], str] = {}


def code_fingerprint(modules: Iterable[str] = ()) -> str:
    """Changes whenever migls's code, one of ``modules`` (rule modules), Python or a library
    rules call changes: sizes and modification times of the source files, so that an edited
    checkout invalidates the cache without a version bump."""
    names = tuple(sorted(set(modules)))
    found = _fingerprints.get(names)
    if found is not None:
        return found
    stats: list[object] = [__version__, sys.version, FORMAT]
    # Every source file of migls and of the packages the rules come from (their helper
    # modules count as much as the rule modules).
    directories = {Path(__file__).resolve().parent}
    for name in names:
        top = sys.modules.get(name.split(".", 1)[0])
        directories.update(Path(p) for p in getattr(top, "__path__", ()))
    for directory in sorted(directories):
        stats.append(str(directory))
        stats.extend(_source_stats(directory))
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module is not None else None
        if origin is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
        if origin:
            try:
                info = os.stat(origin)
                stats.append((name, origin, info.st_size, info.st_mtime_ns))
            except OSError:
                stats.append((name, origin))
    found = key(*stats)
    _fingerprints[names] = found
    return found


def _source_stats(directory: Path) -> list[tuple[str, int, int]]:
    """(name, size, mtime) of the Python files in ``directory`` and its subpackages."""
    out: list[tuple[str, int, int]] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        if entry.name.endswith(".py"):
            info = entry.stat()
            out.append((entry.name, info.st_size, info.st_mtime_ns))
        elif entry.is_dir() and entry.name.isidentifier():
            out.extend((f"{entry.name}/{name}", size, mtime)
                       for name, size, mtime in _source_stats(Path(entry.path)))
    return out


def cacheable(rule: type) -> bool:
    """Whether a rule's findings depend only on the revision files, the settings and the
    revision graph (so they can be reused while none of those change)."""
    declared = getattr(rule, "CACHEABLE", None)
    if declared is not None:
        return bool(declared)
    return (rule.__module__.split(".", 1)[0] in ("migls", "migls_rules")
            and getattr(rule, "CODE", None) not in READS_OUTSIDE_THE_FILES)
