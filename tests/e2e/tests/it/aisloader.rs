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
