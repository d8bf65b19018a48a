//! `aisloader`: a load generator for AIStore clusters, with the original's common flags.
//!
//! ```text
//! aisloader -ip=127.0.0.1 -port=8080 -bucket=ais://bench -duration=30s -numworkers=16 \
//!           -pctput=20 -minsize=16KiB -maxsize=1MiB [-cleanup] [-json] [-direct]
//! ```
//!
//! Workers loop until `-duration`, `-maxputs` or `-totalputsize` is reached: each picks PUT with
//! probability `-pctput`% (a new object of a random size in `[minsize, maxsize]`), else GET of an
//! object listed at start (or written by this run). Statistics every `-statsinterval` and at the
//! end: ops, bytes, throughput, errors, latency min/avg/max and p50/p90/p99, per operation.
//! With `-s3endpoint=http://HOST:PORT/s3` the timed GETs and PUTs go through the S3 API (SigV4
//! with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when set, unsigned payload); bucket set-up,
//! listing and cleanup still use the native API at `-ip/-port` (or `-endpoint`).
//! `-objlist=FILE` (one object name a line) gives the objects to GET instead of listing the bucket.
//! `-httpget=URL` is a plain-HTTP GET-only mode for reference servers (e.g. nginx in
//! `cargo xtask bench`): each GET fetches `URL/<name>` for a name of `-objlist` with the same
//! HTTP client settings as the native API (`-bucket` is then not needed and `-pctput` must be 0).
//! Flags take Go's `-name=value` form (`--name=value` and `-name value` work too).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout/stderr

use ais_api::Client;
use ais_core::Bck;
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: aisloader [-ip=HOST -port=PORT | -endpoint=URL] -bucket=[ais://]NAME [-duration=30s] \
[-numworkers=10] [-pctput=0] [-minsize=1MiB] [-maxsize=1MiB] [-maxputs=N] [-totalputsize=SIZE] [-seed=N] \
[-statsinterval=10s] [-cleanup] [-json] [-direct] [-provider=ais] [-s3endpoint=URL] [-objlist=FILE] \
[-httpget=URL -objlist=FILE]";

/// Latency samples kept per operation (bounded memory; later samples are subsampled).
const SAMPLES_MAX: usize = 1 << 22;

struct Opts {
    endpoint: String,
    bck: Bck,
    duration: Duration,
    workers: usize,
    pct_put: u32,
    min: u64,
    max: u64,
    max_puts: u64,
    total_put: u64,
    seed: u64,
    stats_every: Duration,
    cleanup: bool,
    json: bool,
    direct: bool,
    /// GET and PUT through the S3 API at this URL (e.g. `http://host:8080/s3`).
    s3: Option<S3Target>,
    /// Object names to GET (from `-objlist`) instead of listing the bucket.
    objlist: Option<Vec<String>>,
    /// Plain-HTTP GET-only mode: GET `<base>/<name>` (from `-httpget`).
    http_get: Option<HttpGet>,
}

/// `-httpget`: a reference HTTP server serving the objects of `-objlist` under a URL prefix.
#[derive(Clone)]
struct HttpGet {
    base: String,
    client: reqwest::Client,
}

impl HttpGet {
    fn new(url: &str) -> Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            bail!("-httpget must be an http:// URL, got {url:?}");
        }
        // The same settings as `ais_api::Client`, so both servers see the same client.
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?;
        Ok(HttpGet { base, client })
    }

    async fn get(&self, name: &str) -> Result<u64> {
        let url = format!("{}/{name}", self.base);
        let r = self
            .client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !r.status().is_success() {
            bail!("GET {url}: {}", r.status());
        }
        Ok(r.bytes().await.with_context(|| format!("GET {url}"))?.len() as u64)
    }
}

/// Reads `-objlist`: one object name a line, blank lines ignored.
fn read_objlist(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("-objlist {path}"))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        bail!("-objlist {path}: no object names");
    }
    Ok(names)
}

/// The S3 endpoint and credentials (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`; requests
/// are signed with SigV4, payload `UNSIGNED-PAYLOAD`).
#[derive(Clone)]
struct S3Target {
    base: String,
    host: String,
    path_prefix: String,
    access: String,
    secret: String,
    client: reqwest::Client,
}

impl S3Target {
    fn new(url: &str) -> Result<Self> {
        let u = url.trim_end_matches('/');
        let rest = u
            .strip_prefix("http://")
            .context("-s3endpoint must be an http:// URL")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let env = |k: &str| std::env::var(k).unwrap_or_default();
        Ok(S3Target {
            base: format!("http://{host}"),
            host: host.to_string(),
            path_prefix: if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            },
            access: env("AWS_ACCESS_KEY_ID"),
            secret: env("AWS_SECRET_ACCESS_KEY"),
            client: reqwest::Client::builder()
                .tcp_nodelay(true)
                .no_proxy()
                .build()
                .context("HTTP client")?,
        })
    }

    fn request(&self, method: &str, bucket: &str, key: &str) -> reqwest::RequestBuilder {
        let path = format!(
            "{}/{bucket}/{}",
            self.path_prefix,
            key.split('/')
                .map(|seg| ais_s3::sigv4::uri_encode(seg.as_bytes()))
                .collect::<Vec<_>>()
                .join("/")
        );
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::HOST,
            http::HeaderValue::from_str(&self.host).expect("host is a valid header"),
        );
        if !self.access.is_empty() {
            ais_s3::sigv4::sign(
                method,
                &path,
                "",
                &mut h,
                ais_s3::sigv4::UNSIGNED_PAYLOAD,
                &self.access,
                &self.secret,
                "us-east-1",
                std::time::SystemTime::now(),
            );
        }
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        self.client
            .request(m, format!("{}{path}", self.base))
            .headers(h)
    }

    async fn put(&self, bucket: &str, key: &str, body: Bytes) -> Result<()> {
        let r = self.request("PUT", bucket, key).body(body).send().await?;
        if !r.status().is_success() {
            bail!("S3 PUT {key}: {}", r.status());
        }
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<u64> {
        let r = self.request("GET", bucket, key).send().await?;
        if !r.status().is_success() {
            bail!("S3 GET {key}: {}", r.status());
        }
        Ok(r.bytes().await?.len() as u64)
    }
}

fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        None => (s, 1u64),
        Some(i) => {
            let m = match s[i..].to_ascii_lowercase().as_str() {
                "b" => 1,
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                u => bail!("invalid size unit {u:?} in {s:?}"),
            };
            (&s[..i], m)
        }
    };
    Ok(num
        .trim()
        .parse::<u64>()
        .with_context(|| format!("invalid size {s:?}"))?
        * mult)
}

fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let n: f64 = s[..split]
        .parse()
        .with_context(|| format!("invalid duration {s:?}"))?;
    let secs = match &s[split..] {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        u => bail!("invalid duration unit {u:?} in {s:?}"),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn parse_args() -> Result<Opts> {
    let mut m: HashMap<String, String> = HashMap::new();
    let mut it = std::env::args().skip(1).peekable();
    const BOOLS: [&str; 3] = ["cleanup", "json", "direct"];
    while let Some(a) = it.next() {
        if matches!(a.as_str(), "-h" | "-help" | "--help") {
            bail!("{USAGE}");
        }
        let f = a
            .strip_prefix("--")
            .or_else(|| a.strip_prefix('-'))
            .with_context(|| format!("unexpected argument {a:?}\n{USAGE}"))?;
        let (k, v) = match f.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None if BOOLS.contains(&f) => (f.to_string(), "true".to_string()),
            None => (
                f.to_string(),
                it.next()
                    .with_context(|| format!("flag -{f} needs a value"))?,
            ),
        };
        m.insert(k, v);
    }
    let get = |k: &str| m.get(k).map(String::as_str);
    let flag = |k: &str| matches!(get(k), Some("true" | "1" | "yes"));
    let endpoint = match (get("endpoint"), get("ip"), get("port")) {
        (Some(e), _, _) => e.trim_end_matches('/').to_string(),
        (None, ip, port) => format!(
            "http://{}:{}",
            ip.unwrap_or("localhost"),
            port.unwrap_or("8080")
        ),
    };
    let s3 = get("s3endpoint").map(S3Target::new).transpose()?;
    let http_get = get("httpget").map(HttpGet::new).transpose()?;
    let objlist = get("objlist").map(read_objlist).transpose()?;
    let bname = match (get("bucket"), &http_get) {
        (Some(b), _) => b,
        // Unused in `-httpget` mode: names the run in the JSON report only.
        (None, Some(_)) => "ais://httpget",
        (None, None) => bail!("-bucket is required\n{USAGE}"),
    };
    // `-bucket=gs://b` or `-bucket=ais://@alias/b` (a remote cluster's); a bare name takes
    // `-provider`.
    let uri = if bname.contains("://") {
        bname.to_string()
    } else {
        format!("{}://{bname}", get("provider").unwrap_or("ais"))
    };
    let bck = match Bck::parse_uri(&uri).map_err(|e| anyhow::anyhow!("{e}"))? {
        (b, "") => b,
        (_, rest) => bail!("-bucket={bname}: a bucket, not an object path (\"{rest}\")"),
    };
    let min = parse_size(get("minsize").unwrap_or("1MiB"))?;
    let max = parse_size(get("maxsize").unwrap_or("1MiB"))?;
    if min > max {
        bail!("-minsize {min} exceeds -maxsize {max}");
    }
    let pct_put: u32 = get("pctput").unwrap_or("0").parse().context("-pctput")?;
    if pct_put > 100 {
        bail!("-pctput must be 0..100");
    }
    if http_get.is_some() {
        if pct_put != 0 {
            bail!("-httpget is GET-only: -pctput must be 0");
        }
        if objlist.is_none() {
            bail!("-httpget needs -objlist=FILE (the names to GET)");
        }
        if s3.is_some() {
            bail!("-httpget and -s3endpoint exclude each other");
        }
    }
    Ok(Opts {
        endpoint,
        bck,
        duration: parse_duration(get("duration").unwrap_or("30s"))?,
        workers: get("numworkers")
            .unwrap_or("10")
            .parse()
            .context("-numworkers")?,
        pct_put,
        min,
        max,
        max_puts: get("maxputs")
            .map(|v| v.parse())
            .transpose()
            .context("-maxputs")?
            .unwrap_or(0),
        total_put: get("totalputsize")
            .map(parse_size)
            .transpose()?
            .unwrap_or(0),
        seed: get("seed")
            .map(|v| v.parse())
            .transpose()
            .context("-seed")?
            .unwrap_or(0),
        stats_every: parse_duration(get("statsinterval").unwrap_or("10s"))?,
        cleanup: flag("cleanup"),
        json: flag("json"),
        direct: flag("direct"),
        s3,
        objlist,
        http_get,
    })
}

/// Counters and latency samples of one operation kind.
#[derive(Default)]
struct OpStats {
    ops: AtomicU64,
    bytes: AtomicU64,
    errs: AtomicU64,
    lat_us: Mutex<Vec<u32>>,
}

impl OpStats {
    fn record(&self, bytes: u64, lat: Duration) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let mut v = self.lat_us.lock().expect("latency lock");
        if v.len() < SAMPLES_MAX {
            v.push(lat.as_micros().min(u32::MAX as u128) as u32);
        }
    }

    fn report(&self, elapsed: Duration) -> serde_json::Value {
        let mut v = self.lat_us.lock().expect("latency lock").clone();
        v.sort_unstable();
        let pct = |p: f64| {
            if v.is_empty() {
                0
            } else {
                v[((v.len() - 1) as f64 * p).round() as usize]
            }
        };
        let ops = self.ops.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64().max(1e-9);
        let avg = if v.is_empty() {
            0
        } else {
            v.iter().map(|x| *x as u64).sum::<u64>() / v.len() as u64
        };
        serde_json::json!({
            "ops": ops, "bytes": bytes, "errors": self.errs.load(Ordering::Relaxed),
            "ops_per_sec": ops as f64 / secs, "mib_per_sec": bytes as f64 / secs / (1 << 20) as f64,
            "latency_us": {"min": v.first().copied().unwrap_or(0), "avg": avg, "max": v.last().copied().unwrap_or(0),
                           "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99)},
        })
    }
}

/// xorshift64*: fast per-worker randomness from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn print_line(label: &str, elapsed: Duration, get: &serde_json::Value, put: &serde_json::Value) {
    let row = |name: &str, s: &serde_json::Value| {
        let l = &s["latency_us"];
        format!(
            "{name} ops {:>8} {:>9.1} op/s {:>9.1} MiB/s  lat(us) min {} avg {} p50 {} p90 {} p99 {} max {}  err {}",
            s["ops"],
            s["ops_per_sec"].as_f64().unwrap_or(0.0),
            s["mib_per_sec"].as_f64().unwrap_or(0.0),
            l["min"],
            l["avg"],
            l["p50"],
            l["p90"],
            l["p99"],
            l["max"],
            s["errors"]
        )
    };
    println!(
        "{label} {:>6.1}s | {} | {}",
        elapsed.as_secs_f64(),
        row("GET", get),
        row("PUT", put)
    );
}

async fn run(o: Opts) -> Result<bool> {
    let c = Client::new(&o.endpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
    let created = if o.http_get.is_some() {
        false // no AIS cluster in `-httpget` mode
    } else {
        match c.head_bucket(&o.bck).await {
            Ok(_) => false,
            Err(e) if e.status() == Some(404) => {
                c.create_bucket(&o.bck)
                    .await
                    .map_err(|e| anyhow::anyhow!("create {}: {e}", o.bck))?;
                true
            }
            Err(e) => bail!("bucket {}: {e}", o.bck),
        }
    };
    let mut names: Vec<String> = if let Some(list) = o.objlist.clone() {
        list
    } else if o.pct_put < 100 {
        c.list_objects_all(&o.bck, "", "name")
            .await
            .map_err(|e| anyhow::anyhow!("list {}: {e}", o.bck))?
            .into_iter()
            .map(|e| e.name)
            .collect()
    } else {
        Vec::new()
    };
    let seed = if o.seed == 0 {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("random seed: {e}"))?;
        u64::from_le_bytes(b) | 1
    } else {
        o.seed
    };
    // One random payload, sliced per PUT: no per-request allocation or copy.
    let mut payload = vec![0u8; o.max as usize];
    let mut r = Rng(seed);
    for ch in payload.chunks_mut(8) {
        let x = r.next().to_le_bytes();
        ch.copy_from_slice(&x[..ch.len()]);
    }
    let payload = Bytes::from(payload);
    if names.is_empty() && o.pct_put < 100 {
        // Nothing to read: put some first (as the original does for GET workloads).
        let n = (o.workers * 4).max(16);
        for i in 0..n {
            let name = format!("aisloader/{seed:x}/warm-{i}");
            c.put_object(&o.bck, &name, payload.slice(..o.max as usize), None)
                .await
                .map_err(|e| anyhow::anyhow!("PUT {name}: {e}"))?;
            names.push(name);
        }
    }
    let names = Arc::new(tokio::sync::RwLock::new(names));
    let (get, put) = (Arc::new(OpStats::default()), Arc::new(OpStats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (puts_done, put_bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let written = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..o.workers {
        let (c, bck, names, get, put, stop) = (
            c.clone(),
            o.bck.clone(),
            names.clone(),
            get.clone(),
            put.clone(),
            stop.clone(),
        );
        let (puts_done, put_bytes, written, payload) = (
            puts_done.clone(),
            put_bytes.clone(),
            written.clone(),
            payload.clone(),
        );
        let (pct, min, max, max_puts, total_put, direct) =
            (o.pct_put, o.min, o.max, o.max_puts, o.total_put, o.direct);
        let s3 = o.s3.clone();
        let http_get = o.http_get.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = Rng((seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if (r.next() % 100) < pct as u64 {
                    let size = if max == min {
                        min
                    } else {
                        min + r.next() % (max - min + 1)
                    };
                    let name = format!("aisloader/{seed:x}/{w}-{i}");
                    i += 1;
                    let t = Instant::now();
                    let body = payload.slice(..size as usize);
                    let res = match &s3 {
                        Some(s3) => s3.put(&bck.name, &name, body).await,
                        None => c
                            .put_object(&bck, &name, body, None)
                            .await
                            .map(|_| ())
                            .map_err(|e| anyhow::anyhow!("{e}")),
                    };
                    match res {
                        Ok(_) => {
                            put.record(size, t.elapsed());
                            names.write().await.push(name.clone());
                            written.lock().expect("written lock").push(name);
                            let n = puts_done.fetch_add(1, Ordering::Relaxed) + 1;
                            let b = put_bytes.fetch_add(size, Ordering::Relaxed) + size;
                            if (max_puts > 0 && n >= max_puts) || (total_put > 0 && b >= total_put)
                            {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            if put.errs.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("aisloader: first PUT error: {e:#}");
                            }
                        }
                    }
                } else {
                    let name = {
                        let v = names.read().await;
                        if v.is_empty() {
                            continue;
                        }
                        v[(r.next() % v.len() as u64) as usize].clone()
                    };
                    let t = Instant::now();
                    let res = match (&s3, &http_get) {
                        (_, Some(h)) => h.get(&name).await,
                        (Some(s3), None) => s3.get(&bck.name, &name).await,
                        (None, None) if direct => c
                            .get_object_direct(&bck, &name, None)
                            .await
                            .map(|(_, b)| b.len() as u64)
                            .map_err(|e| anyhow::anyhow!("{e}")),
                        (None, None) => c
                            .get_object(&bck, &name, None)
                            .await
                            .map(|(_, b)| b.len() as u64)
                            .map_err(|e| anyhow::anyhow!("{e}")),
                    };
                    match res {
                        Ok(n) => get.record(n, t.elapsed()),
                        Err(e) => {
                            if get.errs.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("aisloader: first GET error: {e:#}");
                            }
                        }
                    }
                }
            }
        }));
    }
    let mut last = Instant::now();
    while t0.elapsed() < o.duration && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50).min(o.duration.saturating_sub(t0.elapsed())))
            .await;
        if !o.json && last.elapsed() >= o.stats_every {
            last = Instant::now();
            print_line(
                "...",
                t0.elapsed(),
                &get.report(t0.elapsed()),
                &put.report(t0.elapsed()),
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.context("a worker failed")?;
    }
    let elapsed = t0.elapsed();
    let (g, p) = (get.report(elapsed), put.report(elapsed));
    if o.json {
        println!(
            "{}",
            serde_json::json!({"endpoint": o.http_get.as_ref().map_or(o.endpoint.as_str(), |h| h.base.as_str()), "bucket": o.bck.cname(), "workers": o.workers, "duration_sec": elapsed.as_secs_f64(), "get": g, "put": p})
        );
    } else {
        print_line("total", elapsed, &g, &p);
    }
    if o.cleanup {
        if created {
            c.destroy_bucket(&o.bck)
                .await
                .map_err(|e| anyhow::anyhow!("cleanup: {e}"))?;
        } else {
            let names: Vec<String> = written.lock().expect("written lock").clone();
            for n in names {
                let _ = c.delete_object(&o.bck, &n).await;
            }
        }
    }
    let errors = g["errors"].as_u64().unwrap_or(0) + p["errors"].as_u64().unwrap_or(0);
    Ok(errors == 0)
}

fn main() -> std::process::ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("aisloader: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aisloader: runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(opts)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("aisloader: some requests failed (see errors above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("aisloader: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("16KiB").unwrap(), 16 << 10);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("1XB").is_err());
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("5x").is_err());
    }
}
