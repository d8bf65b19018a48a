//! Target: one listing page of its own objects (merged by the proxy) and batch deletes of the
//! objects it owns.

use super::Target;
use crate::intra::{BatchResult, DeleteReq, ListReq};
use crate::web::{self, Req, Resp};
use ais_core::Error;
use ais_core::wire::{LIST_PAGE_SIZE_MAX, LsoEnt, LsoProps, LsoRes, ent_flag};
use std::sync::Arc;

impl Target {
    pub(super) async fn list_page(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let b = req.read_body().await?;
        let lr: ListReq = serde_json::from_slice(&b)
            .map_err(|e| Error::bad_request(format!("list request: {e}")))?;
        self.with_props(&lr.bck, |_| ())?;
        let props = LsoProps::parse(&lr.msg.props)?;
        let prefix = ais_core::name::validate_prefix(&lr.msg.prefix)?.to_string();
        let after = if lr.msg.continuation_token.is_empty() {
            lr.msg.start_after.clone()
        } else {
            lr.msg.continuation_token.clone()
        };
        let limit = if lr.msg.pagesize <= 0 {
            LIST_PAGE_SIZE_MAX
        } else {
            (lr.msg.pagesize as usize).min(LIST_PAGE_SIZE_MAX)
        };
        // objects still on a mountpath being drained are listed too (the proxy drops duplicates)
        let dirs = self.obj_dirs_all(&lr.bck);
        let tname = self.name.clone();
        let bck = lr.bck.clone();
        // Go's RFC3339 layouts ask for RFC 3339 times; anything else gets AIS's default RFC 822.
        let rfc3339 = lr.msg.time_format.starts_with("2006-01-02T15:04:05");
        let names = lr.names;
        let mps = self.mps();
        let entries = tokio::task::spawn_blocking(move || -> Result<Vec<LsoEnt>, Error> {
            let need_lom = props.size || props.checksum || props.atime || props.version || props.custom;
            let mut found: Vec<(ais_fs::WalkEntry, String)> = Vec::new();
            if names.is_empty() {
                for (mp, dir) in &dirs {
                    let page = ais_fs::walk_bucket(dir, &prefix, &after, limit)
                        .map_err(|e| Error::internal(format!("{tname}: list {}: {e}", dir.display())))?;
                    found.extend(page.into_iter().map(|e| (e, mp.clone())));
                }
                found.sort_unstable_by(|a, b| a.0.name.cmp(&b.0.name));
                found.truncate(limit);
            } else {
                // Presence of a remote listing page's objects: where this target keeps them.
                for n in names.into_iter().take(LIST_PAGE_SIZE_MAX) {
                    let loc = mps.locate(&bck, &n);
                    if loc.fqn.is_file() {
                        found.push((ais_fs::WalkEntry { name: n, fqn: loc.fqn }, loc.mountpath));
                    }
                }
            }
            let mut out = Vec::with_capacity(found.len());
            for (e, mp) in found {
                let mut ent = LsoEnt { name: e.name, flags: ent_flag::IS_CACHED, ..Default::default() };
                if need_lom {
                    match ais_fs::load_lom(&e.fqn, &ent.name) {
                        Ok(lom) => {
                            if props.size {
                                ent.size = lom.size as i64;
                            }
                            if props.checksum {
                                ent.checksum = lom.cksum.as_ref().map(|c| c.value.clone()).unwrap_or_default();
                            }
                            if props.atime {
                                ent.atime = if rfc3339 {
                                    ais_core::time::rfc3339_nanos(lom.atime_ns)
                                } else {
                                    ais_core::time::rfc822(lom.atime_ns)
                                };
                            }
                            if props.version {
                                ent.version = lom.version.clone();
                            }
                            if props.custom {
                                ent.custom = lom.custom_str();
                            }
                        }
                        Err(ais_fs::Error::NotFound(_)) => continue, // deleted meanwhile
                        Err(err) => {
                            tracing::warn!(bck = %bck, obj = %ent.name, %err, "listing: unreadable object metadata");
                            continue;
                        }
                    }
                }
                if props.location {
                    ent.location = format!("{tname}:{mp}");
                }
                if props.copies {
                    ent.copies = 1;
                }
                out.push(ent);
            }
            Ok(out)
        })
        .await
        .map_err(crate::err::join_err)??;
        let res = LsoRes {
            uuid: lr.msg.uuid,
            continuation_token: String::new(),
            entries,
            flags: 0,
        };
        let b = rmp_serde::to_vec_named(&res)
            .map_err(|e| Error::internal(format!("encode listing: {e}")))?;
        Ok(web::with_ct(
            http::Response::new(web::full(b)),
            "application/msgpack",
        ))
    }

    pub(super) async fn batch_delete(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let b = req.read_body().await?;
        let dr: DeleteReq = serde_json::from_slice(&b)
            .map_err(|e| Error::bad_request(format!("delete request: {e}")))?;
        self.with_props(&dr.bck, |_| ())?;
        let names = if dr.sel.template.is_empty() {
            dr.sel.objnames
        } else {
            ais_core::template::Template::parse(&dr.sel.template)?.expand()
        };
        let smap = self.smap();
        let me = self.ctl.me.daemon_id.clone();
        let mps = self.mps();
        let locks = self.locks.clone();
        let bck = dr.bck;
        // EC buckets: the other targets drop their slices of the names this target owns
        // (in the background, a bounded number at a time).
        if self.with_props(&bck, super::ec::ec_of)?.is_some() {
            let smap = self.smap();
            let mine: Vec<String> = names
                .iter()
                .filter(|n| {
                    let d = ais_placement::digest(bck.uname(n).as_bytes());
                    smap.hrw_target_digest(d)
                        .is_ok_and(|t| t.daemon_id == self.ctl.me.daemon_id)
                })
                .cloned()
                .collect();
            let (me, b) = (self.clone(), bck.clone());
            tokio::spawn(async move {
                use futures_util::StreamExt;
                futures_util::stream::iter(mine)
                    .for_each_concurrent(8, |n: String| {
                        let (me, b) = (me.clone(), b.clone());
                        async move { me.ec_delete_all(&b, &n).await }
                    })
                    .await;
            });
        }
        let res = tokio::task::spawn_blocking(move || {
            let mut res = BatchResult::default();
            for n in names {
                if ais_core::name::validate_obj_name(&n, false).is_err() {
                    continue;
                }
                let d = ais_placement::digest(bck.uname(&n).as_bytes());
                match smap.hrw_target_digest(d) {
                    Ok(t) if t.daemon_id == me => {}
                    _ => continue,
                }
                let loc = mps.locate_digest(&bck, &n, d);
                let cname = bck.cname_obj(&n);
                let _g = Target::lock_for(&locks, d).lock().expect("object lock");
                let size = std::fs::metadata(&loc.fqn).map(|m| m.len()).unwrap_or(0);
                let deleted = ais_fs::delete_object(&loc, &cname);
                super::mirror::remove_copies(
                    &super::mirror::copy_candidates(&mps, &bck, &n),
                    &cname,
                );
                match deleted {
                    Ok(()) => {
                        res.objs += 1;
                        res.bytes += size as i64;
                    }
                    Err(ais_fs::Error::NotFound(_)) => {}
                    Err(e) => res.errs.push(e.to_string()),
                }
            }
            res
        })
        .await
        .map_err(crate::err::join_err)?;
        Ok(web::json(&res))
    }

    /// `POST /v1/intra/summary`: count and size of this target's objects of a bucket (prefix).
    pub(super) async fn summary(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let b = req.read_body().await?;
        let sr: crate::intra::SummaryReq = serde_json::from_slice(&b)
            .map_err(|e| Error::bad_request(format!("summary request: {e}")))?;
        self.with_props(&sr.bck, |_| ())?;
        let prefix = ais_core::name::validate_prefix(&sr.prefix)?.to_string();
        let dirs = self.mps().obj_dirs(&sr.bck);
        let mps: Vec<String> = self.mps().all().iter().map(|m| m.path.clone()).collect();
        let part =
            tokio::task::spawn_blocking(move || -> Result<crate::intra::SummaryPart, Error> {
                let mut p = crate::intra::SummaryPart {
                    min: u64::MAX,
                    ..Default::default()
                };
                for (_, dir) in &dirs {
                    let mut after = String::new();
                    loop {
                        let page = ais_fs::walk_bucket(dir, &prefix, &after, 10_000)
                            .map_err(|e| Error::internal(format!("summary walk: {e}")))?;
                        let Some(last) = page.last() else { break };
                        after = last.name.clone();
                        for e in &page {
                            if let Ok(md) = std::fs::metadata(&e.fqn) {
                                p.count += 1;
                                p.size += md.len();
                                p.min = p.min.min(md.len());
                                p.max = p.max.max(md.len());
                            }
                        }
                    }
                }
                if p.count == 0 {
                    p.min = 0;
                }
                for m in &mps {
                    if let Ok(st) = rustix::fs::statvfs(m.as_str()) {
                        p.disks_total += st.f_blocks.saturating_mul(st.f_frsize);
                        p.disks_used += st
                            .f_blocks
                            .saturating_sub(st.f_bfree)
                            .saturating_mul(st.f_frsize);
                    }
                }
                Ok(p)
            })
            .await
            .map_err(crate::err::join_err)??;
        Ok(web::json(&part))
    }
}
