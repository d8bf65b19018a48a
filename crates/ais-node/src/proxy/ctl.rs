//! Proxy side of the control protocol: serving metasync calls, the keepalive loop (heartbeats
//! when not primary; expiring silent nodes when primary), elections, and node lifecycle
//! actions (maintenance, decommission, shutdown, set-primary).

use super::Proxy;
use crate::ctl::Beat;
use crate::web::{self, Resp};
use ais_core::serde_util::get_ci;
use ais_core::{ErrKind, Error};
use ais_meta::snode_flag;
use ais_metasync::election::{self, Vote};
use ais_metasync::{Revs, Versions, pb};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl ais_metasync::Handler for Proxy {
    async fn push(&self, revs: Revs) -> Result<Versions, Error> {
        let was = self.ctl.is_primary();
        self.ctl.meta.install(revs)?;
        if !was && self.ctl.is_primary() {
            self.reset_tracker();
            tracing::info!(smap = self.smap().version, "primary (handed over)");
        }
        Ok(self.ctl.meta.versions())
    }

    async fn pull(&self) -> Revs {
        self.ctl.meta.revs(self.id())
    }

    async fn join(&self, node: ais_meta::Snode) -> Result<Revs, Error> {
        self.handle_join(node).await
    }

    async fn keepalive(&self, node_id: String, _v: Versions) -> Result<pb::HeartbeatReply, Error> {
        if !self.ctl.is_primary() {
            return Err(Error::new(
                ErrKind::Unavailable,
                format!("{} is not the primary", self.ctl.me.name()),
            ));
        }
        let known = self.smap().get(&node_id).is_some();
        if known {
            self.tracker
                .lock()
                .expect("tracker lock")
                .touch(&node_id, Instant::now());
        }
        Ok(pb::HeartbeatReply {
            known,
            versions: Some(self.ctl.meta.versions().into()),
            primary_id: self.id().to_string(),
        })
    }

    async fn vote(&self, req: pb::VoteRequest) -> pb::VoteReply {
        let smap = self.smap();
        let reachable = match smap.proxy_si.as_ref() {
            Some(p) if p.daemon_id == req.old_primary && p.daemon_id != self.id() => {
                self.ctl.probe(&p.intra_control_net.direct_url).await
            }
            Some(p) if p.daemon_id == self.id() => true,
            _ => false,
        };
        match election::decide(&smap, &req.candidate, &req.old_primary, reachable) {
            Vote::Yes => pb::VoteReply {
                yes: true,
                reason: String::new(),
            },
            Vote::No(reason) => pb::VoteReply { yes: false, reason },
        }
    }

    async fn control(&self, action: String, value: serde_json::Value) -> Result<(), Error> {
        // A target started a job on its own (a resilver): track it.
        if action == "adopt-jobs" {
            if self.ctl.is_primary() {
                self.adopt_jobs().await;
            }
            return Ok(());
        }
        crate::ctl::node_control(&self.ctl, &action, &value, || {})
    }
}

impl Proxy {
    pub(super) async fn keepalive_loop(self: Arc<Self>) {
        let mut stop = self.ctl.stopped();
        let mut last_ok = Instant::now();
        while self.ctl.keepalive_tick(&mut stop).await {
            if self.ctl.is_primary() {
                self.expire_silent().await;
                last_ok = Instant::now();
                continue;
            }
            match self.ctl.heartbeat().await {
                Ok(Beat::Unknown) => {
                    tracing::warn!("the primary does not know this proxy: joining again");
                    if let Err(e) = self.ctl.join().await {
                        tracing::warn!(err = %e, "re-join failed");
                    }
                    last_ok = Instant::now();
                }
                Ok(b) => {
                    if let Beat::CaughtUp(_) = b
                        && self.ctl.is_primary()
                    {
                        self.reset_tracker();
                    }
                    last_ok = Instant::now();
                }
                Err(e) => {
                    let limit = self.ctl.primary_timeout();
                    tracing::debug!(err = %e, "heartbeat to the primary failed");
                    if last_ok.elapsed() >= limit {
                        let failed = self.primary_id();
                        // Maybe a new primary is already in charge: then heartbeat it for a
                        // full period before suspecting it too.
                        self.ctl.catch_up_from_proxies().await;
                        if self.primary_id() == failed {
                            self.clone().elect(&failed).await;
                        }
                        last_ok = Instant::now();
                    }
                }
            }
        }
    }

    fn primary_id(&self) -> String {
        self.smap()
            .proxy_si
            .as_ref()
            .map(|p| p.daemon_id.clone())
            .unwrap_or_default()
    }

    /// Primary: removes nodes that stopped sending heartbeats (nodes in maintenance or being
    /// decommissioned may be down on purpose and are kept).
    async fn expire_silent(&self) {
        let smap = self.smap();
        let timeout = Duration::from_millis(self.ctl.meta.config().keepalivetracker.timeout_ms);
        let ids: Vec<&str> = smap
            .tmap
            .values()
            .chain(smap.pmap.values())
            .filter(|n| n.daemon_id != self.id() && n.flags & snode_flag::NOT_PLACEABLE == 0)
            .map(|n| n.daemon_id.as_str())
            .collect();
        let expired =
            self.tracker
                .lock()
                .expect("tracker lock")
                .expired(ids, Instant::now(), timeout);
        if expired.is_empty() {
            return;
        }
        tracing::warn!(nodes = ?expired, timeout_ms = timeout.as_millis() as u64, "no heartbeat: removing from the cluster map");
        let gone = expired.clone();
        let r = self
            .modify_smap(move |s| {
                let mut changed = false;
                for id in &gone {
                    changed |= s.tmap.remove(id).is_some() | s.pmap.remove(id).is_some();
                }
                Ok(changed)
            })
            .await;
        match r {
            Ok(s) => tracing::info!(smap = s.version, "cluster map updated"),
            Err(e) => tracing::error!(err = %e, "failed to remove silent nodes"),
        }
        let mut t = self.tracker.lock().expect("tracker lock");
        for id in &expired {
            t.remove(id);
        }
    }

    /// Runs an election after the primary became unreachable: the HRW candidate asks the other
    /// proxies to agree and takes over; the others wait for it (skipping candidates that are
    /// gone too).
    async fn elect(self: Arc<Self>, failed: &str) {
        if self.electing.swap(true, Ordering::AcqRel) {
            return;
        }
        let t0 = Instant::now();
        let start = self.smap();
        let Some(old) = start.proxy_si.clone().filter(|p| p.daemon_id == failed) else {
            self.electing.store(false, Ordering::Release);
            return;
        };
        let primary_timeout = self.ctl.primary_timeout();
        tracing::warn!(primary = %old.name(), "primary unreachable: election");
        let mut gone: Vec<String> = vec![old.daemon_id.clone()];
        let deadline = t0 + Duration::from_secs(60);
        while Instant::now() < deadline {
            let smap = self.smap();
            if smap.proxy_si.as_ref().map(|p| p.daemon_id.as_str()) != Some(old.daemon_id.as_str())
            {
                tracing::info!(primary = ?smap.proxy_si.as_ref().map(|p| p.name()), elapsed_ms = t0.elapsed().as_millis() as u64, "new primary");
                break;
            }
            let refs: Vec<&str> = gone.iter().map(String::as_str).collect();
            let Some(cand) = election::candidate(&smap, &refs).cloned() else {
                tracing::error!("election: no electable proxy left");
                break;
            };
            if cand.daemon_id == self.id() {
                let quick = self.ctl.peers.with_timeout(Duration::from_secs(2));
                let req = pb::VoteRequest {
                    candidate: self.id().to_string(),
                    old_primary: old.daemon_id.clone(),
                    smap_version: smap.version,
                };
                let voters: Vec<_> = smap
                    .pmap
                    .values()
                    .filter(|p| p.daemon_id != self.id() && !gone.contains(&p.daemon_id))
                    .collect();
                let futs = voters
                    .iter()
                    .map(|p| quick.vote(&p.intra_control_net.direct_url, req.clone()));
                let replies = futures_util::future::join_all(futs).await;
                if let Some(no) = replies.iter().flatten().find(|r| !r.yes) {
                    tracing::warn!(reason = %no.reason, "election: vote refused; standing down");
                    break;
                }
                // A majority of the proxies other than the failed primary (us included) must
                // agree: an unreachable voter is not a yes.
                let electorate = smap.pmap.len().saturating_sub(1);
                let yes = replies.iter().flatten().filter(|r| r.yes).count() + 1;
                if !election::has_majority(yes, electorate) {
                    tracing::warn!(yes, electorate, "election: no majority; standing down");
                    break;
                }
                match self.become_primary(Some(&old.daemon_id)).await {
                    Ok(()) => tracing::info!(
                        elapsed_ms = t0.elapsed().as_millis() as u64,
                        smap = self.smap().version,
                        "elected primary"
                    ),
                    Err(e) => tracing::error!(err = %e, "election: failed to take over"),
                }
                break;
            }
            // Wait for the candidate to take over (it needs its own timeout to notice).
            let until = Instant::now() + primary_timeout * 2 + Duration::from_secs(1);
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if self.smap().proxy_si.as_ref().map(|p| p.daemon_id.as_str())
                    != Some(old.daemon_id.as_str())
                {
                    break;
                }
            }
            if self.smap().proxy_si.as_ref().map(|p| p.daemon_id.as_str())
                == Some(old.daemon_id.as_str())
            {
                self.ctl.catch_up_from_proxies().await;
                if !self.ctl.probe(&cand.intra_control_net.direct_url).await {
                    tracing::warn!(candidate = %cand.name(), "election: candidate unreachable too; next one");
                    gone.push(cand.daemon_id.clone());
                }
            }
        }
        self.electing.store(false, Ordering::Release);
    }

    /// `PUT /v1/cluster` lifecycle actions on the primary. Returns the (empty) rebalance id.
    pub(super) async fn node_action(
        &self,
        action: &str,
        value: &serde_json::Value,
    ) -> Result<Resp, Error> {
        if action == "shutdown" {
            let smap = self.smap();
            for n in smap
                .tmap
                .values()
                .chain(smap.pmap.values())
                .filter(|n| n.daemon_id != self.id())
            {
                if let Err(e) = self
                    .ctl
                    .peers
                    .control(
                        &n.intra_control_net.direct_url,
                        "shutdown",
                        &serde_json::Value::Null,
                    )
                    .await
                {
                    tracing::warn!(node = %n.name(), err = %e, "shutdown request failed");
                }
            }
            tracing::info!("cluster shutdown requested");
            crate::ctl::stop_soon(&self.ctl);
            return Ok(web::ok());
        }
        let sid = get_ci(value, "sid")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if sid.is_empty() {
            return Err(Error::bad_request(format!(
                "{action}: missing node id (\"sid\")"
            )));
        }
        let node = self.smap().get(&sid).cloned().ok_or_else(|| {
            Error::new(
                ErrKind::NotFound,
                format!("node \"{sid}\" does not exist in the cluster map"),
            )
        })?;
        if sid == self.id() && action != "stop-maintenance" {
            return Err(Error::bad_request(format!(
                "{action}: {} is the primary; move the primary first (set-primary)",
                node.name()
            )));
        }
        let flag_bool = |k: &str| get_ci(value, k).and_then(|v| v.as_bool()).unwrap_or(false);
        let url = node.intra_control_net.direct_url.clone();
        // The rebalance a maintenance change started (the reply names it, as AIS's does).
        let reb_of = |smap: &ais_meta::Smap| {
            let id = format!("g{}", smap.version);
            if self.jobs.get(&id).is_some() {
                id
            } else {
                String::new()
            }
        };
        let mut reb = String::new();
        match action {
            "start-maintenance" | "shutdown-node" => {
                let id = sid.clone();
                let smap = self
                    .modify_smap(move |s| set_flags(s, &id, snode_flag::MAINTENANCE, true))
                    .await?;
                reb = reb_of(&smap);
                if action == "shutdown-node" {
                    self.ctl
                        .peers
                        .control(&url, "shutdown", &serde_json::Value::Null)
                        .await
                        .map_err(|e| Error::new(e.kind(), e.to_string()))?;
                }
            }
            "stop-maintenance" => {
                let id = sid.clone();
                let smap = self
                    .modify_smap(move |s| {
                        set_flags(
                            s,
                            &id,
                            snode_flag::MAINTENANCE | snode_flag::DECOMMISSION,
                            false,
                        )
                    })
                    .await?;
                reb = reb_of(&smap);
            }
            "decommission-node"
                if !flag_bool("skip_rebalance")
                    && node.daemon_type == ais_meta::NodeRole::Target =>
            {
                // Move the data off first: flagged, the target takes no placements and the
                // rebalance it triggers empties it; then it leaves and shuts down.
                let id = sid.clone();
                let smap = self
                    .modify_smap(move |s| set_flags(s, &id, snode_flag::DECOMMISSION, true))
                    .await?;
                let reb = reb_of(&smap);
                let me = self
                    .weak
                    .upgrade()
                    .ok_or_else(|| Error::internal("proxy is shutting down"))?;
                let (sid2, url2, rm, no_shutdown) = (
                    sid.clone(),
                    url.clone(),
                    flag_bool("rm_user_data"),
                    flag_bool("no_shutdown"),
                );
                let rid = reb.clone();
                tokio::spawn(async move {
                    let moved =
                        rid.is_empty() || me.wait_job(&rid, Duration::from_secs(3600)).await;
                    if !moved {
                        tracing::error!(node = %sid2, rebalance = %rid, "decommission: rebalance failed; node left in the map, flagged");
                        return;
                    }
                    // Tell the node first (it stops heartbeating and will not re-join), then drop it.
                    if !no_shutdown {
                        let v = serde_json::json!({"rm_user_data": rm});
                        if let Err(e) = me.ctl.peers.control(&url2, "decommission", &v).await {
                            tracing::warn!(node = %sid2, err = %e, "decommission: node did not answer");
                        }
                    }
                    let id = sid2.clone();
                    if let Err(e) = me
                        .modify_smap(move |s| Ok(s.tmap.remove(&id).is_some()))
                        .await
                    {
                        tracing::error!(node = %sid2, err = %e, "decommission: removing from the map failed");
                        return;
                    }
                    me.tracker.lock().expect("tracker lock").remove(&sid2);
                    tracing::info!(node = %sid2, "decommissioned");
                });
                return Ok(web::text(reb));
            }
            "decommission-node" | "rm-unsafe" => {
                if action == "decommission-node" && !flag_bool("no_shutdown") {
                    let v = serde_json::json!({"rm_user_data": flag_bool("rm_user_data")});
                    if let Err(e) = self.ctl.peers.control(&url, "decommission", &v).await {
                        tracing::warn!(node = %node.name(), err = %e, "decommission: node did not answer");
                    }
                }
                let id = sid.clone();
                self.modify_smap(move |s| {
                    Ok(s.tmap.remove(&id).is_some() | s.pmap.remove(&id).is_some())
                })
                .await?;
                self.tracker.lock().expect("tracker lock").remove(&sid);
            }
            a => {
                return Err(Error::new(
                    ErrKind::NotImplemented,
                    format!("cluster action \"{a}\" is not supported yet"),
                ));
            }
        }
        tracing::info!(%action, node = %node.name(), smap = self.smap().version, "node action done");
        Ok(web::text(reb))
    }

    /// `PUT /v1/cluster/proxy/<ID>`: hands the primary role to another proxy.
    pub(super) async fn set_primary(&self, id: &str) -> Result<Resp, Error> {
        if id == self.id() {
            return Ok(web::ok());
        }
        let node = self.smap().pmap.get(id).cloned().ok_or_else(|| {
            Error::new(
                ErrKind::NotFound,
                format!("proxy \"{id}\" does not exist in the cluster map"),
            )
        })?;
        if node.flags & (snode_flag::NON_ELECTABLE | snode_flag::NOT_PLACEABLE) != 0 {
            return Err(Error::bad_request(format!(
                "{} cannot be primary (non-electable or in maintenance)",
                node.name()
            )));
        }
        let n2 = node.clone();
        self.modify_smap(move |s| {
            s.proxy_si = Some(n2);
            Ok(true)
        })
        .await?;
        tracing::info!(new = %node.name(), smap = self.smap().version, "primary handed over");
        Ok(web::ok())
    }
}

fn set_flags(s: &mut ais_meta::Smap, id: &str, bits: u64, on: bool) -> Result<bool, Error> {
    let n = s
        .tmap
        .get_mut(id)
        .or_else(|| s.pmap.get_mut(id))
        .ok_or_else(|| {
            Error::new(
                ErrKind::NotFound,
                format!("node \"{id}\" does not exist in the cluster map"),
            )
        })?;
    let before = n.flags;
    if on {
        n.flags |= bits;
    } else {
        n.flags &= !bits;
    }
    Ok(n.flags != before)
}
