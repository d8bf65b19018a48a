//! `cargo xtask <verb>`: the project's chore runner.
//!
//! Verbs: `deploy`, `kill` and `status` manage a local playground cluster of
//! `aisnode` processes on loopback; `test` runs the whole test suite (Rust
//! unit, integration and end-to-end tests, including the Python SDK ones);
//! `ci` runs the formatting and lint checks followed by `test`; `bench` measures a release
//! playground against nginx (docs/performance.md).
//!
//! Only `std`, `anyhow` and `serde_json` are used: arguments are parsed by
//! hand and HTTP probes go over a plain `TcpStream`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod bench;
mod check;
mod cluster;
mod http;
mod proc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use args::UsageError;

/// Usage text, printed by `cargo xtask help` and on usage errors.
const USAGE: &str = "\
usage: cargo xtask <verb> [flags]

verbs:
  deploy   build aisnode and start a local cluster on 127.0.0.1
             --proxies P      number of proxies (default 1; proxy-0 is primary)
             --targets T      number of targets (default 3)
             --mountpaths M   mountpaths per target (default 2)
             --dir DIR        cluster data dir (default <repo>/.ais-data)
             --port BASE      first public port (default 8080); proxy i gets
                              BASE+i, target j gets BASE+P+j; intra-control
                              is public+1000, intra-data public+2000
             --bin PATH       use this aisnode binary instead of building one
             --debug          build aisnode with the dev profile (default release)
           prints AIS_ENDPOINT=http://127.0.0.1:<BASE> as its last line
  kill     stop the cluster started by deploy        [--dir DIR]
  status   show the nodes of the cluster and health  [--dir DIR]
  codegen  regenerate crates/ais-metasync/src/pb from its .proto (pure Rust, no protoc);
           --check: fail if the committed code is stale
  join     start one more node in the running cluster and wait until it is in the map
             --role proxy|target  [--dir DIR] [--bin PATH] [--debug]
  test     build, set up the Python venv and run every test;
           extra arguments are passed to `cargo test` (e.g. -- --nocapture)
  bench    build aisnode+aisloader (profile perf: release settings), deploy a playground
           (1 proxy, 1 target) in a bench dir, run aisloader PUT then GET (16 KiB and 1 MiB
           objects, 16 and 64 workers, 20 s each) and the same GETs against nginx serving the
           same bytes; prints the table and writes it into docs/performance.md (see there)
             --quick          3 s runs, 16 workers only; the table is not written into the docs
             --dir DIR        bench dir (default <target>/bench)
             --port BASE      the cluster's first port (default 9080); nginx gets BASE+50
  ci       cargo fmt --check, cargo clippy -D warnings, test, cargo deny (if installed)
  help     print this text
";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                eprintln!("xtask: {usage}\n");
                eprint!("{USAGE}");
                ExitCode::from(2)
            } else {
                eprintln!("xtask: error: {err:#}");
                ExitCode::FAILURE
            }
        }
    }
}

fn run(argv: &[String]) -> anyhow::Result<()> {
    let Some((verb, rest)) = argv.split_first() else {
        return Err(UsageError("missing verb".to_owned()).into());
    };
    // `test` passes everything through to `cargo test`, so its `--help` is cargo's.
    if verb != "test" && rest.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    match verb.as_str() {
        "deploy" => cluster::deploy(rest),
        "kill" => cluster::kill(rest),
        "status" => cluster::status(rest),
        "join" => cluster::join(rest),
        "codegen" => codegen(rest),
        "test" => check::test(rest),
        "ci" => check::ci(rest),
        "bench" => bench::bench(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(UsageError(format!("unknown verb `{other}`")).into()),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` (relative values
/// are taken relative to the repo root, where every cargo command is run).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => repo_root().join(dir),
        _ => repo_root().join("target"),
    }
}

/// The cargo executable: the one that launched us if known.
fn cargo() -> std::process::Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(repo_root());
    cmd
}

/// `cargo xtask codegen [--check]`: runs the `ais-codegen` package.
fn codegen(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => {
            return Err(args::UsageError(format!("codegen: unexpected arguments {args:?}")).into());
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let committed = root.join("crates/ais-metasync/src/pb");
    let out = if check {
        std::env::temp_dir().join(format!("ais-codegen-{}", std::process::id()))
    } else {
        committed.clone()
    };
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["run", "--quiet", "-p", "ais-codegen", "--"])
            .arg(&out)
            .current_dir(&root)
            .status()?;
    anyhow::ensure!(status.success(), "ais-codegen failed ({status})");
    if check {
        let name = "ais.metasync.v1.rs";
        let fresh = std::fs::read(out.join(name))?;
        let old = std::fs::read(committed.join(name))?;
        let _ = std::fs::remove_dir_all(&out);
        anyhow::ensure!(
            fresh == old,
            "crates/ais-metasync/src/pb/{name} is stale: run `cargo xtask codegen` and commit"
        );
        println!("codegen: up to date");
    }
    Ok(())
}
