//! Cluster membership on its own 3-proxy / 3-target cluster: convergence, concurrent bucket
//! creates through different proxies, a dead target leaving and rejoining, a target added at
//! runtime, maintenance, decommission, primary failure and election, the old primary rejoining,
//! and set-primary. Figures (detection, election, metasync latency) go to stderr.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{Cluster, wait_for};
use ais_meta::Smap;
use bytes::Bytes;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);
const STEP: Duration = Duration::from_millis(50);

async fn smap_of(url: &str) -> Option<Smap> {
    let c = Client::new(url).ok()?;
    c.smap().await.ok().map(|s| (*s).clone())
}

async fn bmd_of(url: &str) -> Option<serde_json::Value> {
    let r = reqwest::get(format!("{url}/v1/daemon?what=bmd"))
        .await
        .ok()?;
    r.json().await.ok()
}

/// Waits until every listed node reports the same Smap; returns it.
async fn converged(urls: &[String]) -> Smap {
    wait_for(WAIT, STEP, || async {
        let mut first: Option<Smap> = None;
        for u in urls {
            let s = smap_of(u).await?;
            match &first {
                None => first = Some(s),
                Some(f) if *f == s => {}
                Some(_) => return None,
            }
        }
        first
    })
    .await
    .unwrap_or_else(|| panic!("cluster maps did not converge within {WAIT:?}"))
}

fn primary_id(s: &Smap) -> String {
    s.proxy_si
        .as_ref()
        .map(|p| p.daemon_id.clone())
        .unwrap_or_default()
}

#[allow(clippy::print_stderr)] // the issue asks for these figures in the report
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_election_lifecycle() {
    let cl = Cluster::deploy_with(3, 3, "ctl").expect("deploy 3 proxies + 3 targets");
    let nodes = cl.nodes();
    assert_eq!(nodes.len(), 6);
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let p: Vec<String> = (0..3)
        .map(|i| cl.node(&format!("proxy-{i}")).url())
        .collect();

    // 1. All six nodes converge on one Smap with 3 proxies, 3 targets and proxy-0 as primary.
    let s0 = converged(&urls).await;
    assert_eq!((s0.pmap.len(), s0.tmap.len()), (3, 3));
    assert_eq!(s0.proxy_si.as_ref().unwrap().public_net.direct_url, p[0]);

    // 2. Concurrent bucket creates through all three proxies never fork the BMD.
    let bmd0: i64 = bmd_of(&p[0]).await.unwrap()["version"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let t = Instant::now();
    let creates = (0..30).map(|i| {
        let url = p[i % 3].clone();
        async move {
            let c = Client::new(&url).unwrap();
            let b = Bck::new(&format!("mb-{i:02}"), Provider::Ais).unwrap();
            let t = Instant::now();
            c.create_bucket(&b).await.unwrap();
            t.elapsed()
        }
    });
    let lat: Vec<Duration> = futures_util::future::join_all(creates).await;
    let wall = t.elapsed();
    let bmds = wait_for(WAIT, STEP, || async {
        let mut v = Vec::new();
        for u in &urls {
            v.push(bmd_of(u).await?);
        }
        v.windows(2).all(|w| w[0] == w[1]).then_some(v)
    })
    .await
    .expect("BMDs converge");
    let ver: i64 = bmds[0]["version"].as_str().unwrap().parse().unwrap();
    assert_eq!(ver, bmd0 + 30, "each create is exactly one BMD version");
    assert_eq!(
        bmds[0]["providers"]["ais"]["@#"].as_object().unwrap().len(),
        30
    );
    let avg = lat.iter().sum::<Duration>() / lat.len() as u32;
    eprintln!(
        "FIGURE metasync: 30 concurrent bucket creates (each = persist + push to 5 nodes) in {wall:?}, avg latency {avg:?}"
    );

    // Read-after-write across gateways.
    for i in 0..5 {
        let b = Bck::new(&format!("raw-{i}"), Provider::Ais).unwrap();
        Client::new(&p[1]).unwrap().create_bucket(&b).await.unwrap();
        let listed = Client::new(&p[2])
            .unwrap()
            .list_buckets(Some(Provider::Ais))
            .await
            .unwrap();
        assert!(
            listed.contains(&b),
            "bucket created via proxy-1 not listed at once via proxy-2"
        );
    }

    // Some objects to read through failures.
    let bck = Bck::new("mb-00", Provider::Ais).unwrap();
    let c1 = Client::new(&p[1]).unwrap();
    for i in 0..40 {
        c1.put_object(&bck, &format!("o{i}"), Bytes::from(format!("v{i}")), None)
            .await
            .unwrap();
    }

    // 3. kill -9 a target: it leaves the Smap after the keepalive timeout; restarted, it rejoins.
    let t2 = cl.node("target-2");
    let t2_id = {
        let s = smap_of(&t2.url()).await.unwrap();
        s.tmap
            .values()
            .find(|n| n.public_net.direct_url == t2.url())
            .unwrap()
            .daemon_id
            .clone()
    };
    t2.kill9();
    let t = Instant::now();
    wait_for(WAIT, STEP, || async {
        smap_of(&p[0])
            .await
            .filter(|s| !s.tmap.contains_key(&t2_id))
    })
    .await
    .expect("dead target removed from the Smap");
    eprintln!("FIGURE detect dead target: {:?}", t.elapsed());
    // With 2 targets left, new objects still go in and out.
    for i in 0..10 {
        c1.put_object(&bck, &format!("n{i}"), Bytes::from_static(b"x"), None)
            .await
            .unwrap();
        assert_eq!(
            &Client::new(&p[2])
                .unwrap()
                .get_object(&bck, &format!("n{i}"), None)
                .await
                .unwrap()
                .1[..],
            b"x"
        );
    }
    t2.restart().unwrap();
    wait_for(WAIT, STEP, || async {
        smap_of(&p[0]).await.filter(|s| s.tmap.contains_key(&t2_id))
    })
    .await
    .expect("restarted target rejoins");
    for i in 0..40 {
        let (_, b) = c1.get_object(&bck, &format!("o{i}"), None).await.unwrap();
        assert_eq!(b, format!("v{i}").as_bytes());
    }

    // 4. A fourth target joins at runtime.
    let out = cl.join("target").expect("xtask join");
    let t3_id = out
        .split(" as ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let s = converged(&urls).await;
    assert_eq!(s.tmap.len(), 4);
    assert!(s.tmap.contains_key(&t3_id));

    // 5. Maintenance: flagged everywhere, skipped by placement; then back.
    let put = |sid: &str, action: &str| {
        let (url, sid, action) = (p[2].clone(), sid.to_string(), action.to_string());
        async move {
            let r = reqwest::Client::new()
                .put(format!("{url}/v1/cluster"))
                .json(&serde_json::json!({"action": action, "name": "", "value": {"sid": sid}}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(put(&t3_id, "start-maintenance").await, 200);
    let mut urls4 = urls.clone();
    urls4.push(cl.node("target-3").url());
    let s = converged(&urls4).await;
    assert_eq!(s.tmap[&t3_id].flags & 4, 4);
    for i in 0..30 {
        let n = format!("m{i}");
        c1.put_object(&bck, &n, Bytes::from_static(b"m"), None)
            .await
            .unwrap();
        let h = c1.head_object(&bck, &n, "location").await.unwrap();
        assert!(
            !h.location.contains(&t3_id),
            "object placed on a target in maintenance"
        );
    }
    assert_eq!(put(&t3_id, "stop-maintenance").await, 200);
    assert_eq!(converged(&urls4).await.tmap[&t3_id].flags & 4, 0);
    assert_eq!(put("nosuchnode", "start-maintenance").await, 404);

    // 6. Decommission: removed from the map and the process exits.
    // (asynchronous: the target's data moves off first, then it leaves the map)
    assert_eq!(put(&t3_id, "decommission-node").await, 200);
    let s = wait_for(WAIT, STEP, || async {
        let s = converged(&urls).await;
        (!s.tmap.contains_key(&t3_id)).then_some(s)
    })
    .await
    .expect("decommissioned target leaves the map");
    let t3 = cl.node("target-3");
    assert!(t3.wait_gone(WAIT).await, "decommissioned target exits");

    // 7. kill -9 the primary: a new primary within 10 s; the other gateways keep serving.
    let old = primary_id(&s);
    let p0 = cl.node("proxy-0");
    p0.kill9();
    let t = Instant::now();
    let survivors: Vec<String> = urls.iter().filter(|u| **u != p[0]).cloned().collect();
    let s = wait_for(Duration::from_secs(10), STEP, || async {
        let s = converged(&survivors).await;
        (primary_id(&s) != old).then_some(s)
    })
    .await
    .expect("a new primary within 10 s");
    eprintln!(
        "FIGURE elect new primary after kill -9: {:?} (primary_timeout 2 s)",
        t.elapsed()
    );
    assert!(!s.pmap.contains_key(&old));
    assert_eq!(s.pmap.len(), 2);
    let newp = primary_id(&s);
    for u in &p[1..] {
        let c = Client::new(u).unwrap();
        let (_, b) = c.get_object(&bck, "o7", None).await.unwrap();
        assert_eq!(&b[..], b"v7");
        c.create_bucket(&Bck::new(&format!("after-{}", &u[u.len() - 5..]), Provider::Ais).unwrap())
            .await
            .unwrap();
    }
    // The official SDK sees the new primary and a ready cluster.
    if let Ok(py) = std::env::var("AIS_PYTHON") {
        let out = std::process::Command::new(py)
            .args(["-c", "import sys; from aistore.sdk import Client; c=Client(sys.argv[1]).cluster(); print(c.get_primary_url(), c.is_ready())", &p[1]])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = s.proxy_si.as_ref().unwrap().public_net.direct_url.clone();
        assert_eq!(text.trim(), format!("{want} True"));
    }

    // 8. The old primary, restarted, rejoins as a non-primary.
    p0.restart().unwrap();
    let s = wait_for(WAIT, STEP, || async {
        smap_of(&p[1]).await.filter(|s| s.pmap.contains_key(&old))
    })
    .await
    .expect("old primary rejoins");
    assert_eq!(
        primary_id(&s),
        newp,
        "the old primary must not take over again"
    );
    assert_eq!(primary_id(&converged(&urls).await), newp);

    // 9. set-primary hands the role back, via any proxy.
    let r = reqwest::Client::new()
        .put(format!("{}/v1/cluster/proxy/{old}", p[2]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let s = converged(&urls).await;
    assert_eq!(primary_id(&s), old);
    assert_eq!((s.pmap.len(), s.tmap.len()), (3, 3));

    // 10. A proxy joins at runtime too.
    cl.join("proxy").expect("xtask join --role proxy");
    let urls: Vec<String> = cl
        .nodes()
        .iter()
        .filter(|n| n.alive())
        .map(|n| n.url())
        .collect();
    assert_eq!(converged(&urls).await.pmap.len(), 4);

    // 11. A node without the cluster secret cannot join.
    let mut fake = s.tmap.values().next().unwrap().clone();
    fake.daemon_id = "intruderX1".into();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/cluster/join", p[0]))
        .json(&fake)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!converged(&urls).await.tmap.contains_key("intruderX1"));

    // 12. Shutdown of one node: it exits and stays in the map, in maintenance; restarted and
    // taken out of maintenance it serves again.
    let t1 = cl.node("target-1");
    let t1_id = converged(&urls)
        .await
        .tmap
        .values()
        .find(|n| n.public_net.direct_url == t1.url())
        .unwrap()
        .daemon_id
        .clone();
    assert_eq!(put(&t1_id, "shutdown-node").await, 200);
    assert!(t1.wait_gone(WAIT).await, "shut-down node exits");
    let alive_urls: Vec<String> = urls.iter().filter(|u| **u != t1.url()).cloned().collect();
    assert_eq!(
        converged(&alive_urls).await.tmap[&t1_id].flags & 4,
        4,
        "kept in the map, in maintenance"
    );
    t1.restart().unwrap();
    assert_eq!(put(&t1_id, "stop-maintenance").await, 200);
    assert_eq!(converged(&urls).await.tmap[&t1_id].flags & 4, 0);

    // 13. Full cluster restart: every node comes back with the same membership and buckets.
    let before = converged(&urls).await;
    let bmd_before = bmd_of(&p[0]).await.unwrap();
    let live: Vec<_> = cl.nodes().into_iter().filter(|n| n.alive()).collect();
    for n in &live {
        n.kill9();
    }
    wait_for(WAIT, STEP, || async {
        live.iter().all(|n| !n.alive()).then_some(())
    })
    .await
    .expect("all nodes dead");
    for n in &live {
        n.restart().unwrap();
    }
    let after = wait_for(Duration::from_secs(30), STEP, || async {
        let s = converged(&urls).await;
        (s.tmap.len() == before.tmap.len() && s.pmap.len() == before.pmap.len()).then_some(s)
    })
    .await
    .expect("cluster back after a full restart");
    let ids = |s: &Smap| {
        (
            s.pmap.keys().cloned().collect::<Vec<_>>(),
            s.tmap.keys().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(ids(&after), ids(&before), "same node ids after restart");
    assert_eq!(primary_id(&after), primary_id(&before));
    let bmd_after = bmd_of(&p[0]).await.unwrap();
    assert_eq!(
        bmd_after["providers"], bmd_before["providers"],
        "same buckets after restart"
    );
    let (_, b) = Client::new(&p[2])
        .unwrap()
        .get_object(&bck, "o11", None)
        .await
        .unwrap();
    assert_eq!(&b[..], b"v11");

    // 14. Cluster shutdown stops every node.
    let r = reqwest::Client::new()
        .put(format!("{}/v1/cluster", p[1]))
        .json(&serde_json::json!({"action": "shutdown", "name": "", "value": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    wait_for(WAIT, STEP, || async {
        live.iter().all(|n| !n.alive()).then_some(())
    })
    .await
    .expect("all nodes exit after cluster shutdown");
}
