//! End-to-end test support: one real `aisnode` cluster on loopback shared by every test in the
//! binary, plus small helpers (deterministic data, raw HTTP for requests that HTTP libraries
//! would "fix", bounded polling).
//!
//! The cluster is started through `xtask deploy` (the same code path as the README's playground)
//! with `AIS_PARENT_PID` set, so the nodes exit on their own when the test process ends. Data
//! lives under `target/e2e/<pid>/`; directories of dead runs are removed at start.
//!
//! Binaries: `AISNODE_BIN` and `AIS_XTASK_BIN` (set by `cargo xtask test`), else
//! `target/debug/{aisnode,xtask}`.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Proxies in the shared cluster.
pub const PROXIES: usize = 1;
/// Targets in the shared cluster.
pub const TARGETS: usize = 3;
/// Mountpaths per target.
pub const MOUNTPATHS: usize = 2;

/// S3 access key every test cluster accepts (with [`S3_SECRET_KEY`]); S3 requests must be
/// signed with it.
pub const S3_ACCESS_KEY: &str = "AKIAE2ETESTKEY000001";
/// Secret of [`S3_ACCESS_KEY`].
pub const S3_SECRET_KEY: &str = "e2e/secret+key/0123456789abcdefghijklmn";

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    /// `http://127.0.0.1:PORT` of the primary proxy.
    pub endpoint: String,
    /// Data directory (node dirs `proxy-0/`, `target-N/`).
    pub dir: PathBuf,
    /// Number of targets deployed.
    pub targets: usize,
}

fn repo_root() -> PathBuf {
    std::env::var_os("AIS_REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn bin(env: &str, name: &str) -> Result<PathBuf> {
    let p = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join(name));
    if !p.exists() {
        bail!(
            "{} not found at {} (run `cargo xtask test`, or `cargo build -p aisnode -p xtask` first)",
            name,
            p.display()
        );
    }
    Ok(p)
}

/// Whether the ports a cluster of `n` nodes at `base` needs are free.
fn ports_free(base: u16, n: u16) -> bool {
    (0..n).all(|i| {
        [0u16, 1000, 2000]
            .iter()
            .all(|off| TcpListener::bind(("127.0.0.1", base + i + off)).is_ok())
    })
}

fn clean_stale(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(pid) = name.parse::<u32>()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Cluster {
    /// Deploys a cluster of [`PROXIES`] proxies and [`TARGETS`] targets.
    pub fn deploy() -> Result<Cluster> {
        Self::deploy_with(PROXIES, TARGETS, "")
    }

    /// Deploys a cluster of `proxies` and `targets` under `target/e2e/<pid>[-tag]/`.
    pub fn deploy_with(proxies: usize, targets: usize, tag: &str) -> Result<Cluster> {
        Self::deploy_with_env(proxies, targets, tag, &[])
    }

    /// Like [`Cluster::deploy_with`], the nodes also getting the environment `envs` (e.g. a
    /// cloud backend's endpoint and credentials).
    pub fn deploy_with_env(
        proxies: usize,
        targets: usize,
        tag: &str,
        envs: &[(&str, &str)],
    ) -> Result<Cluster> {
        let aisnode = bin("AISNODE_BIN", "aisnode")?;
        let xtask = bin("AIS_XTASK_BIN", "xtask")?;
        let root = target_dir().join("e2e");
        clean_stale(&root);
        let pid = std::process::id();
        let dir = root.join(if tag.is_empty() {
            pid.to_string()
        } else {
            format!("{pid}-{tag}")
        });
        // Pick a base port below the ephemeral range; retry on a race with another process.
        let mut last_err = String::new();
        for attempt in 0..20u32 {
            let salt: u32 = tag.bytes().map(u32::from).sum();
            let spread = pid
                .wrapping_mul(7919)
                .wrapping_add(attempt * 131)
                .wrapping_add(salt * 997);
            let base = 20_000 + (spread % 9_000) as u16;
            if !ports_free(base, (proxies + targets + 1) as u16) {
                continue;
            }
            let out = Command::new(&xtask)
                .args(["deploy", "--bin"])
                .arg(&aisnode)
                .arg("--dir")
                .arg(&dir)
                .args(["--port", &base.to_string()])
                .args([
                    "--proxies",
                    &proxies.to_string(),
                    "--targets",
                    &targets.to_string(),
                ])
                .args(["--mountpaths", &MOUNTPATHS.to_string()])
                .env("AIS_PARENT_PID", pid.to_string())
                .env("AIS_S3_KEYS", format!("{S3_ACCESS_KEY}:{S3_SECRET_KEY}"))
                .envs(envs.iter().copied())
                .output()
                .context("run xtask deploy")?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if out.status.success() {
                let ep = stdout
                    .lines()
                    .last()
                    .and_then(|l| l.strip_prefix("AIS_ENDPOINT="))
                    .context("xtask deploy did not print AIS_ENDPOINT last")?;
                return Ok(Cluster {
                    endpoint: ep.to_string(),
                    dir,
                    targets,
                });
            }
            last_err = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            if !last_err.contains("already in use") {
                break;
            }
        }
        bail!("could not deploy a test cluster:\n{last_err}")
    }

    /// The mountpath directories of every target.
    pub fn mountpaths(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        for t in 0..self.targets {
            for m in 1..=MOUNTPATHS {
                v.push(self.dir.join(format!("target-{t}")).join(format!("mp{m}")));
            }
        }
        v
    }
}

/// The cluster shared by all tests of this binary (deployed on first use).
pub fn shared() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| match Cluster::deploy() {
        Ok(c) => c,
        Err(e) => panic!("e2e cluster: {e:#}"),
    })
}

/// A unique bucket name for one test.
pub fn bucket_name(test: &str) -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("OS random source");
    format!("{test}-{:08x}", u32::from_le_bytes(b))
}

/// Deterministic pseudo-random bytes (xorshift64*) for object `i` of a test.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// PUTs objects `0..n`, object `i` named `name(i)` holding [`data`]`(i, size(i))`, 16 at a
/// time; panics on a failed PUT.
pub async fn put_many(
    c: &ais_api::Client,
    bck: &ais_core::Bck,
    n: usize,
    name: impl Fn(usize) -> String,
    size: impl Fn(usize) -> usize,
) {
    use futures_util::StreamExt;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (c, bck) = (c.clone(), bck.clone());
            let (obj, body) = (name(i), data(i as u64, size(i)));
            async move {
                c.put_object(&bck, &obj, bytes::Bytes::from(body), None)
                    .await
                    .unwrap_or_else(|e| panic!("PUT {obj}: {e}"));
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// utime+stime of the processes `pids` (from `/proc/PID/stat`), seconds: the server CPU a
/// measurement spent.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            let f: Vec<&str> = s.rsplit_once(") ")?.1.split(' ').collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / tick)
        })
        .sum()
}

/// Polls `f` every `step` until it returns `Some` or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, step: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(step).await;
    }
}

/// Sends one raw HTTP/1.1 request (bytes as given: no path normalization) and returns
/// (status, headers, body). `body_sent` may be shorter than the declared Content-Length to
/// simulate a client that dies mid-upload (the connection is then closed).
pub async fn raw_http(
    addr: &str,
    head: &str,
    body_sent: &[u8],
    expect_reply: bool,
) -> Result<(u16, String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(head.as_bytes()).await?;
    s.write_all(body_sent).await?;
    if !expect_reply {
        s.shutdown().await?;
        drop(s);
        return Ok((0, String::new(), Vec::new()));
    }
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (h, _) = text.split_once("\r\n\r\n").context("no header end")?;
    let status = h.split(' ').nth(1).context("no status")?.parse()?;
    let hlen = h.len() + 4;
    Ok((status, h.to_string(), buf[hlen..].to_vec()))
}

/// One node process of a cluster deployed by [`Cluster::deploy_with`].
#[derive(Debug, Clone)]
pub struct NodeDir {
    /// `proxy-0`, `target-2`, ...
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
}

impl NodeDir {
    /// The pid in `aisnode.pid`.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("aisnode.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether its process is alive (and not a zombie).
    pub fn alive(&self) -> bool {
        self.pid().is_some_and(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| !s.contains(") Z "))
        })
    }

    /// The public port from `local.json`.
    pub fn port(&self) -> u16 {
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.dir.join("local.json")).expect("local.json"),
        )
        .expect("json");
        v["host_net"]["port"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Waits (up to `timeout`) until the process has exited; `false` if it has not.
    pub async fn wait_gone(&self, timeout: Duration) -> bool {
        wait_for(timeout, Duration::from_millis(20), || async {
            (!self.alive()).then_some(())
        })
        .await
        .is_some()
    }

    /// SIGKILLs the node (only a pid from our own pid file whose command line is `aisnode`).
    pub fn kill9(&self) {
        let pid = self.pid().expect("pid file");
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            String::from_utf8_lossy(&cmd).contains("aisnode"),
            "pid {pid} is not an aisnode"
        );
        let st = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(st.success());
    }

    /// Starts the node again with its config files (as `xtask deploy` did), bound to this test
    /// process's lifetime.
    pub fn restart(&self) -> Result<()> {
        let aisnode = bin("AISNODE_BIN", "aisnode")?;
        // A killed node's process can look gone (its main thread a zombie) while its other
        // threads still hold the listening sockets: wait (bounded) until its ports are free.
        let port = self.port();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ports_free(port, 1) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let role = if self.name.starts_with("proxy") {
            "proxy"
        } else {
            "target"
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log").join("aisnode.log"))?;
        let child = Command::new(aisnode)
            .arg(format!("-role={role}"))
            .arg(format!(
                "-config={}",
                self.dir.join("cluster.json").display()
            ))
            .arg(format!(
                "-local_config={}",
                self.dir.join("local.json").display()
            ))
            .current_dir(&self.dir)
            .env("AIS_PARENT_PID", std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        std::fs::write(self.dir.join("aisnode.pid"), format!("{}\n", child.id()))?;
        Ok(())
    }
}

impl Cluster {
    /// The node directories (`proxy-*` then `target-*`, by index).
    pub fn nodes(&self) -> Vec<NodeDir> {
        let mut v: Vec<(u8, usize, NodeDir)> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let (role, idx) = name.split_once('-')?;
                        let r = match role {
                            "proxy" => 0,
                            "target" => 1,
                            _ => return None,
                        };
                        Some((
                            r,
                            idx.parse().ok()?,
                            NodeDir {
                                name,
                                dir: e.path(),
                            },
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|(r, i, _)| (*r, *i));
        v.into_iter().map(|(_, _, n)| n).collect()
    }

    /// The node named `name` (e.g. `proxy-1`).
    pub fn node(&self, name: &str) -> NodeDir {
        NodeDir {
            name: name.to_string(),
            dir: self.dir.join(name),
        }
    }

    /// Runs `xtask join --role ROLE` against this cluster.
    pub fn join(&self, role: &str) -> Result<String> {
        let out = Command::new(bin("AIS_XTASK_BIN", "xtask")?)
            .args(["join", "--role", role, "--bin"])
            .arg(bin("AISNODE_BIN", "aisnode")?)
            .arg("--dir")
            .arg(&self.dir)
            .env("AIS_PARENT_PID", std::process::id().to_string())
            .output()?;
        if !out.status.success() {
            bail!(
                "xtask join failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Number of files under `dir`, recursively (0 if it does not exist).
pub fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the pytest suite in `tests/e2e/<dir>` with the venv's Python (`AIS_PYTHON`, set by
/// `cargo xtask test`; the venv's `bin` is put first on `PATH` so its CLIs are found) and the
/// extra environment `envs`. Fails the calling test unless pytest passes, ran tests and
/// skipped none.
pub fn run_pytest(dir: &str, envs: &[(&str, &str)]) {
    let python = std::env::var("AIS_PYTHON").unwrap_or_else(|_| {
        panic!("AIS_PYTHON is not set: run the tests with `cargo xtask test` (it creates the Python venv with the pinned clients)")
    });
    assert!(
        Path::new(&python).exists(),
        "AIS_PYTHON={python} does not exist"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let bin = Path::new(&python)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"])
        .arg(&dir)
        .envs(envs.iter().copied())
        .env("PATH", path)
        .current_dir(&dir)
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pytest suite {} failed:\n{stdout}\n{stderr}",
        dir.display()
    );
    assert!(stdout.contains("passed"), "pytest ran no tests:\n{stdout}");
    assert!(
        !stdout.contains("skipped"),
        "some tests were skipped:\n{stdout}"
    );
}
