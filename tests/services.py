"""The real services tests use (PostgreSQL, Redis, RabbitMQ), found by URL.

    from services import pg_url, redis_url, amqp_url, fresh_pg_database

Each `*_url()` returns the service's URL when it answers, else skips the test with the reason --
or fails it when COBPIPE_REQUIRE_SERVICES=1 (set by .ci/run, which starts them with
scripts/ci-services.sh), so a CI run can never pass by skipping them.

    COBPIPE_TEST_PG_URL     default postgresql://postgres@127.0.0.1:5432/postgres
    COBPIPE_TEST_REDIS_URL  default redis://127.0.0.1:6379/0
    COBPIPE_TEST_AMQP_URL   default amqp://guest:guest@127.0.0.1:5672//

`fresh_pg_database()` creates an empty database for one test and drops it afterwards (closing this
process's pooled connections to it first).
"""
from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_ENV, PG_DEFAULT = "COBPIPE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_ENV, REDIS_DEFAULT = "COBPIPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
AMQP_ENV, AMQP_DEFAULT = "COBPIPE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"
REQUIRE_ENV = "COBPIPE_REQUIRE_SERVICES"


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def _unavailable(what: str, url: str, problem: str):
    message = f"{what} not reachable at {_masked(url)} ({problem}); set {_ENVS[what]} or start it " \
              f"(scripts/ci-services.sh)"
    if required():
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}", pytrace=False)
    pytest.skip(message)


_ENVS = {"PostgreSQL": PG_ENV, "Redis": REDIS_ENV, "RabbitMQ": AMQP_ENV}


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))


@functools.lru_cache(maxsize=None)
def _probe_pg(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable", said in the reason
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


@functools.lru_cache(maxsize=None)
def _probe_redis(url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


@functools.lru_cache(maxsize=None)
def _probe_amqp(url: str) -> str | None:
    try:
        import kombu

        with kombu.Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


def pg_url() -> str:
    url = os.environ.get(PG_ENV) or PG_DEFAULT
    problem = _probe_pg(url)
    if problem:
        _unavailable("PostgreSQL", url, problem)
    return url


def redis_url() -> str:
    url = os.environ.get(REDIS_ENV) or REDIS_DEFAULT
    problem = _probe_redis(url)
    if problem:
        _unavailable("Redis", url, problem)
    return url


def amqp_url() -> str:
    url = os.environ.get(AMQP_ENV) or AMQP_DEFAULT
    problem = _probe_amqp(url)
    if problem:
        _unavailable("RabbitMQ", url, problem)
    return url


def with_database(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "cobpipe_test") -> Iterator[str]:
    """A new, empty database on the test server (its URL), dropped afterwards."""
    import psycopg

    server = pg_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name)
    finally:
        from cobpipe.ledger.pg import close_pools

        close_pools()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
