//! Cluster-level queries: Smap, health modes, per-node requests through `/v1/reverse`.

use ais_e2e::{MOUNTPATHS, PROXIES, TARGETS, shared};
use serde_json::Value;

async fn get(url: &str, hdr: Option<(&str, &str)>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let c = reqwest::Client::new();
    let mut rb = c.get(url);
    if let Some((k, v)) = hdr {
        rb = rb.header(k, v);
    }
    let r = rb.send().await.unwrap();
    let (st, h) = (r.status().as_u16(), r.headers().clone());
    (st, h, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn smap_health_and_node_status() {
    let ep = &shared().endpoint;
    let smap = ais_api::Client::new(ep).unwrap().smap().await.unwrap();
    assert_eq!(smap.tmap.len(), TARGETS);
    assert_eq!(smap.pmap.len(), PROXIES);
    let primary = smap.proxy_si.as_ref().unwrap();
    assert_eq!(primary.public_net.direct_url, *ep);
    for t in smap.tmap.values() {
        assert_eq!(t.id_digest, ais_placement::digest(t.daemon_id.as_bytes()));
        ais_core::id::validate_node_id(&t.daemon_id).unwrap();
    }

    // Health: liveness, readiness, primary-ready, cluster info.
    for q in ["", "?readiness=true", "?prr=true"] {
        let (st, h, _) = get(&format!("{ep}/v1/health{q}"), None).await;
        assert_eq!(st, 200, "{q}");
        assert!(h.get("ais-node-uptime").is_some(), "{q}");
    }
    let (st, _, b) = get(&format!("{ep}/v1/health?cii=true"), None).await;
    assert_eq!(st, 200);
    let cii: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(cii["smap"]["Primary"]["id"], primary.daemon_id.as_str());
    assert_eq!(cii["smap"]["version"], smap.version.to_string());
    assert_eq!(cii["flags"], 6);
    let (st, _, _) = get(&format!("{ep}/v1/health?cii=true&cii-apr=true"), None).await;
    assert_eq!(st, 400);

    // Per-node status through the proxy, as `ais show cluster` and the SDK's get_performance ask.
    for t in smap.tmap.values() {
        let (st, _, b) = get(
            &format!("{ep}/v1/reverse/daemon?what=node_status"),
            Some(("Ais-Node-Id", &t.daemon_id)),
        )
        .await;
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
        let ns: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(ns["snode"]["daemon_id"], t.daemon_id.as_str());
        assert!(ns["ais_version"].as_str().unwrap().starts_with("5.0"));
        let mps = ns["capacity"]["mountpaths"].as_object().unwrap();
        assert_eq!(mps.len(), MOUNTPATHS);
        assert!(
            ns["capacity"]["total_avail"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );
    }
    let (st, _, _) = get(
        &format!("{ep}/v1/reverse/daemon?what=node_status"),
        Some(("Ais-Node-Id", "nosuchnode")),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _, _) = get(&format!("{ep}/v1/reverse/daemon?what=snode"), None).await;
    assert_eq!(st, 400, "missing Ais-Node-Id");
    let (st, _, b) = get(&format!("{ep}/v1/daemon?what=software_version"), None).await;
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&b).starts_with("5.0"));
}
