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

/// A fresh temp directory for one test.
fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ais-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `{name: size}` of `ais ls B --json --props name,size [--prefix P]`.
fn listing(b: &str, prefix: &str) -> std::collections::BTreeMap<String, u64> {
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "ls",
        b,
        "--json",
        "--props",
        "name,size",
        "--prefix",
        prefix,
    ]))
    .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn cli_completion() {
    for shell in ["bash", "zsh", "fish"] {
        let s = ok(&["completion", shell]);
        assert!(s.len() > 1000, "{shell}: {s}");
        for sub in ["put", "get", "cp", "ls", "completion", "job"] {
            assert!(s.contains(sub), "{shell} script does not mention {sub}");
        }
    }
    let o = ais(&["completion", "nosuchshell"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error");
}

#[test]
fn cli_recursive_put_get_checksum_cp() {
    let b = format!("ais://{}", bucket_name("cli-tree"));
    let dst = format!("ais://{}", bucket_name("cli-cp"));
    ok(&["bucket", "create", &b]);
    // a tree with nested directories and sizes across several KiB
    let src = temp_dir("tree");
    let files: Vec<(&str, usize)> = vec![
        ("top.txt", 1),
        ("a/one.bin", 1000),
        ("a/b/two.bin", 70_000),
        ("a/b/c/three.bin", 4096),
        ("z/last", 12_345),
    ];
    for (i, (rel, size)) in files.iter().enumerate() {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..*size).map(|j| (i * 31 + j * 7) as u8).collect();
        std::fs::write(p, data).unwrap();
    }
    // without --recursive: an error with a hint
    let o = ais(&["put", src.to_str().unwrap(), &format!("{b}/tree/")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--recursive"));

    let out = ok(&[
        "put",
        src.to_str().unwrap(),
        &format!("{b}/tree/"),
        "--recursive",
    ]);
    assert!(out.starts_with("PUT 5 files"), "{out}");
    assert_eq!(out.lines().count(), 1, "one summary line: {out}");
    let want: std::collections::BTreeMap<String, u64> = files
        .iter()
        .map(|(rel, size)| (format!("tree/{rel}"), *size as u64))
        .collect();
    assert_eq!(listing(&b, ""), want);

    // paged listing: 2 per page → 3 pages, every object once
    let paged = ok(&["ls", &b, "--paged", "--page-size", "2"]);
    assert!(paged.contains("Page 3: 1 object"), "{paged}");
    assert!(paged.contains("Listed 5 objects in 3 pages"), "{paged}");
    for name in want.keys() {
        assert_eq!(paged.matches(name.as_str()).count(), 1, "{name}: {paged}");
    }

    // get --checksum to a file and to stdout
    let got = src.join("got.bin");
    let o = ais(&[
        "get",
        &format!("{b}/tree/a/b/two.bin"),
        got.to_str().unwrap(),
        "--checksum",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&got).unwrap(),
        std::fs::read(src.join("a/b/two.bin")).unwrap()
    );
    let o = ais(&["get", &format!("{b}/tree/z/last"), "-", "--checksum"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, std::fs::read(src.join("z/last")).unwrap());

    // get --recursive: the tree comes back byte for byte
    let back = temp_dir("back");
    let o = ais(&[
        "get",
        &format!("{b}/tree/a/"),
        back.to_str().unwrap(),
        "--recursive",
        "--checksum",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for rel in ["a/one.bin", "a/b/two.bin", "a/b/c/three.bin"] {
        assert_eq!(
            std::fs::read(back.join("tree").join(rel)).unwrap(),
            std::fs::read(src.join(rel)).unwrap(),
            "{rel}"
        );
    }
    assert!(!back.join("tree/top.txt").exists(), "outside the prefix");

    // cp --prefix: only tree/a/ goes to the (new) destination, same names, sizes and bytes
    let out = ok(&["cp", &b, &dst, "--prefix", "tree/a/", "--wait"]);
    assert!(out.starts_with("copied"), "{out}");
    let copied = listing(&dst, "");
    let want_a: std::collections::BTreeMap<String, u64> = want
        .iter()
        .filter(|(k, _)| k.starts_with("tree/a/"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(copied, want_a);
    for name in copied.keys() {
        assert_eq!(
            ok(&["get", &format!("{dst}/{name}"), "-", "--checksum"]),
            ok(&["get", &format!("{b}/{name}"), "-"]),
            "{name}"
        );
    }
    // cp without --wait prints the job id; job wait waits for it
    let out = ok(&["cp", &b, &dst, "--prefix", "tree/z/"]);
    let id = out
        .split("job ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string();
    assert!(ok(&["job", "wait", &id]).contains("finished"));
    assert_eq!(listing(&dst, "tree/z/").len(), 1);
    // errors: missing source bucket
    let o = ais(&["cp", "ais://no-such-bucket-cli", &dst]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));

    ok(&["rmb", &b]);
    ok(&["rmb", &dst]);
    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&back);
}

/// `ais bucket props set|show`: dotted names become nested props; a mirroring change starts a
/// job the CLI reports and `ais job wait` waits for.
#[test]
fn cli_bucket_props() {
    let b = format!("ais://{}", bucket_name("cli-props"));
    ok(&["bucket", "create", &b]);
    let out = ok(&[
        "bucket",
        "props",
        "set",
        &b,
        "mirror.enabled=true",
        "mirror.copies=2",
        "checksum.validate_warm_get=true",
    ]);
    assert!(out.contains("props updated"), "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("started job "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job reported: {out}"))
        .to_string();
    let waited = ok(&["job", "wait", &id]);
    assert!(waited.contains("make-n-copies"), "{waited}");
    let props: serde_json::Value =
        serde_json::from_str(&ok(&["bucket", "props", "show", &b])).unwrap();
    assert_eq!(props["mirror"]["enabled"], true);
    assert_eq!(props["mirror"]["copies"], 2);
    assert_eq!(props["checksum"]["validate_warm_get"], true);
    let bad = ais(&["bucket", "props", "set", &b, "mirror.copies=99"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("mirror.copies"));
    ok(&["bucket", "rm", &b]);
}
