//! Observability on a dedicated 1-proxy / 1-target cluster (so counter deltas are exact):
//! `/metrics` counters move by the traffic sent, `/debug/vars` and `node_status` agree, StatsD
//! export, runtime log level, and a real Prometheus server scraping the nodes.

use ais_api::Client;
use ais_core::{Bck, Cksum, CksumType, Provider};
use ais_e2e::{Cluster, wait_for};
use bytes::Bytes;
use std::collections::HashMap;
use std::time::Duration;

/// Sums every series of each metric name in a Prometheus text exposition.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("metric line: series value");
        let name = series.split('{').next().unwrap().to_string();
        *m.entry(name).or_insert(0.0) += value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
    }
    m
}

async fn scrape(url: &str) -> HashMap<String, f64> {
    let r = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    parse(&r.text().await.unwrap())
}

fn delta(a: &HashMap<String, f64>, b: &HashMap<String, f64>, k: &str) -> f64 {
    b.get(k).copied().unwrap_or(0.0) - a.get(k).copied().unwrap_or(0.0)
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_statsd_logs_prometheus() {
    let cl = Cluster::deploy_with(1, 1, "obs").expect("deploy 1 proxy + 1 target");
    let (p, t) = (cl.node("proxy-0").url(), cl.node("target-0").url());
    let c = Client::new(&p).unwrap();
    let bck = Bck::new("metrics", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();

    let (t0, p0) = (scrape(&t).await, scrape(&p).await);
    for i in 0..10 {
        c.put_object(&bck, &format!("o{i}"), Bytes::from(vec![7u8; 1000]), None)
            .await
            .unwrap();
    }
    for i in 0..15 {
        c.get_object(&bck, &format!("o{}", i % 10), None)
            .await
            .unwrap();
    }
    for i in 0..3 {
        assert_eq!(
            c.get_object(&bck, &format!("missing{i}"), None)
                .await
                .unwrap_err()
                .status(),
            Some(404)
        );
    }
    for i in 0..2 {
        c.head_object(&bck, &format!("o{i}"), "name,size")
            .await
            .unwrap();
    }
    c.delete_object(&bck, "o9").await.unwrap();
    assert_eq!(c.list_objects_all(&bck, "", "name").await.unwrap().len(), 9);
    let bad = Cksum {
        ty: CksumType::Xxhash,
        value: "0000000000000000".into(),
    };
    assert!(
        c.put_object(&bck, "bad", Bytes::from_static(b"x"), Some(&bad))
            .await
            .is_err()
    );
    let (t1, p1) = (scrape(&t).await, scrape(&p).await);

    let want_t = [
        ("ais_target_put_count", 10.0),
        ("ais_target_put_bytes", 10_000.0),
        ("ais_target_get_count", 15.0),
        ("ais_target_get_bytes", 15_000.0),
        ("ais_target_err_get_count", 3.0),
        ("ais_target_head_count", 2.0),
        ("ais_target_del_count", 1.0),
        ("ais_target_lst_count", 1.0),
        ("ais_target_err_put_count", 1.0),
        ("ais_target_err_cksum_count", 1.0),
    ];
    for (k, v) in want_t {
        assert_eq!(delta(&t0, &t1, k), v, "{k}");
    }
    assert!(delta(&t0, &t1, "ais_target_get_ns_total") > 0.0);
    assert!(delta(&t0, &t1, "ais_target_put_ns_total") > 0.0);
    for (k, v) in [
        ("ais_proxy_get_count", 18.0),
        ("ais_proxy_put_count", 11.0),
        ("ais_proxy_head_count", 2.0),
        ("ais_proxy_del_count", 1.0),
        ("ais_proxy_lst_count", 1.0),
    ] {
        assert_eq!(delta(&p0, &p1, k), v, "{k}");
    }
    assert_eq!(t1["ais_target_state_flags"], 6.0);
    assert!(t1["ais_target_capacity_avail"] > 0.0);
    assert!(t1["ais_target_mem_rss_bytes"] > 0.0);

    // /debug/vars and node_status (what `ais show performance` reads) agree with /metrics.
    let dv: serde_json::Value = reqwest::get(format!("{t}/debug/vars"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        dv["stats"]["get.n"].as_f64().unwrap(),
        t1["ais_target_get_count"]
    );
    assert!(dv["latency_avg_ns"]["get"].as_i64().unwrap() > 0);
    assert!(dv["runtime"]["alive_tasks"].as_u64().is_some());
    let tid = c.smap().await.unwrap().tmap.keys().next().unwrap().clone();
    let ns: serde_json::Value = reqwest::Client::new()
        .get(format!("{p}/v1/reverse/daemon?what=node_status"))
        .header("Ais-Node-Id", &tid)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ns["tracker"]["put.size"]["v"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        t1["ais_target_put_bytes"]
    );

    // StatsD: enabled at runtime through the cluster config.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let port = udp.local_addr().unwrap().port();
    let set = |q: String| {
        let p = p.clone();
        async move {
            reqwest::Client::new()
                .put(format!("{p}/v1/cluster/set-config?{q}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        set(format!(
            "statsd.enabled=true&statsd.port={port}&statsd.interval_ms=200"
        ))
        .await,
        200
    );
    let mut got = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline
        && !(got.contains(&format!("aistarget{tid}.get.n:")) && got.contains("state.flags:6|g"))
    {
        let mut buf = [0u8; 2048];
        if let Ok(n) = udp.recv(&mut buf) {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(
        got.contains(&format!("aistarget{tid}.get.n:")),
        "no StatsD counter from the target: {got}"
    );
    assert!(got.contains("state.flags:6|g"), "no StatsD gauge: {got}");
    assert_eq!(set("statsd.enabled=false".into()).await, 200);
    assert_eq!(set("no.such.key=1".into()).await, 400);

    // Log level at runtime: debug lines appear in the node's rotated log file.
    let logdir = cl.node("target-0").dir.join("log");
    let debug_lines = || {
        std::fs::read_dir(&logdir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("aisnode.2"))
            .map(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .matches(" DEBUG ")
                    .count()
            })
            .sum::<usize>()
    };
    assert_eq!(debug_lines(), 0, "info level logs no debug lines");
    assert_eq!(set("log.level=debug".into()).await, 200);
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            let _ = c.get_object(&bck, "missing-x", None).await;
            (debug_lines() > 0).then_some(())
        },
    )
    .await
    .expect("debug lines after log.level=debug");
    assert_eq!(set("log.level=info".into()).await, 200);

    // A real Prometheus server scrapes both nodes; its query API returns our series.
    let prom = which("prometheus").expect(
        "prometheus not installed: run `cargo xtask test` (it installs the Debian package)",
    );
    let dir = cl.dir.join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let ports: Vec<String> = [&p, &t]
        .iter()
        .map(|u| u.trim_start_matches("http://").to_string())
        .collect();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ais\n    static_configs:\n      - targets: [\"{}\", \"{}\"]\n", ports[0], ports[1]),
    )
    .unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pport = listen.local_addr().unwrap().port();
    drop(listen);
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prom = KillOnDrop(
        std::process::Command::new(prom)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let want = scrape(&t).await["ais_target_get_count"];
    let q = format!("http://127.0.0.1:{pport}/api/v1/query?query=ais_target_get_count");
    let v = wait_for(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let r: serde_json::Value = reqwest::get(&q).await.ok()?.json().await.ok()?;
            let res = r["data"]["result"].as_array()?.first()?.clone();
            let v: f64 = res["value"][1].as_str()?.parse().ok()?;
            (v == want).then_some(res)
        },
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "Prometheus did not return ais_target_get_count={want}; log:\n{}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        )
    });
    assert_eq!(v["metric"]["node_id"].as_str(), Some(tid.as_str()));
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(cmd))
        .find(|p| p.is_file())
}
