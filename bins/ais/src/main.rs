//! `ais`: the AIStore command-line client (a core subset of the original's command tree).
//!
//! ```text
//! ais show cluster | show performance | ls [ais://BUCKET] | bucket create|rm ais://B
//! ais put FILE ais://B/OBJ | get ais://B/OBJ [FILE|-] | object rm|head ais://B/OBJ | rmo ais://B/OBJ
//! ais put DIR ais://B[/PREFIX] --recursive | get ais://B[/PREFIX] DIR --recursive
//! ais get ais://B/OBJ FILE --checksum | ls ais://B --paged | cp ais://SRC ais://DST [--wait]
//! ais job show [ID] | job wait ID | job stop ID
//! ais completion bash|zsh|fish
//! ```
//! The cluster is `AIS_ENDPOINT` (default `http://localhost:8080`). `--json` prints raw JSON.
//! Errors go to stderr with a non-zero exit code.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout/stderr

mod xfer;

use ais_api::Client;
use ais_core::Bck;
use ais_core::wire::{LsoEnt, LsoMsg};
use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, Parser, Subcommand};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "ais", about = "AIStore command-line client", version)]
struct Cli {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show cluster state.
    Show {
        #[command(subcommand)]
        what: Show,
    },
    /// List buckets, or objects of a bucket.
    Ls {
        /// `ais://BUCKET` (no argument: all buckets).
        bucket: Option<String>,
        /// Only names with this prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Properties to show (e.g. `name,size,checksum,version,location,cached`).
        #[arg(long, default_value = "name,size")]
        props: String,
        /// Stop after this many objects (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// Print page by page as the cluster returns them (a header line per page).
        #[arg(long)]
        paged: bool,
        /// Objects per page with `--paged` (0: the cluster's default).
        #[arg(long, default_value_t = 0)]
        page_size: u32,
        /// Remote buckets: only the objects present (cached) in the cluster.
        #[arg(long, conflicts_with = "not_cached")]
        cached: bool,
        /// Remote buckets: only the objects not present in the cluster.
        #[arg(long)]
        not_cached: bool,
    },
    /// Create or remove buckets.
    Bucket {
        #[command(subcommand)]
        op: BucketOp,
    },
    /// Object operations.
    Object {
        #[command(subcommand)]
        op: ObjectOp,
    },
    /// Upload a file as an object: `ais put FILE ais://B/OBJ`, or a directory tree:
    /// `ais put DIR ais://B[/PREFIX] --recursive` (object names: PREFIX + relative path).
    Put {
        file: String,
        dst: String,
        /// Upload every file under the directory FILE.
        #[arg(long, short)]
        recursive: bool,
        /// Parallel uploads with `--recursive`.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Download an object: `ais get ais://B/OBJ [FILE|-]`, or all objects with a prefix:
    /// `ais get ais://B[/PREFIX] DIR --recursive`.
    Get {
        src: String,
        file: Option<String>,
        /// Verify the received bytes against the checksum the cluster sends with them.
        #[arg(long)]
        checksum: bool,
        /// Download every object with the prefix into the directory FILE.
        #[arg(long, short)]
        recursive: bool,
        /// Parallel downloads with `--recursive`.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Copy a bucket (or the objects with a prefix) to another bucket, created when missing:
    /// `ais cp ais://SRC ais://DST [--prefix P] [--wait]`.
    Cp {
        src: String,
        dst: String,
        /// Only objects whose names start with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Prepend this to the names at the destination.
        #[arg(long, default_value = "")]
        prepend: String,
        /// Wait for the copy job to finish.
        #[arg(long)]
        wait: bool,
        /// With `--wait`: give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Fetch objects of a remote bucket into the cluster: `ais prefetch aws://b --template 'shard-{000..099}.tar'`.
    Prefetch {
        bucket: String,
        #[command(flatten)]
        sel: Selection,
    },
    /// Drop cached copies of a remote bucket's objects (the backend keeps them); without a
    /// selection, all of the bucket's cached data.
    Evict {
        bucket: String,
        #[command(flatten)]
        sel: Selection,
    },
    /// Print a shell completion script: `ais completion bash > /etc/bash_completion.d/ais`.
    Completion {
        /// bash, zsh, fish (also elvish, powershell).
        shell: clap_complete::Shell,
    },
    /// Remove an object.
    Rmo { obj: String },
    /// Remove a bucket.
    Rmb { bucket: String },
    /// Create a bucket.
    Create { bucket: String },
    /// Jobs (xactions).
    Job {
        #[command(subcommand)]
        op: JobOp,
    },
    /// Start a job: `ais start rebalance`, `ais start resilver [TARGET_ID]` (same as `ais job start`).
    Start(StartArgs),
    /// Stop a job by id or every running job of a kind: `ais stop rebalance` (same as `ais job stop`).
    Stop { id_or_kind: String },
    /// Mountpaths of targets.
    Storage {
        #[command(subcommand)]
        op: StorageOp,
    },
    /// Cluster configuration.
    Config {
        #[command(subcommand)]
        op: ConfigOp,
    },
    /// Cluster membership.
    Cluster {
        #[command(subcommand)]
        op: ClusterOp,
    },
}

/// Which objects a multi-object job works on.
#[derive(clap::Args)]
struct Selection {
    /// Comma-separated object names.
    #[arg(long, default_value = "")]
    list: String,
    /// A brace-range template (`a-{0..9}`), or a name prefix.
    #[arg(long, default_value = "")]
    template: String,
    /// Wait for the job to finish.
    #[arg(long)]
    wait: bool,
    /// With `--wait`: give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

impl Selection {
    fn value(&self) -> serde_json::Value {
        let names: Vec<&str> = self.list.split(',').filter(|s| !s.is_empty()).collect();
        if names.is_empty() {
            serde_json::json!({"template": self.template})
        } else {
            serde_json::json!({"objnames": names})
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty() && self.template.is_empty()
    }
}

/// Starts (and with `--wait` waits for) a prefetch or evict job on a remote bucket.
async fn sel_job(
    c: &Client,
    ep: &str,
    prefetch: bool,
    bucket: &str,
    sel: &Selection,
) -> Result<()> {
    let (bck, _) = parse_uri(bucket)?;
    let http = reqwest::Client::new();
    let url = format!("{ep}/v1/buckets/{}", bck.name);
    let q = ais_api::bck_query(&bck);
    let req = if prefetch {
        http.post(&url)
            .query(&q)
            .json(&serde_json::json!({"action": "prefetch-listrange", "value": sel.value()}))
    } else if sel.is_empty() {
        http.delete(&url)
            .query(&q)
            .query(&[("keep_bck_md", "true")])
            .json(&serde_json::json!({"action": "evict-remote-bck"}))
    } else {
        http.delete(&url)
            .query(&q)
            .json(&serde_json::json!({"action": "evict-listrange", "value": sel.value()}))
    };
    let id = send(req).await?.text().await.unwrap_or_default();
    if sel.wait && !id.is_empty() {
        let st = xfer::wait_job(c, &id, Duration::from_secs(sel.timeout)).await?;
        println!("job {id} ({}) finished", st.kind);
    } else {
        println!("started job {id} (`ais job wait {id}`)");
    }
    Ok(())
}

/// `a.b.c=v` pairs as nested JSON (`true`/`false`/numbers typed, the rest strings).
fn nested_props(kvs: &[String]) -> Result<serde_json::Value> {
    let mut root = serde_json::Map::new();
    for kv in kvs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("expecting name=value, got {kv:?}"))?;
        let val = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .filter(|j| j.is_boolean() || j.is_number())
            .unwrap_or_else(|| serde_json::Value::String(v.to_string()));
        let parts: Vec<&str> = k.split('.').collect();
        let mut cur = &mut root;
        for p in &parts[..parts.len() - 1] {
            cur = cur
                .entry(p.to_string())
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
                .ok_or_else(|| anyhow!("{k}: {p} is not a section"))?;
        }
        cur.insert(parts[parts.len() - 1].to_string(), val);
    }
    Ok(serde_json::Value::Object(root))
}

#[derive(Subcommand)]
enum StorageOp {
    /// Mountpath show | attach | detach.
    Mountpath {
        #[command(subcommand)]
        op: MountpathOp,
    },
}

#[derive(Subcommand)]
enum MountpathOp {
    /// Mountpaths of every target.
    Show,
    /// Attach a mountpath: `ais storage mountpath attach TARGET_ID /path`.
    Attach { node: String, path: String },
    /// Detach a mountpath (its objects move to the others first).
    Detach { node: String, path: String },
}

#[derive(Subcommand)]
enum ConfigOp {
    /// Show the cluster configuration.
    Show,
    /// Set cluster configuration: `ais config set log.level=debug ...`.
    Set { kvs: Vec<String> },
}

#[derive(Subcommand)]
enum ClusterOp {
    /// Maintenance, decommission, shutdown of one node (or `shutdown` of the cluster).
    AddRemoveNodes {
        /// start-maintenance | stop-maintenance | decommission | shutdown-node | shutdown
        action: String,
        /// Node id (not for `shutdown`).
        node: Option<String>,
    },
    /// Hand the primary role to another proxy.
    SetPrimary { node: String },
    /// Attach another AIS cluster: `ALIAS=URL` (a proxy of it); its buckets are then
    /// `ais://@ALIAS/BUCKET`.
    RemoteAttach { spec: String },
    /// Detach a remote AIS cluster by alias.
    RemoteDetach { alias: String },
}

#[derive(Subcommand)]
enum Show {
    /// Proxies and targets: role, state, capacity, uptime.
    Cluster,
    /// Per-target counters: GET/PUT counts, sizes, average latency, errors.
    Performance,
    /// Rebalance jobs, per target.
    Rebalance,
    /// Attached remote AIS clusters.
    RemoteCluster,
    /// Jobs (all, or one by id), one row per target: objects and bytes it moved, state.
    Job {
        id: Option<String>,
        /// Only jobs of this kind (e.g. `copy-bck`, `rebalance`).
        #[arg(long, default_value = "")]
        kind: String,
    },
}

#[derive(Subcommand)]
enum BucketOp {
    /// Create a bucket.
    Create { bucket: String },
    /// Remove a bucket and its objects.
    Rm { bucket: String },
    /// Bucket properties: `show`, or `set ais://b mirror.enabled=true mirror.copies=2 ...`.
    Props {
        #[command(subcommand)]
        op: PropsOp,
    },
}

#[derive(Subcommand)]
enum PropsOp {
    /// Show a bucket's properties (JSON).
    Show { bucket: String },
    /// Set properties by dotted name (`checksum.type=md5`, `ec.enabled=true ec.data_slices=2`);
    /// changes of mirroring or EC start jobs (their ids are printed; see `ais job wait`).
    Set { bucket: String, kvs: Vec<String> },
}

#[derive(Subcommand)]
enum ObjectOp {
    /// Remove an object.
    Rm { obj: String },
    /// Show an object's properties.
    Head { obj: String },
    /// Print an object to stdout.
    Cat { obj: String },
}

#[derive(Subcommand)]
enum JobOp {
    /// Show jobs (all, or one by id), one row per target (as `ais show job`).
    Show {
        id: Option<String>,
        /// Only jobs of this kind.
        #[arg(long, default_value = "")]
        kind: String,
    },
    /// Wait for a job to finish.
    Wait {
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Start a job (`rebalance`, or `resilver` on one target or all); prints its id.
    Start(StartArgs),
    /// Abort a job, by id, or every running job of a kind (e.g. `rebalance`).
    Stop { id_or_kind: String },
}

/// `ais job start` / `ais start`.
#[derive(clap::Args)]
struct StartArgs {
    /// `rebalance` or `resilver`.
    kind: String,
    /// The target to run it on (resilver; default: every target).
    node: Option<String>,
    /// Wait for it to finish.
    #[arg(long)]
    wait: bool,
}

/// `ais job start KIND [NODE] [--wait]`: prints the new job's id.
async fn start_job(
    c: &Client,
    http: &reqwest::Client,
    ep: &str,
    kind: &str,
    node: Option<&str>,
    wait: bool,
) -> Result<()> {
    let id = send(
        http.put(format!("{ep}/v1/cluster"))
            .json(&serde_json::json!({
                "action": "start",
                "name": "",
                "value": {"Kind": kind, "DaemonID": node.unwrap_or("")},
            })),
    )
    .await?
    .text()
    .await?;
    println!("{id}");
    if wait {
        let st = xfer::wait_job(c, &id, Duration::from_secs(3600)).await?;
        println!("job {id} ({}) finished", st.kind);
    }
    Ok(())
}

/// `ais job stop ID|KIND`.
async fn stop_job(http: &reqwest::Client, ep: &str, id_or_kind: &str) -> Result<()> {
    let value = match ais_xact::resolve_kind(id_or_kind) {
        Some(kind) if !kind.is_empty() => serde_json::json!({"Kind": kind}),
        _ => serde_json::json!({"ID": id_or_kind}),
    };
    send(
        http.put(format!("{ep}/v1/cluster"))
            .json(&serde_json::json!({"action": "stop", "name": "", "value": value})),
    )
    .await?;
    println!("{id_or_kind} stopped");
    Ok(())
}

/// `ais://bucket[/object]` (also `s3://…` etc., and `ais://@alias/bucket` for a remote cluster).
fn parse_uri(s: &str) -> Result<(Bck, String)> {
    let (b, o) = Bck::parse_uri(s).map_err(|e| anyhow!("{e}"))?;
    Ok((b, o.to_string()))
}

fn obj_uri(s: &str) -> Result<(Bck, String)> {
    let (b, o) = parse_uri(s)?;
    if o.is_empty() {
        bail!("expecting an object: ais://BUCKET/OBJECT, got {s:?}");
    }
    Ok((b, o))
}

/// Turns client errors into messages with a hint where one helps.
fn explain(e: ais_api::Error, bck: Option<&Bck>) -> anyhow::Error {
    match (e.kind(), bck) {
        (ais_core::ErrKind::BckNotFound, Some(b)) => anyhow!(
            "{e}\nhint: create it with `ais bucket create {}`",
            b.cname()
        ),
        (ais_core::ErrKind::Unavailable, _) => anyhow!(
            "{e}\nhint: is the cluster running? (AIS_ENDPOINT={})",
            endpoint()
        ),
        _ => anyhow!("{e}"),
    }
}

fn endpoint() -> String {
    std::env::var("AIS_ENDPOINT").unwrap_or_else(|_| "http://localhost:8080".into())
}

fn table(rows: &[Vec<String>]) {
    let Some(first) = rows.first() else { return };
    let widths: Vec<usize> = (0..first.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", U[i])
    }
}

async fn node_status(ep: &str, id: &str) -> Result<serde_json::Value> {
    let r = reqwest::Client::new()
        .get(format!("{ep}/v1/reverse/daemon?what=node_status"))
        .header("Ais-Node-Id", id)
        .send()
        .await
        .with_context(|| format!("{ep}: node {id}"))?;
    if !r.status().is_success() {
        bail!("node {id}: HTTP {}", r.status());
    }
    Ok(r.json().await?)
}

async fn mountpath_req(
    http: &reqwest::Client,
    ep: &str,
    method: reqwest::Method,
    action: &str,
    node: &str,
    path: &str,
) -> Result<()> {
    send(
        http.request(method, format!("{ep}/v1/reverse/daemon/mountpaths"))
            .header("Ais-Node-Id", node)
            .json(&serde_json::json!({"action": action, "name": "", "value": path})),
    )
    .await?;
    println!("{action} {path} on t[{node}]: done (resilver runs in the background)");
    Ok(())
}

/// Sends a request; a failure becomes the server's error message (else its body, else the
/// HTTP status).
async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
    let r = req.send().await?;
    let st = r.status();
    if st.is_success() {
        return Ok(r);
    }
    let body = r.text().await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    match v["message"].as_str() {
        Some(m) => bail!("{m}"),
        None if !body.trim().is_empty() => bail!("{}", body.trim()),
        None => bail!("HTTP {st}"),
    }
}

/// `ais show job [ID] [--kind K]`: per-target rows of the matching jobs (newest first), from
/// the cluster's `what=qryxstats`.
async fn show_jobs(ep: &str, id: Option<&str>, kind: &str, json: bool) -> Result<()> {
    let q = serde_json::json!({"id": id.unwrap_or(""), "kind": kind});
    let r = reqwest::Client::new()
        .get(format!("{ep}/v1/cluster?what=qryxstats"))
        .json(&q)
        .send()
        .await?;
    if r.status() == reqwest::StatusCode::NOT_FOUND && id.is_none() {
        if json {
            println!("{{}}");
        } else if kind.is_empty() {
            println!("No jobs.");
        } else {
            println!("No {kind} jobs.");
        }
        return Ok(());
    }
    let r = send(reqwest::Client::new().get(r.url().clone()).json(&q)).await?;
    let all: std::collections::BTreeMap<String, Vec<ais_core::wire::JobSnap>> = r.json().await?;
    if json {
        return print_json(&all);
    }
    let mut snaps: Vec<(&String, &ais_core::wire::JobSnap)> = all
        .iter()
        .flat_map(|(node, v)| v.iter().map(move |s| (node, s)))
        .collect();
    snaps.sort_by(|a, b| {
        b.1.start_time
            .cmp(&a.1.start_time)
            .then_with(|| a.1.id.cmp(&b.1.id))
            .then_with(|| a.0.cmp(b.0))
    });
    let mut rows = vec![
        [
            "JOB", "KIND", "BUCKET", "NODE", "OBJECTS", "BYTES", "START", "END", "STATE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let hhmmss = |t: &str| {
        // RFC 3339 → the time of day; the date when it is not today's is in --json.
        t.split_once('T')
            .map(|(_, r)| r.chars().take(8).collect::<String>())
            .filter(|_| !t.starts_with("0001-"))
            .unwrap_or_else(|| "-".into())
    };
    for (node, s) in snaps {
        let state = if s.aborted {
            "aborted"
        } else if !s.is_idle {
            "running"
        } else if !s.err.is_empty() {
            "failed"
        } else {
            "finished"
        };
        rows.push(vec![
            s.id.clone(),
            s.kind.clone(),
            s.bck
                .as_ref()
                .map(|b| b.cname())
                .unwrap_or_else(|| "-".into()),
            format!("t[{node}]"),
            (s.stats.out_objs + s.stats.loc_objs).to_string(),
            human((s.stats.out_bytes + s.stats.loc_bytes).max(0) as u64),
            hhmmss(&s.start_time),
            if s.is_idle {
                hhmmss(&s.end_time)
            } else {
                "-".into()
            },
            state.into(),
        ]);
    }
    table(&rows);
    Ok(())
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn tracker(ns: &serde_json::Value, k: &str) -> u64 {
    ns["tracker"][k]["v"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn run(cli: Cli) -> Result<()> {
    let ep = endpoint();
    let c = Client::new(&ep).map_err(|e| anyhow!("{e}"))?;
    match cli.cmd {
        Cmd::Show {
            what: Show::Rebalance,
        } => show_jobs(&ep, None, "rebalance", cli.json).await?,
        Cmd::Show {
            what: Show::Job { id, kind },
        } => show_jobs(&ep, id.as_deref(), &kind, cli.json).await?,
        Cmd::Show {
            what: Show::RemoteCluster,
        } => {
            let r =
                send(reqwest::Client::new().get(format!("{ep}/v1/cluster?what=remote"))).await?;
            let v: serde_json::Value = r.json().await?;
            if cli.json {
                print_json(&v)?;
            } else {
                let mut rows = vec![
                    [
                        "ALIAS", "URL", "UUID", "PRIMARY", "SMAP", "TARGETS", "ONLINE",
                    ]
                    .map(String::from)
                    .to_vec(),
                ];
                for c in v["a"].as_array().cloned().unwrap_or_default() {
                    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                    rows.push(vec![
                        s("alias"),
                        s("url"),
                        s("uuid"),
                        s("primary"),
                        format!("v{}", c["smap"]),
                        c["targets"].to_string(),
                        c["online"].to_string(),
                    ]);
                }
                if rows.len() == 1 {
                    println!("No remote clusters attached.");
                } else {
                    table(&rows);
                }
            }
        }
        Cmd::Storage {
            op: StorageOp::Mountpath { op },
        } => {
            let http = reqwest::Client::new();
            match op {
                MountpathOp::Show => {
                    let smap = c.smap().await.map_err(|e| explain(e, None))?;
                    let mut all = serde_json::Map::new();
                    for t in smap.tmap.values() {
                        let r = http
                            .get(format!("{ep}/v1/reverse/daemon?what=mountpaths"))
                            .header("Ais-Node-Id", &t.daemon_id)
                            .send()
                            .await?;
                        all.insert(t.daemon_id.clone(), r.json().await?);
                    }
                    if cli.json {
                        print_json(&all)?;
                    } else {
                        let mut rows = vec![vec![
                            "TARGET".to_string(),
                            "MOUNTPATH".into(),
                            "STATE".into(),
                        ]];
                        for (t, m) in &all {
                            for (key, state) in [
                                ("available", "available"),
                                ("waiting_dd", "detaching"),
                                ("disabled", "disabled"),
                            ] {
                                for p in m[key].as_array().cloned().unwrap_or_default() {
                                    rows.push(vec![
                                        format!("t[{t}]"),
                                        p.as_str().unwrap_or("").into(),
                                        state.into(),
                                    ]);
                                }
                            }
                        }
                        table(&rows);
                    }
                }
                MountpathOp::Attach { node, path } => {
                    mountpath_req(&http, &ep, reqwest::Method::PUT, "attach-mp", &node, &path)
                        .await?
                }
                MountpathOp::Detach { node, path } => {
                    mountpath_req(
                        &http,
                        &ep,
                        reqwest::Method::DELETE,
                        "detach-mp",
                        &node,
                        &path,
                    )
                    .await?
                }
            }
        }
        Cmd::Config { op } => {
            let http = reqwest::Client::new();
            match op {
                ConfigOp::Show => {
                    let v: serde_json::Value = http
                        .get(format!("{ep}/v1/cluster?what=cluster_config"))
                        .send()
                        .await?
                        .json()
                        .await?;
                    print_json(&v)?;
                }
                ConfigOp::Set { kvs } => {
                    if kvs.is_empty() || kvs.iter().any(|kv| !kv.contains('=')) {
                        bail!("expecting name=value pairs, e.g. `ais config set log.level=debug`");
                    }
                    let q: Vec<(String, String)> = kvs
                        .iter()
                        .filter_map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                        })
                        .collect();
                    send(http.put(format!("{ep}/v1/cluster/set-config")).query(&q)).await?;
                    println!("config updated");
                }
            }
        }
        Cmd::Cluster { op } => {
            let http = reqwest::Client::new();
            let (req, what) = match op {
                ClusterOp::SetPrimary { node } => (
                    http.put(format!("{ep}/v1/cluster/proxy/{node}")),
                    format!("set-primary {node}"),
                ),
                ClusterOp::RemoteAttach { spec } => {
                    let Some((alias, url)) = spec.split_once('=') else {
                        bail!(
                            "expecting ALIAS=URL, e.g. `ais cluster remote-attach rem=http://10.0.0.1:8080`"
                        );
                    };
                    (
                        http.put(format!("{ep}/v1/cluster/attach?what=remote"))
                            .header("Ais-Remote-Ais-Alias", alias)
                            .header("Ais-Remote-Ais-Url", url),
                        format!("remote-attach {alias}"),
                    )
                }
                ClusterOp::RemoteDetach { alias } => (
                    http.put(format!("{ep}/v1/cluster/detach?what=remote"))
                        .header("Ais-Remote-Ais-Alias", &alias),
                    format!("remote-detach {alias}"),
                ),
                ClusterOp::AddRemoveNodes { action, node } => {
                    let action = match action.as_str() {
                        "decommission" => "decommission-node".to_string(),
                        a => a.to_string(),
                    };
                    let value = match (&node, action.as_str()) {
                        (_, "shutdown") => serde_json::Value::Null,
                        (Some(n), _) => serde_json::json!({"sid": n}),
                        (None, a) => bail!("{a}: expecting a node id"),
                    };
                    (
                        http.put(format!("{ep}/v1/cluster")).json(
                            &serde_json::json!({"action": action, "name": "", "value": value}),
                        ),
                        format!("{action} {}", node.unwrap_or_default()),
                    )
                }
            };
            let body = send(req).await?.text().await.unwrap_or_default();
            if body.trim().is_empty() {
                println!("{what}: done");
            } else {
                println!("{what}: done (rebalance {})", body.trim());
            }
        }
        Cmd::Show { what } => {
            let smap = c.smap().await.map_err(|e| explain(e, None))?;
            let mut all = Vec::new();
            for n in smap.pmap.values().chain(smap.tmap.values()) {
                let ns = node_status(&ep, &n.daemon_id)
                    .await
                    .unwrap_or(serde_json::Value::Null);
                all.push((n.clone(), ns));
            }
            if cli.json {
                let v: serde_json::Map<String, serde_json::Value> = all
                    .iter()
                    .map(|(n, ns)| (n.daemon_id.clone(), ns.clone()))
                    .collect();
                print_json(&v)?;
                return Ok(());
            }
            match what {
                Show::Cluster => {
                    let mut rows = vec![vec![
                        "NODE".into(),
                        "ROLE".into(),
                        "URL".into(),
                        "STATE".into(),
                        "CAPACITY USED".into(),
                        "AVAIL".into(),
                        "UPTIME".into(),
                        "VERSION".into(),
                    ]];
                    for (n, ns) in &all {
                        let primary = smap.is_primary(&n.daemon_id);
                        let state = if ns.is_null() {
                            "unreachable".to_string()
                        } else if n.flags & 4 != 0 {
                            "maintenance".into()
                        } else if n.flags & 8 != 0 {
                            "decommission".into()
                        } else {
                            "online".into()
                        };
                        let cap = &ns["capacity"];
                        let (used, avail) = (
                            cap["total_used"]
                                .as_str()
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0u64),
                            cap["total_avail"]
                                .as_str()
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0u64),
                        );
                        let up = tracker(ns, "up.ns.time") / 1_000_000_000;
                        rows.push(vec![
                            format!("{}{}", n.name(), if primary { "*" } else { "" }),
                            format!("{:?}", n.daemon_type).to_lowercase(),
                            n.public_net.direct_url.clone(),
                            state,
                            (used * 100)
                                .checked_div(used + avail)
                                .map_or("-".into(), |p| format!("{p}%")),
                            if avail > 0 { human(avail) } else { "-".into() },
                            format!("{}m{}s", up / 60, up % 60),
                            ns["ais_version"].as_str().unwrap_or("").to_string(),
                        ]);
                    }
                    table(&rows);
                    println!(
                        "Smap v{}, {} prox{}, {} target{}; * = primary",
                        smap.version,
                        smap.pmap.len(),
                        if smap.pmap.len() == 1 { "y" } else { "ies" },
                        smap.tmap.len(),
                        if smap.tmap.len() == 1 { "" } else { "s" }
                    );
                }
                Show::Rebalance | Show::Job { .. } | Show::RemoteCluster => {
                    unreachable!("handled above")
                }
                Show::Performance => {
                    let mut rows = vec![vec![
                        "TARGET".into(),
                        "GET".into(),
                        "GET SIZE".into(),
                        "GET AVG".into(),
                        "PUT".into(),
                        "PUT SIZE".into(),
                        "PUT AVG".into(),
                        "DEL".into(),
                        "LIST".into(),
                        "ERRORS".into(),
                    ]];
                    for (n, ns) in all
                        .iter()
                        .filter(|(n, _)| n.daemon_type == ais_meta::NodeRole::Target)
                    {
                        let avg = |cnt: &str, tot: &str| {
                            tracker(ns, tot)
                                .checked_div(tracker(ns, cnt))
                                .map_or("-".to_string(), |ns| format!("{}us", ns / 1000))
                        };
                        let errs: u64 = [
                            "err.get.n",
                            "err.put.n",
                            "err.head.n",
                            "err.del.n",
                            "err.lst.n",
                        ]
                        .iter()
                        .map(|k| tracker(ns, k))
                        .sum();
                        rows.push(vec![
                            n.name(),
                            tracker(ns, "get.n").to_string(),
                            human(tracker(ns, "get.size")),
                            avg("get.n", "get.ns.total"),
                            tracker(ns, "put.n").to_string(),
                            human(tracker(ns, "put.size")),
                            avg("put.n", "put.ns.total"),
                            tracker(ns, "del.n").to_string(),
                            tracker(ns, "lst.n").to_string(),
                            errs.to_string(),
                        ]);
                    }
                    table(&rows);
                }
            }
        }
        Cmd::Ls { bucket: None, .. } => {
            let v = c.list_buckets(None).await.map_err(|e| explain(e, None))?;
            if cli.json {
                print_json(&v)?;
            } else {
                let mut rows = vec![vec!["NAME".to_string(), "PROVIDER".to_string()]];
                rows.extend(v.iter().map(|b| vec![b.cname(), b.provider.to_string()]));
                table(&rows);
            }
        }
        Cmd::Ls {
            bucket: Some(b),
            prefix,
            props,
            limit,
            paged,
            page_size,
            cached,
            not_cached,
        } => {
            let (bck, _) = parse_uri(&b)?;
            let flags = if cached {
                ais_core::wire::ls_flag::CACHED
            } else if not_cached {
                ais_core::wire::ls_flag::NOT_CACHED
            } else {
                0
            };
            let cols: Vec<&str> = props
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if paged {
                ls_paged(
                    &c, &bck, &prefix, &props, flags, &cols, limit, page_size, cli.json,
                )
                .await?;
                return Ok(());
            }
            let msg = LsoMsg {
                prefix: prefix.clone(),
                props: props.clone(),
                flags,
                ..Default::default()
            };
            let mut ents = c
                .list_objects_all_with(&bck, msg)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            if limit > 0 {
                ents.truncate(limit);
            }
            if cli.json {
                print_json(&ents_json(&ents))?;
            } else {
                table(&obj_rows(&ents, &cols));
                println!(
                    "Listed {} object{}",
                    ents.len(),
                    if ents.len() == 1 { "" } else { "s" }
                );
            }
        }
        Cmd::Bucket {
            op: BucketOp::Create { bucket },
        }
        | Cmd::Create { bucket } => {
            let (bck, _) = parse_uri(&bucket)?;
            c.create_bucket(&bck)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            println!("\"{}\" created", bck.cname());
        }
        Cmd::Bucket {
            op: BucketOp::Props { op },
        } => {
            let http = reqwest::Client::new();
            match op {
                PropsOp::Show { bucket } => {
                    let (bck, _) = parse_uri(&bucket)?;
                    let props = c
                        .head_bucket(&bck)
                        .await
                        .map_err(|e| explain(e, Some(&bck)))?;
                    println!("{}", serde_json::to_string_pretty(&props)?);
                }
                PropsOp::Set { bucket, kvs } => {
                    let (bck, _) = parse_uri(&bucket)?;
                    if kvs.is_empty() {
                        bail!(
                            "expecting name=value pairs, e.g. `ais bucket props set {bucket} mirror.enabled=true mirror.copies=2`"
                        );
                    }
                    let value = nested_props(&kvs)?;
                    let r = send(
                        http.patch(format!("{ep}/v1/buckets/{}", bck.name))
                            .query(&ais_api::bck_query(&bck))
                            .json(&serde_json::json!({"action": "set-bprops", "name": "", "value": value})),
                    )
                    .await?;
                    let jobs = r.text().await.unwrap_or_default();
                    println!("\"{}\" props updated", bck.cname());
                    for id in jobs.split(',').filter(|s| !s.is_empty()) {
                        println!("started job {id} (`ais job wait {id}`)");
                    }
                }
            }
        }
        Cmd::Prefetch { bucket, sel } => sel_job(&c, &ep, true, &bucket, &sel).await?,
        Cmd::Evict { bucket, sel } => sel_job(&c, &ep, false, &bucket, &sel).await?,
        Cmd::Bucket {
            op: BucketOp::Rm { bucket },
        }
        | Cmd::Rmb { bucket } => {
            let (bck, _) = parse_uri(&bucket)?;
            c.destroy_bucket(&bck)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            println!("\"{}\" removed", bck.cname());
        }
        Cmd::Put {
            file,
            dst,
            recursive,
            concurrency,
        } => {
            let (bck, mut obj) = parse_uri(&dst)?;
            let is_dir = std::path::Path::new(&file).is_dir();
            if recursive {
                if !is_dir {
                    bail!("--recursive: {file:?} is not a directory");
                }
                return xfer::put_dir(
                    &c,
                    std::path::Path::new(&file),
                    &bck,
                    &obj,
                    concurrency,
                    cli.json,
                )
                .await;
            }
            if is_dir {
                bail!(
                    "{file:?} is a directory\nhint: `ais put {file} {dst} --recursive` uploads the tree"
                );
            }
            if obj.is_empty() || obj.ends_with('/') {
                let base = std::path::Path::new(&file)
                    .file_name()
                    .context("file name")?
                    .to_string_lossy()
                    .into_owned();
                obj.push_str(&base);
            }
            let data = std::fs::read(&file).with_context(|| format!("read {file}"))?;
            let n = data.len();
            c.put_object(&bck, &obj, bytes::Bytes::from(data), None)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            println!(
                "PUT {file:?} => {} ({})",
                bck.cname_obj(&obj),
                human(n as u64)
            );
        }
        Cmd::Get {
            src,
            file,
            checksum,
            recursive,
            concurrency,
        } => {
            if recursive {
                let (bck, prefix) = parse_uri(&src)?;
                let dir = file.as_deref().unwrap_or(".");
                if dir == "-" {
                    bail!("--recursive: expecting a directory, not stdout");
                }
                return xfer::get_dir(
                    &c,
                    &bck,
                    &prefix,
                    std::path::Path::new(dir),
                    concurrency,
                    checksum,
                )
                .await;
            }
            let (bck, obj) = obj_uri(&src)?;
            let (attrs, data) = c
                .get_object(&bck, &obj, None)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            if checksum {
                xfer::verify(&attrs, &data, &bck.cname_obj(&obj))?;
            }
            match file.as_deref() {
                Some("-") => {
                    use std::io::Write;
                    std::io::stdout().write_all(&data)?;
                }
                f => {
                    let path = f
                        .map(str::to_string)
                        .unwrap_or_else(|| obj.rsplit('/').next().unwrap_or(&obj).to_string());
                    std::fs::write(&path, &data).with_context(|| format!("write {path}"))?;
                    eprintln!(
                        "GET {} => {path:?} ({})",
                        bck.cname_obj(&obj),
                        human(data.len() as u64)
                    );
                }
            }
        }
        Cmd::Object {
            op: ObjectOp::Cat { obj },
        } => {
            let (bck, o) = obj_uri(&obj)?;
            let (_, data) = c
                .get_object(&bck, &o, None)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            use std::io::Write;
            std::io::stdout().write_all(&data)?;
        }
        Cmd::Object {
            op: ObjectOp::Rm { obj },
        }
        | Cmd::Rmo { obj } => {
            let (bck, o) = obj_uri(&obj)?;
            c.delete_object(&bck, &o)
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            println!("deleted {}", bck.cname_obj(&o));
        }
        Cmd::Object {
            op: ObjectOp::Head { obj },
        } => {
            let (bck, o) = obj_uri(&obj)?;
            let h = c
                .head_object(&bck, &o, "name,size,checksum,atime,version,location,custom")
                .await
                .map_err(|e| explain(e, Some(&bck)))?;
            let v = serde_json::json!({"name": o, "size": h.size, "checksum": h.cksum.as_ref().map(|c| format!("{}:{}", c.ty.as_str(), c.value)),
                "version": h.version, "atime_ns": h.atime_ns, "location": h.location, "present": h.present});
            if cli.json {
                print_json(&v)?;
            } else if let Some(m) = v.as_object() {
                let rows: Vec<Vec<String>> = m
                    .iter()
                    .map(|(k, v)| {
                        vec![
                            k.to_uppercase(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        ]
                    })
                    .collect();
                table(&rows);
            }
        }
        Cmd::Job { op } => {
            let http = reqwest::Client::new();
            match op {
                JobOp::Show { id, kind } => show_jobs(&ep, id.as_deref(), &kind, cli.json).await?,
                JobOp::Wait { id, timeout } => {
                    let st = xfer::wait_job(&c, &id, Duration::from_secs(timeout)).await?;
                    println!("job {id} ({}) finished", st.kind);
                }
                JobOp::Start(a) => {
                    start_job(&c, &http, &ep, &a.kind, a.node.as_deref(), a.wait).await?
                }
                JobOp::Stop { id_or_kind } => stop_job(&http, &ep, &id_or_kind).await?,
            }
        }
        Cmd::Start(a) => {
            let http = reqwest::Client::new();
            start_job(&c, &http, &ep, &a.kind, a.node.as_deref(), a.wait).await?
        }
        Cmd::Stop { id_or_kind } => stop_job(&reqwest::Client::new(), &ep, &id_or_kind).await?,
        Cmd::Cp {
            src,
            dst,
            prefix,
            prepend,
            wait,
            timeout,
        } => {
            let (sb, so) = parse_uri(&src)?;
            let (db, dobj) = parse_uri(&dst)?;
            if !so.is_empty() || !dobj.is_empty() {
                bail!(
                    "expecting buckets: `ais cp ais://SRC ais://DST`\nhint: select objects with `--prefix`"
                );
            }
            let id = xfer::copy_bucket(&ep, &sb, &db, &prefix, &prepend).await?;
            if !wait {
                println!(
                    "copying {} => {}: job {id}; `ais job wait {id}` waits for it",
                    prefixed(&sb, &prefix),
                    db.cname()
                );
                return Ok(());
            }
            xfer::wait_job(&c, &id, Duration::from_secs(timeout)).await?;
            println!(
                "copied {} => {} (job {id})",
                prefixed(&sb, &prefix),
                db.cname()
            );
        }
        Cmd::Completion { .. } => unreachable!("handled in main"),
    }
    Ok(())
}

/// `ais://b` or, with a prefix, `ais://b/prefix`.
fn prefixed(bck: &Bck, prefix: &str) -> String {
    if prefix.is_empty() {
        bck.cname()
    } else {
        bck.cname_obj(prefix)
    }
}

/// Table rows (header first) of listed objects, one column per requested property.
fn obj_rows(ents: &[LsoEnt], cols: &[&str]) -> Vec<Vec<String>> {
    let mut rows = vec![cols.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>()];
    for e in ents {
        rows.push(
            cols.iter()
                .map(|c| match *c {
                    "name" => e.name.clone(),
                    "size" => human(e.size.max(0) as u64),
                    "checksum" => e.checksum.clone(),
                    "version" => e.version.clone(),
                    "location" => e.location.clone(),
                    "atime" => e.atime.clone(),
                    "custom" => e.custom.clone(),
                    "cached" => {
                        if e.flags & ais_core::wire::ent_flag::IS_CACHED != 0 {
                            "yes".into()
                        } else {
                            "no".into()
                        }
                    }
                    _ => String::new(),
                })
                .collect(),
        );
    }
    rows
}

/// Listed objects as JSON (`ls --json`).
fn ents_json(ents: &[LsoEnt]) -> Vec<serde_json::Value> {
    ents.iter()
        .map(|e| serde_json::json!({"name": e.name, "size": e.size, "checksum": e.checksum, "version": e.version, "location": e.location, "atime": e.atime, "cached": e.flags & ais_core::wire::ent_flag::IS_CACHED != 0}))
        .collect()
}

/// `ais ls ais://B --paged`: prints each page as it arrives (`--json`: one JSON array per page).
#[allow(clippy::too_many_arguments)] // the `ls` options, passed through
async fn ls_paged(
    c: &Client,
    bck: &Bck,
    prefix: &str,
    props: &str,
    flags: u64,
    cols: &[&str],
    limit: usize,
    page_size: u32,
    json: bool,
) -> Result<()> {
    let mut msg = LsoMsg {
        prefix: prefix.into(),
        props: props.into(),
        flags,
        pagesize: i64::from(page_size),
        ..Default::default()
    };
    let (mut total, mut page_no) = (0usize, 0usize);
    loop {
        let page = c
            .list_objects_page(bck, &msg)
            .await
            .map_err(|e| explain(e, Some(bck)))?;
        let mut ents = page.entries;
        if ents.is_empty() && page_no > 0 {
            break; // the cluster may end a listing with an empty page
        }
        page_no += 1;
        if limit > 0 {
            ents.truncate(limit - total);
        }
        total += ents.len();
        if json {
            println!("{}", serde_json::to_string(&ents_json(&ents))?);
        } else {
            println!(
                "Page {page_no}: {} object{}",
                ents.len(),
                if ents.len() == 1 { "" } else { "s" }
            );
            table(&obj_rows(&ents, cols));
        }
        if page.continuation_token.is_empty() || (limit > 0 && total >= limit) {
            break;
        }
        msg.uuid = page.uuid;
        msg.continuation_token = page.continuation_token;
    }
    if !json {
        println!(
            "Listed {total} object{} in {page_no} page{}",
            if total == 1 { "" } else { "s" },
            if page_no == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Cmd::Completion { shell } = cli.cmd {
        clap_complete::generate(shell, &mut Cli::command(), "ais", &mut std::io::stdout());
        return std::process::ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
