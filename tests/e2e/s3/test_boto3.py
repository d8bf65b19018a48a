"""boto3 (stock, no AIS patch) against the /s3 endpoint of a proxy."""

import hashlib
import os
import time
import urllib.error
import urllib.request

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_client

MiB = 1 << 20


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def status_of(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_buckets(s3, bucket):
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket in names
    h = s3.head_bucket(Bucket=bucket)
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket + "-missing")
    assert status_of(e) == 404
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket)
    assert code_of(e) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket + "-missing")
    assert code_of(e) == "NoSuchBucket"
    # A bucket with objects is not deleted.
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(e) == "BucketNotEmpty"
    # Versioning status round-trips.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert s3.get_object_acl(Bucket=bucket, Key="x")["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(ClientError) as e:
        s3.get_object_acl(Bucket=bucket, Key="missing")
    assert status_of(e) == 404
    loc = s3.get_bucket_location(Bucket=bucket)
    assert loc.get("LocationConstraint") in (None, "")


def test_objects(s3, bucket):
    data = os.urandom(100_000)
    md5 = hashlib.md5(data).hexdigest()
    r = s3.put_object(
        Bucket=bucket,
        Key="dir/obj one+two",
        Body=data,
        ContentType="text/x-test",
        Metadata={"color": "blue", "n": "42"},
    )
    assert r["ETag"] == f'"{md5}"'
    g = s3.get_object(Bucket=bucket, Key="dir/obj one+two")
    assert g["Body"].read() == data
    assert g["ETag"] == f'"{md5}"'
    assert g["ContentType"] == "text/x-test"
    assert g["Metadata"] == {"color": "blue", "n": "42"}
    h = s3.head_object(Bucket=bucket, Key="dir/obj one+two")
    assert h["ContentLength"] == len(data)
    assert h["ETag"] == f'"{md5}"'
    assert h["Metadata"] == {"color": "blue", "n": "42"}
    assert h["LastModified"].year >= 2024
    # Ranges.
    part = s3.get_object(Bucket=bucket, Key="dir/obj one+two", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    tail = s3.get_object(Bucket=bucket, Key="dir/obj one+two", Range="bytes=-5")
    assert tail["Body"].read() == data[-5:]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj one+two", Range=f"bytes={len(data)}-")
    assert code_of(e) == "InvalidRange"
    # Conditional requests.
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj one+two", IfNoneMatch=f'"{md5}"')
    assert status_of(e) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj one+two", IfMatch='"0000"')
    assert status_of(e) == 412
    assert s3.get_object(Bucket=bucket, Key="dir/obj one+two", IfMatch=md5)["Body"].read() == data
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/obj one+two", IfModifiedSince=h["LastModified"])
    assert status_of(e) == 304
    # Conditional write: If-None-Match: * refuses to overwrite.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="dir/obj one+two", Body=b"x", IfNoneMatch="*")
    assert status_of(e) == 412
    assert s3.get_object(Bucket=bucket, Key="dir/obj one+two")["Body"].read() == data
    # Empty object, unicode and long keys.
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    for key in ["ünïcödé/日本語 ключ", "a" * 200 + "/" + "b" * 300 + "/" + "c" * 500]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    long_key = "k" * 1024
    s3.put_object(Bucket=bucket, Key=long_key, Body=b"long")
    assert s3.get_object(Bucket=bucket, Key=long_key)["Body"].read() == b"long"
    # Delete is idempotent; GET of a missing key is NoSuchKey.
    s3.delete_object(Bucket=bucket, Key="empty")
    s3.delete_object(Bucket=bucket, Key="empty")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="empty")
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="empty")
    assert status_of(e) == 404


def test_bad_keys_and_digests(s3, bucket):
    for key in ["../escape", "a/../../b", "a/./b"]:
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert status_of(e) == 400, key
    # Content-MD5 is verified; a mismatch stores nothing.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"hello", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code_of(e) in ("BadDigest", "InvalidDigest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="md5")
    s3.put_object(Bucket=bucket, Key="md5", Body=b"hello", ContentMD5="XUFAKrxLKna5cZ2REBfFkg==")
    # Wrong x-amz-checksum-crc32 is rejected.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="crc", Body=b"hello", ChecksumCRC32="AAAAAA==")
    assert code_of(e) in ("XAmzChecksumMismatch", "BadDigest", "InvalidRequest")
    r = s3.put_object(Bucket=bucket, Key="crc", Body=b"hello", ChecksumCRC32="NhCmhg==")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_listing(s3, bucket):
    keys = sorted(
        [f"a/{i:03}" for i in range(25)]
        + [f"b/c/{i}" for i in range(5)]
        + ["top1", "top2", "sp ace/x", "plus+key"]
    )
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    # v2 with a paginator and a small page.
    got = []
    pages = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 7}):
        pages += 1
        got += [o["Key"] for o in page.get("Contents", [])]
        for o in page.get("Contents", []):
            assert o["Size"] == len(o["Key"].encode())
            assert o["ETag"] == '"' + hashlib.md5(o["Key"].encode()).hexdigest() + '"'
    assert got == keys
    assert pages == (len(keys) + 6) // 7
    # v1 with markers.
    got = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 10}):
        got += [o["Key"] for o in page.get("Contents", [])]
    assert got == keys
    # Delimiter: common prefixes, also across pages.
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "sp ace/"]
    assert [o["Key"] for o in r["Contents"]] == ["plus+key", "top1", "top2"]
    prefixes, contents = [], []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
    ):
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        contents += [o["Key"] for o in page.get("Contents", [])]
    assert prefixes == ["a/", "b/", "sp ace/"]
    assert contents == ["plus+key", "top1", "top2"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/c/"]
    # start-after is literal (it does not skip the prefix's subtree).
    r = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/", StartAfter="b/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/c/"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="a/", StartAfter="a/020")
    assert [o["Key"] for o in r["Contents"]] == [f"a/{i:03}" for i in range(21, 25)]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="a/", MaxKeys=3)
    assert r["IsTruncated"] and r["KeyCount"] == 3 and r["NextContinuationToken"]
    # encoding-type=url asked for explicitly: botocore leaves the keys encoded (when it sets
    # the parameter itself, as on every call above, it decodes them).
    r = s3.list_objects_v2(Bucket=bucket, Prefix="sp ace/", EncodingType="url")
    assert [o["Key"] for o in r["Contents"]] == ["sp%20ace/x"]


def test_copy_and_delete_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"k": "v"}, ContentType="a/b")
    other = bucket + "-dst"
    s3.create_bucket(Bucket=other)
    try:
        r = s3.copy_object(Bucket=other, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
        assert r["CopyObjectResult"]["ETag"] == '"' + hashlib.md5(b"payload").hexdigest() + '"'
        g = s3.get_object(Bucket=other, Key="dst")
        assert g["Body"].read() == b"payload"
        assert g["Metadata"] == {"k": "v"} and g["ContentType"] == "a/b"
        s3.copy_object(
            Bucket=bucket,
            Key="src",
            CopySource={"Bucket": bucket, "Key": "src"},
            Metadata={"k2": "v2"},
            MetadataDirective="REPLACE",
        )
        assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"k2": "v2"}
        with pytest.raises(ClientError) as e:
            s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
        assert code_of(e) == "InvalidRequest"
        with pytest.raises(ClientError) as e:
            s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
        assert code_of(e) == "NoSuchKey"
        # boto3's managed copy (s3.copy) as well.
        s3.copy({"Bucket": other, "Key": "dst"}, bucket, "managed")
        assert s3.get_object(Bucket=bucket, Key="managed")["Body"].read() == b"payload"
    finally:
        s3.delete_object(Bucket=other, Key="dst")
        s3.delete_bucket(Bucket=other)
    for i in range(30):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    r = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": f"d/{i}"} for i in range(30)] + [{"Key": "d/not-there"}]},
    )
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted([f"d/{i}" for i in range(30)] + ["d/not-there"])
    assert not r.get("Errors")
    assert s3.list_objects_v2(Bucket=bucket, Prefix="d/")["KeyCount"] == 0


def test_multipart(s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(20 * MiB + 12345)
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4)
    s3.upload_file(str(src), bucket, "big", Config=cfg)
    h = s3.head_object(Bucket=bucket, Key="big")
    assert h["ContentLength"] == len(data)
    md5s = [hashlib.md5(data[i : i + 8 * MiB]).digest() for i in range(0, len(data), 8 * MiB)]
    assert h["ETag"] == '"' + hashlib.md5(b"".join(md5s)).hexdigest() + '-3"'
    dst = tmp_path / "back.bin"
    s3.download_file(bucket, "big", str(dst), Config=cfg)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    # boto3's managed copy of a large object: multipart UploadPartCopy with source ranges.
    s3.copy({"Bucket": bucket, "Key": "big"}, bucket, "big-copy", Config=cfg)
    h2 = s3.head_object(Bucket=bucket, Key="big-copy")
    assert h2["ContentLength"] == len(data) and h2["ETag"].endswith('-3"')
    got = s3.get_object(Bucket=bucket, Key="big-copy")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    # The low-level calls: list uploads and parts, too-small parts, abort.
    up = s3.create_multipart_upload(Bucket=bucket, Key="low", Metadata={"m": "1"})
    uid = up["UploadId"]
    assert any(u["UploadId"] == uid for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"])
    e1 = s3.upload_part(Bucket=bucket, Key="low", UploadId=uid, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="low", UploadId=uid, PartNumber=2, Body=b"b" * 100)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="low", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, e1, 100), (2, e2, 100)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="low",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
        )
    assert code_of(e) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="low",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"ffff"'}]},
        )
    assert code_of(e) == "InvalidPart"
    # A single (last) part of any size completes.
    r = s3.complete_multipart_upload(
        Bucket=bucket, Key="low", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]}
    )
    assert r["ETag"].endswith('-1"')
    g = s3.get_object(Bucket=bucket, Key="low")
    assert g["Body"].read() == b"b" * 100 and g["Metadata"] == {"m": "1"}
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="low", UploadId=uid)
    assert code_of(e) == "NoSuchUpload"
    up = s3.create_multipart_upload(Bucket=bucket, Key="aborted")
    s3.upload_part(Bucket=bucket, Key="aborted", UploadId=up["UploadId"], PartNumber=1, Body=b"z")
    s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=up["UploadId"])
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="aborted")
    assert status_of(e) == 404


def test_presigned(s3, bucket, endpoint, keys):
    s3.put_object(Bucket=bucket, Key="shared file", Body=b"presigned bytes")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared file"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"presigned bytes"
    # Tampering with the signed URL is refused.
    bad = url.replace("shared%20file", "shared%20filf")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=10)
    assert e.value.code == 403 and b"SignatureDoesNotMatch" in e.value.read()
    # Signature V4 presigning (what clients configured with s3v4 produce): GET and PUT.
    s3 = make_client(endpoint + "/s3", *keys, signature_version="s3v4")
    url4 = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared file"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url4
    with urllib.request.urlopen(url4, timeout=10) as r:
        assert r.read() == b"presigned bytes"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"via presigned put", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"via presigned put"
    # A presigned PUT cannot be turned into a copy by adding an unsigned x-amz-copy-source.
    put2 = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up2"}, ExpiresIn=300)
    req = urllib.request.Request(
        put2, data=b"", method="PUT", headers={"x-amz-copy-source": f"{bucket}/shared file"}
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403 and b"AccessDenied" in e.value.read()
    # A V2 presigned URL replayed with another bucket in Host (virtual-hosted) is refused.
    other = bucket + "-vh"
    s3.create_bucket(Bucket=other)
    try:
        port = endpoint.rsplit(":", 1)[1]
        v2 = make_client(endpoint + "/s3", *keys).generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "v2key"}, ExpiresIn=300
        )
        path = v2.split(port, 1)[1]
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=b"x", method="PUT", headers={"Host": f"{other}.localhost:{port}"}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 403
        assert s3.list_objects_v2(Bucket=other)["KeyCount"] == 0
    finally:
        s3.delete_bucket(Bucket=other)
    # Expired: valid for 1 s; poll (bounded) until the server refuses it.
    short = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared file"}, ExpiresIn=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(short, timeout=10).read()
        except urllib.error.HTTPError as err:
            assert err.code == 403
            assert b"AccessDenied" in err.read()
            break
        assert time.monotonic() < deadline, "presigned URL did not expire"
        time.sleep(0.25)


def test_auth_errors(endpoint, keys, bucket):
    wrong = make_client(endpoint + "/s3", keys[0], "not-the-secret")
    with pytest.raises(ClientError) as e:
        wrong.list_objects_v2(Bucket=bucket)
    assert code_of(e) == "SignatureDoesNotMatch" and status_of(e) == 403
    with pytest.raises(ClientError) as e:
        wrong.put_object(Bucket=bucket, Key="nope", Body=b"x")
    assert code_of(e) == "SignatureDoesNotMatch"
    unknown = make_client(endpoint + "/s3", "AKIAUNKNOWN000000000", keys[1])
    with pytest.raises(ClientError) as e:
        unknown.list_buckets()
    assert code_of(e) == "InvalidAccessKeyId"
    anon = boto3.client(
        "s3", endpoint_url=endpoint + "/s3", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket=bucket, Key="nope")
    assert code_of(e) == "AccessDenied"


def test_root_and_virtual_hosted(endpoint, keys, bucket, s3):
    """S3 at the proxy root (no /s3) and virtual-hosted addressing (bucket in Host)."""
    root = make_client(endpoint, *keys)
    root.put_object(Bucket=bucket, Key="via-root", Body=b"r")
    assert s3.get_object(Bucket=bucket, Key="via-root")["Body"].read() == b"r"
    port = endpoint.rsplit(":", 1)[1]
    vh = boto3.client(
        "s3",
        endpoint_url=f"http://localhost:{port}",
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "virtual"}),
    )
    # Resolve <bucket>.localhost to loopback without touching /etc/hosts: botocore connects to
    # the URL's host, so patch the request to go to 127.0.0.1 while keeping the Host header.
    def to_loopback(request, **_):
        host = request.url.split("/")[2]
        request.headers["Host"] = host
        request.url = request.url.replace(host, f"127.0.0.1:{port}", 1)

    # The signature covers the Host header as sent (bucket.localhost:port).
    vh.meta.events.register("before-send.s3", to_loopback)
    vh.put_object(Bucket=bucket, Key="vhost/key", Body=b"v")
    assert vh.get_object(Bucket=bucket, Key="vhost/key")["Body"].read() == b"v"
    assert s3.get_object(Bucket=bucket, Key="vhost/key")["Body"].read() == b"v"
    listed = [o["Key"] for o in vh.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "vhost/key" in listed and "via-root" in listed
