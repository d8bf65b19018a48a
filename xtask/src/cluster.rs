//! `deploy`, `kill` and `status`: a local playground cluster on loopback.
//!
//! Layout of the cluster directory (default `<repo>/.ais-data`):
//!
//! ```text
//! DIR/proxy-0/{cluster.json, local.json, aisnode.pid, log/aisnode.log}
//! DIR/target-0/{cluster.json, local.json, aisnode.pid, log/aisnode.log, mp1/, mp2/}
//! ```

use std::fs::{self, OpenOptions};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::args::{Flags, bad_value};
use crate::{http, proc};

const HOST: &str = "127.0.0.1";
const PID_FILE: &str = "aisnode.pid";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const LOG_TAIL: usize = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Proxy,
    Target,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Target => "target",
        }
    }
}

/// One node of the cluster to deploy.
#[derive(Debug)]
struct NodeSpec {
    role: Role,
    index: usize,
    dir: PathBuf,
    port: u16,
}

impl NodeSpec {
    fn name(&self) -> String {
        format!("{}-{}", self.role.as_str(), self.index)
    }
    fn log(&self) -> PathBuf {
        self.dir.join("log").join("aisnode.log")
    }
    fn pid_file(&self) -> PathBuf {
        self.dir.join(PID_FILE)
    }
}

/// A node process started by this deploy.
struct Started {
    spec: NodeSpec,
    child: Child,
}

fn default_dir() -> PathBuf {
    crate::repo_root().join(".ais-data")
}

fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path)
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

fn cluster_dir(flags: &Flags) -> anyhow::Result<PathBuf> {
    absolute(flags.path("dir").unwrap_or_else(default_dir))
}

// ---------------------------------------------------------------- deploy

/// `cargo xtask deploy`.
pub(crate) fn deploy(args: &[String]) -> anyhow::Result<()> {
    let flags = Flags::parse(
        args,
        &["proxies", "targets", "mountpaths", "dir", "port", "bin"],
        &["debug"],
    )?;
    let proxies: usize = flags.num("proxies", 1)?;
    let targets: usize = flags.num("targets", 3)?;
    let mountpaths: usize = flags.num("mountpaths", 2)?;
    let base: u16 = flags.num("port", 8080)?;
    if proxies == 0 {
        return Err(bad_value("--proxies must be at least 1"));
    }
    if targets == 0 {
        return Err(bad_value("--targets must be at least 1"));
    }
    if mountpaths == 0 {
        return Err(bad_value("--mountpaths must be at least 1"));
    }
    let highest = u64::from(base) + (proxies + targets - 1) as u64 + 2000;
    if base < 1024 || highest > u64::from(u16::MAX) {
        return Err(bad_value(format!(
            "--port {base}: ports {base}..={highest} must lie within 1024..=65535"
        )));
    }
    let dir = cluster_dir(&flags)?;

    refuse_if_running(&dir)?;
    let specs = layout(&dir, proxies, targets, base);
    check_ports(&specs)?;

    let bin = match flags.path("bin") {
        Some(bin) => {
            let bin = absolute(bin)?;
            if !bin.is_file() {
                bail!("--bin {}: no such file", bin.display());
            }
            bin
        }
        None => {
            let bin = build_aisnode(flags.on("debug"))?;
            check_ports(&specs)?; // the build may have taken a while
            bin
        }
    };

    prepare_dirs(&dir, &specs, mountpaths, base)?;

    let deadline = Instant::now() + READY_TIMEOUT;
    let mut started = Vec::new();
    let outcome = start_all(specs, &bin, deadline, &mut started)
        .and_then(|()| wait_ready(&mut started, proxies, targets, base, deadline));
    if let Err(err) = outcome {
        eprintln!(
            "xtask: deploy failed; stopping the {} node(s) started",
            started.len()
        );
        stop_children(&mut started);
        return Err(err);
    }

    println!(
        "cluster up: {proxies} prox{}, {targets} target{}, {mountpaths} mountpath{} per target",
        if proxies == 1 { "y" } else { "ies" },
        if targets == 1 { "" } else { "s" },
        if mountpaths == 1 { "" } else { "s" },
    );
    println!("dir: {}", dir.display());
    for s in &started {
        let spec = &s.spec;
        println!(
            "  {:<10} pid {:<8} public {} control {} data {}{}",
            spec.name(),
            s.child.id(),
            spec.port,
            u32::from(spec.port) + 1000,
            u32::from(spec.port) + 2000,
            if spec.role == Role::Proxy && spec.index == 0 {
                "  (primary)"
            } else {
                ""
            },
        );
    }
    println!("logs: {}/<node>/log/aisnode.log", dir.display());
    println!("stop: cargo xtask kill --dir {}", dir.display());
    println!("AIS_ENDPOINT=http://{HOST}:{base}");
    Ok(())
}

fn layout(dir: &Path, proxies: usize, targets: usize, base: u16) -> Vec<NodeSpec> {
    let node = |role: Role, index: usize, port: usize| NodeSpec {
        role,
        index,
        dir: dir.join(format!("{}-{index}", role.as_str())),
        // Range checked by the caller.
        port: u16::try_from(usize::from(base) + port).unwrap_or(u16::MAX),
    };
    let mut specs: Vec<NodeSpec> = (0..proxies).map(|i| node(Role::Proxy, i, i)).collect();
    specs.extend((0..targets).map(|j| node(Role::Target, j, proxies + j)));
    specs
}

/// Sub-directories of `dir` holding an `aisnode.pid` file, sorted proxies
/// first, then targets, by index.
fn node_dirs(dir: &Path, need_pid: bool) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let wanted = if need_pid {
            path.join(PID_FILE).is_file()
        } else {
            parse_node_name(&path).is_some()
                || path.join(PID_FILE).is_file()
                || path.join("local.json").is_file()
        };
        if wanted {
            dirs.push(path);
        }
    }
    dirs.sort_by_key(|p| {
        let name = file_name(p);
        match parse_node_name(p) {
            Some((Role::Proxy, i)) => (0, i, name),
            Some((Role::Target, i)) => (1, i, name),
            None => (2, 0, name),
        }
    });
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `proxy-3` → `(Proxy, 3)`.
fn parse_node_name(path: &Path) -> Option<(Role, usize)> {
    let name = file_name(path);
    let (role, index) = name.split_once('-')?;
    let role = match role {
        "proxy" => Role::Proxy,
        "target" => Role::Target,
        _ => return None,
    };
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((role, index.parse().ok()?))
}

fn refuse_if_running(dir: &Path) -> anyhow::Result<()> {
    let mut running = Vec::new();
    for node_dir in node_dirs(dir, true)? {
        if let Some(pid) = proc::read_pid_file(&node_dir.join(PID_FILE))
            && proc::is_node(pid, &node_dir)
        {
            running.push(format!("{} (pid {pid})", file_name(&node_dir)));
        }
    }
    if !running.is_empty() {
        bail!(
            "a cluster is already running in {}: {}\nstop it first with `cargo xtask kill{}`",
            dir.display(),
            running.join(", "),
            if dir == default_dir() {
                String::new()
            } else {
                format!(" --dir {}", dir.display())
            }
        );
    }
    Ok(())
}

fn check_ports(specs: &[NodeSpec]) -> anyhow::Result<()> {
    let mut busy = Vec::new();
    for spec in specs {
        for (what, port) in [
            ("public", u32::from(spec.port)),
            ("intra-control", u32::from(spec.port) + 1000),
            ("intra-data", u32::from(spec.port) + 2000),
        ] {
            let port = u16::try_from(port).unwrap_or(u16::MAX);
            if let Err(e) = TcpListener::bind((HOST, port)) {
                busy.push(format!("{HOST}:{port} ({} {what}): {e}", spec.name()));
            }
        }
    }
    if !busy.is_empty() {
        bail!(
            "port(s) already in use:\n  {}\npick another base port with --port, or stop what uses them",
            busy.join("\n  ")
        );
    }
    Ok(())
}

fn build_aisnode(debug: bool) -> anyhow::Result<PathBuf> {
    let mut cmd = crate::cargo();
    cmd.args(["build", "-p", "aisnode"]);
    if !debug {
        cmd.arg("--release");
    }
    // Keep our stdout for the summary: cargo's output all goes to stderr.
    cmd.stdout(std::io::stderr());
    eprintln!("==> {}", crate::check::describe(&cmd));
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!("building aisnode failed ({status})");
    }
    let bin = crate::target_dir()
        .join(if debug { "debug" } else { "release" })
        .join("aisnode");
    if !bin.is_file() {
        bail!("built aisnode but {} does not exist", bin.display());
    }
    Ok(bin)
}

fn prepare_dirs(
    dir: &Path,
    specs: &[NodeSpec],
    mountpaths: usize,
    base: u16,
) -> anyhow::Result<()> {
    // Remove node dirs left by a dead cluster (only ours: `proxy-N`, `target-N`).
    for old in node_dirs(dir, false)? {
        if parse_node_name(&old).is_some() {
            fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    let cluster = json!({
        "proxy": {
            "primary_url": format!("http://{HOST}:{base}"),
            "original_url": "",
            "discovery_url": "",
            "non_electable": false,
        },
        "checksum": {
            "type": "xxhash",
            "validate_cold_get": true,
            "validate_warm_get": false,
            "validate_obj_move": false,
            "enable_read_range": false,
        },
        "versioning": {"enabled": true, "validate_warm_get": false, "synchronize": false},
        "log": {"level": "info"},
        "keepalivetracker": {"interval_ms": 500, "timeout_ms": 3000, "primary_timeout_ms": 2000},
        // A fresh secret per playground: only nodes given this file can join.
        "auth": {"join_secret": random_secret()?, "s3_keys": s3_keys_from_env()?},
    });
    for spec in specs {
        let node_dir = &spec.dir;
        let local = local_json(node_dir, spec.port, spec.role, mountpaths)?;
        write_json(&node_dir.join("cluster.json"), &cluster)?;
        write_json(&node_dir.join("local.json"), &local)?;
    }
    Ok(())
}

/// S3 access keys for the playground from `AIS_S3_KEYS="ACCESS:SECRET[,ACCESS:SECRET...]"`
/// (unset or empty: S3 signatures are not checked).
fn s3_keys_from_env() -> anyhow::Result<Value> {
    let mut m = serde_json::Map::new();
    let v = std::env::var("AIS_S3_KEYS").unwrap_or_default();
    for pair in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (ak, sk) = pair
            .split_once(':')
            .filter(|(a, s)| !a.is_empty() && !s.is_empty())
            .with_context(|| format!("AIS_S3_KEYS: expected ACCESS:SECRET, got {pair:?}"))?;
        m.insert(ak.to_string(), json!(sk));
    }
    Ok(Value::Object(m))
}

/// 32 hex characters from the OS random source.
fn random_secret() -> anyhow::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("reading /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn local_json(node_dir: &Path, port: u16, role: Role, mountpaths: usize) -> anyhow::Result<Value> {
    let log_dir = node_dir.join("log");
    fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let mut fspaths = serde_json::Map::new();
    if role == Role::Target {
        for m in 1..=mountpaths {
            let mp = node_dir.join(format!("mp{m}"));
            fs::create_dir_all(&mp).with_context(|| format!("creating {}", mp.display()))?;
            fspaths.insert(mp.to_string_lossy().into_owned(), json!(""));
        }
    }
    Ok(json!({
        "confdir": node_dir.to_string_lossy(),
        "log_dir": log_dir.to_string_lossy(),
        "host_net": {
            "hostname": HOST,
            "hostname_intra_control": HOST,
            "hostname_intra_data": HOST,
            "port": port.to_string(),
            "port_intra_control": (u32::from(port) + 1000).to_string(),
            "port_intra_data": (u32::from(port) + 2000).to_string(),
        },
        "fspaths": fspaths,
    }))
}

/// `cargo xtask join --role proxy|target [--dir DIR] [--bin PATH] [--debug]`: starts one more
/// node in a running playground (next free `<role>-<index>/`, next free ports) and returns once
/// the cluster map has it.
pub(crate) fn join(args: &[String]) -> anyhow::Result<()> {
    let flags = Flags::parse(args, &["role", "dir", "bin"], &["debug"])?;
    let role = match flags.path("role").as_deref().and_then(|p| p.to_str()) {
        Some("proxy") => Role::Proxy,
        Some("target") => Role::Target,
        _ => return Err(bad_value("--role must be proxy or target")),
    };
    let dir = cluster_dir(&flags)?;
    let nodes = node_dirs(&dir, false)?;
    // A live proxy to join through (any proxy forwards to the primary).
    let mut via = None;
    let mut ports = Vec::new();
    let mut index = 0;
    let mut mountpaths = 0;
    let mut cluster = None;
    for nd in &nodes {
        let Some((r, i)) = parse_node_name(nd) else {
            continue;
        };
        let local = read_json(&nd.join("local.json"));
        let port = local
            .as_ref()
            .and_then(|l| l.pointer("/host_net/port"))
            .and_then(json_port);
        if let Some(p) = port {
            ports.push(p);
        }
        if r == role {
            index = index.max(i + 1);
        }
        if r == Role::Target && mountpaths == 0 {
            mountpaths = local
                .as_ref()
                .and_then(|l| l.get("fspaths"))
                .and_then(|f| f.as_object())
                .map_or(0, |m| m.len());
        }
        if cluster.is_none() {
            cluster = read_json(&nd.join("cluster.json"));
        }
        let alive = proc::read_pid_file(&nd.join(PID_FILE))
            .is_some_and(|pid| proc::is_alive(pid) && proc::is_node(pid, nd));
        if r == Role::Proxy
            && alive
            && via.is_none()
            && let Some(p) = port
            && http::get(HOST, p, "/v1/health")
                .map(|r| r.status == 200)
                .unwrap_or(false)
        {
            via = Some(p);
        }
    }
    let via = via.ok_or_else(|| {
        anyhow::anyhow!(
            "no live proxy in {} (is the playground running? `cargo xtask status`)",
            dir.display()
        )
    })?;
    let mut cluster = cluster.context("no cluster.json found")?;
    cluster["proxy"]["primary_url"] = json!(format!("http://{HOST}:{via}"));
    let mut port = ports
        .iter()
        .copied()
        .max()
        .unwrap_or(8080)
        .saturating_add(1);
    let free = |p: u16| {
        [0u32, 1000, 2000].iter().all(|off| {
            u16::try_from(u32::from(p) + off)
                .is_ok_and(|q| std::net::TcpListener::bind((HOST, q)).is_ok())
        })
    };
    let mut tries = 0;
    while !free(port) {
        port = port.checked_add(1).context("no free port")?;
        tries += 1;
        if tries > 200 {
            bail!("no free port near {port}");
        }
    }
    let bin = match flags.path("bin") {
        Some(b) => absolute(b)?,
        None => build_aisnode(flags.on("debug"))?,
    };
    let spec = NodeSpec {
        role,
        index,
        dir: dir.join(format!("{}-{index}", role.as_str())),
        port,
    };
    if spec.dir.exists() {
        fs::remove_dir_all(&spec.dir)
            .with_context(|| format!("removing stale {}", spec.dir.display()))?;
    }
    let local = local_json(&spec.dir, port, role, mountpaths.max(1))?;
    write_json(&spec.dir.join("cluster.json"), &cluster)?;
    write_json(&spec.dir.join("local.json"), &local)?;
    let child = start_node(&spec, &bin)?;
    let mut node = Started { spec, child };
    let deadline = Instant::now() + READY_TIMEOUT;
    let want = port.to_string();
    loop {
        check_exited(&mut node)?;
        let smap = http::get(HOST, via, "/v1/daemon?what=smap")
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok());
        let map = if role == Role::Proxy { "pmap" } else { "tmap" };
        let id = smap
            .as_ref()
            .and_then(|s| s.get(map))
            .and_then(|m| m.as_object())
            .and_then(|m| {
                m.iter()
                    .find(|(_, n)| {
                        n.pointer("/public_net/daemon_port")
                            .and_then(|p| p.as_str())
                            == Some(want.as_str())
                    })
                    .map(|(k, _)| k.clone())
            });
        if let Some(id) = id {
            println!(
                "joined {} as {id} (pid {}) on {HOST}:{port}",
                node.spec.name(),
                node.child.id()
            );
            return Ok(());
        }
        if Instant::now() >= deadline {
            stop_children(std::slice::from_mut(&mut node));
            bail!(
                "{} did not appear in the cluster map within {}s; log:\n{}",
                node.spec.name(),
                READY_TIMEOUT.as_secs(),
                proc::tail(&node.spec.log(), LOG_TAIL)
            );
        }
        sleep(POLL);
    }
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn start_all(
    specs: Vec<NodeSpec>,
    bin: &Path,
    deadline: Instant,
    started: &mut Vec<Started>,
) -> anyhow::Result<()> {
    for spec in specs {
        let primary = spec.role == Role::Proxy && spec.index == 0;
        let child = start_node(&spec, bin)?;
        eprintln!(
            "started {} (pid {}) on {HOST}:{}",
            spec.name(),
            child.id(),
            spec.port
        );
        started.push(Started { spec, child });
        if primary {
            // Let the primary open its public port before the others join it.
            if let Some(node) = started.last_mut() {
                wait_listening(node, deadline)?;
            }
        }
    }
    Ok(())
}

fn start_node(spec: &NodeSpec, bin: &Path) -> anyhow::Result<Child> {
    let log_path = spec.log();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let log_err = log.try_clone()?;
    let child = Command::new(bin)
        .arg(format!("-role={}", spec.role.as_str()))
        .arg(format!(
            "-config={}",
            spec.dir.join("cluster.json").display()
        ))
        .arg(format!(
            "-local_config={}",
            spec.dir.join("local.json").display()
        ))
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Own process group: the nodes outlive xtask and ignore its Ctrl-C.
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} ({})", spec.name(), bin.display()))?;
    fs::write(spec.pid_file(), format!("{}\n", child.id()))
        .with_context(|| format!("writing {}", spec.pid_file().display()))?;
    Ok(child)
}

/// Fails with the log tail if the node has exited.
fn check_exited(node: &mut Started) -> anyhow::Result<()> {
    if let Some(status) = node.child.try_wait()? {
        let _ = fs::remove_file(node.spec.pid_file());
        bail!(
            "{} (pid {}) exited during startup ({status}); last {LOG_TAIL} lines of {}:\n{}",
            node.spec.name(),
            node.child.id(),
            node.spec.log().display(),
            proc::tail(&node.spec.log(), LOG_TAIL)
        );
    }
    Ok(())
}

fn wait_listening(node: &mut Started, deadline: Instant) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], node.spec.port));
    loop {
        check_exited(node)?;
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "timed out after {}s: {} is not listening on {addr}; last {LOG_TAIL} lines of {}:\n{}",
                READY_TIMEOUT.as_secs(),
                node.spec.name(),
                node.spec.log().display(),
                proc::tail(&node.spec.log(), LOG_TAIL)
            );
        }
        sleep(POLL);
    }
}

/// Counts of the Smap's `tmap` and `pmap` and its version, from the JSON of
/// `GET /v1/daemon?what=smap`.
fn smap_summary(body: &[u8]) -> anyhow::Result<(usize, usize, String)> {
    let smap: Value = serde_json::from_slice(body).context("Smap is not JSON")?;
    let count = |key: &str| match smap.get(key) {
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    };
    let version = match smap.get("version") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".to_owned(),
    };
    Ok((count("tmap"), count("pmap"), version))
}

/// `None` when the cluster is ready, else what is still missing.
fn unmet(base: u16, proxies: usize, targets: usize) -> Option<String> {
    let path = "/v1/health?readiness=true";
    match http::get(HOST, base, path) {
        Err(e) => return Some(format!("primary: GET {path} failed: {e:#}")),
        Ok(r) if r.status != 200 => {
            return Some(format!("primary: GET {path} returned {}", r.status));
        }
        Ok(_) => {}
    }
    let path = "/v1/daemon?what=smap";
    match http::get(HOST, base, path) {
        Err(e) => Some(format!("primary: GET {path} failed: {e:#}")),
        Ok(r) if r.status != 200 => Some(format!("primary: GET {path} returned {}", r.status)),
        Ok(r) => match smap_summary(&r.body) {
            Err(e) => Some(format!("primary: GET {path}: {e:#}")),
            Ok((t, p, v)) if t != targets || p != proxies => Some(format!(
                "Smap v{v} has {t}/{targets} targets (tmap) and {p}/{proxies} proxies (pmap)"
            )),
            Ok(_) => None,
        },
    }
}

fn wait_ready(
    started: &mut [Started],
    proxies: usize,
    targets: usize,
    base: u16,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        for node in started.iter_mut() {
            check_exited(node)?;
        }
        let Some(missing) = unmet(base, proxies, targets) else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            for node in started.iter() {
                eprintln!(
                    "--- {} (pid {}): last {LOG_TAIL} lines of {}",
                    node.spec.name(),
                    node.child.id(),
                    node.spec.log().display()
                );
                eprintln!("{}", proc::tail(&node.spec.log(), LOG_TAIL));
            }
            bail!(
                "cluster not ready after {}s: {missing}",
                READY_TIMEOUT.as_secs()
            );
        }
        sleep(POLL);
    }
}

/// SIGTERM every started node still running, SIGKILL the ones that do not
/// exit within the grace period, reap all and remove their pid files.
fn stop_children(started: &mut [Started]) {
    for node in started.iter_mut() {
        if matches!(node.child.try_wait(), Ok(None))
            && let Err(e) = proc::signal(node.child.id(), "TERM")
        {
            eprintln!("xtask: {}: {e:#}", node.spec.name());
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for node in started.iter_mut() {
        while matches!(node.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(50));
        }
        if matches!(node.child.try_wait(), Ok(None)) {
            eprintln!("xtask: {} ignored SIGTERM; killing it", node.spec.name());
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = fs::remove_file(node.spec.pid_file());
    }
}

// ---------------------------------------------------------------- kill

/// `cargo xtask kill`.
pub(crate) fn kill(args: &[String]) -> anyhow::Result<()> {
    let flags = Flags::parse(args, &["dir"], &[])?;
    let dir = cluster_dir(&flags)?;
    let mut victims = Vec::new();
    for node_dir in node_dirs(&dir, true)? {
        let name = file_name(&node_dir);
        let pid_file = node_dir.join(PID_FILE);
        match proc::read_pid_file(&pid_file) {
            Some(pid) if proc::is_node(pid, &node_dir) => match proc::signal(pid, "TERM") {
                Ok(()) => victims.push((name, pid, pid_file)),
                Err(e) => eprintln!("xtask: {name}: {e:#}"),
            },
            Some(pid) => {
                println!("{name}: pid {pid} is not a running aisnode (stale pid file removed)");
                let _ = fs::remove_file(&pid_file);
            }
            None => {
                println!("{name}: unreadable pid file removed");
                let _ = fs::remove_file(&pid_file);
            }
        }
    }
    if victims.is_empty() {
        println!("no aisnode running under {}", dir.display());
        return Ok(());
    }

    let deadline = Instant::now() + STOP_TIMEOUT;
    while victims.iter().any(|(_, pid, _)| proc::is_alive(*pid)) && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
    let mut failed = Vec::new();
    for (name, pid, pid_file) in &victims {
        let mut how = "SIGTERM";
        if proc::is_alive(*pid) {
            how = "SIGKILL";
            if let Err(e) = proc::signal(*pid, "KILL") {
                eprintln!("xtask: {name}: {e:#}");
            }
            let grace = Instant::now() + Duration::from_secs(2);
            while proc::is_alive(*pid) && Instant::now() < grace {
                sleep(Duration::from_millis(50));
            }
        }
        if proc::is_alive(*pid) {
            failed.push(format!("{name} (pid {pid})"));
        } else {
            let _ = fs::remove_file(pid_file);
            println!("stopped {name} (pid {pid}, {how})");
        }
    }
    if !failed.is_empty() {
        bail!("could not stop {}", failed.join(", "));
    }
    Ok(())
}

// ---------------------------------------------------------------- status

/// `cargo xtask status`.
pub(crate) fn status(args: &[String]) -> anyhow::Result<()> {
    let flags = Flags::parse(args, &["dir"], &[])?;
    let dir = cluster_dir(&flags)?;
    let nodes = node_dirs(&dir, false)?;
    if nodes.is_empty() {
        println!("no cluster under {}", dir.display());
        return Ok(());
    }
    println!("dir: {}", dir.display());
    println!(
        "  {:<10} {:<7} {:<8} {:<8} {:<6} health",
        "node", "role", "pid", "process", "port"
    );
    let mut primary_url = None;
    for node_dir in &nodes {
        let name = file_name(node_dir);
        let role = parse_node_name(node_dir).map_or("?", |(r, _)| r.as_str());
        let (pid, state) = match proc::read_pid_file(&node_dir.join(PID_FILE)) {
            Some(pid) if proc::is_node(pid, node_dir) => (pid.to_string(), "alive"),
            Some(pid) => (pid.to_string(), "dead"),
            None => ("-".to_owned(), "stopped"),
        };
        let local = read_json(&node_dir.join("local.json"));
        let host = local
            .as_ref()
            .and_then(|l| l.pointer("/host_net/hostname"))
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .unwrap_or(HOST)
            .to_owned();
        let port = local
            .as_ref()
            .and_then(|l| l.pointer("/host_net/port"))
            .and_then(json_port);
        let health = match port {
            None => "unknown port".to_owned(),
            Some(port) => match http::get(&host, port, "/v1/health") {
                Ok(r) if r.status == 200 => "200 ok".to_owned(),
                Ok(r) => format!("{} not ok", r.status),
                Err(_) => "no answer".to_owned(),
            },
        };
        let port = port.map_or_else(|| "-".to_owned(), |p| p.to_string());
        println!("  {name:<10} {role:<7} {pid:<8} {state:<8} {port:<6} {health}");
        if primary_url.is_none() {
            primary_url = read_json(&node_dir.join("cluster.json"))
                .and_then(|c| c.pointer("/proxy/primary_url").cloned())
                .and_then(|u| u.as_str().map(str::to_owned));
        }
    }
    let Some(url) = primary_url else {
        println!("primary: unknown (no cluster.json)");
        return Ok(());
    };
    let Some((host, port)) = split_url(&url) else {
        println!("primary: cannot parse primary_url `{url}`");
        return Ok(());
    };
    match http::get(&host, port, "/v1/daemon?what=smap") {
        Ok(r) if r.status == 200 => match smap_summary(&r.body) {
            Ok((t, p, v)) => println!("primary {url}: Smap v{v}, {p} proxies, {t} targets"),
            Err(e) => println!("primary {url}: {e:#}"),
        },
        Ok(r) => println!(
            "primary {url}: GET /v1/daemon?what=smap returned {}",
            r.status
        ),
        Err(_) => println!("primary {url}: not answering"),
    }
    Ok(())
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn json_port(v: &Value) -> Option<u16> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}

/// `http://host:port[/...]` → `(host, port)`.
fn split_url(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_names() {
        let specs = layout(Path::new("/d"), 2, 3, 9000);
        let got: Vec<(String, u16)> = specs.iter().map(|s| (s.name(), s.port)).collect();
        assert_eq!(
            got,
            [
                ("proxy-0".to_owned(), 9000),
                ("proxy-1".to_owned(), 9001),
                ("target-0".to_owned(), 9002),
                ("target-1".to_owned(), 9003),
                ("target-2".to_owned(), 9004),
            ]
        );
        assert_eq!(specs[3].dir, Path::new("/d/target-1"));
        assert_eq!(
            parse_node_name(Path::new("/x/target-12")),
            Some((Role::Target, 12))
        );
        assert_eq!(parse_node_name(Path::new("/x/target-")), None);
        assert_eq!(
            split_url("http://127.0.0.1:8080/"),
            Some(("127.0.0.1".to_owned(), 8080))
        );
        let (t, p, v) =
            smap_summary(br#"{"tmap":{"a":{},"b":{}},"pmap":{"p":{}},"version":"7"}"#).unwrap();
        assert_eq!((t, p, v.as_str()), (2, 1, "7"));
    }
}
