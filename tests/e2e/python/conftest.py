"""Shared fixtures for the end-to-end tests driven by the official `aistore` Python SDK.

The cluster under test is given by the environment variable AIS_ENDPOINT
(e.g. http://127.0.0.1:8080). When it is unset every test FAILS (it is not
skipped): a missing endpoint must never look like a green run.
"""

import logging
import os
import re
import secrets

import pytest
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_fixed,
)
from urllib3.util.retry import Retry

from aistore.sdk import Client
from aistore.sdk.retry_config import NETWORK_RETRY_EXCEPTIONS, RetryConfig

ENDPOINT_ENV = "AIS_ENDPOINT"
MISSING_ENDPOINT_MSG = (
    f"{ENDPOINT_ENV} is not set: point it at a running cluster, e.g. "
    f"{ENDPOINT_ENV}=http://127.0.0.1:8080 (`cargo xtask deploy` prints it; "
    "`cargo xtask test` sets it)"
)

log = logging.getLogger("ais-e2e")


class _MissingEndpointItem(pytest.Item):
    """Stands in for a real test when AIS_ENDPOINT is unset, so that it fails."""

    def runtest(self):
        pytest.fail(MISSING_ENDPOINT_MSG, pytrace=False)

    def reportinfo(self):
        return self.path, None, self.name


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    if os.environ.get(ENDPOINT_ENV):
        return
    items[:] = [
        _MissingEndpointItem.from_parent(item.parent, name=item.name) for item in items
    ]


def fast_retry_config() -> RetryConfig:
    """A modest retry policy, so that a server bug surfaces in seconds.

    The SDK default retries 429/500/502/503/504 five times with a 3..48 s back-off
    (~93 s) and network errors 7 times. Here: 5xx other than 503 are never retried
    (the AISError reaches the test at once), 429/503 at most twice with a short
    back-off (and then the error response is handed to the SDK, not a RetryError),
    and a connection-level failure is re-tried once.
    """
    return RetryConfig(
        http_retry=Retry(
            total=2,
            connect=0,
            read=0,
            backoff_factor=0.25,
            status_forcelist=[429, 503],
            raise_on_status=False,
        ),
        network_retry=Retrying(
            stop=stop_after_attempt(2),
            wait=wait_fixed(0.5),
            retry=retry_if_exception_type(NETWORK_RETRY_EXCEPTIONS),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        ),
    )


@pytest.fixture(scope="session")
def endpoint() -> str:
    value = os.environ.get(ENDPOINT_ENV, "").strip()
    if not value:
        pytest.fail(MISSING_ENDPOINT_MSG, pytrace=False)
    return value.rstrip("/")


@pytest.fixture(scope="session")
def client(endpoint) -> Client:  # pylint: disable=redefined-outer-name
    # (connect, read) timeouts as the SDK default; a pool large enough for the
    # 16-thread PUT/GET phases (one pool per host: the proxy and every target).
    return Client(
        endpoint,
        timeout=(3, 20),
        retry_config=fast_retry_config(),
        max_pool_size=32,
    )


def unique_bucket_name(tag: str) -> str:
    """`sdk-<tag>-<8 hex>`: valid AIS bucket name (<= 64 chars of [A-Za-z0-9_.-])."""
    tag = re.sub(r"[^A-Za-z0-9-]+", "-", tag).strip("-").lower()[:40] or "t"
    return f"sdk-{tag}-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def make_bucket_name():
    """The `unique_bucket_name` function, for tests that manage a bucket themselves."""
    return unique_bucket_name


@pytest.fixture
def new_bucket(request, client):  # pylint: disable=redefined-outer-name
    """A uniquely named ais bucket that is NOT created yet; destroyed at teardown."""
    name = request.node.name
    if name.startswith("test_"):
        name = name[len("test_"):]
    bck = client.bucket(unique_bucket_name(name))
    yield bck
    bck.delete(missing_ok=True)


@pytest.fixture
def bucket(new_bucket):  # pylint: disable=redefined-outer-name
    """A uniquely named, freshly created ais bucket; destroyed at teardown."""
    new_bucket.create()
    return new_bucket
