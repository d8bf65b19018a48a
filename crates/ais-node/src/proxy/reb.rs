//! Primary side of global rebalance: a change of the placeable target set starts job
//! `g<Smap version>` on every target; the primary polls their progress into its job table (so
//! `what=status` / the SDK's `Job.wait()` see it) and finishes the job when all are done.

use super::Proxy;
use crate::target::RebSnap;
use ais_core::wire::SnapStats;
use ais_meta::Smap;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the primary polls targets for rebalance progress.
const REB_POLL: Duration = Duration::from_millis(200);
/// A rebalance that is not done after this long is recorded as failed.
const REB_TIMEOUT: Duration = Duration::from_secs(3600);

fn placeable(s: &Smap) -> Vec<&str> {
    s.tmap
        .values()
        .filter(|t| t.is_placeable())
        .map(|t| t.daemon_id.as_str())
        .collect()
}

/// A target's job counters in the job table's shape (a resilver's moves stay local).
fn snap_stats(s: &RebSnap) -> SnapStats {
    if s.kind == "resilver" {
        SnapStats {
            loc_objs: s.objs,
            loc_bytes: s.bytes,
            ..Default::default()
        }
    } else {
        SnapStats {
            out_objs: s.objs,
            out_bytes: s.bytes,
            ..Default::default()
        }
    }
}

impl Proxy {
    /// Starts a rebalance if the set of placeable targets changed from `before` to `after`;
    /// returns its id.
    pub(super) fn maybe_rebalance(self: &Arc<Self>, before: &Smap, after: &Smap) -> Option<String> {
        // Nothing to move without buckets (e.g. while a new cluster's targets join).
        if placeable(before) == placeable(after) {
            return None;
        }
        self.start_rebalance(after, false)
    }

    /// Starts rebalance `g<version of smap>` on every target of `smap` and tracks it; `None`
    /// when there is nothing to do: no placeable target, or (unless `always`, a user's start)
    /// no bucket.
    pub(super) fn start_rebalance(self: &Arc<Self>, after: &Smap, always: bool) -> Option<String> {
        if placeable(after).is_empty() || (!always && self.bmd().list(None).is_empty()) {
            return None;
        }
        let id = format!("g{}", after.version);
        let targets: Vec<ais_meta::Snode> = after.tmap.values().cloned().collect();
        let tids: Vec<String> = targets.iter().map(|t| t.daemon_id.clone()).collect();
        self.jobs.start_with_id(&id, "rebalance", None, &tids);
        tracing::info!(%id, targets = tids.len(), "rebalance started");
        let me = self.clone();
        let rid = id.clone();
        tokio::spawn(async move { me.run_rebalance(rid, targets).await });
        Some(id)
    }

    async fn run_rebalance(&self, id: String, targets: Vec<ais_meta::Snode>) {
        let t0 = Instant::now();
        let v = serde_json::json!({"id": id});
        let (stats, errs) = self.run_target_job(&id, &targets, "rebalance", &v).await;
        let (objs, bytes) = stats
            .values()
            .fold((0, 0), |(o, b), s| (o + s.out_objs, b + s.out_bytes));
        tracing::info!(%id, objs, bytes, errs = errs.len(), elapsed_ms = t0.elapsed().as_millis() as u64, "rebalance finished");
        self.jobs.finish(&id, stats, errs);
    }

    /// Starts job `id` on every target with control `action` and polls their progress into the
    /// job table until all are done (or gone). Returns per-target counters and errors; the caller
    /// finishes the job.
    pub(super) async fn run_target_job(
        &self,
        id: &str,
        targets: &[ais_meta::Snode],
        action: &str,
        value: &serde_json::Value,
    ) -> (BTreeMap<String, SnapStats>, Vec<String>) {
        let mut errs = Vec::new();
        let mut pending: Vec<&ais_meta::Snode> = Vec::new();
        for t in targets {
            match self
                .ctl
                .peers
                .control(&t.intra_control_net.direct_url, action, value)
                .await
            {
                Ok(()) => pending.push(t),
                Err(e) => errs.push(format!("{}: {e}", t.name())),
            }
        }
        let mut stats: BTreeMap<String, SnapStats> = BTreeMap::new();
        self.track_job(
            id,
            pending.into_iter().cloned().collect(),
            Some((action, value)),
            &mut stats,
            &mut errs,
        )
        .await;
        (stats, errs)
    }

    /// Polls the targets running their part of job `id` into the job table until all are done
    /// (or gone). A target that no longer knows the job (it restarted) is given its part again
    /// with `restart` (control action and value) or, without one, counted as failed.
    async fn track_job(
        &self,
        id: &str,
        mut pending: Vec<ais_meta::Snode>,
        restart: Option<(&str, &serde_json::Value)>,
        stats: &mut BTreeMap<String, SnapStats>,
        errs: &mut Vec<String>,
    ) {
        let t0 = Instant::now();
        while !pending.is_empty() && t0.elapsed() < REB_TIMEOUT {
            if self.jobs.get(id).is_some_and(|j| j.aborted) {
                errs.push("aborted".into());
                return;
            }
            tokio::time::sleep(REB_POLL).await;
            let mut still = Vec::new();
            for t in pending {
                let url = format!("{}/v1/intra/status/{id}", t.intra_data_net.direct_url);
                let snap: Option<RebSnap> = self.get_json::<Option<RebSnap>>(&url).await.flatten();
                match snap {
                    Some(s) => {
                        stats.insert(t.daemon_id.clone(), snap_stats(&s));
                        self.jobs.set_times(id, &t.daemon_id, s.start_ns, s.end_ns);
                        if s.running {
                            still.push(t);
                        } else {
                            if s.aborted {
                                self.jobs.set_aborted(id);
                            }
                            errs.extend(s.errs.into_iter().map(|e| format!("{}: {e}", t.name())));
                        }
                    }
                    // Gone from the map (died): its part is over.
                    None if self.smap().get(&t.daemon_id).is_none() => {
                        errs.push(format!("{} left the cluster during {id}", t.name()))
                    }
                    // Restarted (the job is not in its table): start its part again;
                    // starts are idempotent per id.
                    None => match restart {
                        Some((action, value)) => {
                            if let Err(e) = self
                                .ctl
                                .peers
                                .control(&t.intra_control_net.direct_url, action, value)
                                .await
                            {
                                tracing::debug!(node = %t.name(), err = %e, "{action}: re-start failed");
                            }
                            still.push(t);
                        }
                        None => errs.push(format!("{} restarted during {id}", t.name())),
                    },
                }
            }
            pending = still;
            self.jobs.update(id, stats.clone());
        }
        if !pending.is_empty() {
            errs.push(format!("timed out after {REB_TIMEOUT:?}"));
        }
    }

    /// A GET of JSON from another node on the intra-data network (`None` on any failure).
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Option<T> {
        let r = self
            .ctl
            .intra
            .request(reqwest::Method::GET, url)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        serde_json::from_slice(&r.bytes().await.ok()?).ok()
    }

    /// Takes over the jobs the targets run or ran that this proxy does not know — it restarted,
    /// or became primary when the previous one died: each is added to the job table (kind,
    /// bucket, start, per-target counters, errors) and, while it runs, tracked to its end like
    /// one started here (a restarted target gets its part of a rebalance again). Called when a
    /// proxy becomes primary and when a job query names an unknown id.
    pub(super) async fn adopt_jobs(&self) -> usize {
        let smap = self.smap();
        let polls = smap.tmap.values().map(|t| async move {
            let url = format!("{}/v1/intra/jobs", t.intra_data_net.direct_url);
            (t.clone(), self.get_json::<Vec<RebSnap>>(&url).await)
        });
        let mut parts: BTreeMap<String, Vec<(ais_meta::Snode, RebSnap)>> = BTreeMap::new();
        for (t, snaps) in futures_util::future::join_all(polls).await {
            for s in snaps.unwrap_or_default() {
                parts.entry(s.id.clone()).or_default().push((t.clone(), s));
            }
        }
        let mut adopted = 0;
        for (id, parts) in parts {
            // Parts running and not aborted (an aborted part may still be finishing its
            // object: it is not running again).
            let running: Vec<ais_meta::Snode> = parts
                .iter()
                .filter(|(_, s)| s.running && !s.aborted)
                .map(|(t, _)| t.clone())
                .collect();
            if let Some(known) = self.jobs.get(&id) {
                // A finished job some target resumed (after its restart): tracked again.
                if known.end_ns == 0 || running.is_empty() || !self.jobs.reopen(&id) {
                    continue;
                }
                tracing::info!(%id, running = running.len(), "job resumed by targets: tracking it again");
                let stats: BTreeMap<String, SnapStats> = parts
                    .iter()
                    .map(|(t, s)| (t.daemon_id.clone(), snap_stats(s)))
                    .collect();
                self.track_adopted(id, known.kind, running, stats, Vec::new());
                continue;
            }
            let first = &parts[0].1;
            let kind = if first.kind.is_empty() && id.starts_with('g') {
                "rebalance".to_string()
            } else {
                first.kind.clone()
            };
            let stats: BTreeMap<String, SnapStats> = parts
                .iter()
                .map(|(t, s)| (t.daemon_id.clone(), snap_stats(s)))
                .collect();
            let errs: Vec<String> = parts
                .iter()
                .flat_map(|(t, s)| s.errs.iter().map(move |e| format!("{}: {e}", t.name())))
                .collect();
            let aborted = parts.iter().any(|(_, s)| s.aborted);
            let job = ais_xact::Job {
                id: id.clone(),
                kind: kind.clone(),
                bck: first.bck.clone(),
                start_ns: parts.iter().map(|(_, s)| s.start_ns).min().unwrap_or(0),
                end_ns: if running.is_empty() {
                    parts
                        .iter()
                        .map(|(_, s)| s.end_ns)
                        .max()
                        .unwrap_or(0)
                        .max(1)
                } else {
                    0
                },
                err: if aborted {
                    "aborted".into()
                } else {
                    errs.join("; ")
                },
                aborted,
                stats: stats.clone(),
                times: parts
                    .iter()
                    .map(|(t, s)| (t.daemon_id.clone(), (s.start_ns, s.end_ns)))
                    .collect(),
                result: None,
            };
            if !self.jobs.adopt(job) {
                continue;
            }
            adopted += 1;
            tracing::info!(%id, %kind, running = running.len(), "job adopted from the targets");
            if !running.is_empty() {
                self.track_adopted(id, kind, running, stats, errs);
            }
        }
        adopted
    }

    /// Tracks the `running` parts of an adopted job to its end, in the background (a
    /// restarted target gets its part of a rebalance again).
    fn track_adopted(
        &self,
        id: String,
        kind: String,
        running: Vec<ais_meta::Snode>,
        mut stats: BTreeMap<String, SnapStats>,
        mut errs: Vec<String>,
    ) {
        let Some(me) = self.weak.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let v = serde_json::json!({"id": id});
            let restart = (kind == "rebalance").then_some(("rebalance", &v));
            me.track_job(&id, running, restart, &mut stats, &mut errs)
                .await;
            me.jobs.finish(&id, stats, errs);
        });
    }

    /// Tells every target to stop its part of job `id` (they finish the object at hand).
    pub(super) async fn abort_on_targets(&self, id: &str) {
        let smap = self.smap();
        let v = serde_json::json!({"id": id});
        let futs = smap.tmap.values().map(|t| {
            self.ctl
                .peers
                .control(&t.intra_control_net.direct_url, "abort", &v)
        });
        for r in futures_util::future::join_all(futs).await {
            if let Err(e) = r {
                tracing::debug!(job = %id, err = %e, "abort: a target did not answer");
            }
        }
    }

    /// Waits (bounded) for job `id` to end; true if it ended without error.
    pub(super) async fn wait_job(&self, id: &str, limit: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            match self.jobs.get(id) {
                Some(j) if j.end_ns != 0 => return j.err.is_empty() && !j.aborted,
                None => return false,
                _ => tokio::time::sleep(REB_POLL).await,
            }
        }
        false
    }
}
