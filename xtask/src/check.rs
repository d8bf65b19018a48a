//! `test` and `ci`: the project's single test command and the CI gate.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::args::UsageError;
use crate::{cargo, proc, repo_root, target_dir};

/// A shell-like rendering of `cmd` for echoing.
pub(crate) fn describe(cmd: &Command) -> String {
    let quote = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=./:,+@%".contains(&b))
        {
            s.into_owned()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), quote(v?))))
        .collect();
    let program = Path::new(cmd.get_program());
    // Show `cargo` rather than the full path of $CARGO.
    parts.push(match program.file_name() {
        Some(name) if name == "cargo" => "cargo".to_owned(),
        _ => quote(cmd.get_program()),
    });
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

/// Echoes and runs `cmd`, failing unless it exits successfully.
fn step(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = describe(cmd);
    eprintln!("==> {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("step failed ({status}): {shown}");
    }
    Ok(())
}

/// `cargo xtask test [cargo test args...]`.
pub(crate) fn test(extra: &[String]) -> anyhow::Result<()> {
    let root = repo_root();
    let target = target_dir();

    // a. the binaries the end-to-end tests spawn
    step(cargo().args([
        "build",
        "-p",
        "aisnode",
        "-p",
        "xtask",
        "-p",
        "aisloader",
        "-p",
        "ais",
    ]))?;

    // b. the Python venv for the SDK tests
    let venv = root.join(".venv");
    let python = ensure_venv(&venv)?;
    install_requirements(&root, &venv)?;

    // Debian tools the end-to-end tests drive (installed when missing; root only).
    ensure_debs(&[
        ("prometheus", "prometheus"),
        ("rclone", "rclone"),
        ("npm", "npm"),
        ("openssl", "openssl"),
    ])?;
    // Node programs (Azurite, the Azure Blob emulator), pinned by tests/e2e/node.
    let azurite = install_node_programs(&root, &target)?;

    // c. every test of the workspace (benches excluded: criterion builds are slow)
    let mut cmd = cargo();
    cmd.arg("test");
    let before_dashdash = extra.iter().take_while(|a| *a != "--");
    let picks_packages = before_dashdash
        .clone()
        .any(|a| a.starts_with("-p") || a.starts_with("--package"));
    if !picks_packages {
        cmd.args(["--workspace", "--exclude", "ais-benches"]);
    }
    // The daemon and the load generator the tests run: the debug builds above unless the
    // caller names others (e.g. release builds for a measurement).
    let bin = |var: &str, name: &str| {
        std::env::var_os(var).unwrap_or_else(|| target.join("debug").join(name).into_os_string())
    };
    cmd.args(extra)
        .env("AISNODE_BIN", bin("AISNODE_BIN", "aisnode"))
        .env("AIS_XTASK_BIN", target.join("debug").join("xtask"))
        .env("AISLOADER_BIN", bin("AISLOADER_BIN", "aisloader"))
        .env("AIS_CLI_BIN", target.join("debug").join("ais"))
        .env("AIS_PYTHON", &python)
        .env("AIS_AZURITE", &azurite)
        .env("AIS_REPO_ROOT", &root);
    step(&mut cmd)?;

    println!("xtask test: all steps passed");
    Ok(())
}

/// Installs Debian packages whose command is missing (`(command, package)` pairs), with one
/// `apt-get update` first. Needs root; otherwise fails with the command to run.
pub(crate) fn ensure_debs(pkgs: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing: Vec<&str> = pkgs
        .iter()
        .filter(|(cmd, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {cmd}")])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, p)| *p)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !crate::proc::is_root() {
        anyhow::bail!(
            "missing Debian packages: run `sudo apt-get install -y {}`",
            missing.join(" ")
        );
    }
    step(Command::new("apt-get").args(["update", "-q"]))?;
    step(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    Ok(())
}

/// Creates `<repo>/.venv` if needed (installing `python3-venv` with apt as
/// root when the stdlib venv/ensurepip is missing) and returns its python.
fn ensure_venv(venv: &Path) -> anyhow::Result<PathBuf> {
    let python = venv.join("bin").join("python");
    let pip = venv.join("bin").join("pip");
    if python.is_file() && pip.is_file() {
        return Ok(python);
    }
    let mut tried_apt = false;
    loop {
        if venv.exists() {
            // A half-made venv (e.g. created without ensurepip): start over.
            fs::remove_dir_all(venv).with_context(|| format!("removing {}", venv.display()))?;
        }
        let mut cmd = Command::new("python3");
        cmd.arg("-m").arg("venv").arg(venv);
        eprintln!("==> {}", describe(&cmd));
        let out = cmd.stdin(Stdio::null()).output().context(
            "cannot run python3: install Python 3 (e.g. `apt-get install python3 python3-venv`)",
        )?;
        if out.status.success() && python.is_file() && pip.is_file() {
            return Ok(python);
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprint!("{text}");
        let missing_venv = text.contains("ensurepip")
            || text.contains("No module named venv")
            || text.contains("python3-venv")
            || (out.status.success() && !pip.is_file());
        if !missing_venv {
            bail!(
                "`python3 -m venv {}` failed ({})",
                venv.display(),
                out.status
            );
        }
        if tried_apt {
            bail!("`python3 -m venv` still fails after installing python3-venv");
        }
        if !proc::is_root() {
            bail!(
                "python3 cannot create a venv (venv/ensurepip missing); install it with \
                 `sudo apt-get install -y python3-venv` and re-run"
            );
        }
        tried_apt = true;
        step(Command::new("apt-get").arg("update"))?;
        step(
            Command::new("apt-get")
                .args(["install", "-y", "python3-venv"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
}

/// `pip install -r tests/e2e/python/requirements.txt`, skipped when the
/// stamp in the venv matches the requirements file.
fn install_requirements(root: &Path, venv: &Path) -> anyhow::Result<()> {
    let req = root
        .join("tests")
        .join("e2e")
        .join("python")
        .join("requirements.txt");
    let wanted = fs::read_to_string(&req).with_context(|| format!("reading {}", req.display()))?;
    let stamp = venv.join(".req-stamp");
    if fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        eprintln!(
            "==> python requirements up to date ({} matches)",
            stamp.display()
        );
        return Ok(());
    }
    step(
        Command::new(venv.join("bin").join("pip"))
            .arg("install")
            .arg("-q")
            .arg("-r")
            .arg(&req)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )?;
    fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))
}

/// `npm ci` of `tests/e2e/node` (package.json and its lock file) into `<target>/e2e-node`,
/// skipped when the stamp there matches the lock file; returns the `azurite-blob` program.
fn install_node_programs(root: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    let src = root.join("tests").join("e2e").join("node");
    let dst = target.join("e2e-node");
    let azurite = dst.join("node_modules").join(".bin").join("azurite-blob");
    let lock = fs::read_to_string(src.join("package-lock.json"))
        .with_context(|| format!("reading {}", src.join("package-lock.json").display()))?;
    let stamp = dst.join(".lock-stamp");
    if azurite.is_file() && fs::read_to_string(&stamp).is_ok_and(|have| have == lock) {
        eprintln!("==> node programs up to date ({} matches)", stamp.display());
        return Ok(azurite);
    }
    fs::create_dir_all(&dst).with_context(|| format!("creating {}", dst.display()))?;
    for f in ["package.json", "package-lock.json"] {
        fs::copy(src.join(f), dst.join(f)).with_context(|| format!("copying {f}"))?;
    }
    step(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dst),
    )?;
    if !azurite.is_file() {
        bail!("npm ci did not install {}", azurite.display());
    }
    fs::write(&stamp, lock).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(azurite)
}

/// `cargo xtask ci`.
pub(crate) fn ci(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        return Err(UsageError(format!("`ci` takes no arguments (got `{arg}`)")).into());
    }
    step(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    test(&[])?;
    // The benchmark protocol end to end, quick mode (a benchmark, not a test: no figures checked).
    crate::bench::bench(&["--quick".to_string()])?;
    let deny = cargo()
        .args(["deny", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if deny.is_ok_and(|s| s.success()) {
        step(cargo().args(["deny", "check", "bans", "licenses", "sources"]))?;
        // The advisory database is fetched from a host that may be unreachable.
        if cargo()
            .args(["deny", "fetch", "db"])
            .status()
            .is_ok_and(|s| s.success())
        {
            step(cargo().args(["deny", "check", "advisories"]))?;
        } else {
            eprintln!("note: RustSec advisory database unreachable; advisories not checked");
        }
    } else {
        eprintln!("note: cargo-deny is not installed; skipping `cargo deny check`");
    }
    println!("xtask ci: all steps passed");
    Ok(())
}
