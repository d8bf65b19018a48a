//! Proxy: `/v1/buckets` — list, create, destroy, HEAD, props, list objects (fan-out and merge),
//! multi-object delete.

use super::Proxy;
use crate::common::{self, method_not_allowed};
use crate::intra::{DeleteReq, ListReq};
use crate::web::{self, Req, Resp};
use ais_core::wire::{self, ActMsg, ListRange, LsoMsg, LsoProps, LsoRes, SnapStats, act};
use ais_core::{Bck, ErrKind, Error, Provider};
use ais_meta::{Bprops, BpropsToSet};
use http::Method;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Proxy {
    pub(super) async fn handle_buckets(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let name = req.items.get(1).cloned().unwrap_or_default();
        if name.is_empty() {
            return match req.method {
                Method::GET => {
                    let msg = ActMsg::parse(&req.read_body().await?)?;
                    if !msg.action.is_empty() && msg.action != act::LIST {
                        return Err(Error::bad_request(format!(
                            "invalid action \"{}\" for listing buckets",
                            msg.action
                        )));
                    }
                    self.list_buckets(req, "")
                }
                _ => Err(Error::bad_request("bucket name is required")),
            };
        }
        let bck = common::req_bck(req, &name)?;
        if !bck.is_ais() {
            self.ensure_bucket(&bck).await?;
        }
        match req.method {
            Method::GET => {
                let body = req.read_body().await?;
                let msg = ActMsg::parse(&body)?;
                match msg.action.as_str() {
                    "" => self.list_objects(req, bck, LsoMsg::default()).await,
                    act::LIST if msg.value.is_null() => self.list_buckets(req, &bck.name),
                    "summary-bck" => self.summary(bck, &msg).await,
                    act::LIST => {
                        let lso: LsoMsg = serde_json::from_value(msg.value).map_err(|e| {
                            Error::bad_request(format!("invalid list-objects message: {e}"))
                        })?;
                        self.list_objects(req, bck, lso).await
                    }
                    a => Err(Error::new(
                        ErrKind::NotImplemented,
                        format!("bucket action \"{a}\" is not supported yet"),
                    )),
                }
            }
            Method::HEAD => {
                if !req.q("bsumm_remote").is_empty() {
                    return Err(Error::new(
                        ErrKind::NotImplemented,
                        "bucket info (summary) is not supported yet",
                    ));
                }
                let bmd = self.bmd();
                let props = bmd.need(&bck)?;
                let js =
                    serde_json::to_string(props).map_err(|e| Error::internal(e.to_string()))?;
                let mut r = web::ok();
                r.headers_mut().insert(
                    wire::hdr::BUCKET_PROPS,
                    http::HeaderValue::from_str(&js).map_err(|e| Error::internal(e.to_string()))?,
                );
                Ok(r)
            }
            Method::POST | Method::DELETE | Method::PATCH | Method::PUT => {
                if !self.ctl.is_primary() {
                    return self.to_primary(req).await;
                }
                let msg = ActMsg::parse(&req.read_body().await?)?;
                self.bucket_action(req, bck, msg).await
            }
            _ => Err(method_not_allowed(req)),
        }
    }

    pub(super) async fn bucket_action(
        self: &Arc<Self>,
        req: &Req,
        bck: Bck,
        msg: ActMsg,
    ) -> Result<Resp, Error> {
        match (&req.method, msg.action.as_str()) {
            (&Method::POST, act::CREATE_BCK) => {
                if !bck.is_ais() {
                    return Err(crate::common::no_backend(&bck));
                }
                let upd: Option<BpropsToSet> =
                    if msg.value.is_null() {
                        None
                    } else {
                        Some(serde_json::from_value(msg.value).map_err(|e| {
                            Error::bad_request(format!("invalid bucket props: {e}"))
                        })?)
                    };
                let now = ais_core::time::now_nanos();
                let bid = (now as u64) ^ self.bid_seq.fetch_add(1, Ordering::Relaxed);
                let mut props = Bprops::new(Provider::Ais, &self.ctl.meta.config(), now, bid);
                if let Some(u) = &upd {
                    props.apply(u)?;
                }
                self.modify_bmd(|bmd| bmd.add(&bck, props).map_err(crate::err::from_meta))
                    .await?;
                tracing::info!(bck = %bck, "bucket created");
                Ok(web::ok())
            }
            (&Method::POST, "prefetch-listrange") | (&Method::DELETE, "evict-listrange")
                if !bck.is_ais() =>
            {
                self.bmd().need(&bck)?;
                let sel: ListRange = serde_json::from_value(msg.value)
                    .map_err(|e| Error::bad_request(format!("invalid object selection: {e}")))?;
                if !sel.template.is_empty() && sel.template.contains('{') {
                    ais_core::template::Template::parse(&sel.template)?;
                }
                Ok(web::text(self.start_sel_job(&msg.action, &bck, sel)))
            }
            (&Method::DELETE, "evict-remote-bck") if !bck.is_ais() => {
                self.bmd().need(&bck)?;
                if req.q_bool("keep_bck_md") {
                    // Drop the cached data, keep the bucket (and its props).
                    let id = self.start_sel_job("evict-remote-bck", &bck, ListRange::default());
                    return Ok(web::text(id));
                }
                self.modify_bmd(|bmd| bmd.remove(&bck).map(|_| ()).map_err(crate::err::from_meta))
                    .await?;
                tracing::info!(bck = %bck, "remote bucket evicted");
                Ok(web::ok())
            }
            (&Method::DELETE, act::DESTROY_BCK) | (&Method::DELETE, "") => {
                if !bck.is_ais() {
                    return Err(Error::new(
                        ErrKind::MethodNotAllowed,
                        format!(
                            "cannot destroy remote bucket \"{}\" (use evict)",
                            bck.cname()
                        ),
                    ));
                }
                self.modify_bmd(|bmd| bmd.remove(&bck).map(|_| ()).map_err(crate::err::from_meta))
                    .await?;
                tracing::info!(bck = %bck, "bucket destroyed");
                Ok(web::ok())
            }
            (&Method::DELETE, act::DELETE_OBJECTS) => {
                self.bmd().need(&bck)?;
                let sel: ListRange = serde_json::from_value(msg.value)
                    .map_err(|e| Error::bad_request(format!("invalid object selection: {e}")))?;
                if sel.objnames.is_empty() == sel.template.is_empty() {
                    return Err(Error::bad_request(
                        "expecting either a list of object names or a template",
                    ));
                }
                if !sel.template.is_empty() {
                    ais_core::template::Template::parse(&sel.template)?;
                }
                for n in &sel.objnames {
                    ais_core::name::validate_obj_name(n, false)?;
                }
                Ok(web::text(self.start_delete(bck, sel)))
            }
            (&Method::POST, "ec-encode") => {
                let props = self.bmd().need(&bck)?.clone();
                if !props.ec.enabled {
                    return Err(Error::bad_request(format!(
                        "bucket {} is not erasure coded (set ec.enabled first)",
                        bck.cname()
                    )));
                }
                let recover = msg.name == "recover";
                let id = self.start_targets_job("ec-encode", &bck, |id| {
                    serde_json::to_value(crate::target::BckJobReq {
                        id: id.to_string(),
                        bck: bck.clone(),
                        recover,
                    })
                });
                Ok(web::text(id))
            }
            (&Method::POST, "copy-bck")
            | (&Method::POST, "move-bck")
            | (&Method::POST, "copy-listrange") => self.copy_bucket(req, bck, &msg).await,
            (&Method::PATCH, act::SET_BPROPS) | (&Method::PATCH, "") => {
                let upd: BpropsToSet = serde_json::from_value(msg.value)
                    .map_err(|e| Error::bad_request(format!("invalid bucket props: {e}")))?;
                let before = self.bmd().need(&bck)?.clone();
                let bmd = self
                    .modify_bmd(|bmd| {
                        let mut p = bmd.need(&bck)?.clone();
                        p.apply(&upd)?;
                        bmd.set(&bck, p).map_err(crate::err::from_meta)
                    })
                    .await?;
                let after = bmd.need(&bck)?;
                // Data-protection changes run as jobs on every target.
                let copies =
                    |p: &ais_meta::Bprops| if p.mirror.enabled { p.mirror.copies } else { 1 };
                let mut ids = Vec::new();
                if copies(&before) != copies(after) {
                    ids.push(self.start_bck_job("make-n-copies", &bck));
                }
                let ec = |p: &ais_meta::Bprops| {
                    p.ec.enabled.then_some((
                        p.ec.data_slices,
                        p.ec.parity_slices,
                        p.ec.objsize_limit,
                    ))
                };
                if ec(after).is_some() && ec(after) != ec(&before) {
                    ids.push(self.start_bck_job("ec-encode", &bck));
                }
                Ok(if ids.is_empty() {
                    web::ok()
                } else {
                    web::text(ids.join(","))
                })
            }
            (_, a) => Err(Error::new(
                ErrKind::NotImplemented,
                format!("{} bucket action \"{a}\" is not supported yet", req.method),
            )),
        }
    }

    fn list_buckets(&self, req: &Req, name: &str) -> Result<Resp, Error> {
        let prov = req.q(wire::qparam::PROVIDER);
        let prov = if prov.is_empty() {
            None
        } else {
            Some(Provider::parse(prov)?)
        };
        let v: Vec<Bck> = self
            .bmd()
            .list(prov)
            .into_iter()
            .filter(|b| name.is_empty() || b.name == name)
            .collect();
        Ok(web::json(&v))
    }

    async fn list_objects(&self, req: &Req, bck: Bck, msg: LsoMsg) -> Result<Resp, Error> {
        let t0 = std::time::Instant::now();
        let r = self.list_objects_merged(req, bck, msg).await;
        if self.ctl.stats.enabled() {
            common::account(&self.ctl.stats.lst, &r, t0, 0);
        }
        r
    }

    async fn list_objects_merged(&self, req: &Req, bck: Bck, msg: LsoMsg) -> Result<Resp, Error> {
        let res = self.list_page(&bck, msg).await?;
        let wants_msgpack = req
            .header("accept")
            .is_some_and(|a| a.contains("application/msgpack"));
        if wants_msgpack {
            let b = rmp_serde::to_vec_named(&res)
                .map_err(|e| Error::internal(format!("encode listing: {e}")))?;
            Ok(web::with_ct(
                http::Response::new(web::full(b)),
                "application/msgpack",
            ))
        } else {
            Ok(web::json(&res.to_json_form()))
        }
    }

    /// One listing page of an `ais://` bucket: every target's page merged, sorted and cut to
    /// the page size; the continuation token is set when more may follow.
    pub(super) async fn list_page(&self, bck: &Bck, mut msg: LsoMsg) -> Result<LsoRes, Error> {
        // A remote bucket lists from its backend, unless only what is cached here is wanted.
        if !bck.is_ais() && msg.flags & wire::ls_flag::CACHED == 0 {
            return self.list_remote_page(bck, &msg).await;
        }
        self.bmd().need(bck)?;
        msg.prefix = ais_core::name::validate_prefix(&msg.prefix)?.to_string();
        LsoProps::parse(&msg.props)?;
        let page = if msg.pagesize <= 0 || msg.pagesize as usize > wire::LIST_PAGE_SIZE_MAX {
            wire::LIST_PAGE_SIZE_MAX
        } else {
            msg.pagesize as usize
        };
        msg.pagesize = page as i64;
        if msg.uuid.is_empty() {
            let mut b = [0u8; 10];
            getrandom::fill(&mut b).expect("OS random source available");
            msg.uuid = ais_core::id::gen_job_id(&b);
        }
        let smap = self.smap();
        let targets: Vec<_> = smap
            .tmap
            .values()
            .filter(|t| msg.target.is_empty() || t.daemon_id == msg.target)
            .collect();
        let lreq = ListReq {
            bck: bck.clone(),
            msg: msg.clone(),
            names: Vec::new(),
        };
        let futs = targets.iter().map(|t| self.ctl.intra.list_page(t, &lreq));
        let mut entries = Vec::new();
        for r in futures_util::future::join_all(futs).await {
            entries.extend(r?.entries);
        }
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|a, b| a.name == b.name);
        let token = if entries.len() >= page {
            entries.truncate(page);
            entries.last().map(|e| e.name.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(LsoRes {
            uuid: msg.uuid,
            continuation_token: token,
            entries,
            flags: 0,
        })
    }

    /// One listing page of a remote bucket, straight from its backend (the continuation token
    /// is the backend's).
    async fn list_remote_page(&self, bck: &Bck, msg: &LsoMsg) -> Result<LsoRes, Error> {
        let bmd = self.bmd();
        let Some(be) = crate::common::bucket_backend(
            &self.ctl,
            &self.backends,
            bck,
            Some(&bmd.need(bck)?.extra),
        )?
        else {
            return Err(crate::common::no_backend(bck));
        };
        drop(bmd);
        let page_size = if msg.pagesize <= 0 {
            1000
        } else {
            msg.pagesize as usize
        };
        let page = be
            .list(&bck.name, &msg.prefix, &msg.continuation_token, page_size)
            .await
            .map_err(crate::err::backend_err)?;
        let mut entries: Vec<wire::LsoEnt> = page
            .objects
            .into_iter()
            .map(|o| wire::LsoEnt {
                name: o.name,
                size: o.size as i64,
                checksum: o.etag,
                atime: o.last_modified,
                version: o.version,
                ..Default::default()
            })
            .collect();
        self.mark_cached(bck, msg, &mut entries).await;
        if msg.flags & wire::ls_flag::NOT_CACHED != 0 {
            entries.retain(|e| e.flags & wire::ent_flag::IS_CACHED == 0);
        }
        Ok(LsoRes {
            uuid: msg.uuid.clone(),
            continuation_token: page.next,
            entries,
            flags: 0,
        })
    }

    /// Marks the entries of a remote listing page that are present in the cluster
    /// (`EntryIsCached`, with their location when asked): every target is asked which of the
    /// page's objects it has. A target that does not answer leaves its objects unmarked.
    async fn mark_cached(&self, bck: &Bck, msg: &LsoMsg, entries: &mut [wire::LsoEnt]) {
        if entries.is_empty() {
            return;
        }
        let lreq = ListReq {
            bck: bck.clone(),
            msg: LsoMsg {
                props: if LsoProps::parse(&msg.props).is_ok_and(|p| p.location) {
                    "name,location".into()
                } else {
                    "name".into()
                },
                ..Default::default()
            },
            names: entries.iter().map(|e| e.name.clone()).collect(),
        };
        let smap = self.smap();
        let futs = smap
            .tmap
            .values()
            .map(|t| self.ctl.intra.list_page(t, &lreq));
        let mut cached = std::collections::HashMap::new();
        for r in futures_util::future::join_all(futs).await {
            match r {
                Ok(res) => cached.extend(res.entries.into_iter().map(|e| (e.name, e.location))),
                Err(e) => tracing::warn!(bck = %bck, err = %e, "remote listing: presence unknown"),
            }
        }
        for e in entries.iter_mut() {
            if let Some(loc) = cached.remove(&e.name) {
                e.flags |= wire::ent_flag::IS_CACHED;
                e.location = loc;
            }
        }
    }

    /// Starts a bucket job (`make-n-copies`, `ec-encode`) on every target; returns its id at
    /// once (the jobs API reports it like any other).
    fn start_bck_job(self: &Arc<Self>, kind: &str, bck: &Bck) -> String {
        self.start_targets_job(kind, bck, |id| {
            serde_json::to_value(crate::target::BckJobReq {
                id: id.to_string(),
                bck: bck.clone(),
                recover: false,
            })
        })
    }

    /// Starts a prefetch or evict job over `sel` on every target; returns its id at once.
    fn start_sel_job(self: &Arc<Self>, kind: &str, bck: &Bck, sel: ListRange) -> String {
        self.start_targets_job(kind, bck, |id| {
            serde_json::to_value(crate::target::SelJobReq {
                id: id.to_string(),
                bck: bck.clone(),
                sel,
            })
        })
    }

    /// The targets a job runs on (placeable ones) and their ids.
    fn placeable_targets(&self) -> (Vec<ais_meta::Snode>, Vec<String>) {
        let targets: Vec<ais_meta::Snode> = self
            .smap()
            .tmap
            .values()
            .filter(|t| t.is_placeable())
            .cloned()
            .collect();
        let tids = targets.iter().map(|t| t.daemon_id.clone()).collect();
        (targets, tids)
    }

    fn start_targets_job(
        self: &Arc<Self>,
        kind: &str,
        bck: &Bck,
        value: impl FnOnce(&str) -> Result<serde_json::Value, serde_json::Error>,
    ) -> String {
        let (targets, tids) = self.placeable_targets();
        let id = self.jobs.start(kind, Some(bck.clone()), &tids);
        let value = value(&id).unwrap_or_default();
        let (me, jid, kind) = (self.clone(), id.clone(), kind.to_string());
        tokio::spawn(async move {
            let (stats, errs) = me.run_target_job(&jid, &targets, &kind, &value).await;
            tracing::info!(id = %jid, %kind, errs = errs.len(), "bucket job finished");
            me.jobs.finish(&jid, stats, errs);
        });
        id
    }

    /// Starts a multi-object delete on every target; returns the job id at once.
    fn start_delete(self: &Arc<Self>, bck: Bck, sel: ListRange) -> String {
        let smap = self.smap();
        let targets: Vec<_> = smap.tmap.values().cloned().collect();
        let tids: Vec<String> = targets.iter().map(|t| t.daemon_id.clone()).collect();
        let id = self
            .jobs
            .start("delete-listrange", Some(bck.clone()), &tids);
        let me = self.clone();
        let jid = id.clone();
        tokio::spawn(async move {
            let dreq = DeleteReq { bck, sel };
            let futs = targets.iter().map(|t| me.ctl.intra.delete(t, &dreq));
            let mut stats = BTreeMap::new();
            let mut errs = Vec::new();
            for (t, r) in targets
                .iter()
                .zip(futures_util::future::join_all(futs).await)
            {
                match r {
                    Ok(b) => {
                        stats.insert(
                            t.daemon_id.clone(),
                            SnapStats {
                                loc_objs: b.objs,
                                loc_bytes: b.bytes,
                                ..Default::default()
                            },
                        );
                        errs.extend(b.errs);
                    }
                    Err(e) => errs.push(format!("{}: {e}", t.name())),
                }
            }
            me.jobs.finish(&jid, stats, errs);
        });
        id
    }

    /// `copy-bck` (SDK `Bucket.copy`) and `move-bck` (`Bucket.rename`): a job on every target;
    /// the destination is created with the source's props when missing; a move destroys the
    /// source when the copy succeeded. Returns the job id.
    async fn copy_bucket(
        self: &Arc<Self>,
        req: &Req,
        src: Bck,
        msg: &ActMsg,
    ) -> Result<Resp, Error> {
        let kind = msg.action.clone();
        // copy-listrange names the destination in the message (`tobck`), the others in the query.
        let (dst, sel) = if kind == "copy-listrange" {
            let tobck = msg
                .value
                .get("tobck")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            let dst: Bck = serde_json::from_value(tobck)
                .map_err(|e| Error::bad_request(format!("{kind}: invalid tobck: {e}")))?;
            dst.validate()?;
            let sel: ListRange = serde_json::from_value(msg.value.clone())
                .map_err(|e| Error::bad_request(format!("{kind}: {e}")))?;
            if sel.objnames.is_empty() == sel.template.is_empty() {
                return Err(Error::bad_request(
                    "expecting either a list of object names or a template",
                ));
            }
            if !sel.template.is_empty() {
                ais_core::template::Template::parse(&sel.template)?;
            }
            (dst, Some(sel))
        } else {
            let to = req.q("bck_to");
            if to.is_empty() {
                return Err(Error::bad_request(format!(
                    "{kind}: missing destination (query bck_to)"
                )));
            }
            (Bck::parse_path(to)?, None)
        };
        if !src.is_ais() {
            return Err(crate::common::no_backend(&src));
        }
        if !dst.is_ais() {
            return Err(crate::common::no_backend(&dst));
        }
        if src == dst {
            return Err(Error::bad_request(format!(
                "{kind}: source and destination are the same bucket {src}"
            )));
        }
        let src_props = self.bmd().need(&src)?.clone();
        let s = |k: &str| {
            msg.value
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let (prefix, prepend) = (s("prefix"), s("prepend"));
        let dry_run = msg
            .value
            .get("dry_run")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if kind == "move-bck" && self.bmd().get(&dst).is_some() {
            return Err(Error::new(
                ErrKind::BckAlreadyExists,
                format!("bucket \"{}\" already exists", dst.cname()),
            ));
        }
        if self.bmd().get(&dst).is_none() && !dry_run {
            let now = ais_core::time::now_nanos();
            let mut props = src_props.clone();
            props.created = now;
            props.bid = (now as u64) ^ self.bid_seq.fetch_add(1, Ordering::Relaxed);
            let d = dst.clone();
            self.modify_bmd(move |bmd| bmd.add(&d, props).map_err(crate::err::from_meta))
                .await?;
        }
        let (targets, tids) = self.placeable_targets();
        let id = self.jobs.start(&kind, Some(src.clone()), &tids);
        let value = serde_json::to_value(crate::target::CopyReq {
            id: id.clone(),
            kind: kind.clone(),
            src: src.clone(),
            dst: dst.clone(),
            prefix,
            prepend,
            dry_run,
            sel,
        })
        .map_err(|e| Error::internal(e.to_string()))?;
        let me = self.clone();
        let jid = id.clone();
        tokio::spawn(async move {
            let (stats, mut errs) = me.run_target_job(&jid, &targets, "copy-bck", &value).await;
            if kind == "move-bck" && errs.is_empty() {
                let s = src.clone();
                if let Err(e) = me
                    .modify_bmd(move |bmd| {
                        bmd.remove(&s).map(|_| ()).map_err(crate::err::from_meta)
                    })
                    .await
                {
                    errs.push(format!("removing the source bucket: {e}"));
                }
            }
            tracing::info!(id = %jid, %kind, src = %src, dst = %dst, errs = errs.len(), "bucket copy finished");
            me.jobs.finish(&jid, stats, errs);
        });
        Ok(web::text(id))
    }

    /// `summary-bck` (SDK `Bucket.summary`): the first request starts a job and answers 202 with
    /// its id; requests with that `uuid` answer 202 while it runs and 200 with `[BsummResult]`.
    async fn summary(self: &Arc<Self>, bck: Bck, msg: &ActMsg) -> Result<Resp, Error> {
        let uuid = msg
            .value
            .get("uuid")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if !uuid.is_empty() {
            let job = self.jobs.get(&uuid).ok_or_else(|| {
                Error::new(
                    ErrKind::NotFound,
                    format!("bucket summary \"{uuid}\" not found"),
                )
            })?;
            if job.end_ns == 0 {
                return Ok(web::status(web::text(""), http::StatusCode::ACCEPTED));
            }
            if !job.err.is_empty() {
                return Err(Error::internal(format!(
                    "bucket summary {uuid}: {}",
                    job.err
                )));
            }
            return Ok(web::json(&serde_json::json!([job
                .result
                .unwrap_or(serde_json::Value::Null)])));
        }
        if !bck.is_ais() {
            return Err(crate::common::no_backend(&bck));
        }
        self.bmd().need(&bck)?;
        let prefix = msg
            .value
            .get("prefix")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let targets: Vec<ais_meta::Snode> = self.smap().tmap.values().cloned().collect();
        let tids: Vec<String> = targets.iter().map(|t| t.daemon_id.clone()).collect();
        let id = self.jobs.start("summary-bck", Some(bck.clone()), &tids);
        let me = self.clone();
        let jid = id.clone();
        tokio::spawn(async move {
            let sreq = crate::intra::SummaryReq {
                bck: bck.clone(),
                prefix,
            };
            let futs = targets.iter().map(|t| me.ctl.intra.summary(t, &sreq));
            let mut tot = crate::intra::SummaryPart {
                min: u64::MAX,
                ..Default::default()
            };
            let mut errs = Vec::new();
            for (t, r) in targets
                .iter()
                .zip(futures_util::future::join_all(futs).await)
            {
                match r {
                    Ok(p) => {
                        tot.count += p.count;
                        tot.size += p.size;
                        if p.count > 0 {
                            tot.min = tot.min.min(p.min);
                        }
                        tot.max = tot.max.max(p.max);
                        tot.disks_total += p.disks_total;
                        tot.disks_used += p.disks_used;
                    }
                    Err(e) => errs.push(format!("{}: {e}", t.name())),
                }
            }
            if tot.count == 0 {
                tot.min = 0;
            }
            let pct = (tot.size * 100).checked_div(tot.disks_total).unwrap_or(0);
            let mut v = serde_json::to_value(&bck).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("ObjCount".into(), serde_json::json!({"obj_count_present": tot.count.to_string(), "obj_count_remote": "0"}));
                o.insert("ObjSize".into(), serde_json::json!({"obj_min_size": tot.min, "obj_avg_size": tot.size.checked_div(tot.count).unwrap_or(0), "obj_max_size": tot.max}));
                o.insert("TotalSize".into(), serde_json::json!({"size_on_disk": tot.size.to_string(), "size_all_present_objs": tot.size.to_string(), "size_all_remote_objs": "0", "total_disks_size": tot.disks_total.to_string()}));
                o.insert("used_pct".into(), pct.into());
                o.insert("is_present".into(), true.into());
            }
            me.jobs.set_result(&jid, v);
            me.jobs
                .finish(&jid, std::collections::BTreeMap::new(), errs);
        });
        Ok(web::status(web::text(id), http::StatusCode::ACCEPTED))
    }
}
