//! Process helpers over `/proc` and the `kill` command (no libc).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The pid stored in a pid file, if the file exists and parses.
pub(crate) fn read_pid_file(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` exists and is not a zombie.
pub(crate) fn is_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last `)`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("?");
    !matches!(state, "Z" | "X" | "x")
}

/// Whether `pid` is alive and is the aisnode of `node_dir`: its executable
/// (`argv[0]`) mentions `aisnode`, or one of its arguments is the node's own
/// `-config=<node_dir>/cluster.json`. Guards against signalling an unrelated
/// process that recycled the pid.
pub(crate) fn is_node(pid: u32, node_dir: &Path) -> bool {
    if !is_alive(pid) {
        return false;
    }
    let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw);
    let mut argv = raw.split('\0');
    let exe = argv.next().unwrap_or_default();
    let config = format!("-config={}", node_dir.join("cluster.json").display());
    exe.contains("aisnode") || argv.any(|arg| arg == config)
}

/// Sends `signal` (e.g. `TERM`, `KILL`) to `pid` with the `kill` command,
/// falling back to the shell builtin when no `kill` binary is installed.
pub(crate) fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let sig = format!("-{signal}");
    let pid_s = pid.to_string();
    let status = match Command::new("kill")
        .args([&sig, &pid_s])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Command::new("sh")
            .args(["-c", "kill \"$1\" \"$2\"", "sh", &sig, &pid_s])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running `sh -c kill`")?,
        other => other.context("running `kill`")?,
    };
    if !status.success() && is_alive(pid) {
        bail!("`kill {sig} {pid}` failed ({status})");
    }
    Ok(())
}

/// The last `n` lines of a (log) file, or a note that it cannot be read.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(raw) => {
            let text = String::from_utf8_lossy(&raw);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(n);
            if lines.is_empty() {
                "    (log is empty)".to_owned()
            } else {
                lines[start..]
                    .iter()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Err(e) => format!("    (cannot read {}: {e})", path.display()),
    }
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
