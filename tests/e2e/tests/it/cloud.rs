//! `aws://` buckets in front of a real S3 emulator (moto server, installed in the test venv by
//! `cargo xtask test`, started here on loopback): the bucket is discovered on first access,
//! listed from the backend, read cold (fetched once, stored) then warm — still served with the
//! emulator stopped — written and deleted through to the backend; backend failures are clear
//! errors.

use ais_api::Client;
use ais_backend::S3Backend;
use ais_core::{Bck, Provider};
use ais_e2e::{Cluster, data, wait_for};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const N: usize = 12;

fn obj(i: usize) -> String {
    format!("cold/o-{i:02}")
}

fn size(i: usize) -> usize {
    1 + i * 7717
}

/// The moto server child, killed on drop.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_bucket_cold_warm_write_through() {
    let python = std::env::var("AIS_PYTHON")
        .expect("AIS_PYTHON is not set: run with `cargo xtask test` (it installs moto)");
    let moto_bin = std::path::Path::new(&python).with_file_name("moto_server");
    let port = free_port();
    let moto = Moto(
        Command::new(&moto_bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", moto_bin.display())),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let be = S3Backend::new(&endpoint, "us-east-1", "testing", "testing").unwrap();
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { be.create_bucket("cloud").await.ok() },
    )
    .await
    .expect("moto server up");
    for i in 0..N {
        be.put_bytes("cloud", &obj(i), data(i as u64, size(i)).into())
            .await
            .unwrap();
    }

    let cl = Cluster::deploy_with_env(
        1,
        2,
        "cloud",
        &[
            ("S3_ENDPOINT", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .expect("deploy 1 proxy + 2 targets");
    let c = Client::new(&cl.endpoint).unwrap();
    let bck = Bck::new("cloud", Provider::Aws).unwrap();

    // Discovered on first access, listed from the backend.
    let names: Vec<String> = c
        .list_objects_all(&bck, "cold/", "name,size")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, (0..N).map(obj).collect::<Vec<_>>());
    assert!(
        c.list_buckets(Some(Provider::Aws))
            .await
            .unwrap()
            .iter()
            .any(|b| b.name == "cloud"),
        "remote bucket added to the BMD"
    );

    // Cold GET of the first half; HEAD of an uncached object answers from the backend.
    for i in 0..N / 2 {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert!(b[..] == data(i as u64, size(i))[..], "{}", obj(i));
    }
    let h = c.head_object(&bck, &obj(N - 1), "").await.unwrap();
    assert_eq!(h.size, size(N - 1) as u64);

    // Concurrent cold GETs of one object fetch it once (targets' get.cold.n moves by one).
    let targets: Vec<String> = c
        .smap()
        .await
        .unwrap()
        .tmap
        .values()
        .map(|t| t.public_net.direct_url.clone())
        .collect();
    let cold_count = || {
        let targets = targets.clone();
        async move {
            let mut n = 0;
            for t in &targets {
                let v: serde_json::Value = reqwest::get(format!("{t}/debug/vars"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                n += v["stats"]["get.cold.n"].as_i64().unwrap();
            }
            n
        }
    };
    let racer = data(77, 300_000);
    be.put_bytes("cloud", "race/one", racer.clone().into())
        .await
        .unwrap();
    let before = cold_count().await;
    let gets = (0..8).map(|_| {
        let (c, bck) = (c.clone(), bck.clone());
        async move { c.get_object(&bck, "race/one", None).await.unwrap().1 }
    });
    for b in futures_util::future::join_all(gets).await {
        assert!(b[..] == racer[..]);
    }
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { (cold_count().await > before).then_some(()) },
    )
    .await
    .expect("cold GET counted");
    assert_eq!(
        cold_count().await,
        before + 1,
        "eight racing GETs, one fetch"
    );

    // Write-through PUT and DELETE.
    c.put_object(&bck, "new/obj", bytes::Bytes::from_static(b"through"), None)
        .await
        .unwrap();
    let (_, r) = be.get("cloud", "new/obj").await.unwrap();
    assert_eq!(&r.bytes().await.unwrap()[..], b"through");
    c.delete_object(&bck, &obj(0)).await.unwrap();
    assert!(matches!(
        be.head("cloud", &obj(0)).await,
        Err(ais_backend::Error::NotFound(_))
    ));
    let e = c
        .get_object(&bck, "no/such/object", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    // Jobs: evict a cached object (its data goes, the backend keeps it); prefetch a range.
    let ep = cl.endpoint.clone();
    let job = |method: reqwest::Method, action: &'static str, value: serde_json::Value| {
        let ep = ep.clone();
        async move {
            let r = reqwest::Client::new()
                .request(method, format!("{ep}/v1/buckets/cloud?provider=aws"))
                .json(&serde_json::json!({"action": action, "value": value}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{action}: {}", r.status());
            r.text().await.unwrap()
        }
    };
    let present = |name: String| {
        let ep = ep.clone();
        async move {
            let r = reqwest::Client::new()
                .head(format!("{ep}/v1/objects/cloud/{name}?provider=aws"))
                .send()
                .await
                .unwrap();
            r.headers()
                .get(ais_core::wire::hdr::PRESENT)
                .is_some_and(|v| v == "true")
        }
    };
    // A streamed cold GET commits its cached copy right after the last byte went out.
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { present(obj(1)).await.then_some(()) },
    )
    .await
    .expect("cold GET cached the object");
    let id = job(
        reqwest::Method::DELETE,
        "evict-listrange",
        serde_json::json!({"objnames": [obj(1)]}),
    )
    .await;
    let st = c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    assert!(st.err.is_empty(), "{st:?}");
    assert!(!present(obj(1)).await, "evicted");
    assert!(
        be.head("cloud", &obj(1)).await.is_ok(),
        "evict keeps the backend's object"
    );
    // Prefetch a range with the CLI (`ais prefetch ... --wait`).
    let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN is set by `cargo xtask test`");
    let template = format!("cold/o-{{{:02}..{:02}}}", N / 2, N - 2);
    let out = std::process::Command::new(&cli)
        .args(["prefetch", "aws://cloud", "--template", &template, "--wait"])
        .env("AIS_ENDPOINT", &cl.endpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ais prefetch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("prefetch-listrange"));
    for i in N / 2..N - 1 {
        assert!(present(obj(i)).await, "{} prefetched", obj(i));
    }

    // With versioning.validate_warm_get, a changed or deleted backend object is noticed.
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/cloud?provider=aws"))
        .json(&serde_json::json!({"action": "set-bprops", "value":
            {"versioning": {"validate_warm_get": true}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    be.put_bytes(
        "cloud",
        &obj(2),
        bytes::Bytes::from_static(b"changed in the cloud"),
    )
    .await
    .unwrap();
    let (_, b) = c.get_object(&bck, &obj(2), None).await.unwrap();
    assert_eq!(
        &b[..],
        b"changed in the cloud",
        "a changed ETag refreshes the cached copy"
    );
    be.delete("cloud", &obj(3)).await.unwrap();
    let e = c.get_object(&bck, &obj(3), None).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "deleted in the cloud: {e}");
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/cloud?provider=aws"))
        .json(&serde_json::json!({"action": "set-bprops", "value":
            {"versioning": {"validate_warm_get": false}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    // The emulator goes away: cached and prefetched objects are still served (warm GET never
    // touches the backend); evicted and never-fetched ones are a clear 503.
    drop(moto);
    for i in (4..N / 2).chain(N / 2..N - 1) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert!(b[..] == data(i as u64, size(i))[..], "warm {}", obj(i));
    }
    let (_, b) = c.get_object(&bck, "new/obj", None).await.unwrap();
    assert_eq!(&b[..], b"through");
    for i in [1, N - 1] {
        let e = c.get_object(&bck, &obj(i), None).await.unwrap_err();
        assert_eq!(e.status(), Some(503), "{}: {e}", obj(i));
    }
}
