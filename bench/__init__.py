"""The migls benchmark suite: ``python -m bench`` (from the repository root, with
``pip install -e '.[bench]'``). Not part of the test run, and nothing in it is asserted: it
prints a table of medians, the peers' medians measured in the same run, their ratios, and
whether each target of the performance issue is met.

Suites (``bench/suites.py``): the six real histories (cold and warm, each and together,
graph-only, ``alembic-guard`` on the same files), the editor's path (``engine.relint`` on
the largest history), Alembic's own graph load on a generated history, and the curve of
time and memory over generated histories from 100 to 10,000 revisions.

More suites plug in without touching this package's code: any module ``bench/suite_*.py``
that defines ``run(context: bench.measure.Context) -> list[bench.measure.Row]`` is run
after the built-in ones (the language server's ``didChange`` -> ``publishDiagnostics``
latency goes there).
"""
