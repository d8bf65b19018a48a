//! Proxy: `/v1/daemon`, `/v1/cluster` (queries, join, jobs) and `/v1/reverse` requests.

use super::Proxy;
use crate::common::{bad_path, method_not_allowed};
use crate::web::{self, Req, Resp};
use ais_core::serde_util::{get_ci, get_ci_str};
use ais_core::wire::ActMsg;
use ais_core::{ErrKind, Error};
use ais_meta::Snode;
use http::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Proxy {
    fn config_json(&self) -> Value {
        let mut v =
            serde_json::to_value(self.ctl.meta.config().redacted()).unwrap_or_else(|_| json!({}));
        if let (Some(o), Ok(Value::Object(l))) =
            (v.as_object_mut(), serde_json::to_value(&self.ctl.cfg.local))
        {
            o.extend(l);
        }
        v
    }

    pub(super) fn node_status(&self) -> Value {
        self.ctl.node_status(json!({"mountpaths": {}, "cs_err": "", "total_used": "0", "total_avail": "0", "pct_max": 0, "pct_avg": 0, "pct_min": 0}), self.node_flags())
    }

    fn what_common(&self, what: &str) -> Option<Result<Resp, Error>> {
        Some(Ok(match what {
            "smap" => {
                if !self.ctl.is_started() {
                    return Some(Err(Error::new(
                        ErrKind::Unavailable,
                        "cluster map is not ready yet",
                    )));
                }
                web::json(&*self.smap())
            }
            "bmd" => web::json(&*self.bmd()),
            "snode" => web::json(&self.ctl.me),
            "config" => web::json(&self.config_json()),
            "cluster_config" => web::json(&self.ctl.meta.config().redacted()),
            "software_version" => web::text(crate::VERSION),
            "node_status" => web::json(&self.node_status()),
            _ => return None,
        }))
    }

    pub(super) async fn handle_daemon(&self, req: &mut Req) -> Result<Resp, Error> {
        if req.method == Method::PUT && req.items.get(1).map(String::as_str) == Some("set-config") {
            return crate::common::daemon_set_config(&self.ctl, req);
        }
        match req.method {
            Method::GET => {
                let what = req.q("what").to_string();
                self.what_common(&what).unwrap_or_else(|| {
                    Err(Error::new(
                        ErrKind::NotImplemented,
                        format!("daemon query what={what}: not supported"),
                    ))
                })
            }
            _ => Err(Error::new(
                ErrKind::NotImplemented,
                format!("{} {}: not supported yet", req.method, req.raw_path),
            )),
        }
    }

    pub(super) async fn handle_cluster(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let sub = req.items.get(1).map(String::as_str).unwrap_or("");
        match (&req.method, sub) {
            (&Method::POST, "join") => {
                self.ctl
                    .check_secret(req.header(crate::intra::SECRET_HDR))?;
                let b = req.read_body().await?;
                let node: Snode = serde_json::from_slice(&b)
                    .map_err(|e| Error::bad_request(format!("join: {e}")))?;
                let revs = self.handle_join(node).await?;
                Ok(web::json(&crate::intra::JoinReply::from(revs)))
            }
            (&Method::PUT, "attach") | (&Method::PUT, "detach") => {
                if !self.ctl.is_primary() {
                    return self.to_primary(req).await;
                }
                self.remote_attach(req, sub == "attach").await
            }
            (&Method::PUT, "set-config") => {
                if !self.ctl.is_primary() {
                    return self.to_primary(req).await;
                }
                let kvs = crate::common::config_kvs(req)?;
                if req.q_bool("transient") {
                    return Err(Error::new(
                        ErrKind::NotImplemented,
                        "transient cluster-wide config changes are not supported; use /v1/daemon/set-config per node",
                    ));
                }
                self.set_cluster_config(&kvs).await
            }
            (&Method::PUT, "proxy") => {
                if !self.ctl.is_primary() {
                    return self.to_primary(req).await;
                }
                let id = req.items.get(2).cloned().unwrap_or_default();
                if id.is_empty() {
                    return Err(Error::bad_request("set-primary: missing proxy id"));
                }
                self.set_primary(&id).await
            }
            (&Method::GET, "") => {
                let what = req.q("what").to_string();
                if let Some(r) = self.what_common(&what) {
                    return r;
                }
                if what == "remote" {
                    return Ok(self.remote_info().await);
                }
                // Jobs are started and tracked by the primary: ask it.
                if matches!(
                    what.as_str(),
                    "status" | "status_all" | "running_all" | "qryxstats"
                ) && !self.ctl.is_primary()
                {
                    return self.to_primary(req).await;
                }
                let body = req.read_body().await?;
                let q: Value = if body.is_empty() {
                    json!({})
                } else {
                    serde_json::from_slice(&body)
                        .map_err(|e| Error::bad_request(format!("invalid query message: {e}")))?
                };
                self.job_query(&what, &q).await
            }
            (&Method::PUT, "") => {
                if !self.ctl.is_primary() {
                    return self.to_primary(req).await;
                }
                let msg = ActMsg::parse(&req.read_body().await?)?;
                match msg.action.as_str() {
                    "stop" => {
                        let id = get_ci_str(&msg.value, "id").unwrap_or("");
                        let ids: Vec<String> = if id.is_empty() {
                            let kind = get_ci_str(&msg.value, "kind").unwrap_or("");
                            self.jobs
                                .find(kind, true)
                                .into_iter()
                                .map(|j| j.id)
                                .collect()
                        } else {
                            vec![id.to_string()]
                        };
                        for id in &ids {
                            self.jobs.abort(id)?;
                            self.abort_on_targets(id).await;
                        }
                        Ok(web::ok())
                    }
                    "start" => self.start_job(&msg.value).await,
                    a => self.node_action(a, &msg.value).await,
                }
            }
            (&Method::GET | &Method::PUT | &Method::POST | &Method::DELETE, _) => {
                Err(bad_path(req))
            }
            _ => Err(method_not_allowed(req)),
        }
    }

    /// `start` (`api.StartXaction`, the SDK's `Job.start`): `rebalance` (of the whole cluster,
    /// also when membership did not change: after an abort, say) and `resilver` (on the target
    /// `DaemonID`, or on every target). Replies with the job id.
    async fn start_job(self: &Arc<Self>, v: &Value) -> Result<Resp, Error> {
        let raw = get_ci_str(v, "kind").unwrap_or("");
        let kind = ais_xact::resolve_kind(raw)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::bad_request(format!("unknown job kind \"{raw}\"")))?;
        match kind {
            "rebalance" => {
                // A new map revision names the rebalance (`g<version>`), as membership changes do.
                let smap = self.modify_smap(|_| Ok(true)).await?;
                let id = self
                    .start_rebalance(&smap, true)
                    .ok_or_else(|| Error::bad_request("rebalance: no target can take objects"))?;
                Ok(web::text(id))
            }
            "resilver" => {
                let node = get_ci_str(v, "daemonid")
                    .or_else(|| get_ci_str(v, "node"))
                    .unwrap_or("");
                let smap = self.smap();
                let targets: Vec<ais_meta::Snode> = if node.is_empty() {
                    smap.tmap.values().cloned().collect()
                } else {
                    vec![smap.tmap.get(node).cloned().ok_or_else(|| {
                        Error::new(
                            ErrKind::NotFound,
                            format!(
                                "resilver: target \"{node}\" does not exist in the cluster map"
                            ),
                        )
                    })?]
                };
                let tids: Vec<String> = targets.iter().map(|t| t.daemon_id.clone()).collect();
                let id = self.jobs.start("resilver", None, &tids);
                let me = self.clone();
                let jid = id.clone();
                tokio::spawn(async move {
                    let v = json!({"id": jid});
                    let (stats, errs) = me.run_target_job(&jid, &targets, "resilver", &v).await;
                    me.jobs.finish(&jid, stats, errs);
                });
                Ok(web::text(id))
            }
            k => Err(Error::new(
                ErrKind::NotImplemented,
                format!("starting job kind \"{k}\" is not supported yet"),
            )),
        }
    }

    async fn job_query(&self, what: &str, q: &Value) -> Result<Resp, Error> {
        let id = get_ci_str(q, "id").unwrap_or("");
        // An id this primary does not know may be a job its predecessor (or its previous
        // incarnation) started: ask the targets.
        if !id.is_empty() && self.jobs.get(id).is_none() {
            self.adopt_jobs().await;
        }
        let raw = get_ci_str(q, "kind").unwrap_or("");
        let kind = ais_xact::resolve_kind(raw)
            .ok_or_else(|| Error::bad_request(format!("unknown job kind \"{raw}\"")))?;
        let only_running = get_ci(q, "show_active")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || get_ci(q, "onlyrunning")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let not_found = || Error::new(ErrKind::NotFound, format!("job \"{id}\" not found"));
        let kind_match = |j: &ais_xact::Job| kind.is_empty() || j.kind == kind;
        match what {
            "status" => {
                if id.is_empty() && kind.is_empty() {
                    return Err(Error::bad_request(
                        "job status query: expecting job id or kind",
                    ));
                }
                let job = if id.is_empty() {
                    self.jobs.find(kind, false).into_iter().next()
                } else {
                    self.jobs.get(id)
                };
                let job = job.ok_or_else(not_found)?;
                if !kind_match(&job) {
                    return Err(Error::bad_request(format!(
                        "job \"{id}\" is of kind {}, not {kind}",
                        job.kind
                    )));
                }
                Ok(web::json(&job.status()))
            }
            "status_all" => {
                let v: Vec<_> = self
                    .jobs
                    .find(kind, only_running)
                    .iter()
                    .map(|j| j.status())
                    .collect();
                Ok(web::json(&v))
            }
            "running_all" => {
                let v: Vec<String> = self
                    .jobs
                    .find(kind, true)
                    .iter()
                    .map(|j| format!("{}[{}]", j.kind, j.id))
                    .collect();
                Ok(web::json(&v))
            }
            "qryxstats" => {
                let jobs = if id.is_empty() {
                    self.jobs.find(kind, only_running)
                } else {
                    self.jobs.get(id).into_iter().collect()
                };
                let mut all: BTreeMap<String, Vec<ais_core::wire::JobSnap>> = BTreeMap::new();
                for j in jobs.iter().filter(|j| kind_match(j)) {
                    for (t, mut snaps) in j.snaps() {
                        all.entry(t).or_default().append(&mut snaps);
                    }
                }
                if all.is_empty() {
                    return Err(not_found());
                }
                Ok(web::json(&all))
            }
            "target_ips" => {
                let ips: Vec<String> = self
                    .smap()
                    .tmap
                    .values()
                    .map(|t| t.public_net.node_ip_addr.clone())
                    .collect();
                Ok(web::text(ips.join(",")))
            }
            "" => Err(Error::bad_request("missing query parameter \"what\"")),
            w => Err(Error::new(
                ErrKind::NotImplemented,
                format!("cluster query what={w}: not supported yet"),
            )),
        }
    }

    /// `/v1/reverse/daemon[/...]` + `Ais-Node-Id`: forwards to that node.
    pub(super) async fn handle_reverse(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        if req.items.get(1).map(String::as_str) != Some("daemon") {
            return Err(Error::bad_request(format!(
                "invalid reverse path \"{}\": expecting /v1/reverse/daemon",
                req.raw_path
            )));
        }
        if !matches!(
            req.method,
            Method::GET | Method::POST | Method::PUT | Method::DELETE
        ) {
            return Err(method_not_allowed(req));
        }
        let nid = req
            .header(ais_core::wire::hdr::NODE_ID)
            .unwrap_or("")
            .to_string();
        if nid.is_empty() {
            return Err(Error::bad_request("missing node ID (header Ais-Node-Id)"));
        }
        if nid == self.ctl.me.daemon_id {
            req.items.remove(0);
            return self.handle_daemon(req).await;
        }
        let smap = self.smap();
        let node = smap.get(&nid).ok_or_else(|| {
            Error::new(
                ErrKind::NotFound,
                format!("node \"{nid}\" does not exist in the cluster map"),
            )
        })?;
        let path = req.raw_path.replacen("/v1/reverse/daemon", "/v1/daemon", 1);
        let mut url = format!("{}{}", node.public_net.direct_url, path);
        if !req.raw_query.is_empty() {
            url.push('?');
            url.push_str(&req.raw_query);
        }
        let body = req.read_body().await?;
        self.ctl
            .intra
            .forward(req.method.clone(), url, &req.headers, body)
            .await
    }
}
