"""End-to-end tests of the native AIS API through the official `aistore` Python SDK 2.0.0.

Run against a live cluster (1 proxy, 3 targets) whose endpoint is in AIS_ENDPOINT:

    AIS_ENDPOINT=http://127.0.0.1:8080 .venv/bin/python -m pytest tests/e2e/python -q

Every test works in its own uniquely named bucket (see conftest.py), so tests are
independent of each other and of whatever else lives in the cluster.
A few checks that the SDK cannot express (client checksum headers, URLs that must
reach the server without client-side normalization) use `requests` / `http.client`.
"""

import http.client
import json
import random
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional
from urllib.parse import quote, urlsplit

import pytest
import requests
import xxhash

from aistore.sdk.errors import (
    AISError,
    ErrBckAlreadyExists,
    ErrBckNotFound,
    ErrObjNotFound,
)

MiB = 1 << 20
SEED = 0x5EED_A15
NUM_OBJECTS = 1000
WORKERS = 16
JOB_TIMEOUT = 60
HRW_SEED = 1103515245  # XXH64 seed of node-id digests (placement.md §1)
NUM_TARGETS = 3
NUM_PROXIES = 1


# --------------------------------------------------------------------------- helpers


def xxh(data: bytes) -> str:
    """AIS `xxhash` checksum value: 16 lower-case hex digits of big-endian XXH64, seed 0."""
    return xxhash.xxh64(data, seed=0).hexdigest()


def content_of(name: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes of an object (regenerated instead of kept in RAM)."""
    return random.Random(f"{SEED}/{name}").randbytes(size)


def obj_url(endpoint: str, bck: str, name: str) -> str:
    return f"{endpoint}/v1/objects/{bck}/{quote(name)}"


def names_of(entries) -> List[str]:
    return [e.name for e in entries]


def run_parallel(fn, items) -> list:
    """Apply fn to every item with WORKERS threads; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, items))


@dataclass
class RawResponse:
    status: int
    headers: Dict[str, str]
    body: bytes
    hops: List[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


def raw_request(
    endpoint: str,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    max_redirects: int = 3,
) -> RawResponse:
    """Send `path` byte-for-byte (no dot-segment removal, no re-quoting) with http.client.

    Follows 301/302/307/308 itself, re-sending method and body, and again without
    touching the Location path. `headers` of the result are lower-cased.
    """
    url = urlsplit(endpoint)
    scheme, netloc = url.scheme, url.netloc
    hops = []
    for _ in range(max_redirects + 1):
        conn_cls = (
            http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_cls(netloc, timeout=20)
        try:
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            resp_headers = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        hops.append(f"{method} {scheme}://{netloc}{path} -> {resp.status}")
        if resp.status in (301, 302, 307, 308) and "location" in resp_headers:
            loc = urlsplit(resp_headers["location"])
            if loc.netloc:
                scheme, netloc = loc.scheme or scheme, loc.netloc
            path = loc.path + (f"?{loc.query}" if loc.query else "")
            continue
        return RawResponse(resp.status, resp_headers, data, hops)
    raise AssertionError(f"too many redirects: {hops}")


def assert_json_error(status: int, body: bytes, expected: int, what: str):
    """An AIS error reply: HTTP `expected` and JSON {"message": "...", "status": expected}."""
    assert status == expected, f"{what}: HTTP {status}, expected {expected}; body={body[:300]!r}"
    try:
        err = json.loads(body)
    except ValueError as exc:
        raise AssertionError(f"{what}: error body is not JSON: {body[:300]!r}") from exc
    assert isinstance(err, dict), f"{what}: error body is not a JSON object: {err!r}"
    assert isinstance(err.get("message"), str) and err["message"], f"{what}: no message: {err!r}"
    assert err.get("status") == expected, f"{what}: JSON status {err.get('status')!r} != {expected}"


def bucket_names(client) -> List[str]:
    buckets = client.cluster().list_buckets()
    assert isinstance(buckets, list)
    return [b.name for b in buckets]


def put_all(bck, sizes: Dict[str, int]) -> None:
    def put(name):
        bck.object(name).get_writer().put_content(content_of(name, sizes[name]))

    run_parallel(put, list(sizes))


# --------------------------------------------------------------------------- cluster


def test_cluster_map(client, endpoint):
    smap = client.cluster().get_info()
    assert len(smap.tmap) == NUM_TARGETS, f"targets: {list(smap.tmap)}"
    assert len(smap.pmap) == NUM_PROXIES, f"proxies: {list(smap.pmap)}"
    assert smap.proxy_si.daemon_id in smap.pmap
    assert smap.proxy_si.public_net and smap.proxy_si.public_net.direct_url
    digests = set()
    for tid, snode in smap.tmap.items():
        assert snode.daemon_id == tid
        assert snode.daemon_type == "target"
        assert snode.public_net and snode.public_net.direct_url.startswith("http")
        assert isinstance(snode.id_digest, int) and 0 < snode.id_digest < 2**64
        digests.add(snode.id_digest)
    for pid, snode in smap.pmap.items():
        assert snode.daemon_id == pid
        assert snode.daemon_type == "proxy"
    assert len(digests) == NUM_TARGETS, "target id_digest values must differ"

    # The wire form: id_digest is an integer JSON literal (pydantic would silently
    # coerce "123"; a float such as 1.8e19 breaks the SDK) = XXH64(daemon_id, HRW seed).
    raw = requests.get(f"{endpoint}/v1/daemon", params={"what": "smap"}, timeout=10)
    assert raw.status_code == 200, raw.text
    doc = raw.json()
    assert isinstance(doc["tmap"], dict) and isinstance(doc["pmap"], dict)
    for tid, snode in doc["tmap"].items():
        digest = snode["id_digest"]
        assert type(digest) is int, f"id_digest of {tid} is {type(digest).__name__}: {digest!r}"
        assert digest == xxhash.xxh64(tid.encode(), seed=HRW_SEED).intdigest(), tid


def test_cluster_is_ready(client):
    assert client.cluster().is_ready() is True


def test_list_buckets(client, bucket):
    buckets = client.cluster().list_buckets()
    assert isinstance(buckets, list)
    mine = [b for b in buckets if b.name == bucket.name]
    assert len(mine) == 1, f"{bucket.name} not listed once in {[b.name for b in buckets]}"
    assert mine[0].provider == "ais"
    bucket.delete()
    assert bucket.name not in bucket_names(client)


# --------------------------------------------------------------------------- main scenario


def build_dataset() -> Dict[str, int]:
    """NUM_OBJECTS names -> sizes (uniform 0..1 MiB, seeded), with awkward names."""
    rng = random.Random(SEED)
    names = ["empty-object"]
    names += [f"d1/sub/obj-{i:04d}" for i in range(200)]
    names += [f"d1/obj-{i:04d}" for i in range(50)]
    names += [f"d10/obj-{i:04d}" for i in range(30)]  # string prefix "d1", not "d1/"
    names += [f"d1-flat-{i:04d}" for i in range(30)]
    names += [f"d2/a/b/c/deep-{i:04d}" for i in range(40)]
    names += [f"ünï/çødé-{i}" for i in range(60)]
    names += [f"数据/文件 {i}.bin" for i in range(20)]
    names += [f"with space/file name {i:03d}.txt" for i in range(40)]
    names += [
        "special/plus+sign",
        "special/percent%41literal",
        "special/hash#not-a-fragment",
        "special/question?not=query&x=1",
        "special/semi;colon=eq",
        "special/quote'and\"dq",
        "special/a..b",
        "special/trailing.dot.",
        "special/emoji-😀",
        "special/tilde~x",
    ]
    names += [f"obj-{i:04d}" for i in range(NUM_OBJECTS - len(names))]
    assert len(names) == NUM_OBJECTS and len(set(names)) == NUM_OBJECTS
    sizes = {name: rng.randint(0, MiB) for name in names}
    sizes["empty-object"] = 0
    return sizes


# pylint: disable=too-many-locals,too-many-statements
def test_main_scenario(client, new_bucket, endpoint):
    bck = new_bucket
    bck.create()
    assert bck.name in bucket_names(client)

    sizes = build_dataset()
    names = list(sizes)

    # ---- PUT 1000 objects (16 threads)
    put_all(bck, sizes)
    expected_cksum = {n: xxh(content_of(n, s)) for n, s in sizes.items()}

    # ---- list_all_objects: every name, right sizes, status OK
    entries = bck.list_all_objects()
    listed = names_of(entries)
    assert len(listed) == len(set(listed)), "duplicate names in list_all_objects"
    assert set(listed) == set(names), (
        f"missing={sorted(set(names) - set(listed))[:10]} "
        f"unexpected={sorted(set(listed) - set(names))[:10]}"
    )
    for e in entries:
        assert e.size == sizes[e.name], f"{e.name!r}: listed size {e.size} != {sizes[e.name]}"
        assert e.is_ok(), f"{e.name!r}: entry flags {e.flags:#x}"
    assert listed == sorted(listed, key=lambda s: s.encode()), "not sorted bytewise"

    # ---- paged listing, following continuation_token by hand
    pages, token, uuid, paged = 0, "", "", []
    while True:
        page = bck.list_objects(page_size=100, uuid=uuid, continuation_token=token)
        pages += 1
        assert pages <= 20, "listing does not terminate"
        assert len(page.entries) <= 100, f"page {pages}: {len(page.entries)} entries > page_size"
        if pages == 1:
            assert page.uuid, "first page must carry a listing uuid"
        paged += names_of(page.entries)
        if not page.continuation_token:
            break
        assert len(page.entries) == 100, f"non-final page {pages} has {len(page.entries)} entries"
        token, uuid = page.continuation_token, page.uuid
    assert pages >= 10, f"only {pages} pages for {NUM_OBJECTS} objects with page_size=100"
    assert len(paged) == len(set(paged)), "duplicates across pages"
    assert set(paged) == set(names)
    assert paged == sorted(paged, key=lambda s: s.encode()), "pages not sorted bytewise"

    # ---- prefix listing
    d1 = sorted((n for n in names if n.startswith("d1/")), key=lambda s: s.encode())
    assert len(d1) == 250
    assert names_of(bck.list_all_objects(prefix="d1/")) == d1
    uni = sorted(n for n in names if n.startswith("ünï/"))
    assert sorted(names_of(bck.list_all_objects(prefix="ünï/"))) == uni
    assert bck.list_all_objects(prefix="no-such-prefix/") == []

    # ---- GET every object whole; compare bytes and the checksum attribute
    def get_and_check(name):
        reader = bck.object(name).get_reader()
        data = reader.read_all()
        assert len(data) == sizes[name], f"{name!r}: GET returned {len(data)} bytes"
        assert data == content_of(name, sizes[name]), f"{name!r}: content differs"
        attrs = reader.attributes  # HEAD ...&props=checksum,atime,version,custom
        assert attrs.checksum_type == "xxhash", f"{name!r}: {attrs.checksum_type!r}"
        assert attrs.checksum_value == expected_cksum[name], f"{name!r}: checksum"

    run_parallel(get_and_check, names)

    # GET response headers themselves (raw() keeps the GET reply's attributes)
    subset = ["empty-object", "d1/sub/obj-0001", "ünï/çødé-1", "with space/file name 001.txt"]
    subset += [n for n in names if n.startswith("special/")] + names[::97]
    for name in subset:
        reader = bck.object(name).get_reader()
        data = reader.raw().read()
        assert data == content_of(name, sizes[name]), name
        assert reader.attributes.size == sizes[name], f"{name!r}: GET Content-Length"
        assert reader.attributes.checksum_type == "xxhash", name
        assert reader.attributes.checksum_value == expected_cksum[name], name

    # ---- ranged GETs
    big = [n for n in names if sizes[n] >= 1000][:12]
    assert len(big) == 12
    for name in big:
        data = content_of(name, sizes[name])
        obj = bck.object(name)
        for rng, want in (
            ("bytes=10-99", data[10:100]),
            ("bytes=-5", data[-5:]),
            ("bytes=100-", data[100:]),
            ("bytes=0-0", data[:1]),
        ):
            got = obj.get_reader(byte_range=rng).read_all()
            assert got == want, f"{name!r} {rng}: {len(got)} bytes, expected {len(want)}"
    # 206 + Content-Range on the wire
    name = big[0]
    resp = requests.get(
        obj_url(endpoint, bck.name, name),
        params={"provider": "ais"},
        headers={"Range": "bytes=10-99"},
        timeout=20,
    )
    assert resp.status_code == 206, resp.text[:300]
    assert resp.headers.get("Content-Range") == f"bytes 10-99/{sizes[name]}"
    assert resp.content == content_of(name, sizes[name])[10:100]
    # unsatisfiable range
    with pytest.raises(AISError) as exc:
        bck.object(name).get_reader(byte_range=f"bytes={sizes[name] + 10}-").read_all()
    assert exc.value.status_code == 416

    # ---- HEAD: size (default props) and checksum (obj.props)
    for name in subset + big:
        obj = bck.object(name)
        assert obj.head().size == sizes[name], f"{name!r}: HEAD size"
        props = obj.props
        assert props.size == sizes[name], f"{name!r}: HEAD Content-Length with props"
        assert props.present is True, f"{name!r}: Ais-Present"
        assert props.checksum_type == "xxhash", name
        assert props.checksum_value == expected_cksum[name], name

    # ---- direct GET: client-side HRW straight to the owning target
    smap = client.cluster().get_info()
    proxy_urls = {p.public_net.direct_url.rstrip("/") for p in smap.pmap.values()}
    for name in subset:
        obj = bck.object(name)
        assert obj.get_reader(direct=True).read_all() == content_of(name, sizes[name]), name
        target = smap.get_target_for_object(obj.uname)
        turl = target.public_net.direct_url.rstrip("/")
        assert turl not in proxy_urls
        # the HRW target itself holds the object: 200 without any redirect
        resp = requests.get(
            obj_url(turl, bck.name, name),
            params={"provider": "ais"},
            allow_redirects=False,
            timeout=20,
        )
        assert resp.status_code == 200, f"{name!r} on {target.daemon_id}: {resp.status_code}"
        assert resp.content == content_of(name, sizes[name]), name

    # ---- delete 10 objects one by one
    remaining = set(names)
    one_by_one = [f"obj-{i:04d}" for i in range(10)]
    one_by_one[0] = "ünï/çødé-7"
    one_by_one[1] = "special/question?not=query&x=1"
    one_by_one[2] = "with space/file name 007.txt"
    for name in one_by_one:
        bck.object(name).delete()
        remaining.discard(name)
    for name in one_by_one:
        with pytest.raises(ErrObjNotFound):
            bck.object(name).get_reader().read_all()
        with pytest.raises(AISError) as exc:  # HEAD: no body, so no ErrObjNotFound
            bck.object(name).head()
        assert exc.value.status_code == 404, name
    assert set(names_of(bck.list_all_objects())) == remaining

    # ---- delete by list (multi-object job)
    by_list = [f"d1/sub/obj-{i:04d}" for i in range(100, 110)]
    job_id = bck.objects(obj_names=by_list).delete()
    assert isinstance(job_id, str) and job_id.strip(), f"delete-listrange job id: {job_id!r}"
    result = client.job(job_id).wait(timeout=JOB_TIMEOUT)
    assert result.success, f"job {job_id}: {result}"
    remaining -= set(by_list)
    for name in by_list:
        with pytest.raises(ErrObjNotFound):
            bck.object(name).get_reader().read_all()
    assert set(names_of(bck.list_all_objects())) == remaining

    # ---- delete by template over 50 objects put for that purpose
    tmpl_names = [f"tmpl-{i:03d}" for i in range(50)]
    put_all(bck, {n: 1 + i * 37 for i, n in enumerate(tmpl_names)})
    assert names_of(bck.list_all_objects(prefix="tmpl-")) == tmpl_names
    job_id = bck.objects(obj_template="tmpl-{000..049}").delete()
    assert isinstance(job_id, str) and job_id.strip(), f"delete-listrange job id: {job_id!r}"
    result = client.job(job_id).wait(timeout=JOB_TIMEOUT)
    assert result.success, f"job {job_id}: {result}"
    assert bck.list_all_objects(prefix="tmpl-") == []
    for name in (tmpl_names[0], tmpl_names[-1]):
        with pytest.raises(ErrObjNotFound):
            bck.object(name).get_reader().read_all()
    after = names_of(bck.list_all_objects())
    assert set(after) == remaining and len(after) == NUM_OBJECTS - 20

    # ---- destroy the bucket
    bck.delete()
    with pytest.raises(AISError) as exc:
        bck.head()  # HEAD carries no body: a plain AISError, not ErrBckNotFound
    assert exc.value.status_code == 404
    with pytest.raises(ErrBckNotFound):
        bck.list_objects()
    with pytest.raises(ErrBckNotFound):
        bck.object("d1/sub/obj-0001").get_reader().read_all()
    assert bck.name not in bucket_names(client)


def test_list_objects_props(bucket):
    sizes = {f"props/obj-{i:02d}": i * 1000 for i in range(20)}
    put_all(bucket, sizes)
    entries = bucket.list_all_objects(props="name,size,checksum")
    assert sorted(names_of(entries)) == sorted(sizes)
    for e in entries:
        assert e.size == sizes[e.name], e.name
        assert e.checksum == xxh(content_of(e.name, sizes[e.name])), e.name
    # name-only listing still returns every name
    assert sorted(names_of(bucket.list_all_objects(props="name"))) == sorted(sizes)


# --------------------------------------------------------------------------- errors


def test_create_existing_bucket(client, bucket):
    with pytest.raises(ErrBckAlreadyExists) as exc:
        bucket.create()
    assert exc.value.status_code == 409
    bucket.create(exist_ok=True)  # must not raise
    assert bucket_names(client).count(bucket.name) == 1


def test_delete_missing_bucket(new_bucket):
    with pytest.raises(ErrBckNotFound) as exc:
        new_bucket.delete()
    assert exc.value.status_code == 404
    new_bucket.delete(missing_ok=True)  # must not raise


def test_missing_object(bucket, endpoint):
    bucket.object("present").get_writer().put_content(b"x")
    obj = bucket.object("dir/no-such-object")
    with pytest.raises(ErrObjNotFound) as exc:
        obj.get_reader().read_all()
    assert exc.value.status_code == 404
    with pytest.raises(ErrObjNotFound):
        obj.get_reader(direct=True).read_all()
    with pytest.raises(ErrObjNotFound):
        obj.delete()
    # HEAD: the SDK parses only the (empty) body, so this is a plain AISError(404) ...
    with pytest.raises(AISError) as exc:
        obj.head()
    assert exc.value.status_code == 404
    # ... and the JSON error travels in the Hdr-Error header
    resp = requests.head(
        obj_url(endpoint, bucket.name, obj.name),
        params={"provider": "ais"},
        allow_redirects=True,
        timeout=20,
    )
    assert resp.status_code == 404
    hdr = resp.headers.get("Hdr-Error")
    assert hdr, f"HEAD 404 without Hdr-Error; headers={dict(resp.headers)}"
    err = json.loads(hdr)
    assert err.get("status") == 404
    assert f"ais://{bucket.name}/" in err.get("message", ""), err


def test_missing_bucket_operations(client, new_bucket):
    bck = new_bucket  # never created
    obj = bck.object("some/object")
    with pytest.raises(ErrBckNotFound):
        bck.list_objects()
    with pytest.raises(ErrBckNotFound):
        bck.list_all_objects()
    with pytest.raises(ErrBckNotFound):
        obj.get_writer().put_content(b"data")
    with pytest.raises(ErrBckNotFound):
        obj.get_reader().read_all()
    with pytest.raises(ErrBckNotFound):
        obj.delete()
    with pytest.raises(ErrBckNotFound):
        bck.objects(obj_names=["a", "b"]).delete()
    with pytest.raises(AISError) as exc:
        bck.head()
    assert exc.value.status_code == 404
    with pytest.raises(AISError) as exc:
        obj.head()
    assert exc.value.status_code == 404
    assert bck.name not in bucket_names(client), "a failed PUT must not create the bucket"


@pytest.mark.parametrize(
    "name",
    ["bad name", "a..b", "x" * 65, "bad*name", "ümlaut"],
    ids=["space", "dotdot-inside", "65-chars", "star", "non-ascii"],
)
def test_invalid_bucket_name(client, name):
    bck = client.bucket(name)
    with pytest.raises(AISError) as exc:
        bck.create()
    assert exc.value.status_code == 400, exc.value
    assert name not in bucket_names(client)


def test_invalid_bucket_name_dotdot(client, endpoint):
    # `requests` would turn /v1/buckets/.. into /v1/ - send it verbatim
    body = json.dumps({"action": "create-bck", "name": "", "value": None}).encode()
    resp = raw_request(endpoint, "POST", "/v1/buckets/..?provider=ais", body=body)
    assert_json_error(resp.status, resp.body, 400, "create bucket '..'")
    assert ".." not in bucket_names(client)


def test_bucket_name_64_chars_ok(client, make_bucket_name):
    name = make_bucket_name("max")
    name += "x" * (64 - len(name))
    assert len(name) == 64
    bck = client.bucket(name)
    try:
        bck.create()
        assert name in bucket_names(client)
    finally:
        bck.delete(missing_ok=True)


def test_put_checksum_validation(bucket, endpoint):
    data = b"end-to-end checksum " + secrets.token_bytes(64)
    good = xxh(data)
    bad = "0123456789abcdef" if good != "0123456789abcdef" else "fedcba9876543210"
    params = {"provider": "ais"}

    # correct client checksum: accepted (requests follows the 307 and re-sends the body)
    url = obj_url(endpoint, bucket.name, "cksum/good")
    resp = requests.put(
        url,
        params=params,
        data=data,
        headers={"Ais-Checksum-Type": "xxhash", "Ais-Checksum-Value": good},
        timeout=20,
    )
    assert resp.status_code == 200, resp.text[:300]
    assert bucket.object("cksum/good").get_reader().read_all() == data

    # wrong client checksum: 400 + JSON error, and nothing is stored
    url = obj_url(endpoint, bucket.name, "cksum/bad")
    resp = requests.put(
        url,
        params=params,
        data=data,
        headers={"Ais-Checksum-Type": "xxhash", "Ais-Checksum-Value": bad},
        timeout=20,
    )
    assert_json_error(resp.status_code, resp.content, 400, "PUT with a wrong checksum")
    resp = requests.head(url, params={**params, "props": "name,size"}, allow_redirects=True, timeout=20)
    assert resp.status_code == 404, f"object stored despite bad checksum: HEAD {resp.status_code}"
    with pytest.raises(ErrObjNotFound):
        bucket.object("cksum/bad").get_reader().read_all()
    assert names_of(bucket.list_all_objects(prefix="cksum/")) == ["cksum/good"]


@pytest.mark.parametrize("objpath", ["a/../b", "a/./b", "a/.."], ids=["dotdot", "dot", "trailing-dotdot"])
def test_object_name_dot_components_rejected(bucket, endpoint, objpath):
    path = f"/v1/objects/{bucket.name}/{objpath}?provider=ais"
    resp = raw_request(endpoint, "GET", path)
    assert_json_error(resp.status, resp.body, 400, f"GET {path} ({resp.hops})")
    resp = raw_request(endpoint, "PUT", path, body=b"payload")
    assert_json_error(resp.status, resp.body, 400, f"PUT {path} ({resp.hops})")
    assert bucket.list_all_objects() == [], "nothing may be stored"


def test_object_name_bad_percent_encoding_rejected(bucket, endpoint):
    path = f"/v1/objects/{bucket.name}/bad%zzname?provider=ais"
    resp = raw_request(endpoint, "GET", path)
    assert_json_error(resp.status, resp.body, 400, f"GET {path} ({resp.hops})")
    resp = raw_request(endpoint, "PUT", path, body=b"payload")
    assert_json_error(resp.status, resp.body, 400, f"PUT {path} ({resp.hops})")
    assert bucket.list_all_objects() == [], "nothing may be stored"


# --------------------------------------------------------------------------- bucket props


def test_bucket_props_checksum_xxhash(bucket):
    headers = bucket.head()  # CaseInsensitiveDict of the HEAD reply
    raw = headers.get("Ais-Bucket-Props")
    assert raw, f"no Ais-Bucket-Props header: {dict(headers)}"
    props = json.loads(raw)
    assert props["checksum"]["type"] == "xxhash", props.get("checksum")
    assert props.get("provider") == "ais", props.get("provider")


def test_bucket_copy_and_rename(client, bucket, make_bucket_name):
    """Bucket.copy (prefix filter, prepend) and Bucket.rename run as jobs the SDK can wait on."""
    names = [f"cp/{i:03}" for i in range(60)] + [f"other/{i}" for i in range(5)]
    size = lambda n: 100 + 37 * len(n)  # noqa: E731
    run_parallel(lambda n: bucket.object(n).get_writer().put_content(content_of(n, size(n))), names)
    dst = client.bucket(make_bucket_name("cpdst"))
    try:
        job_id = bucket.copy(to_bck=dst, prefix_filter="cp/", prepend="copied-")
        assert job_id
        client.job(job_id).wait(timeout=JOB_TIMEOUT)
        got = sorted(e.name for e in dst.list_all_objects())
        assert got == sorted("copied-" + n for n in names if n.startswith("cp/"))
        for n in names[:60:7]:
            assert dst.object("copied-" + n).get_reader().read_all() == content_of(n, size(n))
        assert len(bucket.list_all_objects()) == len(names), "the source is untouched"

        old, new = bucket.name, make_bucket_name("renamed")
        job_id = bucket.rename(new)
        client.job(job_id).wait(timeout=JOB_TIMEOUT)
        assert bucket.name == new
        assert sorted(e.name for e in bucket.list_all_objects()) == sorted(names)
        listed = {b.name for b in client.cluster().list_buckets()}
        assert new in listed and old not in listed
        assert bucket.object(names[3]).get_reader().read_all() == content_of(names[3], size(names[3]))
        with pytest.raises(ErrBckNotFound):
            client.bucket(old).list_objects()
    finally:
        dst.delete(missing_ok=True)


def test_object_group_copy_and_summary(client, bucket, make_bucket_name):
    """ObjectGroup.copy by list and by template; Bucket.summary counts and sizes."""
    names = [f"grp-{i:03}" for i in range(40)]
    size = lambda n: 1000 + int(n[-3:]) * 10  # noqa: E731
    run_parallel(lambda n: bucket.object(n).get_writer().put_content(content_of(n, size(n))), names)
    dst = client.bucket(make_bucket_name("grpdst"))
    try:
        dst.create()
        ids = bucket.objects(obj_names=names[:5] + ["no-such-object"]).copy(to_bck=dst)
        assert ids
        for jid in ids:
            client.job(jid).wait(timeout=JOB_TIMEOUT)
        ids = bucket.objects(obj_template="grp-{010..019}").copy(to_bck=dst, prepend="t/")
        for jid in ids:
            client.job(jid).wait(timeout=JOB_TIMEOUT)
        got = sorted(e.name for e in dst.list_all_objects())
        assert got == sorted(names[:5] + [f"t/grp-{i:03}" for i in range(10, 20)])
        assert dst.object("t/grp-015").get_reader().read_all() == content_of("grp-015", size("grp-015"))

        summ = bucket.summary()
        assert summ["name"] == bucket.name
        assert int(summ["ObjCount"]["obj_count_present"]) == len(names)
        total = sum(size(n) for n in names)
        assert int(summ["TotalSize"]["size_all_present_objs"]) == total
        assert summ["ObjSize"]["obj_min_size"] == size(names[0])
        assert summ["ObjSize"]["obj_max_size"] == size(names[-1])
        assert int(dst.summary()["ObjCount"]["obj_count_present"]) == 15
    finally:
        dst.delete(missing_ok=True)
