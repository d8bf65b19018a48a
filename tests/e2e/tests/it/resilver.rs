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

async fn mp_action(ep: &str, tid: &str, method: reqwest::Method, action: &str, mp: &str) -> u16 {
    reqwest::Client::new()
        .request(method, format!("{ep}/v1/reverse/daemon/mountpaths"))
        .header("Ais-Node-Id", tid)
        .json(&serde_json::json!({"action": action, "name": "", "value": mp}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
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

    // Detach: the mountpath is drained, then let go.
    assert_eq!(
        mp_action(&ep, &tid, reqwest::Method::DELETE, "detach-mp", &victim).await,
        200
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
    let victim_objs = cl
        .node("target-0")
        .dir
        .join(std::path::Path::new(&victim).file_name().unwrap())
        .join("@ais/res/%ob");
    assert_eq!(
        ais_e2e::count_files(&victim_objs),
        0,
        "objects left on the detached mountpath"
    );
    all_on_hrw_mountpath(&c, &bck, &all[..1]).await;
    assert_eq!(c.list_objects_all(&bck, "", "name").await.unwrap().len(), N);

    // Attach it back: objects whose HRW mountpath it is move back.
    assert_eq!(
        mp_action(&ep, &tid, reqwest::Method::PUT, "attach-mp", &victim).await,
        200
    );
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
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(200),
        || async { (ais_e2e::count_files(&victim_objs) == expect_back).then_some(()) },
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "resilver did not move {expect_back} objects back ({} there)",
            ais_e2e::count_files(&victim_objs)
        )
    });
    all_on_hrw_mountpath(&c, &bck, &all).await;
    stop.store(true, Ordering::Relaxed);
    let errs = reader.await.unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "reads failed during resilver: {errs:?}"
    );
    assert!(ok.load(Ordering::Relaxed) > 50);

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
