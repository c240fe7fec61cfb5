"""The engine: one parse per file, every rule in one pass, suppressions applied once.

The CLI and the language server both call :func:`lint_environment`; neither has lint logic
of its own.
"""

from __future__ import annotations

import fnmatch
import gc
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migls import cache as cache_module
from migls.cache import Cache
from migls.config import Settings
from migls.fixes import Edit, Fix, apply_fixes, remove_comment
from migls.graph import Graph, build_graph
from migls.model import RevisionFile, read_revision
from migls.registry import matches, rule_by_selector, select_rules
from migls.rule import Context, Diagnostic, Finding, LintRule, Severity
from migls.source import SourceText, UndecodableSource, decode, from_text
from migls.span import Span
from migls.suppress import Suppression, find_suppressions

UNUSED_SUPPRESSION = "MG004"


def read_file(path: str, data: bytes) -> RevisionFile:
    """Decode and parse one file; undecodable bytes become a syntax error at their place."""
    try:
        source = decode(data)
    except UndecodableSource as exc:
        return RevisionFile(path=path, syntax_error=(
            f"cannot read the file: {exc.reason}", Span.point(exc.line, exc.column)))
    return read_revision(path, source)


def _read_path(path: Path) -> RevisionFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return RevisionFile(path=str(path), syntax_error=(
            f"cannot read the file: {exc.strerror}", Span.point(1)))
    return read_file(str(path), data)


#: Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 128
#: The object that stands for "the default cache" in keyword arguments.
DEFAULT_CACHE: Any = object()


@contextmanager
def _no_gc() -> Iterator[None]:
    """Reading builds many objects that live on: the cyclic collector, run again and again
    over all of them, costs a quarter of the time (and finds nothing: models hold no
    cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_paths(paths: list[Path], jobs: int | None = None, *,
               cache: Cache | None = DEFAULT_CACHE) -> list[RevisionFile]:
    """Read many files; their models are read on first use.

    A file the cache holds loads from it on first use (a run whose results are cached
    never does). The others are parsed together, on every core when there are many, the
    first time any of them is used: :func:`lint_files` asks for them at once, and reads
    only the revision facts when its rules need no more (``--select MG1``), the operations
    of ``upgrade()``/``downgrade()`` then being read if anything uses them after all. Files
    come back without their LibCST syntax tree (linting does not need it).
    """
    store = cache_module.default() if cache is DEFAULT_CACHE else cache
    files: list[RevisionFile] = []
    batch = _Batch(store, jobs)
    with _no_gc():
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                files.append(_read_path(path))  # the same error, in one place
                continue
            try:
                source = decode(data)
            except UndecodableSource:
                files.append(read_file(str(path), data))
                continue
            digest = cache_module.content_hash(data) if store is not None else ""
            key = _file_key(digest, path.name) if store is not None else ""
            # Not looked up in the cache yet: a run whose results are cached never needs to.
            files.append(batch.add(str(path), source, digest, key))
    return files


#: Rule families that read only the revision facts (MG0: the file, MG1: the graph).
_HEAD_FAMILIES = ("MG0", "MG1")
#: The fields of the revision facts, and those read with the functions (the larger part:
#: statement lines and imports are in function bodies too).
_HEAD_FIELDS = ("syntax_error", "metadata", "docstring_id", "docstring_revises", "message")
_BODY_FIELDS = ("upgrade", "downgrade", "statements", "imports")


class _Batch:
    """Files read together on first use, their heads alone or whole."""

    def __init__(self, store: Cache | None, jobs: int | None) -> None:
        self.store = store
        self.jobs = jobs
        self.files: list[RevisionFile] = []
        self.keys: list[str] = []
        self.heads = False
        self.whole = False
        #: The files the cache did not hold (``None``: not looked up yet).
        self.unread: list[int] | None = None

    def add(self, path: str, source: SourceText, digest: str, key: str) -> RevisionFile:
        file = RevisionFile.lazy(path, source, digest, _Loader(self, len(self.files)))
        if self.store is None:
            file.content_hash = None  # nothing to key results by without a cache
        self.files.append(file)
        self.keys.append(key)
        return file

    def load(self, index: int) -> RevisionFile:
        """A lazy file's loader: reads the whole batch, bodies included."""
        self.read(bodies=True)
        return self.files[index]

    def read(self, bodies: bool) -> None:
        """Load what the cache holds, parse the rest (in worker processes when there are
        many)."""
        if self.whole or (self.heads and not bodies):
            return
        with _no_gc():
            if self.unread is None:
                self.unread = [i for i in range(len(self.files)) if not self._load_cached(i)]
            fields = _MODEL_FIELDS if bodies else _HEAD_FIELDS
            encode = bodies and self.store is not None
            texts = [(self.files[i].path, self.files[i].source) for i in self.unread]
            parsed = _parse_all(texts, self.jobs, encode, bodies)  # type: ignore[arg-type]
            for index, (values, entry) in zip(self.unread, parsed):
                file = self.files[index]
                for name, value in zip(fields, values):
                    if name in _BODY_FIELDS or not self.heads:
                        object.__setattr__(file, name, value)
                object.__setattr__(file, "module", None)
                if bodies:
                    object.__setattr__(file, "_loader", None)
                    if self.store is not None:
                        self.store.write("files", self.keys[index], entry)
        self.heads = True
        self.whole = bodies

    def _load_cached(self, index: int) -> bool:
        """Give file ``index`` its model from the cache, if the cache holds it."""
        if self.store is None:
            return False
        values = self.store.load("files", self.keys[index])  # None when it is not there
        if not (isinstance(values, tuple) and len(values) == len(_MODEL_FIELDS)):
            return False  # missing or unreadable: parsed again (and the entry healed)
        file = self.files[index]
        for name, value in zip(_MODEL_FIELDS, values):
            object.__setattr__(file, name, value)
        object.__setattr__(file, "module", None)
        object.__setattr__(file, "_loader", None)
        return True


def _read_heads(files: list[RevisionFile]) -> None:
    """Read the revision facts of the files still unread, without their functions."""
    batches = {id(b): b for b in (_batch_of(f) for f in files) if b is not None}
    for batch in batches.values():
        batch.read(bodies=False)


def _read_whole(files: list[RevisionFile]) -> None:
    """Read the unread files whole, each batch at once."""
    batches = {id(b): b for b in (_batch_of(f) for f in files) if b is not None}
    for batch in batches.values():
        batch.read(bodies=True)


class _Loader:
    """The loader of a file of a batch."""

    __slots__ = ("batch", "index")

    def __init__(self, batch: _Batch, index: int) -> None:
        self.batch = batch
        self.index = index

    def __call__(self) -> RevisionFile:
        return self.batch.load(self.index)


def _batch_of(file: RevisionFile) -> _Batch | None:
    """The batch a file still waits to be read with, if any."""
    try:
        loader = object.__getattribute__(file, "_loader")
    except AttributeError:
        return None
    return loader.batch if isinstance(loader, _Loader) else None


#: What the reading of one file gives: its model's values, and the cache entry holding them
#: (empty without a cache).
_Parsed = tuple[tuple[object, ...], bytes]


def _parse_all(texts: list[tuple[str, SourceText]], jobs: int | None,
               encode: bool, bodies: bool = True) -> list[_Parsed]:
    """Parse texts, on every core when there are many (and the platform can fork)."""
    jobs = jobs or _default_jobs()
    if jobs <= 1 or len(texts) < PARALLEL_THRESHOLD or not hasattr(os, "fork"):
        return _parse_texts(texts, encode, bodies)  # Windows: a spawned worker costs more
    return _parse_shared(texts, jobs - 1, encode, bodies)


#: Files are handed out in chunks of this many: the processes' shares differ by at most one
#: chunk at the end, whatever the sizes of the files.
CHUNK_FILES = 16
_TOKEN = 4  # bytes of a chunk number in the queue


def _parse_shared(texts: list[tuple[str, SourceText]], workers: int, encode: bool,
                  bodies: bool) -> list[_Parsed]:
    """Parse with forked workers (which inherit the texts): the chunk numbers wait in a
    pipe, from which every process takes the next (a read of a few bytes from a pipe is
    atomic); the workers then send the cache entries of their models back, pickled."""
    import pickle

    chunks = [texts[i:i + CHUNK_FILES] for i in range(0, len(texts), CHUNK_FILES)]
    queue, filling = os.pipe()
    # A pipe holds 64 KiB: 16,000 chunk numbers, 256,000 files.
    os.write(filling, b"".join(i.to_bytes(_TOKEN, "little") for i in range(len(chunks))))
    os.close(filling)
    children: list[tuple[int, int]] = []
    for _ in range(workers):
        receiving, sending = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no more processes: those started, and this one, share the work
            os.close(receiving)
            os.close(sending)
            break
        if pid == 0:  # the worker: whatever happens, it ends here
            status = 1
            try:
                os.close(receiving)
                _work(chunks, queue, sending, bodies)
                status = 0
            finally:
                os._exit(status)
        os.close(sending)
        children.append((pid, receiving))
    results: list[list[_Parsed] | None] = [None] * len(chunks)
    for index in _chunk_numbers(queue):
        results[index] = _parse_texts(chunks[index], encode, bodies)
    os.close(queue)
    for pid, receiving in children:
        with os.fdopen(receiving, "rb") as stream:
            data = stream.read()
        os.waitpid(pid, 0)
        try:
            sent = pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, ValueError):
            continue  # a worker died (out of memory, a crash in a native parser): see below
        for index, entries in sent:
            models = [cache_module.decode_entry(entry) for entry in entries]
            if all(isinstance(model, tuple) for model in models):
                results[index] = [(model, entry if encode else b"")  # type: ignore[misc]
                                  for model, entry in zip(models, entries)]
    for index, found in enumerate(results):
        if found is None:  # taken by a worker that did not send it: read it here
            results[index] = _parse_texts(chunks[index], encode, bodies)
    return [parsed for found in results for parsed in found or ()]


def _work(chunks: list[list[tuple[str, SourceText]]], queue: int, sending: int,
          bodies: bool) -> None:
    """A worker: parse the chunks it takes from the queue, then send their cache entries."""
    import pickle

    done = [(index, [entry for _, entry in _parse_texts(chunks[index], True, bodies)])
            for index in _chunk_numbers(queue)]
    with os.fdopen(sending, "wb") as stream:
        stream.write(pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))


def _chunk_numbers(queue: int) -> Iterator[int]:
    """The chunk numbers this process takes from the queue, until it is empty."""
    while len(token := os.read(queue, _TOKEN)) == _TOKEN:
        yield int.from_bytes(token, "little")


JOBS_VARIABLE = "MIGLS_JOBS"


def _default_jobs() -> int:
    """``$MIGLS_JOBS``, else this process and a worker for each core that is at least a
    quarter idle (the one-minute load average): a worker on a busy core only adds the cost
    of sending its models back."""
    configured = os.environ.get(JOBS_VARIABLE, "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        return cores
    return max(1, min(cores, 1 + math.floor(cores - busy + 0.75)))


def _parse_texts(texts: list[tuple[str, SourceText]], encode: bool,
                 bodies: bool = True) -> list[_Parsed]:
    out: list[_Parsed] = []
    fields = _MODEL_FIELDS if bodies else _HEAD_FIELDS
    with _no_gc():
        for path, source in texts:
            file = read_revision(path, source, bodies=bodies)
            model = tuple(getattr(file, name) for name in fields)
            out.append((model, cache_module.encode_entry(model) if encode else b""))
    return out


#: The model fields an entry of the file cache holds, in order.
_MODEL_FIELDS = ("syntax_error", "metadata", "docstring_id", "docstring_revises", "message",
                 "upgrade", "downgrade", "statements", "imports")


def _file_key(digest: str, name: str) -> str:
    # The name matters: without a `revision = ...`, Alembic takes the id from it.
    return cache_module.key("file", digest, name, cache_module.code_fingerprint())


class LintResult:
    """The diagnostics of one environment, and what they were computed from (the graph is
    built on first use: a cached run does not need it)."""

    def __init__(self, diagnostics: list[Diagnostic], files: list[RevisionFile],
                 graph: Graph | None = None, rules: list[type[LintRule]] | None = None) -> None:
        self.diagnostics = diagnostics
        self.files = files
        self._graph = graph
        self.rules = rules if rules is not None else []

    @property
    def graph(self) -> Graph:
        """The revision graph of :attr:`files`."""
        if self._graph is None:
            self._graph = build_graph(self.files)
        return self._graph

    def __repr__(self) -> str:
        return f"LintResult({len(self.diagnostics)} diagnostics, {len(self.files)} files)"


class _Context(Context):
    """A context whose graph is built on first use (cached runs run only the rules that
    read the filesystem, which do not need it)."""

    def __init__(self, files: list[RevisionFile], settings: Settings,
                 lock_timeout_in_env: bool) -> None:
        self._graph: Graph | None = None
        super().__init__(files, None, settings, lock_timeout_in_env)  # type: ignore[arg-type]

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = build_graph(self.files)
        return self._graph

    @graph.setter
    def graph(self, value: Graph | None) -> None:
        self._graph = value


#: One raw finding: the rule's place in the run, the rule, where, what, its own severity.
_Raw = tuple[int, type[LintRule], Span, str, "Severity | None"]


def lint_files(files: list[RevisionFile], settings: Settings, *,
               report: Callable[[RevisionFile], bool] = lambda file: True,
               select: list[str] | None = None, ignore: Iterable[str] = (),
               rules: list[type[LintRule]] | None = None,
               lock_timeout_in_env: bool = False, fixes: bool = True,
               cache: Cache | None = DEFAULT_CACHE) -> LintResult:
    """Lint the parsed files of one environment (sorted by path).

    ``report`` says which files diagnostics are wanted for; the graph is always built from
    every file. ``fixes=False`` leaves every diagnostic's fix out (computing some costs more
    than finding them). Files read by :func:`read_paths` carry the hash of their bytes:
    with a cache, the findings of the cacheable rules are reused while none of the files,
    the settings and the rules change.
    """
    if rules is None:
        rules = select_rules(settings, select, list(ignore))
    with _no_gc():  # rules build much and leave no cycles; the collector would walk it all
        return _lint_files(files, settings, report, rules, lock_timeout_in_env, fixes, cache)


def _lint_files(files: list[RevisionFile], settings: Settings,
                report: Callable[[RevisionFile], bool], rules: list[type[LintRule]],
                lock_timeout_in_env: bool, fixes: bool, cache: Cache | None) -> LintResult:
    wanted = [file for file in files if report(file)]
    store = cache_module.default() if cache is DEFAULT_CACHE else cache
    if store is not None and not all(file.content_hash for file in files):
        store = None  # in-memory texts (the editor, examples): nothing to key them by
    key = None
    reused: dict[str, Any] | None = None
    if store is not None:
        wanted_paths = {file.path for file in wanted}
        key = _result_key(files, wanted_paths, settings, rules, lock_timeout_in_env, fixes)
        entry = store.load("results", key)
        if isinstance(entry, dict) and entry.get("key") == key:
            reused = entry
            for file in wanted:
                imports = entry["imports"].get(file.path)
                if imports is not None and "imports" not in _loaded(file):
                    file.imports = imports  # what MG501 reads: no need to load the model
    if reused is None:
        # Read the files not read yet, together; the revision facts alone when the rules
        # are all of the file and graph families (anything else is still read on use).
        if all(rule.CODE.startswith(_HEAD_FAMILIES) for rule in rules):
            _read_heads(files)
        else:
            _read_whole(files)
    ctx = _Context(files, settings, lock_timeout_in_env)
    instances = [rule() for rule in rules if rule.CODE != UNUSED_SUPPRESSION]
    by_code = {type(rule).CODE: rule for rule in instances}
    raw: dict[str, list[_Raw]] = {file.path: [] for file in wanted}
    for index, rule in enumerate(instances):
        if reused is not None and cache_module.cacheable(type(rule)):
            continue
        for file in wanted:
            for finding in rule.check_file(ctx, file):
                raw[finding[0].path].append(
                    (index, type(rule), finding[1], finding[2], _severity_of(finding)))
        for finding in rule.check_graph(ctx):
            if finding[0].path in raw:
                raw[finding[0].path].append(
                    (index, type(rule), finding[1], finding[2], _severity_of(finding)))
    if reused is not None:
        for path, found in reused["raw"].items():
            raw[path].extend((index, type(instances[index]), span, message, severity)
                             for index, span, message, severity in found)
            raw[path].sort(key=lambda item: item[0])  # the order of an uncached run
    enabled_codes = {rule.CODE for rule in rules}
    cached_fixes: dict[tuple[str, str, Span, str], Fix] = (
        reused["fixes"] if reused is not None else {})
    new_fixes: dict[tuple[str, str, Span, str], Fix] = {}
    diagnostics: list[Diagnostic] = []
    for file in wanted:
        found = [(rule, span, message, severity) for _, rule, span, message, severity
                 in raw[file.path]]
        for diagnostic in _finish_file(file, found, settings, enabled_codes):
            fixer = by_code.get(diagnostic.code) if fixes else None
            fix: Fix | None = None
            if fixer is not None:
                fix_key = (diagnostic.path, diagnostic.code, diagnostic.span, diagnostic.message)
                if reused is not None and cache_module.cacheable(type(fixer)):
                    fix = cached_fixes.get(fix_key)
                else:
                    fix = fixer.fix(ctx, file, diagnostic.span, diagnostic.message)
                    if fix is not None and cache_module.cacheable(type(fixer)):
                        new_fixes[fix_key] = fix
            elif not fixes and diagnostic.fix is not None:
                diagnostic = replace(diagnostic, fix=None)
            diagnostics.append(replace(diagnostic, fix=fix) if fix is not None else diagnostic)
    diagnostics.sort(key=Diagnostic.sort_key)
    if store is not None and key is not None and reused is None:
        live = any(not cache_module.cacheable(type(rule)) for rule in instances)
        store.store("results", key, {
            "key": key,
            "raw": {path: [(index, span, message, severity)
                           for index, rule, span, message, severity in found
                           if cache_module.cacheable(rule)]
                    for path, found in raw.items()},
            "fixes": new_fixes,
            "imports": {file.path: file.imports for file in wanted} if live else {},
        })
    return LintResult(diagnostics, files, ctx._graph, rules)


def relint(files: Mapping[str, RevisionFile], changed_path: str, new_text: str,
           settings: Settings, *, rules: list[type[LintRule]] | None = None,
           lock_timeout_in_env: bool = False, report: Iterable[str] | None = None,
           fixes: bool = False) -> tuple[dict[str, RevisionFile], LintResult]:
    """The editor's path: read one file again from the text the editor holds (saved or
    not) and lint the environment again, every other file as it was read before.

    ``files`` maps each path of the environment to its file, in the environment's order;
    ``report`` lists the paths diagnostics are wanted for (default: the changed file; a
    change can also move findings in other files, such as a second head). Returns the new
    mapping and the result. Fixes are left out unless asked for: the editor computes them
    for the code actions it shows.
    """
    previous = files.get(changed_path)
    old = previous.source if previous is not None and previous.source is not None else None
    bom = new_text.startswith("\ufeff")
    source = from_text(new_text[1:] if bom else new_text, old.encoding if old else "utf-8",
                       bom or (old.bom if old else False))
    updated = dict(files)
    updated[changed_path] = read_revision(changed_path, source).without_syntax_tree()
    wanted = {changed_path} if report is None else set(report)
    result = lint_files(list(updated.values()), settings, report=lambda f: f.path in wanted,
                        rules=rules, lock_timeout_in_env=lock_timeout_in_env, fixes=fixes,
                        cache=None)
    return updated, result


def _loaded(file: RevisionFile) -> set[str]:
    """The fields of a (lazy) file that are set."""
    names: set[str] = set()
    for name in ("imports",):
        try:
            object.__getattribute__(file, name)
            names.add(name)
        except AttributeError:
            pass
    return names


def _result_key(files: list[RevisionFile], wanted: set[str], settings: Settings,
                rules: list[type[LintRule]], lock_timeout_in_env: bool, fixes: bool) -> str:
    modules = {rule.__module__ for rule in rules}
    return cache_module.key(
        "results", cache_module.code_fingerprint(modules), repr(settings), lock_timeout_in_env,
        fixes, os.getcwd(),
        [(rule.__module__, rule.__qualname__, rule.CODE,
          getattr(rule.fix, "__qualname__", "")) for rule in rules],
        [(file.path, file.content_hash, file.path in wanted) for file in files])


def _severity_of(finding: Finding) -> Severity | None:
    """A rule may give one finding its own default severity (MG311: error or info)."""
    return finding[3] if len(finding) > 3 else None


def _finish_file(file: RevisionFile, found: list[tuple[type[LintRule], Span, str, Severity | None]],
                 settings: Settings, enabled: set[str]) -> list[Diagnostic]:
    """Apply suppressions, per-file ignores and severities; add unused-suppression findings."""
    # Only a file that mentions migls can hold a suppression (and a lazy file then need not
    # load its statements).
    suppressions = (find_suppressions(file.source.text, file.statements)
                    if file.source is not None and "migls" in file.source.text else [])
    ignored_here = _per_file_ignores(file.path, settings)
    out: list[Diagnostic] = []
    for rule, span, message, severity in found:
        if any(matches([selector], rule.CODE) for selector in ignored_here):
            continue
        if _suppressed(rule, span, suppressions):
            continue
        out.append(_diagnostic(rule, file.path, span, message, settings, default=severity))
    if UNUSED_SUPPRESSION in enabled:
        out.extend(_suppression_findings(file, suppressions, settings, enabled))
    return out


def _diagnostic(rule: type[LintRule], path: str, span: Span, message: str,
                settings: Settings, unnecessary: bool = False,
                default: Severity | None = None) -> Diagnostic:
    severity = settings.severity.get(rule.CODE, settings.severity.get(
        rule.NAME, default or rule.SEVERITY))
    return Diagnostic(rule.CODE, rule.NAME, severity, message, path, span, unnecessary)


def _suppressed(rule: type[LintRule], span: Span, suppressions: list[Suppression]) -> bool:
    for suppression in suppressions:
        if not suppression.file_level and span.line not in suppression.lines:
            continue
        if not suppression.selectors:
            suppression.used.add(rule.CODE)
            return True
        for selector in suppression.selectors:
            if matches([selector], rule.CODE):
                suppression.used.add(selector)
                return True
    return False


def _suppression_findings(file: RevisionFile, suppressions: list[Suppression],
                          settings: Settings, enabled: set[str]) -> list[Diagnostic]:
    rule = rule_by_selector(UNUSED_SUPPRESSION)
    assert rule is not None
    out: list[Diagnostic] = []
    for suppression in suppressions:
        selectors = suppression.selectors
        unknown = [s for s in selectors if not any(matches([s], code) for code in _all_codes())]
        if unknown:
            out.append(_diagnostic(rule, file.path, suppression.span,
                                   f"suppression names unknown rule(s): {', '.join(unknown)}",
                                   settings, unnecessary=True))
            continue
        if selectors:
            # Only judge selectors whose rules all ran: a disabled rule cannot prove it unused.
            unused = [s for s in selectors if s not in suppression.used
                      and all(code in enabled for code in _all_codes() if matches([s], code))]
        else:
            unused = [] if suppression.used else ["everything"]
        if unused:
            what = ", ".join(unused)
            diagnostic = _diagnostic(rule, file.path, suppression.span,
                                     f"unused suppression: nothing to ignore for {what} here",
                                     settings, unnecessary=True)
            out.append(replace(diagnostic, fix=_unused_suppression_fix(file, suppression, unused)))
        elif settings.require_reason and not suppression.reason:
            out.append(_diagnostic(rule, file.path, suppression.span,
                                   "suppression without a reason (require-reason = true): "
                                   "add one after ' -- '", settings))
    return out


def _unused_suppression_fix(file: RevisionFile, suppression: Suppression,
                             unused: list[str]) -> Fix | None:
    """Remove the comment, or only the selectors that suppress nothing."""
    kept = [s for s in suppression.selectors if s not in unused]
    if not kept:
        edit = remove_comment(file, suppression.span)
        return Fix("Remove the unused suppression", True, (edit,)) if edit else None
    kind = "file-ignore" if suppression.file_level else "ignore"
    reason = f" -- {suppression.reason}" if suppression.reason else ""
    text = f"# migls: {kind}[{', '.join(kept)}]{reason}"
    return Fix(f"Remove {', '.join(unused)} from the suppression", True,
               (Edit(suppression.span, text),))


def _all_codes() -> list[str]:
    from migls.registry import all_rules
    return [rule.CODE for rule in all_rules()]


def _per_file_ignores(path: str, settings: Settings) -> list[str]:
    if not settings.per_file_ignores:
        return []
    absolute = Path(path).resolve()
    relative = absolute.as_posix()
    if settings.root is not None:
        try:
            relative = absolute.relative_to(settings.root.resolve()).as_posix()
        except ValueError:
            pass
    out: list[str] = []
    for pattern, selectors in settings.per_file_ignores.items():
        if (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(absolute.name, pattern)
                or fnmatch.fnmatch(relative, pattern.rstrip("/") + "/*")):
            out.extend(selectors)
    return out


def lint_sources(sources: Mapping[str, str], settings: Settings | None = None,
                 select: list[str] | None = None) -> LintResult:
    """Lint in-memory files as one bare versions directory (rule examples, tests)."""
    files = [read_file(path, text.encode("utf-8")) for path, text in sorted(sources.items())]
    return lint_files(files, settings or Settings(), select=select)


def failing(diagnostics: Iterable[Diagnostic], threshold: Severity) -> bool:
    """Whether anything is at or above the failing severity."""
    return any(d.severity >= threshold for d in diagnostics)


@dataclass
class FixResult:
    """What ``--fix`` did to one environment: the new texts and the final lint."""

    texts: dict[str, str]
    applied: int
    result: LintResult


def fix_files(files: list[RevisionFile], settings: Settings, *, rules: list[type[LintRule]],
              report: Callable[[RevisionFile], bool], unsafe: bool = False,
              lock_timeout_in_env: bool = False, rounds: int = 5) -> FixResult:
    """Apply every eligible fix of the reported files, re-linting between rounds (a fix may
    make room for another), until nothing changes. Nothing is written here."""
    current = list(files)
    texts: dict[str, str] = {}
    applied = 0
    result = lint_files(current, settings, report=report, rules=rules,
                        lock_timeout_in_env=lock_timeout_in_env)
    for _ in range(rounds):
        by_path: dict[str, list[Fix]] = {}
        for diagnostic in result.diagnostics:
            if diagnostic.fix is not None and (diagnostic.fix.safe or unsafe):
                by_path.setdefault(diagnostic.path, []).append(diagnostic.fix)
        changed = False
        for index, file in enumerate(current):
            fixes = by_path.get(file.path)
            if not fixes or file.source is None:
                continue
            new_text, count = apply_fixes(file.source.text, fixes)
            if new_text == file.source.text:
                continue
            applied += count
            texts[file.path] = new_text
            current[index] = read_revision(file.path, replace(file.source, text=new_text))
            changed = True
        if not changed:
            break
        result = lint_files(current, settings, report=report, rules=rules,
                            lock_timeout_in_env=lock_timeout_in_env)
    return FixResult(texts, applied, result)
