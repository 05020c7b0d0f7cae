"""Real services for the fault tests: a Redis database as the broker, Celery worker processes, a client app.

Nothing here is mocked. A worker is `celery -A config worker` in its own process group (so SIGKILL takes its pool
children too), running the production settings (`config.settings`) against the test database that pytest-django
created, with a Redis database of its own (flushed before and after each test). Tasks are sent by a separate
Celery client app, since the test process itself runs Celery eagerly (config/settings_test.py).

The Redis URL is DISTRIBUTED_REDIS_URL (default redis://127.0.0.1:6379/14); without Redis these tests skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

from .helpers import Worker, database_url

REDIS_URL = os.environ.get("DISTRIBUTED_REDIS_URL", "redis://127.0.0.1:6379/14")
# Variables of the developer's shell that would change what the worker runs against.
_SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "SQLITE_PATH",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_VISIBILITY_TIMEOUT",
    "CACHE_URL",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_TIMEOUT",
    "EMAIL_USE_TLS",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "INVOICING_EMAIL_BACKOFF_SECONDS",
    "MEDIA_ROOT",
    "STATIC_ROOT",
)


@pytest.fixture
def redis_broker():
    """The flushed Redis database the workers and the client use as broker; skips when Redis is not reachable."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        pytest.skip(f"needs Redis at {REDIS_URL} (set DISTRIBUTED_REDIS_URL; CI starts Redis): {exc}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def queue_name() -> str:
    return f"distributed-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def celery_client(redis_broker):
    """A bare Celery app on the same broker: sends tasks by name, as another process of the platform would."""
    from celery import Celery

    app = Celery("distributed-tests-client", broker=REDIS_URL, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def workers(redis_broker, tmp_path):
    """Start workers with `workers.start(queues=[...], **env)`; every one is killed when the test ends."""
    started: list[Worker] = []

    class Factory:
        def env(self, **extra) -> dict[str, str]:
            env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
            var_dir = tmp_path / "var"
            var_dir.mkdir(exist_ok=True)
            env.update(
                DJANGO_SETTINGS_MODULE="config.settings",
                DATABASE_URL=database_url(),
                CELERY_BROKER_URL=REDIS_URL,
                VAR_DIR=str(var_dir),
                PYTHONUNBUFFERED="1",
            )
            env.update({k: str(v) for k, v in extra.items()})
            return env

        def start(self, *, queues: list[str], **extra_env) -> Worker:
            name = f"w{len(started) + 1}-{uuid.uuid4().hex[:6]}"
            worker = Worker(name=name, queues=queues, env=self.env(**extra_env), log_path=tmp_path / f"{name}.log")
            started.append(worker)
            return worker.start().wait_ready()

    try:
        yield Factory()
    finally:
        for worker in started:
            worker.kill()
            # Shown by pytest only when the test failed.
            print(f"--- worker {worker.name}, last lines of {worker.log_path} ---\n{worker.log()[-3000:]}")
