//! `aisnode`: the AIStore node daemon.
//!
//! ```text
//! aisnode -role=proxy|target -config=cluster.json -local_config=local.json [-daemon_id=ID]
//! ```
//!
//! Flags follow the original's Go style (`-name=value`); `--name=value` and `-name value` work
//! too. Logs go to stderr and to daily-rotated files in the local config's `log_dir`, filtered by
//! `RUST_LOG` or the cluster config's `log.level` (changeable at runtime with `set-config`).
//! With env `AIS_PARENT_PID` set, the node exits when that process is gone (test fixtures use
//! this so no node outlives the test run).

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::PathBuf;

const USAGE: &str = "usage: aisnode -role=proxy|target -config=<cluster config JSON> -local_config=<local config JSON> [-daemon_id=<ID>]";

fn parse_args() -> Result<HashMap<String, String>> {
    let mut m = HashMap::new();
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        if a == "-h" || a == "--help" || a == "-help" {
            bail!("{USAGE}");
        }
        let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            bail!("unexpected argument {a:?}\n{USAGE}");
        };
        let (k, v) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                let v = args
                    .next()
                    .with_context(|| format!("flag -{flag} needs a value\n{USAGE}"))?;
                (flag.to_string(), v)
            }
        };
        m.insert(k, v);
    }
    Ok(m)
}

/// Keeps the file writer's worker alive for the life of the process.
type LogGuard = Option<tracing_appender::non_blocking::WorkerGuard>;

/// Logs to stderr and, with a `log_dir`, to daily-rotated files `aisnode.<date>.log` there (7
/// kept). The filter (`RUST_LOG`, else `log.level`) can be replaced at runtime through the returned
/// hook (cluster or node `set-config log.level=...`).
fn init_logs(level: &str, log_dir: &str) -> Result<(ais_node::LogLevelHook, LogGuard)> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, fmt, reload};
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let stderr = fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    let (file, guard) = if log_dir.is_empty() {
        (None, None)
    } else {
        std::fs::create_dir_all(log_dir).with_context(|| format!("create log dir {log_dir}"))?;
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("aisnode")
            .filename_suffix("log")
            .max_log_files(7)
            .build(log_dir)
            .with_context(|| format!("log files in {log_dir}"))?;
        let (w, g) = tracing_appender::non_blocking(appender);
        (Some(fmt::layer().with_writer(w).with_ansi(false)), Some(g))
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .init();
    let hook = ais_node::LogLevelHook(std::sync::Arc::new(move |lvl: &str| {
        let f = EnvFilter::try_new(lvl).map_err(|e| format!("invalid log level {lvl:?}: {e}"))?;
        handle.reload(f).map_err(|e| e.to_string())
    }));
    Ok((hook, guard))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let parent = std::env::var("AIS_PARENT_PID")
        .ok()
        .filter(|s| !s.is_empty());
    let orphaned = async move {
        let Some(pid) = parent else {
            return std::future::pending::<()>().await;
        };
        let proc = PathBuf::from(format!("/proc/{pid}"));
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if !proc.exists() {
                tracing::info!(parent = %pid, "parent process is gone");
                return;
            }
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
        _ = orphaned => {},
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let role: ais_node::Role = args
        .get("role")
        .context(USAGE)?
        .parse()
        .map_err(|e: ais_node::Error| anyhow::anyhow!("{e}"))?;
    let config = PathBuf::from(args.get("config").context(USAGE)?);
    let local = PathBuf::from(args.get("local_config").context(USAGE)?);
    let mut cfg =
        ais_node::NodeConfig::from_files(role, &config, &local, args.get("daemon_id").cloned())?;
    let (hook, _guard) = init_logs(&cfg.cluster.log.level, &cfg.local.log_dir)?;
    cfg.log_level = Some(hook);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("aisnode")
        .build()
        .context("start the async runtime")?;
    rt.block_on(ais_node::run(cfg, shutdown_signal()))?;
    Ok(())
}
