//! Global rebalance on a dedicated 1-proxy / 3-target cluster: a client GETs continuously (and
//! verifies bytes) while a 4th target joins and while a target is decommissioned. Zero failed
//! GETs; afterwards every object is at its HRW owner and exactly one copy exists on disk.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{Cluster, data, wait_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: usize = 10_000;

fn size(i: usize) -> usize {
    1 + (i * 7919) % 4096
}

fn obj(i: usize) -> String {
    format!("d{}/obj-{i:05}", i % 10)
}

/// Files under every mountpath of every target for the bucket.
fn files_on_disk(cl: &Cluster, bck: &str) -> usize {
    let mut n = 0;
    for node in cl.nodes().iter().filter(|n| n.name.starts_with("target")) {
        for mp in std::fs::read_dir(&node.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("mp"))
        {
            n += ais_e2e::count_files(&mp.path().join("@ais").join(bck).join("%ob"));
        }
    }
    n
}

/// Every object at its HRW owner and exactly one copy of each on disk (`what`: the step).
async fn settled(c: &Client, cl: &Cluster, bck: &Bck, what: &str) {
    all_at_owner(c, bck).await;
    assert_eq!(
        files_on_disk(cl, "reb"),
        N,
        "{what}: exactly one copy of each object"
    );
}

/// Whether no object of `bck` is listed on target `sid`.
async fn none_on(c: &Client, bck: &Bck, sid: &str) -> bool {
    let ents = c.list_objects_all(bck, "", "name,location").await.unwrap();
    ents.iter().all(|e| !e.location.contains(sid))
}

/// Checks every object is where HRW says, via HEAD location.
async fn all_at_owner(c: &Client, bck: &Bck) {
    let smap = c.smap().await.unwrap();
    let ents = c.list_objects_all(bck, "", "name,location").await.unwrap();
    assert_eq!(ents.len(), N);
    for e in &ents {
        let owner = smap.hrw_target(&bck.uname(&e.name)).unwrap();
        assert!(
            e.location.starts_with(&format!("t[{}]", owner.daemon_id)),
            "{} at {} but HRW owner is {}",
            e.name,
            e.location,
            owner.daemon_id
        );
    }
}

struct Reader {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

fn start_reader(c: Client, bck: Bck) -> Reader {
    let (stop, ok, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
    let task = tokio::spawn(async move {
        let mut errs = Vec::new();
        let mut i = 0usize;
        while !s.load(Ordering::Relaxed) {
            let futs = (0..8).map(|k| {
                let j = (i * 8 + k) * 7 % N;
                let (c, bck) = (c.clone(), bck.clone());
                async move {
                    // One in four is a HEAD (checks the size), the rest GETs (check the bytes).
                    let r = if k % 4 == 0 {
                        c.head_object(&bck, &obj(j), "name,size")
                            .await
                            .and_then(|h| {
                                if h.size as usize == size(j) {
                                    Ok(())
                                } else {
                                    Err(ais_api::Error::Decode(format!(
                                        "size {} != {}",
                                        h.size,
                                        size(j)
                                    )))
                                }
                            })
                    } else {
                        c.get_object(&bck, &obj(j), None).await.and_then(|(_, b)| {
                            if b[..] == data(j as u64, size(j))[..] {
                                Ok(())
                            } else {
                                Err(ais_api::Error::Decode("wrong bytes".into()))
                            }
                        })
                    };
                    (j, r)
                }
            });
            for (j, r) in futures_util::future::join_all(futs).await {
                match r {
                    Ok(()) => {
                        o.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        f.fetch_add(1, Ordering::Relaxed);
                        if errs.len() < 10 {
                            errs.push(format!("{}: {e}", obj(j)));
                        }
                    }
                }
            }
            i += 1;
        }
        errs
    });
    Reader {
        stop,
        ok,
        failed,
        task,
    }
}

impl Reader {
    async fn finish(self) -> (u64, u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let errs = self.task.await.unwrap();
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            errs,
        )
    }
}

async fn rebalance_id_after(c: &Client, ep: &str, min_version: i64) -> String {
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let r = reqwest::Client::new()
                .get(format!("{ep}/v1/cluster?what=status_all"))
                .json(&serde_json::json!({"kind": "rebalance"}))
                .send()
                .await
                .ok()?;
            let v: Vec<ais_core::wire::JobStatus> = r.json().await.ok()?;
            v.into_iter()
                .filter_map(|j| {
                    j.uuid
                        .strip_prefix('g')
                        .and_then(|n| n.parse::<i64>().ok())
                        .map(|n| (n, j.uuid.clone()))
                })
                .filter(|(n, _)| *n >= min_version)
                .max()
                .map(|(_, id)| id)
        },
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "no rebalance job after Smap v{min_version} ({})",
            c.endpoint()
        )
    })
}

#[allow(clippy::print_stderr)] // figures for the report
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rebalance_under_load() {
    let cl = Cluster::deploy_with(1, 3, "reb").expect("deploy 1 proxy + 3 targets");
    let ep = cl.node("proxy-0").url();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new("reb", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let t = Instant::now();
    ais_e2e::put_many(&c, &bck, N, obj, size).await;
    eprintln!("FIGURE put {N} objects: {:?}", t.elapsed());
    assert_eq!(files_on_disk(&cl, "reb"), N);

    // 1. A 4th target joins while a client reads.
    let reader = start_reader(c.clone(), bck.clone());
    tokio::time::sleep(Duration::from_millis(300)).await; // let reads start before the change
    let v0 = c.smap().await.unwrap().version;
    cl.join("target").expect("join a 4th target");
    let id = rebalance_id_after(&c, &ep, v0 + 1).await;
    let t = Instant::now();
    let st = c.wait_job(&id, Duration::from_secs(300)).await.unwrap();
    eprintln!(
        "FIGURE rebalance {id} onto a 4th target ({N} objects): {:?} after its start was seen",
        t.elapsed()
    );
    assert!(st.err.is_empty() && !st.aborted, "{st:?}");
    let (ok, failed, errs) = reader.finish().await;
    assert_eq!(failed, 0, "GETs failed during rebalance: {errs:?}");
    assert!(ok > 100, "reader made only {ok} GETs");
    assert_eq!(c.smap().await.unwrap().tmap.len(), 4);
    settled(&c, &cl, &bck, "a 4th target").await;
    // The moves show in the targets' metrics: as many objects received as sent.
    let (mut sent, mut received) = (0.0, 0.0);
    for t in c.smap().await.unwrap().tmap.values() {
        let text = reqwest::get(format!("{}/metrics", t.public_net.direct_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let v = || line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap();
            if line.starts_with("ais_target_stream_out_count{") {
                sent += v();
            } else if line.starts_with("ais_target_stream_in_count{") {
                received += v();
            }
        }
    }
    assert!(
        sent > 0.0 && sent == received,
        "stream counters: sent {sent}, received {received}"
    );

    // The official SDK sees the same job.
    if let Ok(py) = std::env::var("AIS_PYTHON") {
        let out = std::process::Command::new(py)
            .args(["-c", "import sys; from aistore.sdk import Client; s=Client(sys.argv[1]).job(sys.argv[2]).status(); print(s.end_time > 0, s.err == '', s.aborted)", &ep, &id])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "True True False",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A node action (`PUT /v1/cluster`); its reply body (the rebalance id, if it started one).
    let node_action = |action: &'static str, sid: String| {
        let ep = ep.clone();
        async move {
            let r = reqwest::Client::new()
                .put(format!("{ep}/v1/cluster"))
                .json(&serde_json::json!({"action": action, "name": "", "value": {"sid": sid}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{action}");
            r.text().await.unwrap()
        }
    };

    // 1b. An interrupted rebalance: aborted right after it starts (`ais stop rebalance`), then
    //     started again with the SDK's `Job.start()`: reads never fail meanwhile, and the
    //     restarted one puts every object at its owner. The SDK reports both as they went.
    {
        let py = std::env::var("AIS_PYTHON").expect("AIS_PYTHON (run with `cargo xtask test`)");
        let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN (run with `cargo xtask test`)");
        let smap = c.smap().await.unwrap();
        let maint = smap.tmap.keys().nth(1).unwrap().clone();
        let reader = start_reader(c.clone(), bck.clone());
        let aborted_id = node_action("start-maintenance", maint.clone()).await;
        assert!(aborted_id.starts_with('g'), "{aborted_id:?}");
        let out = std::process::Command::new(&cli)
            .args(["stop", "rebalance"])
            .env("AIS_ENDPOINT", &ep)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let st = c
            .wait_job(&aborted_id, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(st.aborted, "the rebalance was not aborted: {st:?}");
        let left = c
            .list_objects_all(&bck, "", "name,location")
            .await
            .unwrap()
            .iter()
            .filter(|e| e.location.contains(&maint))
            .count();
        eprintln!(
            "FIGURE rebalance {aborted_id} aborted with {left} objects still on the target in maintenance"
        );
        let sdk = r#"
import sys
from aistore.sdk import Client
c = Client(sys.argv[1])
old = c.job(sys.argv[2]).status()
new = c.job(job_kind="rebalance").start()
c.job(new).wait(timeout=300)
s = c.job(new).status()
print(old.aborted, new != sys.argv[2], s.end_time > 0, s.err == "", s.aborted, new)
"#;
        let out = std::process::Command::new(&py)
            .args(["-c", sdk, &ep, &aborted_id])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(
            f.get(..5),
            Some(&["True", "True", "True", "True", "False"][..]),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let restarted = f[5].to_string();
        assert!(restarted.starts_with('g'), "{restarted}");
        let (ok, failed, errs) = reader.finish().await;
        assert_eq!(
            failed, 0,
            "GETs failed around the aborted rebalance: {errs:?}"
        );
        assert!(ok > 0);
        settled(&c, &cl, &bck, "aborted, then started again").await;
        assert!(
            none_on(&c, &bck, &maint).await,
            "objects left on a target in maintenance after {restarted}"
        );
        // Back in service: a rebalance (not aborted) moves its share back.
        let v0 = c.smap().await.unwrap().version;
        node_action("stop-maintenance", maint.clone()).await;
        let id = rebalance_id_after(&c, &ep, v0 + 1).await;
        let st = c.wait_job(&id, Duration::from_secs(300)).await.unwrap();
        assert!(st.err.is_empty() && !st.aborted, "{st:?}");
        all_at_owner(&c, &bck).await;
    }

    // 1c. A rebalance interrupted by a restart resumes on its own: aborted right away, the
    //     target in maintenance is shut down and started again, and moves its objects off
    //     without anyone starting a rebalance (its marker names the unfinished one).
    {
        let smap = c.smap().await.unwrap();
        let y = smap.tmap.values().nth(2).unwrap().clone();
        let ynode = cl
            .nodes()
            .into_iter()
            .find(|n| {
                n.name.starts_with("target")
                    && y.public_net.direct_url.ends_with(&format!(":{}", n.port()))
            })
            .expect("the node directory of a target");
        // (`None` while a listing cannot reach every target: the restarted one is starting.)
        let on_y = || async {
            let ents = c.list_objects_all(&bck, "", "name,location").await.ok()?;
            Some(
                ents.iter()
                    .filter(|e| e.location.contains(&y.daemon_id))
                    .count(),
            )
        };
        let id = node_action("start-maintenance", y.daemon_id.clone()).await;
        let r = reqwest::Client::new()
            .put(format!("{ep}/v1/cluster"))
            .json(&serde_json::json!({"action": "stop", "name": "", "value": {"ID": id}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let st = c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
        assert!(st.aborted, "{st:?}");
        let left = on_y().await.expect("listing");
        assert!(left > 0, "the aborted {id} moved everything off already");
        node_action("shutdown-node", y.daemon_id.clone()).await;
        assert!(
            ynode.wait_gone(Duration::from_secs(30)).await,
            "the target shut down"
        );
        ynode.restart().expect("restart the target");
        wait_for(
            Duration::from_secs(120),
            Duration::from_millis(200),
            || async { (on_y().await? == 0).then_some(()) },
        )
        .await
        .unwrap_or_else(|| panic!("{} objects still on the restarted target", left));
        settled(&c, &cl, &bck, "resumed by a restart").await;
        eprintln!(
            "FIGURE rebalance {id}: aborted with {left} objects on a target, resumed by its restart"
        );
        let v0 = c.smap().await.unwrap().version;
        node_action("stop-maintenance", y.daemon_id.clone()).await;
        let id = rebalance_id_after(&c, &ep, v0 + 1).await;
        let st = c.wait_job(&id, Duration::from_secs(300)).await.unwrap();
        assert!(st.err.is_empty() && !st.aborted, "{st:?}");
        all_at_owner(&c, &bck).await;
    }

    // 2. Maintenance: the target's objects move off while a client reads; back on stop.
    let smap = c.smap().await.unwrap();
    let maint = smap.tmap.keys().last().unwrap().clone();
    for action in ["start-maintenance", "stop-maintenance"] {
        let reader = start_reader(c.clone(), bck.clone());
        let v0 = c.smap().await.unwrap().version;
        node_action(action, maint.clone()).await;
        let id = rebalance_id_after(&c, &ep, v0 + 1).await;
        let st = c.wait_job(&id, Duration::from_secs(300)).await.unwrap();
        assert!(st.err.is_empty(), "{action}: {st:?}");
        let (ok, failed, errs) = reader.finish().await;
        assert_eq!(
            failed, 0,
            "{action}: GETs failed during rebalance: {errs:?}"
        );
        assert!(ok > 0);
        settled(&c, &cl, &bck, action).await;
        if action == "start-maintenance" {
            assert!(
                none_on(&c, &bck, &maint).await,
                "objects left on a target in maintenance"
            );
        }
    }

    // 3. Decommission a target (its data moves off first) while a client reads.
    let reader = start_reader(c.clone(), bck.clone());
    let smap = c.smap().await.unwrap();
    let victim = smap.tmap.keys().next().unwrap().clone();
    let r = reqwest::Client::new()
        .put(format!("{ep}/v1/cluster"))
        .json(&serde_json::json!({"action": "decommission-node", "name": "", "value": {"sid": victim}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let rid = r.text().await.unwrap();
    assert!(
        rid.starts_with('g'),
        "decommission returns the rebalance id, got {rid:?}"
    );
    let st = c.wait_job(&rid, Duration::from_secs(300)).await.unwrap();
    assert!(st.err.is_empty(), "{st:?}");
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            c.smap()
                .await
                .ok()
                .filter(|s| !s.tmap.contains_key(&victim))
                .map(|_| ())
        },
    )
    .await
    .expect("decommissioned target leaves the map");
    let (ok, failed, errs) = reader.finish().await;
    assert_eq!(failed, 0, "GETs failed during decommission: {errs:?}");
    assert!(ok > 100);
    all_at_owner(&c, &bck).await;
    for i in (0..N).step_by(97) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert_eq!(b[..], data(i as u64, size(i))[..]);
    }

    // 4. The primary dies (kill -9) right after a rebalance starts and comes back: it takes
    //    over the job from the targets — the SDK's wait and `ais show job` see it to its end.
    let smap = c.smap().await.unwrap();
    let maint = smap.tmap.keys().next().unwrap().clone();
    let v0 = smap.version;
    node_action("start-maintenance", maint.clone()).await;
    let id = rebalance_id_after(&c, &ep, v0 + 1).await;
    let proxy = cl.node("proxy-0");
    proxy.kill9();
    assert!(
        proxy.wait_gone(Duration::from_secs(10)).await,
        "the primary is gone"
    );
    proxy.restart().expect("restart the primary");
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { c.health(true).await.ok() },
    )
    .await
    .expect("the restarted primary serves again");
    let st = c.wait_job(&id, Duration::from_secs(300)).await.unwrap();
    assert!(
        st.err.is_empty() && !st.aborted && st.end_time > 0,
        "{st:?}"
    );
    settled(&c, &cl, &bck, "after the primary restart").await;
    assert!(none_on(&c, &bck, &maint).await);
    // Per-target detail: every target's row, the objects it moved adding up.
    let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN (run with `cargo xtask test`)");
    let out = std::process::Command::new(&cli)
        .args(["show", "job", &id])
        .env("AIS_ENDPOINT", &ep)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), smap.tmap.len(), "one row per target:\n{text}");
    let moved: i64 = rows.iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
    assert!(
        rows.iter()
            .all(|r| r[0] == id && r[1] == "rebalance" && r[8] == "finished"),
        "{text}"
    );
    assert!(moved > 0, "{text}");
    eprintln!("FIGURE rebalance {id} across a primary restart: {moved} objects moved");
}

/// Seconds since midnight of an RFC 3339 time (`…THH:MM:SS.fffZ`).
fn day_secs(t: &str) -> f64 {
    let hms = t.split_once('T').unwrap().1.trim_end_matches('Z');
    let hms = hms.split(['+', '-']).next().unwrap();
    let mut p = hms.split(':');
    let h: f64 = p.next().unwrap().parse().unwrap();
    let m: f64 = p.next().unwrap().parse().unwrap();
    let s: f64 = p.next().unwrap().parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

/// utime+stime of the cluster's `aisnode` processes, seconds.
fn cluster_cpu(cl: &Cluster) -> f64 {
    let pids: Vec<u32> = cl.nodes().iter().filter_map(|n| n.pid()).collect();
    ais_e2e::cpu_seconds(&pids)
}

/// Figures for issue #4 (a measurement, not a test: nothing is asserted about them): 10,000 ×
/// 64 KiB objects on 1 proxy + 3 targets, a 4th target joins; the rebalance's wall time (earliest
/// start to latest end of the targets' parts, as `qryxstats` reports them per target), MiB/s of
/// the objects moved, and the server CPU per object moved. Run with release binaries:
///
/// ```sh
/// cargo build --profile perf -p aisnode
/// AISNODE_BIN=$PWD/target/perf/aisnode \
///   cargo xtask test -p ais-e2e --test it rebalance::rebalance_figures -- --ignored --nocapture
/// ```
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement: run by hand with release binaries"]
#[allow(clippy::print_stderr)]
async fn rebalance_figures() {
    const SIZE: usize = 64 << 10;
    let cl = Cluster::deploy_with(1, 3, "reb-fig").expect("deploy 1 proxy + 3 targets");
    let ep = cl.node("proxy-0").url();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new("rebfig", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    ais_e2e::put_many(&c, &bck, N, obj, |_| SIZE).await;
    let v0 = c.smap().await.unwrap().version;
    let cpu0 = cluster_cpu(&cl);
    cl.join("target").expect("join a 4th target");
    let id = rebalance_id_after(&c, &ep, v0 + 1).await;
    let st = c.wait_job(&id, Duration::from_secs(600)).await.unwrap();
    let cpu = cluster_cpu(&cl) - cpu0;
    assert!(st.err.is_empty() && !st.aborted, "{st:?}");
    let r = reqwest::Client::new()
        .get(format!("{ep}/v1/cluster?what=qryxstats"))
        .json(&serde_json::json!({"id": id}))
        .send()
        .await
        .unwrap();
    let snaps: std::collections::BTreeMap<String, Vec<ais_core::wire::JobSnap>> =
        r.json().await.unwrap();
    let snaps: Vec<&ais_core::wire::JobSnap> = snaps.values().flatten().collect();
    let start = snaps
        .iter()
        .map(|s| day_secs(&s.start_time))
        .fold(f64::MAX, f64::min);
    let end = snaps
        .iter()
        .map(|s| day_secs(&s.end_time))
        .fold(0.0, f64::max);
    let objs: i64 = snaps.iter().map(|s| s.stats.out_objs).sum();
    let bytes: i64 = snaps.iter().map(|s| s.stats.out_bytes).sum();
    let wall = if end >= start {
        end - start
    } else {
        end + 86_400.0 - start
    };
    eprintln!(
        "FIGURE rebalance {id}: {objs} objects, {:.1} MiB moved onto a 4th target in {wall:.2} s = {:.0} MiB/s; server CPU {:.0} us per object moved",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / wall,
        cpu / objs as f64 * 1e6
    );
    all_at_owner(&c, &bck).await;
}
