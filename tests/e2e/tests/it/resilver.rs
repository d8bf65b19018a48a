//! Mountpath admin and resilver on a dedicated 1-proxy / 1-target cluster with 3 mountpaths:
//! detach one and attach it back while a client reads; zero failed reads; afterwards every object
//! is on its HRW mountpath and the detached one holds nothing.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{Cluster, data, wait_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const N: usize = 3000;

fn obj(i: usize) -> String {
    format!("r{}/o-{i:05}", i % 7)
}

fn size(i: usize) -> usize {
    1 + (i * 131) % 3000
}

/// A mountpath action through the proxy (`query`: e.g. `dntres=true`); status and body (the
/// resilver job's id).
async fn mp_request(
    ep: &str,
    tid: &str,
    method: reqwest::Method,
    action: &str,
    mp: &str,
    query: &str,
) -> (u16, String) {
    let r = reqwest::Client::new()
        .request(method, format!("{ep}/v1/reverse/daemon/mountpaths?{query}"))
        .header("Ais-Node-Id", tid)
        .json(&serde_json::json!({"action": action, "name": "", "value": mp}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn mp_action(ep: &str, tid: &str, method: reqwest::Method, action: &str, mp: &str) -> u16 {
    mp_request(ep, tid, method, action, mp, "").await.0
}

/// Objects a job moved, from `ais show job ID --json` (the CLI over `qryxstats`).
fn job_objects(ep: &str, id: &str) -> i64 {
    let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN (run with `cargo xtask test`)");
    let out = std::process::Command::new(cli)
        .args(["--json", "show", "job", id])
        .env("AIS_ENDPOINT", ep)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_object()
        .unwrap()
        .values()
        .flat_map(|snaps| snaps.as_array().unwrap())
        .filter(|s| s["id"] == id)
        .map(|s| {
            s["stats"]["loc-objs"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum()
}

async fn mountpaths(ep: &str, tid: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{ep}/v1/reverse/daemon?what=mountpaths"))
        .header("Ais-Node-Id", tid)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every object on its HRW mountpath (HEAD location = `t[ID]:<mountpath>`).
async fn all_on_hrw_mountpath(c: &Client, bck: &Bck, avail: &[String]) {
    let digests: Vec<u64> = avail
        .iter()
        .map(|p| ais_placement::digest(p.as_bytes()))
        .collect();
    for i in (0..N).step_by(7) {
        let h = c.head_object(bck, &obj(i), "location").await.unwrap();
        let want = &avail[ais_placement::hrw_max(
            ais_placement::digest(bck.uname(&obj(i)).as_bytes()),
            digests.iter().copied(),
        )
        .unwrap()];
        assert!(
            h.location.ends_with(&format!(":{want}")),
            "{} at {} but HRW mountpath is {want}",
            obj(i),
            h.location
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn detach_attach_resilver_under_load() {
    let cl = Cluster::deploy_with(1, 1, "res").expect("deploy 1 proxy + 1 target");
    let ep = cl.node("proxy-0").url();
    let c = Client::new(&ep).unwrap();
    let tid = c.smap().await.unwrap().tmap.keys().next().unwrap().clone();
    let bck = Bck::new("res", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    ais_e2e::put_many(&c, &bck, N, obj, size).await;
    let mps = mountpaths(&ep, &tid).await;
    let all: Vec<String> = mps["available"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 2, "the fixture deploys 2 mountpaths per target");
    let victim = all[1].clone();

    // A reader runs through both changes.
    let (stop, failed, ok) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let reader = {
        let (c, bck, stop, failed, ok) = (
            c.clone(),
            bck.clone(),
            stop.clone(),
            failed.clone(),
            ok.clone(),
        );
        tokio::spawn(async move {
            let mut errs = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let j = (i * 13) % N;
                match c.get_object(&bck, &obj(j), None).await {
                    Ok((_, b)) if b[..] == data(j as u64, size(j))[..] => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    r => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if errs.len() < 10 {
                            errs.push(format!("{}: {:?}", obj(j), r.err()));
                        }
                    }
                }
                i += 1;
            }
            errs
        })
    };

    // Detach: the mountpath is drained, then let go, by a resilver job.
    let victim_objs = cl
        .node("target-0")
        .dir
        .join(std::path::Path::new(&victim).file_name().unwrap())
        .join("@ais/res/%ob");
    let on_victim = ais_e2e::count_files(&victim_objs);
    assert!(on_victim > N / 4, "{on_victim} objects on {victim}");
    let (st, id) = mp_request(&ep, &tid, reqwest::Method::DELETE, "detach-mp", &victim, "").await;
    assert_eq!(st, 200, "{id}");
    assert!(!id.is_empty(), "detach names its resilver job");
    let job = c.wait_job(&id, Duration::from_secs(120)).await.unwrap();
    assert!(
        job.kind == "resilver" && job.err.is_empty() && !job.aborted,
        "{job:?}"
    );
    assert_eq!(
        job_objects(&ep, &id) as usize,
        on_victim,
        "objects the resilver moved"
    );
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || async {
            let m = mountpaths(&ep, &tid).await;
            (m["waiting_dd"].as_array().unwrap().is_empty()
                && m["available"].as_array().unwrap().len() == 1)
                .then_some(())
        },
    )
    .await
    .expect("detached mountpath drained");
    assert_eq!(
        ais_e2e::count_files(&victim_objs),
        0,
        "objects left on the detached mountpath"
    );
    all_on_hrw_mountpath(&c, &bck, &all[..1]).await;
    assert_eq!(c.list_objects_all(&bck, "", "name").await.unwrap().len(), N);

    // Attach it back without a resilver (`dntres`): nothing moves yet, reads still succeed
    // (they look on every mountpath); then `ais start resilver TARGET --wait` moves the objects
    // whose HRW mountpath it is back.
    let (st, body) = mp_request(
        &ep,
        &tid,
        reqwest::Method::PUT,
        "attach-mp",
        &victim,
        "dntres=true",
    )
    .await;
    assert_eq!(st, 200, "{body}");
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || async {
            let m = mountpaths(&ep, &tid).await;
            (m["available"].as_array().unwrap().len() == 2).then_some(())
        },
    )
    .await
    .expect("attached");
    let digests: Vec<u64> = all
        .iter()
        .map(|p| ais_placement::digest(p.as_bytes()))
        .collect();
    let expect_back = (0..N)
        .filter(|i| {
            ais_placement::hrw_max(
                ais_placement::digest(bck.uname(&obj(*i)).as_bytes()),
                digests.iter().copied(),
            ) == Some(1)
        })
        .count();
    assert!(expect_back > N / 4);
    for i in (0..N).step_by(5) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert_eq!(
            b[..],
            data(i as u64, size(i))[..],
            "{} before the resilver",
            obj(i)
        );
    }
    assert_eq!(
        ais_e2e::count_files(&victim_objs),
        0,
        "dntres: nothing moved"
    );
    let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN (run with `cargo xtask test`)");
    let out = std::process::Command::new(cli)
        .args(["start", "resilver", &tid, "--wait"])
        .env("AIS_ENDPOINT", &ep)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = text.lines().next().unwrap().trim().to_string();
    assert!(text.contains("finished"), "{text}");
    assert_eq!(
        ais_e2e::count_files(&victim_objs),
        expect_back,
        "objects moved back by {id}"
    );
    assert_eq!(job_objects(&ep, &id) as usize, expect_back);
    all_on_hrw_mountpath(&c, &bck, &all).await;
    stop.store(true, Ordering::Relaxed);
    let errs = reader.await.unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "reads failed during resilver: {errs:?}"
    );
    assert!(ok.load(Ordering::Relaxed) > 50);

    // Two changes back to back: the second resilver supersedes the first (or follows it);
    // either way every object ends on its HRW mountpath and none is lost.
    let (st, first) =
        mp_request(&ep, &tid, reqwest::Method::DELETE, "detach-mp", &victim, "").await;
    assert_eq!(st, 200, "{first}");
    let (st, second) = mp_request(&ep, &tid, reqwest::Method::PUT, "attach-mp", &victim, "").await;
    assert_eq!(st, 200, "{second}");
    assert_ne!(first, second);
    let job = c.wait_job(&second, Duration::from_secs(120)).await.unwrap();
    assert!(job.err.is_empty() && !job.aborted, "{job:?}");
    let job = c.wait_job(&first, Duration::from_secs(120)).await.unwrap();
    // Superseded (aborted), or done before the second began: nothing else.
    assert!(
        job.end_time > 0 && (job.aborted || job.err.is_empty()),
        "{job:?}"
    );
    assert_eq!(ais_e2e::count_files(&victim_objs), expect_back);
    all_on_hrw_mountpath(&c, &bck, &all).await;
    assert_eq!(c.list_objects_all(&bck, "", "name").await.unwrap().len(), N);
    for i in (0..N).step_by(13) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert_eq!(
            b[..],
            data(i as u64, size(i))[..],
            "{} after two changes",
            obj(i)
        );
    }

    // A resilver owed at a restart is run: detach with `dntres` (the mountpath stays
    // "waiting", its objects readable; nothing runs), kill -9 the target and start it again —
    // it drains the mountpath on its own (the volume list it persisted says what is owed).
    let (st, body) = mp_request(
        &ep,
        &tid,
        reqwest::Method::DELETE,
        "detach-mp",
        &victim,
        "dntres=true",
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let m = mountpaths(&ep, &tid).await;
    assert_eq!(m["waiting_dd"], serde_json::json!([victim]), "{m}");
    assert_eq!(ais_e2e::count_files(&victim_objs), expect_back);
    for i in (0..N).step_by(11) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert_eq!(
            b[..],
            data(i as u64, size(i))[..],
            "{} while waiting",
            obj(i)
        );
    }
    let node = cl.node("target-0");
    node.kill9();
    assert!(
        node.wait_gone(Duration::from_secs(10)).await,
        "the target is gone"
    );
    node.restart().expect("restart the target");
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(200),
        || async {
            let r = reqwest::Client::new()
                .get(format!("{ep}/v1/reverse/daemon?what=mountpaths"))
                .header("Ais-Node-Id", &tid)
                .send()
                .await
                .ok()?;
            let m: serde_json::Value = r.json().await.ok()?;
            (m["waiting_dd"].as_array()?.is_empty() && ais_e2e::count_files(&victim_objs) == 0)
                .then_some(())
        },
    )
    .await
    .expect("the restarted target drains the detached mountpath");
    all_on_hrw_mountpath(&c, &bck, &all[..1]).await;
    assert_eq!(c.list_objects_all(&bck, "", "name").await.unwrap().len(), N);

    // Bad requests.
    assert_eq!(
        mp_action(
            &ep,
            &tid,
            reqwest::Method::DELETE,
            "detach-mp",
            "/no/such/mp"
        )
        .await,
        404
    );
    assert_eq!(
        mp_action(&ep, &tid, reqwest::Method::DELETE, "detach-mp", "relative").await,
        400
    );
}
