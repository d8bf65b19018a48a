"""awscli, s3cmd and rclone, as users run them, plus raw aws-chunked (streaming SigV4) and
malformed requests signed with botocore's signer."""

import filecmp
import hashlib
import hmac
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timezone

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MiB = 1 << 20


def run(cmd, env=None, timeout=300):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def make_tree(root, seed):
    """A small directory tree: nested dirs, unicode and spaces, an empty file, a 9 MiB file
    (multipart in awscli and rclone)."""
    rnd = hashlib.sha256(str(seed).encode()).digest()
    files = {
        "a.txt": b"alpha\n",
        "empty": b"",
        "dir one/b.bin": os.urandom(70_000),
        "dir one/sub/ünï côdé.txt": "ünï côdé".encode(),
        "deep/x/y/z.dat": rnd * 1000,
        "big.bin": os.urandom(9 * MiB + 17),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        assert not c.left_only and not c.right_only, (c.left_only, c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        stack.extend(c.subdirs.values())


def test_awscli(endpoint, bucket, cli_env, tmp_path):
    ep = ["--endpoint-url", endpoint + "/s3"]
    src = tmp_path / "src"
    files = make_tree(src, 1)
    run(["aws", *ep, "s3", "cp", str(src / "a.txt"), f"s3://{bucket}/single/a.txt"], cli_env)
    run(["aws", *ep, "s3", "sync", str(src), f"s3://{bucket}/tree"], cli_env)
    out = run(["aws", *ep, "s3", "ls", "--recursive", f"s3://{bucket}/tree/"], cli_env)
    for rel in files:
        assert f"tree/{rel}" in out, (rel, out)
    out = run(["aws", *ep, "s3", "ls", f"s3://{bucket}/"], cli_env)
    assert "PRE tree/" in out and "PRE single/" in out
    # A second sync uploads nothing.
    out = run(["aws", *ep, "s3", "sync", str(src), f"s3://{bucket}/tree"], cli_env)
    assert "upload:" not in out
    dst = tmp_path / "dst"
    run(["aws", *ep, "s3", "sync", f"s3://{bucket}/tree", str(dst)], cli_env)
    same_tree(src, dst)
    run(["aws", *ep, "s3", "cp", f"s3://{bucket}/tree/big.bin", str(tmp_path / "big.copy")], cli_env)
    assert (tmp_path / "big.copy").read_bytes() == files["big.bin"]
    head = run(["aws", *ep, "s3api", "head-object", "--bucket", bucket, "--key", "tree/big.bin"], cli_env)
    assert '"ContentLength": 9437201' in head and "-2" in head  # multipart ETag
    run(["aws", *ep, "s3", "cp", f"s3://{bucket}/single/a.txt", f"s3://{bucket}/copied/a.txt"], cli_env)
    out = run(["aws", *ep, "s3api", "get-object", "--bucket", bucket, "--key", "copied/a.txt", str(tmp_path / "g")], cli_env)
    assert (tmp_path / "g").read_bytes() == b"alpha\n"
    run(["aws", *ep, "s3", "rm", "--recursive", f"s3://{bucket}/tree"], cli_env)
    out = run(["aws", *ep, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "tree/"], cli_env)
    assert '"Contents"' not in out and '"Key"' not in out
    bad = subprocess.run(
        ["aws", *ep, "s3", "ls", f"s3://{bucket}-no-such-bucket/"], env=cli_env, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "NoSuchBucket" in bad.stderr


def test_s3cmd(endpoint, keys, bucket, tmp_path):
    hostport = endpoint.split("//", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {keys[0]}\nsecret_key = {keys[1]}\n"
        f"host_base = {hostport}\nhost_bucket = {hostport}\n"
        "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
    )
    base = ["s3cmd", "-c", str(cfg), "--no-progress"]
    f = tmp_path / "s3cmd.bin"
    data = os.urandom(300_000)
    f.write_bytes(data)
    out = run(base + ["put", str(f), f"s3://{bucket}/s3cmd/file.bin"])
    assert "s3cmd/file.bin" in out
    out = run(base + ["ls", f"s3://{bucket}/s3cmd/"])
    assert "s3cmd/file.bin" in out and "300000" in out
    back = tmp_path / "back.bin"
    run(base + ["get", f"s3://{bucket}/s3cmd/file.bin", str(back)])
    assert back.read_bytes() == data
    out = run(base + ["info", f"s3://{bucket}/s3cmd/file.bin"])
    assert hashlib.md5(data).hexdigest() in out
    run(base + ["del", f"s3://{bucket}/s3cmd/file.bin"])
    assert "file.bin" not in run(base + ["ls", f"s3://{bucket}/s3cmd/"])
    # Signature V2 as well.
    out = run(base + ["--signature-v2", "put", str(f), f"s3://{bucket}/s3cmd/v2.bin"])
    assert "v2.bin" in out
    run(base + ["--signature-v2", "get", f"s3://{bucket}/s3cmd/v2.bin", str(tmp_path / "v2")])
    assert (tmp_path / "v2").read_bytes() == data


def test_rclone(endpoint, keys, bucket, tmp_path):
    assert shutil.which("rclone"), "rclone is not installed (cargo xtask test installs it)"
    env = dict(os.environ)
    # rclone 1.60's S3 backend cannot combine a custom CA bundle with its own HTTP transport
    # ("LoadCustomCABundleError"); the endpoint is plain HTTP on loopback anyway.
    env.pop("AWS_CA_BUNDLE", None)
    env.update(
        RCLONE_CONFIG=str(tmp_path / "rclone.conf"),
        RCLONE_CONFIG_AIS_TYPE="s3",
        RCLONE_CONFIG_AIS_PROVIDER="Other",
        RCLONE_CONFIG_AIS_ENDPOINT=endpoint,
        RCLONE_CONFIG_AIS_ACCESS_KEY_ID=keys[0],
        RCLONE_CONFIG_AIS_SECRET_ACCESS_KEY=keys[1],
        RCLONE_CONFIG_AIS_FORCE_PATH_STYLE="true",
        RCLONE_CONFIG_AIS_REGION="us-east-1",
    )
    src = tmp_path / "src"
    make_tree(src, 2)
    flags = ["--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]
    run(["rclone", "sync", *flags, str(src), f"ais:{bucket}/rc"], env)
    run(["rclone", "check", str(src), f"ais:{bucket}/rc"], env)
    dst = tmp_path / "dst"
    run(["rclone", "sync", *flags, f"ais:{bucket}/rc", str(dst)], env)
    same_tree(src, dst)
    run(["rclone", "check", "--download", str(src), f"ais:{bucket}/rc"], env)
    (src / "a.txt").write_bytes(b"changed\n")
    (src / "empty").unlink()
    run(["rclone", "sync", *flags, str(src), f"ais:{bucket}/rc"], env)
    run(["rclone", "check", str(src), f"ais:{bucket}/rc"], env)
    listed = run(["rclone", "lsf", "-R", f"ais:{bucket}/rc"], env)
    assert "empty" not in listed.split() and "big.bin" in listed


def _sign(endpoint, keys, method, path, body=b"", headers=None):
    """A request signed by botocore's SigV4 signer (independent of the server's code)."""
    req = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers or {})
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(*keys), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    return urllib.request.Request(prepared.url, data=body or None, method=method, headers=dict(prepared.headers))


def _call(r):
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_malformed_requests(endpoint, keys, bucket):
    status, body = _call(_sign(endpoint, keys, "POST", f"/s3/{bucket}?delete", b"<Delete><Object><Key>x"))
    assert status == 400 and b"MalformedXML" in body
    status, body = _call(_sign(endpoint, keys, "POST", f"/s3/{bucket}?delete", b"<Delete>" + b"<a>" * 100 + b"</Delete>"))
    assert status == 400 and b"MalformedXML" in body
    huge = b"<Delete>" + b" " * (3 * MiB) + b"</Delete>"
    status, body = _call(_sign(endpoint, keys, "POST", f"/s3/{bucket}?delete", huge))
    assert status == 400 and b"MaxMessageLengthExceeded" in body
    status, body = _call(_sign(endpoint, keys, "POST", f"/s3/{bucket}/k?uploadId=00ff", b"<CompleteMultipartUpload>"))
    assert status in (400, 404)
    # A body that does not match its signed SHA-256 is refused and nothing is stored.
    r = _sign(endpoint, keys, "PUT", f"/s3/{bucket}/sha", b"signed body")
    r.data = b"other body!"
    status, body = _call(r)
    assert status == 400 and b"XAmzContentSHA256Mismatch" in body
    status, _ = _call(_sign(endpoint, keys, "HEAD", f"/s3/{bucket}/sha"))
    assert status == 404
    status, body = _call(_sign(endpoint, keys, "GET", f"/s3/{bucket}?policy"))
    assert status == 501 and b"NotImplemented" in body
    status, body = _call(_sign(endpoint, keys, "PATCH", f"/s3/{bucket}"))
    assert status == 405


def _chunked_put(endpoint, keys, path, data, chunk, tamper=False):
    """PUT with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, chunk signatures computed here from the
    AWS specification (no server code involved)."""
    now = datetime.now(timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    n_chunks = (len(data) + chunk - 1) // chunk
    body_len = 0
    sizes = [min(chunk, len(data) - i) for i in range(0, len(data), chunk)] + [0]
    for s in sizes:
        body_len += len(f"{s:x};chunk-signature=") + 64 + 2 + s + 2
    headers = {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": str(len(data)),
        "content-encoding": "aws-chunked",
        "content-length": str(body_len),
        "x-amz-date": amz_date,
    }
    req = AWSRequest(method="PUT", url=endpoint + path, headers=headers)
    auth = SigV4Auth(Credentials(*keys), "s3", "us-east-1")
    req.context["timestamp"] = amz_date
    auth.add_auth(req)
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]

    def hm(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    key = hm(hm(hm(hm(("AWS4" + keys[1]).encode(), day), "us-east-1"), "s3"), "aws4_request")
    empty = hashlib.sha256(b"").hexdigest()
    prev = seed
    out = b""
    for i, s in enumerate(sizes):
        piece = data[i * chunk : i * chunk + s]
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(piece).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if tamper and i == 1:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        out += f"{s:x};chunk-signature={sig}\r\n".encode() + piece + b"\r\n"
    assert len(out) == body_len and n_chunks == len(sizes) - 1
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=out, method="PUT", headers=dict(prepared.headers))
    return _call(r)


def test_streaming_sigv4(endpoint, keys, bucket, s3):
    data = os.urandom(200_000)
    status, body = _chunked_put(endpoint, keys, f"/s3/{bucket}/chunked", data, 65536)
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    assert s3.head_object(Bucket=bucket, Key="chunked")["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    status, body = _chunked_put(endpoint, keys, f"/s3/{bucket}/tampered", data, 65536, tamper=True)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    status, _ = _call(_sign(endpoint, keys, "HEAD", f"/s3/{bucket}/tampered"))
    assert status == 404
