//! Bad input gets a clear 4xx with an AIS-style JSON body, and a failed PUT leaves nothing.

use ais_api::Client;
use ais_core::{Bck, Cksum, CksumType, ErrKind, ErrorBody, Namespace, Provider};
use ais_e2e::{bucket_name, data, raw_http, shared};
use bytes::Bytes;

fn host(endpoint: &str) -> &str {
    endpoint.trim_start_matches("http://")
}

fn ais_error(status: u16, body: &[u8]) -> ErrorBody {
    let e: ErrorBody = serde_json::from_slice(body).unwrap_or_else(|err| {
        panic!(
            "not an AIS error body ({err}): {}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(
        e.status, status,
        "status in body must equal the HTTP status"
    );
    assert!(!e.message.is_empty());
    e
}

/// No work files anywhere: nothing half-written survives a failed PUT.
fn assert_no_work_files(bck: &str) {
    for mp in shared().mountpaths() {
        let wk = mp.join("@ais").join(bck).join("%wk");
        if let Ok(rd) = std::fs::read_dir(&wk) {
            let left: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            assert!(left.is_empty(), "work files left behind: {left:?}");
        }
    }
}

#[tokio::test]
async fn invalid_bucket_names() {
    let c = Client::new(&shared().endpoint).unwrap();
    let long = "a".repeat(65);
    for bad in ["bad name", "a..b", "bad*name", "ümlaut", long.as_str()] {
        let b = Bck {
            name: bad.into(),
            provider: Provider::Ais,
            namespace: Namespace::default(),
        };
        let e = c.create_bucket(&b).await.unwrap_err();
        assert_eq!(e.status(), Some(400), "{bad}: {e}");
        assert!(e.to_string().contains("invalid"), "{e}");
    }
    // `..` as a bucket name, sent raw (HTTP clients would normalize it away).
    let head = "POST /v1/buckets/..?provider=ais HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 26\r\nConnection: close\r\n\r\n".to_string();
    let (st, _, body) = raw_http(
        host(&shared().endpoint),
        &head,
        br#"{"action":"create-bck"}   "#,
        true,
    )
    .await
    .unwrap();
    assert_eq!(st, 400);
    ais_error(400, &body);
    let ok = Bck::new(&"b".repeat(64), Provider::Ais).unwrap();
    c.create_bucket(&ok).await.unwrap();
    c.destroy_bucket(&ok).await.unwrap();
}

#[tokio::test]
async fn missing_bucket_and_object() {
    let c = Client::new(&shared().endpoint).unwrap();
    let missing = Bck::new(&bucket_name("nope"), Provider::Ais).unwrap();
    for e in [
        c.get_object(&missing, "o", None).await.unwrap_err(),
        c.put_object(&missing, "o", Bytes::from_static(b"x"), None)
            .await
            .unwrap_err(),
        c.destroy_bucket(&missing).await.unwrap_err(),
        c.list_objects_all(&missing, "", "name").await.unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(404), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("bucket \"ais://{}\" does not exist", missing.name)),
            "{e}"
        );
        assert_eq!(e.kind(), ErrKind::BckNotFound);
    }
    let e = c.head_bucket(&missing).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "HEAD error comes in Hdr-Error: {e}");
    assert!(e.to_string().contains("ais://"), "{e}");

    let bck = Bck::new(&bucket_name("missing-obj"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let e = c.create_bucket(&bck).await.unwrap_err();
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.kind(), ErrKind::BckAlreadyExists);
    for e in [
        c.get_object(&bck, "no/such", None).await.unwrap_err(),
        c.head_object(&bck, "no/such", "name,size")
            .await
            .unwrap_err(),
        c.delete_object(&bck, "no/such").await.unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(404), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("ais://{}/no/such", bck.name)),
            "{e}"
        );
    }
    c.destroy_bucket(&bck).await.unwrap();
}

#[tokio::test]
async fn bad_object_names() {
    let ep = shared().endpoint.clone();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new(&bucket_name("badnames"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let b = &bck.name;
    for path in [
        format!("/v1/objects/{b}/a/../b"),
        format!("/v1/objects/{b}/a/./b"),
        format!("/v1/objects/{b}/.."),
        format!("/v1/objects/{b}/%zz"),
        format!("/v1/objects/{b}/ok%2"),
        format!("/v1/objects/{b}/%ff%fe"),
        format!("/v1/objects/{b}/~/x"),
        format!("/v1/objects/{b}/dir/"),
        format!("/v1/objects/{b}/{}", "x".repeat(3100)),
        format!("/v1/objects/{b}/{}", "a/".repeat(1600) + "z"),
    ] {
        for method in ["GET", "PUT"] {
            let head = format!(
                "{method} {path}?provider=ais HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
            );
            let (st, _, body) = raw_http(host(&ep), &head, b"abc", true).await.unwrap();
            assert_eq!(
                st,
                400,
                "{method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
            ais_error(400, &body);
        }
    }
    // A 1024-byte name and unicode work.
    let long = format!("{}/{}", "n".repeat(200), "m".repeat(823));
    assert_eq!(long.len(), 1024);
    for n in [
        long.as_str(),
        "ünïcödé/名前/🙂",
        "sp ace+plus%percent#hash?q",
    ] {
        c.put_object(&bck, n, Bytes::from_static(b"ok"), None)
            .await
            .unwrap();
        assert_eq!(
            &c.get_object(&bck, n, None).await.unwrap().1[..],
            b"ok",
            "{n}"
        );
    }
    let names: Vec<String> = c
        .list_objects_all(&bck, "", "name")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    c.destroy_bucket(&bck).await.unwrap();
}

#[tokio::test]
async fn checksum_mismatch_stores_nothing() {
    let c = Client::new(&shared().endpoint).unwrap();
    let bck = Bck::new(&bucket_name("cksum"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let body = data(7, 300_000);
    let good = Cksum::of(CksumType::Md5, &body).unwrap();
    let bad = Cksum {
        ty: CksumType::Xxhash,
        value: "0123456789abcdef".into(),
    };
    let e = c
        .put_object(&bck, "obj", Bytes::from(body.clone()), Some(&bad))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("BAD DATA CHECKSUM"), "{e}");
    assert_eq!(
        c.head_object(&bck, "obj", "name")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert_no_work_files(&bck.name);
    let bad_md5 = Cksum {
        ty: CksumType::Md5,
        value: "0".repeat(32),
    };
    assert_eq!(
        c.put_object(&bck, "obj", Bytes::from(body.clone()), Some(&bad_md5))
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );
    // A correct client checksum of another type is verified and the bucket's type stored.
    let a = c
        .put_object(&bck, "obj", Bytes::from(body.clone()), Some(&good))
        .await
        .unwrap();
    assert_eq!(a.cksum.unwrap().ty, CksumType::Xxhash);
    // An unknown checksum type is a 400.
    let weird = Cksum {
        ty: CksumType::Sha512,
        value: "zz".into(),
    };
    assert_eq!(
        c.put_object(&bck, "obj2", Bytes::from_static(b"x"), Some(&weird))
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );
    assert_no_work_files(&bck.name);
    c.destroy_bucket(&bck).await.unwrap();
}

/// A client that dies mid-upload leaves no object and no work file behind.
#[tokio::test]
async fn interrupted_put_leaves_nothing() {
    let c = Client::new(&shared().endpoint).unwrap();
    let bck = Bck::new(&bucket_name("cut"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let smap = c.smap().await.unwrap();
    let t = smap.hrw_target(&bck.uname("cut-obj")).unwrap();
    let addr = t
        .public_net
        .direct_url
        .trim_start_matches("http://")
        .to_string();
    let head = format!(
        "PUT /v1/objects/{}/cut-obj?provider=ais&pid=test&utm=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n",
        bck.name
    );
    raw_http(&addr, &head, &data(1, 2 << 20), false)
        .await
        .unwrap();
    // Wait until the target has noticed and cleaned up (bounded), then check nothing is visible.
    let gone = ais_e2e::wait_for(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(50),
        || async {
            let wk_empty = shared().mountpaths().iter().all(|mp| {
                std::fs::read_dir(mp.join("@ais").join(&bck.name).join("%wk"))
                    .map(|rd| rd.count() == 0)
                    .unwrap_or(true)
            });
            wk_empty.then_some(())
        },
    )
    .await;
    assert!(
        gone.is_some(),
        "work file of the interrupted PUT was not removed"
    );
    assert_eq!(
        c.head_object(&bck, "cut-obj", "name")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    // A direct (not redirected) PUT to a target is refused.
    let head = format!(
        "PUT /v1/objects/{}/direct HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
        bck.name
    );
    let (st, _, body) = raw_http(&addr, &head, b"x", true).await.unwrap();
    assert_eq!(st, 400);
    assert!(ais_error(400, &body).message.contains("redirected"));
    c.destroy_bucket(&bck).await.unwrap();
}

/// With `checksum.validate_warm_get`, bytes that rotted on disk are never served.
#[tokio::test]
async fn corrupted_object_is_not_served() {
    let ep = shared().endpoint.clone();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new(&bucket_name("rot"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/{}?provider=ais", bck.name))
        .json(&serde_json::json!({"action": "set-bprops", "name": "", "value": {"checksum": {"validate_warm_get": true}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        c.head_bucket(&bck)
            .await
            .unwrap()
            .checksum
            .validate_warm_get
    );
    let body = data(9, 200_000);
    c.put_object(&bck, "victim", Bytes::from(body.clone()), None)
        .await
        .unwrap();
    assert_eq!(
        &c.get_object(&bck, "victim", None).await.unwrap().1[..],
        &body[..]
    );
    // Flip one byte of the stored file (HEAD location names the mountpath).
    let h = c.head_object(&bck, "victim", "location").await.unwrap();
    let mp = h.location.split_once(':').unwrap().1.to_string();
    let fqn = std::path::Path::new(&mp)
        .join("@ais")
        .join(&bck.name)
        .join("%ob")
        .join("victim");
    let mut bytes = std::fs::read(&fqn).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&fqn, &bytes).unwrap();
    let e = c.get_object(&bck, "victim", None).await.unwrap_err();
    assert!(e.to_string().contains("BAD DATA CHECKSUM"), "{e}");
    c.destroy_bucket(&bck).await.unwrap();
}
