"""tests/services.py: an unreachable service skips the test with the reason, or fails it when
COBPIPE_REQUIRE_SERVICES=1 (what .ci/run sets), so CI cannot pass by skipping."""
from __future__ import annotations

import pytest

import services

NOBODY = {"COBPIPE_TEST_PG_URL": "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2",
          "COBPIPE_TEST_REDIS_URL": "redis://127.0.0.1:1/0",
          "COBPIPE_TEST_AMQP_URL": "amqp://guest:guest@127.0.0.1:1//"}


@pytest.mark.parametrize("finder, env", [(services.pg_url, "COBPIPE_TEST_PG_URL"),
                                         (services.redis_url, "COBPIPE_TEST_REDIS_URL"),
                                         (services.amqp_url, "COBPIPE_TEST_AMQP_URL")])
def test_an_unreachable_service_skips_or_fails_when_required(monkeypatch, finder, env):
    monkeypatch.setenv(env, NOBODY[env])
    monkeypatch.delenv(services.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"not reachable at .*127\.0\.0\.1:1"):
        finder()
    monkeypatch.setenv(services.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="COBPIPE_REQUIRE_SERVICES=1 but"):
        finder()


def test_a_password_in_the_url_is_not_shown(monkeypatch):
    monkeypatch.setenv("COBPIPE_TEST_AMQP_URL", "amqp://guest:hunter2@127.0.0.1:1//")
    monkeypatch.delenv(services.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        services.amqp_url()
    assert "hunter2" not in str(caught.value) and "guest:***@" in str(caught.value)
