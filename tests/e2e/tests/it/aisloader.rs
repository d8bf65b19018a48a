//! `aisloader` against the shared cluster: a short mixed run with non-zero ops and zero errors.

use ais_e2e::{bucket_name, shared};
use std::process::Command;

fn aisloader() -> std::path::PathBuf {
    std::env::var_os("AISLOADER_BIN")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/aisloader")
        })
}

#[test]
fn mixed_run_reports_ops_and_no_errors() {
    let bin = aisloader();
    assert!(
        bin.exists(),
        "{} missing: run `cargo xtask test`",
        bin.display()
    );
    let bucket = format!("ais://{}", bucket_name("loader"));
    let out = Command::new(&bin)
        .arg(format!("-endpoint={}", shared().endpoint))
        .arg(format!("-bucket={bucket}"))
        .args([
            "-duration=3s",
            "-numworkers=8",
            "-pctput=30",
            "-minsize=1KiB",
            "-maxsize=32KiB",
            "-json",
            "-cleanup",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aisloader failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    for op in ["get", "put"] {
        assert!(r[op]["ops"].as_u64().unwrap() > 0, "{op}: no ops in {r}");
        assert_eq!(r[op]["errors"].as_u64(), Some(0), "{op}: errors in {r}");
        let l = &r[op]["latency_us"];
        assert!(
            l["min"].as_u64() <= l["p50"].as_u64()
                && l["p50"].as_u64() <= l["p99"].as_u64()
                && l["p99"].as_u64() <= l["max"].as_u64(),
            "{l}"
        );
    }
    let put_bytes = r["put"]["bytes"].as_u64().unwrap();
    let put_ops = r["put"]["ops"].as_u64().unwrap();
    assert!(
        put_bytes >= put_ops * 1024 && put_bytes <= put_ops * 32 * 1024,
        "sizes outside -minsize..-maxsize"
    );
    // -cleanup removed the bucket it created.
    let c = ais_api::Client::with_http(&shared().endpoint, reqwest::Client::new());
    let name = bucket.trim_start_matches("ais://").to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(c.head_bucket(&ais_core::Bck::new(&name, ais_core::Provider::Ais).unwrap()))
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    // Bad flags exit 2 with a message.
    let out = Command::new(&bin)
        .args(["-bucket=x", "-pctput=120"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pctput"));
}

/// `-objlist` (native GETs of the listed names) and `-httpget` (plain HTTP GETs of `URL/<name>`,
/// here the proxy's object URL, redirect followed) read exactly the listed objects.
#[test]
fn objlist_and_httpget_read_the_listed_objects() {
    let bin = aisloader();
    assert!(
        bin.exists(),
        "{} missing: run `cargo xtask test`",
        bin.display()
    );
    let name = bucket_name("loaderlist");
    let bck = ais_core::Bck::new(&name, ais_core::Provider::Ais).unwrap();
    let c = ais_api::Client::with_http(&shared().endpoint, reqwest::Client::new());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let names = ["x/1", "x/2", "y"];
    rt.block_on(async {
        c.create_bucket(&bck).await.unwrap();
        for n in names {
            c.put_object(&bck, n, bytes::Bytes::from(vec![7u8; 3000]), None)
                .await
                .unwrap();
        }
    });
    let list = std::env::temp_dir().join(format!("{name}.objlist"));
    std::fs::write(&list, names.join("\n")).unwrap();
    let run = |mode: &[String]| {
        let out = Command::new(&bin)
            .args(mode)
            .arg(format!("-objlist={}", list.display()))
            .args(["-duration=1s", "-numworkers=4", "-json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "aisloader {mode:?} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
        let ops = r["get"]["ops"].as_u64().unwrap();
        assert!(ops > 0, "no GETs in {r}");
        assert_eq!(r["get"]["errors"].as_u64(), Some(0), "{r}");
        assert_eq!(r["get"]["bytes"].as_u64(), Some(ops * 3000), "{r}");
        assert_eq!(r["put"]["ops"].as_u64(), Some(0), "{r}");
    };
    let endpoint = &shared().endpoint;
    run(&[
        format!("-endpoint={endpoint}"),
        format!("-bucket=ais://{name}"),
        "-direct".to_owned(),
    ]);
    run(&[format!(
        "-httpget={}/v1/objects/{name}",
        endpoint.trim_end_matches('/')
    )]);
    // -httpget is GET-only and needs the list.
    let out = Command::new(&bin)
        .args(["-httpget=http://127.0.0.1:1/x", "-pctput=10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(&list);
    rt.block_on(c.destroy_bucket(&bck)).unwrap();
}
