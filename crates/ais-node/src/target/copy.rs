//! Target side of bucket copy (`copy-bck`, also behind `move-bck`): every target walks its part
//! of the source bucket and writes each object (optionally renamed with a prefix) to the
//! destination's HRW owner — itself, or another target through `/v1/intra/recv`.

use super::Target;
use ais_core::{Bck, Error};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Objects in flight per copying target.
const COPY_CONCURRENCY: usize = 8;
/// Objects listed per walk step.
const COPY_PAGE: usize = 1000;

/// What one target copies (sent by the primary as a control action).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CopyReq {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) src: Bck,
    pub(crate) dst: Bck,
    #[serde(default)]
    pub(crate) prefix: String,
    #[serde(default)]
    pub(crate) prepend: String,
    #[serde(default)]
    pub(crate) dry_run: bool,
    /// Copy only these objects (by list or template) instead of walking the source.
    #[serde(default)]
    pub(crate) sel: Option<ais_core::wire::ListRange>,
}

impl Target {
    /// Starts copy job `req.id` in the background (idempotent per id).
    pub(crate) fn start_copy(self: &Arc<Self>, req: CopyReq) {
        if !self.job_begin(&req.id, &req.kind, Some(&req.src)) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let r = me.copy_pass(&req).await;
            if let Some(s) = me.job_done(&req.id, r.err()) {
                tracing::info!(id = %req.id, kind = %req.kind, src = %req.src, dst = %req.dst, objs = s.objs, bytes = s.bytes, errs = s.errs.len(), "copy done");
            }
        });
    }

    async fn copy_pass(self: &Arc<Self>, req: &CopyReq) -> Result<(), Error> {
        self.bprops(&req.src)?;
        let dst_props = self.bprops(&req.dst)?;
        if let Some(sel) = &req.sel {
            return self.copy_selected(req, sel, dst_props.checksum.ty).await;
        }
        let prefix = ais_core::name::validate_prefix(&req.prefix)?.to_string();
        for (_, dir) in self.mps().obj_dirs(&req.src) {
            let mut after = String::new();
            loop {
                let (d, a, p) = (dir.clone(), after.clone(), prefix.clone());
                let page =
                    tokio::task::spawn_blocking(move || ais_fs::walk_bucket(&d, &p, &a, COPY_PAGE))
                        .await
                        .map_err(crate::err::join_err)?
                        .map_err(|e| Error::internal(format!("copy walk: {e}")))?;
                let Some(last) = page.last() else { break };
                if self.is_aborted(&req.id) {
                    return Err(Error::new(
                        ais_core::ErrKind::Conflict,
                        format!("{} aborted", req.id),
                    ));
                }
                after = last.name.clone();
                let smap = self.smap();
                futures_util::stream::iter(page)
                    .for_each_concurrent(COPY_CONCURRENCY, |e| {
                        let dst_name = format!("{}{}", req.prepend, e.name);
                        let owner = smap.hrw_target(&req.dst.uname(&dst_name)).ok().cloned();
                        let ty = dst_props.checksum.ty;
                        async move {
                            if self.is_aborted(&req.id) {
                                return;
                            }
                            let r = match (req.dry_run, owner) {
                                (true, _) => Ok(0),
                                (false, None) => Err(Error::internal("no targets")),
                                (false, Some(o)) if o.daemon_id == self.id() => {
                                    self.copy_local(&req.src, &e.name, &req.dst, &dst_name, ty)
                                        .await
                                }
                                (false, Some(o)) => self
                                    .send_object(&req.src, &e.name, &req.dst, &dst_name, &o)
                                    .await
                                    .map(|l| l.size),
                            };
                            match r {
                                Ok(n) => self.reb_add(&req.id, 1, n as i64, None),
                                Err(err) => self.reb_add(
                                    &req.id,
                                    0,
                                    0,
                                    Some(format!("{}: {err}", req.src.cname_obj(&e.name))),
                                ),
                            }
                        }
                    })
                    .await;
            }
        }
        Ok(())
    }

    /// Copies the listed (or templated) objects this target owns; missing ones are skipped.
    async fn copy_selected(
        self: &Arc<Self>,
        req: &CopyReq,
        sel: &ais_core::wire::ListRange,
        ty: ais_core::CksumType,
    ) -> Result<(), Error> {
        let names = if sel.template.is_empty() {
            sel.objnames.clone()
        } else {
            ais_core::template::Template::parse(&sel.template)?.expand()
        };
        let smap = self.smap();
        let mine: Vec<String> = names
            .into_iter()
            .filter(|n| ais_core::name::validate_obj_name(n, false).is_ok())
            .filter(|n| {
                smap.hrw_target(&req.src.uname(n))
                    .is_ok_and(|t| t.daemon_id == self.id())
            })
            .collect();
        futures_util::stream::iter(mine)
            .for_each_concurrent(COPY_CONCURRENCY, |name| {
                let smap = &smap;
                async move {
                    if self.is_aborted(&req.id) || req.dry_run {
                        return;
                    }
                    let dst_name = format!("{}{}", req.prepend, name);
                    let r = match smap.hrw_target(&req.dst.uname(&dst_name)) {
                        Err(_) => Err(Error::internal("no targets")),
                        Ok(o) if o.daemon_id == self.id() => {
                            self.copy_local(&req.src, &name, &req.dst, &dst_name, ty)
                                .await
                        }
                        Ok(o) => self
                            .send_object(&req.src, &name, &req.dst, &dst_name, o)
                            .await
                            .map(|l| l.size),
                    };
                    match r {
                        Ok(n) => self.reb_add(&req.id, 1, n as i64, None),
                        Err(e) if e.kind() == ais_core::ErrKind::NotFound => {}
                        Err(e) => self.reb_add(
                            &req.id,
                            0,
                            0,
                            Some(format!("{}: {e}", req.src.cname_obj(&name))),
                        ),
                    }
                }
            })
            .await;
        Ok(())
    }

    /// Copies an object between buckets on this target (one blocking call, 1 MiB reads).
    async fn copy_local(
        &self,
        src: &Bck,
        name: &str,
        dst: &Bck,
        dst_name: &str,
        ty: ais_core::CksumType,
    ) -> Result<u64, Error> {
        let mps = self.mps();
        let (from, to) = (mps.locate(src, name), mps.locate(dst, dst_name));
        let cname = src.cname_obj(name);
        let digest = ais_placement::digest(dst.uname(dst_name).as_bytes());
        let locks = self.locks.clone();
        tokio::task::spawn_blocking(move || {
            ais_fs::copy_object(&from, &cname, &to, Some(ty), || {
                Target::lock_for(&locks, digest)
                    .lock()
                    .expect("object lock")
            })
            .map(|lom| lom.size)
        })
        .await
        .map_err(crate::err::join_err)?
        .map_err(|e| self.fs_err(e))
    }
}
