//! `cargo xtask bench`: PUT/GET throughput of a release playground next to nginx serving the
//! same object bytes, with the server CPU spent per request. Protocol: `docs/performance.md`.
//!
//! Layout of the bench directory (default `<target>/bench`):
//!
//! ```text
//! DIR/bin/{aisnode,aisloader}        copies of the binaries (profile `perf` = release settings)
//! DIR/proxy-0/, DIR/target-0/mp{1,2}  the playground (`cargo xtask deploy --dir DIR`)
//! DIR/www/<bucket>/<name>            hard links to the objects on the mountpaths: nginx's root
//! DIR/objlist-<bucket>.txt           the names both GET runs read (`aisloader -objlist`)
//! DIR/nginx/{nginx.conf,error.log,nginx.pid,tmp/}
//! DIR/results.md                     the last table
//! ```
//!
//! After a successful run the objects (`www/`, `target-*/mp*`) are removed; logs stay.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::args::{Flags, bad_value};
use crate::{check, cluster, proc};

const HOST: &str = "127.0.0.1";
const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

/// One object size of the protocol.
struct Workload {
    label: &'static str,
    bucket: &'static str,
    size: &'static str,
    bytes: u64,
    /// Upper bound of the bytes one PUT run writes (`-totalputsize`), to bound disk use.
    put_cap: &'static str,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        label: "16 KiB",
        bucket: "bench-16k",
        size: "16KiB",
        bytes: 16 << 10,
        put_cap: "512MiB",
    },
    Workload {
        label: "1 MiB",
        bucket: "bench-1m",
        size: "1MiB",
        bytes: 1 << 20,
        put_cap: "2GiB",
    },
];

/// What one aisloader run measured, plus the server CPU it cost.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    ops_per_sec: f64,
    mib_per_sec: f64,
    p50_us: u64,
    p99_us: u64,
    cpu_us_per_op: f64,
}

/// One row of the table.
struct Row {
    op: &'static str,
    workload: &'static str,
    workers: usize,
    ours: Sample,
    nginx: Option<Sample>,
}

/// `cargo xtask bench [--quick] [--dir DIR] [--port P]`.
pub(crate) fn bench(args: &[String]) -> anyhow::Result<()> {
    let flags = Flags::parse(args, &["dir", "port"], &["quick"])?;
    let quick = flags.on("quick");
    let port: u16 = flags.num("port", 9080)?;
    if !(1024..=60000).contains(&port) {
        return Err(bad_value(format!(
            "--port {port}: must lie within 1024..=60000"
        )));
    }
    let nginx_port = port + 50;
    let dir = match flags.path("dir") {
        Some(d) if d.is_absolute() => d,
        Some(d) => std::env::current_dir()?.join(d),
        None => crate::target_dir().join("bench"),
    };
    let secs: u64 = if quick { 3 } else { 20 };
    let workers: &[usize] = if quick { &[16] } else { &[16, 64] };

    nginx_port_free(nginx_port)?; // fail before the minutes of building and PUTs
    check::ensure_debs(&[("nginx", "nginx")])?;
    let nginx_bin = which("nginx").context("nginx is not on PATH (nor in /usr/sbin)")?;
    let (aisnode, aisloader) = build(&dir)?;

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pin = cpus >= 2 && which("taskset").is_some();

    // A cluster left by an aborted run would make deploy refuse.
    cluster::kill(&strings(&["--dir", &dir.to_string_lossy()]))?;
    for old in ["www", "nginx"] {
        let p = dir.join(old);
        if p.exists() {
            fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    let mut guard = Guard {
        dir: dir.clone(),
        nginx: None,
    };
    cluster::deploy(&strings(&[
        "--dir",
        &dir.to_string_lossy(),
        "--port",
        &port.to_string(),
        "--proxies",
        "1",
        "--targets",
        "1",
        "--mountpaths",
        "2",
        "--bin",
        &aisnode.to_string_lossy(),
    ]))?;
    let node_pids = aisnode_pids(&dir)?;
    if pin {
        for pid in &node_pids {
            pin_pid(*pid, 0)?;
        }
    }

    let load_before = loadavg();
    let loader = Loader {
        bin: aisloader,
        pin,
        port,
        secs,
    };
    let mut rows = Vec::new();
    // PUTs first: they create the objects the GETs read.
    for w in &WORKLOADS {
        for &n in workers {
            eprintln!("==> PUT {} x{n} workers, {secs}s", w.label);
            let args = [
                format!("-bucket=ais://{}", w.bucket),
                "-pctput=100".to_owned(),
                format!("-totalputsize={}", w.put_cap),
            ];
            let ours = loader.run(n, w, &args, || Ok(node_pids.clone()), "put")?;
            rows.push(Row {
                op: "PUT",
                workload: w.label,
                workers: n,
                ours,
                nginx: None,
            });
        }
    }
    // The same bytes for nginx: hard links to the object files (copies across filesystems).
    let www = dir.join("www");
    let mut lists = Vec::new();
    for w in &WORKLOADS {
        let list = publish_objects(&dir, &www, w)?;
        lists.push(list);
    }
    guard.nginx = Some(start_nginx(&nginx_bin, &dir, &www, nginx_port, cpus, pin)?);
    let nginx_pid = guard.nginx.as_ref().map_or(0, Child::id);
    for (w, list) in WORKLOADS.iter().zip(&lists) {
        let list_arg = format!("-objlist={}", list.display());
        for &n in workers {
            eprintln!("==> GET {} x{n} workers, {secs}s: aisnode", w.label);
            let ours = loader.run(
                n,
                w,
                &[
                    format!("-bucket=ais://{}", w.bucket),
                    list_arg.clone(),
                    "-direct".to_owned(),
                ],
                || Ok(node_pids.clone()),
                "get",
            )?;
            eprintln!("==> GET {} x{n} workers, {secs}s: nginx", w.label);
            let theirs = loader.run(
                n,
                w,
                &[
                    format!("-httpget=http://{HOST}:{nginx_port}/{}", w.bucket),
                    list_arg.clone(),
                ],
                || Ok(with_children(nginx_pid)),
                "get",
            )?;
            rows.push(Row {
                op: "GET",
                workload: w.label,
                workers: n,
                ours,
                nginx: Some(theirs),
            });
        }
    }
    let load_after = loadavg();
    drop(guard); // stop nginx and the cluster before writing anything
    remove_objects(&dir)?;

    let mut table = render(&rows, quick, secs, cpus, pin);
    let _ = writeln!(
        table,
        "\nLoad average (1 min) before / after the runs: {load_before} / {load_after} \
         (the bench itself keeps both CPUs busy; a high \
         value before the runs means other work shared the machine)."
    );
    println!("{table}");
    let results = dir.join("results.md");
    fs::write(&results, &table).with_context(|| format!("writing {}", results.display()))?;
    if quick {
        println!(
            "(quick mode: docs/performance.md left as is; table in {})",
            results.display()
        );
    } else {
        let doc = crate::repo_root().join("docs").join("performance.md");
        update_doc(&doc, &table)?;
        println!("table written into {}", doc.display());
    }
    Ok(())
}

/// Frees the disk the objects take (GiBs): nginx's root and the target's mountpaths. Logs,
/// configs and object lists stay; after a failure everything stays for a post-mortem (the next
/// run starts afresh anyway).
fn remove_objects(dir: &Path) -> anyhow::Result<()> {
    let mut doomed = vec![dir.join("www")];
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let node = entry?.path();
        if node
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("target-"))
        {
            for mp in fs::read_dir(&node).with_context(|| format!("reading {}", node.display()))? {
                let mp = mp?.path();
                if mp.is_dir()
                    && mp
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("mp"))
                {
                    doomed.push(mp);
                }
            }
        }
    }
    for d in doomed {
        if d.exists() {
            fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
        }
    }
    Ok(())
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// Stops what the bench started, also on error: the nginx child, then the cluster.
struct Guard {
    dir: PathBuf,
    nginx: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.nginx.take() {
            // SIGQUIT: graceful shutdown; the master takes its workers along.
            if matches!(child.try_wait(), Ok(None)) {
                let _ = proc::signal(child.id(), "QUIT");
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Err(e) = cluster::kill(&strings(&["--dir", &self.dir.to_string_lossy()])) {
            eprintln!("xtask: bench: stopping the cluster: {e:#}");
        }
    }
}

/// The full path of `cmd` (searching PATH, then `/usr/sbin` and `/sbin`).
fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// Builds aisnode and aisloader with the `perf` profile (the release settings, own output dir
/// `<target>/perf`: release binaries of another checkout sharing the target dir cannot be picked
/// up by mistake) and copies them into `DIR/bin`.
fn build(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let mut cmd = crate::cargo();
    cmd.args([
        "build",
        "--profile",
        "perf",
        "-p",
        "aisnode",
        "-p",
        "aisloader",
    ])
    .stdout(std::io::stderr());
    eprintln!("==> {}", check::describe(&cmd));
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!("building aisnode and aisloader failed ({status})");
    }
    let bin_dir = dir.join("bin");
    fs::create_dir_all(&bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    let mut out = Vec::new();
    for name in ["aisnode", "aisloader"] {
        let src = crate::target_dir().join("perf").join(name);
        let dst = bin_dir.join(name);
        // Remove first: overwriting a running executable fails with ETXTBSY.
        let _ = fs::remove_file(&dst);
        fs::copy(&src, &dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        out.push(dst);
    }
    let loader = out.pop().context("no aisloader")?;
    let node = out.pop().context("no aisnode")?;
    // Sanity check: this aisloader has the plain-HTTP mode the nginx runs need.
    let help = Command::new(&loader)
        .arg("-help")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} -help", loader.display()))?;
    if !String::from_utf8_lossy(&help.stderr).contains("-httpget") {
        bail!("{} has no -httpget mode: stale build?", loader.display());
    }
    Ok((node, loader))
}

/// The pids in `DIR/<node>/aisnode.pid`.
fn aisnode_pids(dir: &Path) -> anyhow::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let pid_file = entry?.path().join("aisnode.pid");
        if let Some(pid) = proc::read_pid_file(&pid_file) {
            pids.push(pid);
        }
    }
    if pids.is_empty() {
        bail!("no aisnode pid files under {}", dir.display());
    }
    Ok(pids)
}

/// `taskset -a -p -c CPU PID`: all threads of a running process onto one CPU.
fn pin_pid(pid: u32, cpu: usize) -> anyhow::Result<()> {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .stdin(Stdio::null())
        .output()
        .context("running taskset")?;
    if !out.status.success() {
        bail!(
            "taskset -a -p -c {cpu} {pid} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `pid` and its direct children (nginx: the master and its workers).
fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let Ok(entries) = fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if stat_fields(child).and_then(|f| f.get(1).and_then(|p| p.parse::<u32>().ok()))
            == Some(pid)
        {
            pids.push(child);
        }
    }
    pids
}

/// The fields of `/proc/PID/stat` after `(comm)`: `[state, ppid, ...]` (field 3 onwards).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of `pid` in clock ticks (0 if it is gone).
fn cpu_ticks(pid: u32) -> u64 {
    stat_fields(pid).map_or(0, |f| {
        // utime and stime are fields 14 and 15: indexes 11 and 12 from field 3.
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        n(11) + n(12)
    })
}

/// The 1-minute load average (`?` if unreadable).
fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if unknown).
fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// How aisloader is run.
struct Loader {
    bin: PathBuf,
    pin: bool,
    port: u16,
    secs: u64,
}

impl Loader {
    /// One aisloader run of `workers` workers on objects of `w` with the `extra` flags, and the
    /// CPU the `server` pids spent meanwhile per `op` ("get" or "put").
    fn run(
        &self,
        workers: usize,
        w: &Workload,
        extra: &[String],
        server: impl Fn() -> anyhow::Result<Vec<u32>>,
        op: &str,
    ) -> anyhow::Result<Sample> {
        let mut cmd = if self.pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "1"]).arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        cmd.arg(format!("-ip={HOST}"))
            .arg(format!("-port={}", self.port))
            .arg(format!("-duration={}s", self.secs))
            .arg(format!("-numworkers={workers}"))
            .arg(format!("-minsize={}", w.size))
            .arg(format!("-maxsize={}", w.size))
            .arg("-json")
            .args(extra)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        let shown = check::describe(&cmd);
        eprintln!("    {shown}");
        let pids = server()?;
        let before: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
        let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
        let after: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("`{shown}` failed ({}); stdout:\n{stdout}", out.status);
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .with_context(|| format!("no JSON line in the output of `{shown}`:\n{stdout}"))?;
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("aisloader printed bad JSON: {line}"))?;
        let s = v
            .get(op)
            .with_context(|| format!("no `{op}` in aisloader's JSON: {line}"))?;
        let f = |k: &str| s.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let lat = |k: &str| {
            s.pointer(&format!("/latency_us/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let ops = s.get("ops").and_then(Value::as_u64).unwrap_or(0);
        if ops == 0 {
            bail!("`{shown}` completed no {op} requests: {line}");
        }
        let cpu_us = after.saturating_sub(before) as f64 * 1e6 / clk_tck() as f64;
        Ok(Sample {
            ops_per_sec: f("ops_per_sec"),
            mib_per_sec: f("mib_per_sec"),
            p50_us: lat("p50"),
            p99_us: lat("p99"),
            cpu_us_per_op: cpu_us / ops as f64,
        })
    }
}

/// Links every object of `w.bucket` from the target's mountpaths
/// (`<mp>/@ais/<bucket>/%ob/<name>`) into `www/<bucket>/<name>` and writes the names to
/// `DIR/objlist-<bucket>.txt`, which it returns.
fn publish_objects(dir: &Path, www: &Path, w: &Workload) -> anyhow::Result<PathBuf> {
    let mut names = Vec::new();
    let mut skipped = 0usize;
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let node = entry?.path();
        let is_target = node
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("target-"));
        if !is_target {
            continue;
        }
        for mp in fs::read_dir(&node).with_context(|| format!("reading {}", node.display()))? {
            let mp = mp?.path();
            let obj_dir = mp.join("@ais").join(w.bucket).join("%ob");
            if !obj_dir.is_dir() {
                continue;
            }
            let mut files = Vec::new();
            walk(&obj_dir, &mut files)?;
            for file in files {
                let len = fs::metadata(&file)
                    .with_context(|| format!("stat {}", file.display()))?
                    .len();
                if len != w.bytes {
                    skipped += 1;
                    continue;
                }
                let rel = file
                    .strip_prefix(&obj_dir)
                    .with_context(|| format!("{} outside {}", file.display(), obj_dir.display()))?;
                let Some(name) = rel.to_str() else {
                    skipped += 1;
                    continue;
                };
                let dst = www.join(w.bucket).join(rel);
                if let Some(parent) = dst.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                if fs::hard_link(&file, &dst).is_err() {
                    fs::copy(&file, &dst).with_context(|| {
                        format!("copying {} to {}", file.display(), dst.display())
                    })?;
                }
                names.push(name.to_owned());
            }
        }
    }
    if names.is_empty() {
        bail!(
            "no {}-byte objects of ais://{} found on the mountpaths under {}",
            w.bytes,
            w.bucket,
            dir.display()
        );
    }
    if skipped > 0 {
        eprintln!(
            "note: {skipped} file(s) under ais://{} skipped (size other than {})",
            w.bucket, w.bytes
        );
    }
    names.sort();
    let list = dir.join(format!("objlist-{}.txt", w.bucket));
    let mut text = names.join("\n");
    text.push('\n');
    fs::write(&list, text).with_context(|| format!("writing {}", list.display()))?;
    eprintln!(
        "==> ais://{}: {} objects of {} published for nginx",
        w.bucket,
        names.len(),
        w.label
    );
    Ok(list)
}

/// Regular files under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk(&entry.path(), out)?;
        } else if ty.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn nginx_port_free(port: u16) -> anyhow::Result<()> {
    match std::net::TcpListener::bind((HOST, port)) {
        Ok(_) => Ok(()),
        Err(e) => {
            bail!("nginx port {HOST}:{port} is not free ({e}): pick another base with --port")
        }
    }
}

/// The nginx configuration: static files from `www`, everything else inside `ndir`.
fn nginx_conf(ndir: &Path, www: &Path, port: u16, workers: usize, root: bool) -> String {
    let n = ndir.display();
    let user = if root { "user root;\n" } else { "" };
    format!(
        "# generated by `cargo xtask bench`\n\
         {user}daemon off;\n\
         master_process on;\n\
         worker_processes {workers};\n\
         pid {n}/nginx.pid;\n\
         error_log {n}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   sendfile on;\n\
         \x20   tcp_nopush on;\n\
         \x20   tcp_nodelay on;\n\
         \x20   keepalive_timeout 65;\n\
         \x20   keepalive_requests 1000000;\n\
         \x20   default_type application/octet-stream;\n\
         \x20   client_body_temp_path {n}/tmp/client;\n\
         \x20   proxy_temp_path {n}/tmp/proxy;\n\
         \x20   fastcgi_temp_path {n}/tmp/fastcgi;\n\
         \x20   uwsgi_temp_path {n}/tmp/uwsgi;\n\
         \x20   scgi_temp_path {n}/tmp/scgi;\n\
         \x20   server {{\n\
         \x20       listen {HOST}:{port};\n\
         \x20       root {www};\n\
         \x20   }}\n\
         }}\n",
        www = www.display(),
    )
}

/// Starts nginx in the foreground (`daemon off`) as a child, pinned to CPU 0 when `pin`, and
/// waits until it listens.
fn start_nginx(
    bin: &Path,
    dir: &Path,
    www: &Path,
    port: u16,
    workers: usize,
    pin: bool,
) -> anyhow::Result<Child> {
    // Else the readiness probe below could connect to whatever holds the port.
    nginx_port_free(port)?;
    let ndir = dir.join("nginx");
    fs::create_dir_all(ndir.join("tmp")).with_context(|| format!("creating {}", ndir.display()))?;
    let conf = ndir.join("nginx.conf");
    fs::write(
        &conf,
        nginx_conf(&ndir, www, port, workers, proc::is_root()),
    )
    .with_context(|| format!("writing {}", conf.display()))?;
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    // `-e`: the error log before the config is read (the default is under /var/log).
    cmd.arg("-p")
        .arg(&ndir)
        .arg("-e")
        .arg(ndir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null());
    eprintln!("==> {}", check::describe(&cmd));
    let mut child = cmd.spawn().context("starting nginx")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "nginx exited at startup ({status}); {}:\n{}",
                ndir.join("error.log").display(),
                proc::tail(&ndir.join("error.log"), 20)
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("nginx is not listening on {addr} after 10s");
        }
        sleep(Duration::from_millis(100));
    }
}

/// The markdown table with a header saying how it was measured.
fn render(rows: &[Row], quick: bool, secs: u64, cpus: usize, pin: bool) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "`cargo xtask bench{}`: {secs} s per run, {cpus} CPU(s), {}; 1 proxy + 1 target \
         (2 mountpaths), GETs straight to the target (`-direct`), nginx with {cpus} worker(s).\n",
        if quick { " --quick" } else { "" },
        if pin {
            "servers pinned to CPU 0 and aisloader to CPU 1 (with 2 CPUs each side gets one: \
             halves both)"
        } else {
            "no CPU pinning"
        }
    );
    t.push_str(
        "| op | object | workers | ours ops/s | ours MiB/s | ours p50/p99 ms | ours CPU µs/op \
         | nginx ops/s | nginx MiB/s | nginx p50/p99 ms | nginx CPU µs/op | ours/nginx |\n",
    );
    t.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    let ms = |us: u64| us as f64 / 1000.0;
    for r in rows {
        let o = &r.ours;
        let _ = write!(
            t,
            "| {} | {} | {} | {:.0} | {:.1} | {:.2}/{:.2} | {:.0} ",
            r.op,
            r.workload,
            r.workers,
            o.ops_per_sec,
            o.mib_per_sec,
            ms(o.p50_us),
            ms(o.p99_us),
            o.cpu_us_per_op
        );
        match &r.nginx {
            Some(n) => {
                let ratio = if n.ops_per_sec > 0.0 {
                    o.ops_per_sec / n.ops_per_sec
                } else {
                    0.0
                };
                let _ = writeln!(
                    t,
                    "| {:.0} | {:.1} | {:.2}/{:.2} | {:.0} | {ratio:.2}{} |",
                    n.ops_per_sec,
                    n.mib_per_sec,
                    ms(n.p50_us),
                    ms(n.p99_us),
                    n.cpu_us_per_op,
                    target_note(r, ratio)
                );
            }
            None => t.push_str("| – | – | – | – | – |\n"),
        }
    }
    t
}

/// The issue's targets: 1 MiB GET at 16 workers ≥ 0.9× nginx, 16 KiB GET ≥ 0.7×.
fn target_note(r: &Row, ratio: f64) -> String {
    let want = match (r.op, r.workload, r.workers) {
        ("GET", "1 MiB", 16) => 0.9,
        ("GET", "16 KiB", _) => 0.7,
        _ => return String::new(),
    };
    let verdict = if ratio >= want { "met" } else { "NOT met" };
    format!(" (target ≥ {want}: {verdict})")
}

/// Replaces the text between the markers of `doc` with `table`.
fn update_doc(doc: &Path, table: &str) -> anyhow::Result<()> {
    let text = fs::read_to_string(doc).with_context(|| format!("reading {}", doc.display()))?;
    let (head, rest) = text
        .split_once(BEGIN)
        .with_context(|| format!("{}: no `{BEGIN}` marker", doc.display()))?;
    let (_, tail) = rest
        .split_once(END)
        .with_context(|| format!("{}: no `{END}` marker", doc.display()))?;
    let new = format!("{head}{BEGIN}\n{table}{END}{tail}");
    fs::write(doc, new).with_context(|| format!("writing {}", doc.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_markers() {
        let s = Sample {
            ops_per_sec: 900.0,
            mib_per_sec: 900.0,
            p50_us: 1500,
            p99_us: 4000,
            cpu_us_per_op: 120.0,
        };
        let n = Sample {
            ops_per_sec: 1000.0,
            ..s
        };
        let rows = [Row {
            op: "GET",
            workload: "1 MiB",
            workers: 16,
            ours: s,
            nginx: Some(n),
        }];
        let t = render(&rows, true, 3, 2, true);
        assert!(t.contains("| GET | 1 MiB | 16 | 900 | 900.0 | 1.50/4.00 | 120 | 1000 |"));
        assert!(t.contains("0.90 (target ≥ 0.9: met)"));
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let doc = dir.join("p.md");
        fs::write(&doc, format!("a\n{BEGIN}\nold\n{END}\nz\n")).unwrap();
        update_doc(&doc, "new\n").unwrap();
        assert_eq!(
            fs::read_to_string(&doc).unwrap(),
            format!("a\n{BEGIN}\nnew\n{END}\nz\n")
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
