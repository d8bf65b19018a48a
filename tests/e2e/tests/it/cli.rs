//! The `ais` CLI against the shared cluster: exit codes, `--json` output, error text.

use ais_e2e::{bucket_name, shared};
use std::process::{Command, Output};

fn ais(args: &[&str]) -> Output {
    let bin = std::env::var_os("AIS_CLI_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ais")
        });
    assert!(
        bin.exists(),
        "{} missing: run `cargo xtask test`",
        bin.display()
    );
    Command::new(bin)
        .args(args)
        .env("AIS_ENDPOINT", &shared().endpoint)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = ais(args);
    assert!(
        o.status.success(),
        "ais {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_round_trip() {
    let b = format!("ais://{}", bucket_name("cli"));
    ok(&["bucket", "create", &b]);
    let dir = std::env::temp_dir().join(format!("ais-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("hello.txt");
    std::fs::write(&f, b"hello from the cli").unwrap();
    ok(&["put", f.to_str().unwrap(), &format!("{b}/docs/")]);
    // ls: table and JSON
    assert!(ok(&["ls", &b]).contains("docs/hello.txt"));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["ls", &b, "--json", "--props", "name,size,checksum"])).unwrap();
    assert_eq!(v[0]["name"], "docs/hello.txt");
    assert_eq!(v[0]["size"], 18);
    let buckets: serde_json::Value = serde_json::from_str(&ok(&["ls", "--json"])).unwrap();
    assert!(
        buckets
            .as_array()
            .unwrap()
            .iter()
            .any(|x| format!("ais://{}", x["name"].as_str().unwrap()) == b)
    );
    // get to stdout, head as JSON
    assert_eq!(
        ok(&["get", &format!("{b}/docs/hello.txt"), "-"]),
        "hello from the cli"
    );
    let h: serde_json::Value = serde_json::from_str(&ok(&[
        "object",
        "head",
        &format!("{b}/docs/hello.txt"),
        "--json",
    ]))
    .unwrap();
    assert_eq!(h["size"], 18);
    assert!(h["checksum"].as_str().unwrap().starts_with("xxhash:"));
    // cluster views
    let cl: serde_json::Value = serde_json::from_str(&ok(&["show", "cluster", "--json"])).unwrap();
    assert_eq!(
        cl.as_object().unwrap().len(),
        ais_e2e::PROXIES + ais_e2e::TARGETS
    );
    assert!(ok(&["show", "cluster"]).contains("* = primary"));
    let perf = ok(&["show", "performance"]);
    assert!(
        perf.contains("GET") && perf.lines().count() == 1 + ais_e2e::TARGETS,
        "{perf}"
    );
    ok(&["job", "show"]);
    ok(&["show", "rebalance"]);
    let mps: serde_json::Value =
        serde_json::from_str(&ok(&["storage", "mountpath", "show", "--json"])).unwrap();
    assert_eq!(mps.as_object().unwrap().len(), ais_e2e::TARGETS);
    assert!(
        mps.as_object()
            .unwrap()
            .values()
            .all(|m| m["available"].as_array().unwrap().len() == ais_e2e::MOUNTPATHS)
    );
    let cfg: serde_json::Value = serde_json::from_str(&ok(&["config", "show"])).unwrap();
    assert_eq!(
        cfg["auth"]["join_secret"], "********",
        "secrets are never shown"
    );
    ok(&["config", "set", "log.level=info"]);
    let o = ais(&["config", "set", "no.such.key=1"]);
    assert_eq!(o.status.code(), Some(1));
    let o = ais(&[
        "cluster",
        "add-remove-nodes",
        "start-maintenance",
        "nosuchnode",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    // errors: non-zero exit, message and hint on stderr
    let o = ais(&["ls", "ais://no-such-bucket-cli"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("does not exist") && err.contains("ais bucket create"),
        "{err}"
    );
    let o = ais(&["get", &format!("{b}/missing"), "-"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    ok(&["rmo", &format!("{b}/docs/hello.txt")]);
    ok(&["rmb", &b]);
    let _ = std::fs::remove_dir_all(&dir);
}
