"""Fixtures of the S3 end-to-end suite: unmodified S3 clients against the cluster.

Environment (set by `cargo xtask test` through the Rust test `s3::s3_clients_suite`):
AIS_ENDPOINT (a proxy, e.g. http://127.0.0.1:8080), AIS_S3_ACCESS_KEY, AIS_S3_SECRET_KEY.
A missing variable fails the run; nothing is skipped.
"""

import os
import secrets

import boto3
import pytest
from botocore.config import Config


def _env(name):
    v = os.environ.get(name)
    if not v:
        pytest.fail(f"{name} is not set: run through `cargo xtask test`", pytrace=False)
    return v


@pytest.fixture(scope="session")
def endpoint():
    """The proxy's root URL (S3 is served at /s3 and at the root)."""
    return _env("AIS_ENDPOINT").rstrip("/")


@pytest.fixture(scope="session")
def keys():
    return _env("AIS_S3_ACCESS_KEY"), _env("AIS_S3_SECRET_KEY")


def make_client(endpoint, access, secret, **cfg):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            **cfg,
        ),
    )


@pytest.fixture(scope="session")
def s3(endpoint, keys):
    """A stock boto3 client on the path-style /s3 endpoint."""
    return make_client(endpoint + "/s3", *keys)


@pytest.fixture()
def bucket(s3, request):
    """A fresh bucket for one test, emptied and deleted afterwards."""
    name = f"s3-{request.node.name[:30].replace('_', '-').lower()}-{secrets.token_hex(3)}"
    s3.create_bucket(Bucket=name)
    yield name
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=name)


@pytest.fixture()
def cli_env(keys, tmp_path):
    """Environment for awscli: keys, region, no user config files."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=keys[0],
        AWS_SECRET_ACCESS_KEY=keys[1],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env
