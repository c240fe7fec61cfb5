"""Fixtures for the tests that run migrations against a real PostgreSQL (one cluster per session).

``pg_cluster`` (session): starts a throwaway cluster (``cluster.py``) and yields its DSN.
``pg_url`` (per test): a fresh database created from template0, as a SQLAlchemy URL
(``postgresql+psycopg://...``), dropped after the test.

Without PostgreSQL these tests FAIL (CI installs it): a lock rule whose claims were never
checked must not pass silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from pg.cluster import Cluster, ClusterError


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    try:
        cluster = Cluster()
    except ClusterError as exc:
        pytest.fail(f"cannot start a throwaway PostgreSQL cluster: {exc}", pytrace=False)
    try:
        cluster.start()
    except BaseException as exc:
        cluster.stop()
        if isinstance(exc, ClusterError):
            pytest.fail(f"cannot start a throwaway PostgreSQL cluster: {exc}", pytrace=False)
        raise
    try:
        yield cluster.dsn
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: str) -> Iterator[str]:
    name = f"migls_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield make_url(pg_cluster).set(drivername="postgresql+psycopg", database=name) \
            .render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_cluster, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _own_cache_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runs in the tests (the CLI in subprocesses too) use a cache of their own, not the
    user's: the findings are the same either way, but the user's cache stays clean."""
    import os

    saved = os.environ.get("MIGLS_CACHE_DIR")
    os.environ["MIGLS_CACHE_DIR"] = str(tmp_path_factory.mktemp("migls-cache"))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MIGLS_CACHE_DIR", None)
        else:
            os.environ["MIGLS_CACHE_DIR"] = saved
