//! Mountpath administration (attach, detach, enable, disable) and resilver: after the set of
//! mountpaths changes, every object not on its HRW mountpath is moved there (a rename on the same
//! file system, else a verified copy); a detached or disabled mountpath is drained before it is
//! let go. While that runs, a read that misses on the HRW mountpath looks on the others.

use super::Target;
use crate::web::{self, Req, Resp};
use ais_core::{Bck, ErrKind, Error};
use ais_fs::{Location, Mountpaths};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// File (in the confdir) that keeps the mountpath list across restarts.
const VMD_FILE: &str = ".ais.vmd";
/// Objects listed per walk step.
const RES_PAGE: usize = 1000;

/// The persisted volume list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Vmd {
    pub(crate) mountpaths: Vec<String>,
    #[serde(default)]
    pub(crate) disabled: Vec<String>,
    /// Detached or disabled, still holding objects a resilver has to move off.
    #[serde(default)]
    pub(crate) draining: Vec<String>,
    /// Objects may be off their HRW mountpath: a resilver is to run (again) at start-up.
    #[serde(default)]
    pub(crate) resilver_needed: bool,
}

/// The volume list to open at start-up: the persisted one if any, else the config's mountpaths.
pub(crate) fn startup_mountpaths(cfg: &crate::NodeConfig) -> Result<Vmd, crate::Error> {
    let dir = std::path::Path::new(&cfg.local.confdir);
    match crate::metastore::load::<Vmd>(dir, VMD_FILE)? {
        Some(v) if !v.mountpaths.is_empty() => Ok(v),
        _ => Ok(Vmd {
            mountpaths: cfg.local.mountpaths(),
            ..Default::default()
        }),
    }
}

impl Target {
    /// `/v1/daemon/mountpaths`: `PUT` attach-mp, `DELETE` detach-mp, `POST` enable-mp /
    /// disable-mp / rescan-mp; the value is the mountpath. A change starts a resilver job
    /// (its id is the reply's body) unless `dntres=true` postpones it (`start` kind resilver).
    pub(super) async fn mountpath_action(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let msg = ais_core::wire::ActMsg::parse(&req.read_body().await?)?;
        let path = msg.value.as_str().unwrap_or("").to_string();
        if !path.starts_with('/') {
            return Err(Error::bad_request(format!(
                "{}: expecting an absolute mountpath, got {:?}",
                msg.action, msg.value
            )));
        }
        let path = ais_core::config::clean_path(&path);
        let resilver = !req.q_bool("dntres");
        let id = self
            .mp_change(&req.method, &msg.action, path, resilver)
            .await?;
        Ok(match id {
            Some(id) => web::text(id),
            None => web::ok(),
        })
    }

    /// Attaches, enables, detaches or disables a mountpath (see [`Target::mountpath_action`]);
    /// returns the id of the resilver it starts.
    pub(super) async fn mp_change(
        self: &Arc<Self>,
        method: &http::Method,
        action: &str,
        path: String,
        resilver: bool,
    ) -> Result<Option<String>, Error> {
        // One change at a time (each computes the next list from the current one).
        let _one = self.mp_change_lock.lock().await;
        let cur = self.mp_paths();
        let (next, drain, disable, enable) = match (method, action) {
            (&http::Method::PUT, "attach-mp") | (&http::Method::POST, "enable-mp") => {
                if cur.contains(&path) {
                    return Ok(None);
                }
                let mut n = cur.clone();
                n.push(path.clone());
                (n, false, false, action == "enable-mp")
            }
            (&http::Method::DELETE, "detach-mp") | (&http::Method::POST, "disable-mp") => {
                if !cur.contains(&path) {
                    return Err(Error::new(
                        ErrKind::NotFound,
                        format!("{}: mountpath {path} is not in use", self.name),
                    ));
                }
                if cur.len() == 1 {
                    return Err(Error::bad_request(format!(
                        "{}: cannot take out the last mountpath {path}",
                        self.name
                    )));
                }
                (
                    cur.iter().filter(|p| **p != path).cloned().collect(),
                    true,
                    action == "disable-mp",
                    false,
                )
            }
            (&http::Method::POST, "rescan-mp") => return Ok(None),
            (_, a) => {
                return Err(Error::new(
                    ErrKind::NotImplemented,
                    format!("mountpath action \"{a}\" is not supported"),
                ));
            }
        };
        let paths = next.clone();
        let mps = tokio::task::spawn_blocking(move || Mountpaths::new(&paths))
            .await
            .map_err(crate::err::join_err)?
            .map_err(|e| Error::bad_request(format!("{}: {e}", self.name)))?;
        {
            // The new list is persisted and put in use under the volume-list write lock: a
            // resilver that ends meanwhile persists after it, with the new list.
            let _w = self.vmd_write.lock().expect("vmd write lock");
            let vmd = {
                let mut a = self.mp_admin.lock().expect("mountpath admin lock");
                if drain && !a.draining.contains(&path) {
                    a.draining.push(path.clone());
                }
                if disable && !a.disabled.contains(&path) {
                    a.disabled.push(path.clone());
                }
                if enable {
                    a.disabled.retain(|p| *p != path);
                }
                a.resilvering = true;
                // A resilver that started before this change cannot declare it done.
                a.generation += 1;
                Vmd::of(&a, next)
            };
            self.save_vmd(&vmd)?;
            *self.mps.write().expect("mountpaths lock") = Arc::new(mps);
        }
        tracing::info!(%action, mountpath = %path, resilver, "mountpaths changed");
        if !resilver {
            return Ok(None);
        }
        let id = self.start_resilver(None);
        self.announce_jobs().await;
        Ok(Some(id))
    }

    fn save_vmd(&self, vmd: &Vmd) -> Result<(), Error> {
        crate::metastore::save(
            std::path::Path::new(&self.ctl.cfg.local.confdir),
            VMD_FILE,
            vmd,
        )
        .map_err(|e| Error::internal(e.to_string()))
    }

    /// Persists the volume list as it is now. The file is written outside the admin lock
    /// (reads take it); writes are serialized, each with the state at its time.
    fn persist_vmd(&self) {
        let _w = self.vmd_write.lock().expect("vmd write lock");
        let paths = self.mp_paths();
        let vmd = Vmd::of(&self.mp_admin.lock().expect("mountpath admin lock"), paths);
        if let Err(e) = self.save_vmd(&vmd) {
            tracing::warn!(err = %e, "saving the volume list");
        }
    }

    /// Tells the primary that this target started a job on its own (a resilver), so that it
    /// tracks it and the jobs API reports it.
    pub(super) async fn announce_jobs(&self) {
        let Some(p) = self.smap().proxy_si.clone() else {
            return;
        };
        let r = self
            .ctl
            .peers
            .control(
                &p.intra_control_net.direct_url,
                "adopt-jobs",
                &serde_json::json!({}),
            )
            .await;
        if let Err(e) = r {
            tracing::debug!(err = %e, "announcing jobs to the primary");
        }
    }

    /// Starts resilver job `id` (a new id if `None`; idempotent per id); a running resilver is
    /// superseded (aborted: this one walks everything again). Returns the id.
    pub(crate) fn start_resilver(self: &Arc<Self>, id: Option<String>) -> String {
        let id = id.unwrap_or_else(ais_xact::new_id);
        if !self.job_begin(&id, "resilver", None) {
            return id;
        }
        let (prev, generation, newly) = {
            let mut a = self.mp_admin.lock().expect("mountpath admin lock");
            let newly = !a.resilvering;
            a.resilvering = true;
            (a.current.replace(id.clone()), a.generation, newly)
        };
        if newly {
            self.persist_vmd();
        }
        if let Some(p) = prev {
            self.abort_job(&p);
            tracing::info!(%id, superseded = %p, "resilver supersedes the running one");
        }
        let me = self.clone();
        let rid = id.clone();
        tokio::spawn(async move { me.resilver(rid, generation).await });
        id
    }

    /// At start-up: resumes a resilver that a restart cut short (or one still needed), unless
    /// the primary has started one already.
    pub(super) async fn resume_resilver(self: &Arc<Self>) {
        let running = self
            .mp_admin
            .lock()
            .expect("mountpath admin lock")
            .current
            .is_some();
        if running || !self.resilver_active() {
            return;
        }
        let id = self.start_resilver(None);
        tracing::info!(%id, "resuming an unfinished resilver");
        self.announce_jobs().await;
    }

    fn mp_paths(&self) -> Vec<String> {
        self.mps().all().iter().map(|m| m.path.clone()).collect()
    }

    /// The mountpaths being drained (detached or disabled, still holding objects).
    fn draining(&self) -> Vec<String> {
        self.mp_admin
            .lock()
            .expect("mountpath admin lock")
            .draining
            .clone()
    }

    /// The `%ob` directories of `bck` on every mountpath that may hold its objects: those in
    /// use and those being drained (by mountpath).
    pub(super) fn obj_dirs_all(&self, bck: &Bck) -> Vec<(String, std::path::PathBuf)> {
        let mut dirs = self.mps().obj_dirs(bck);
        for mp in self.draining() {
            let dir = ais_fs::bucket_dir(&mp, bck).join(ais_fs::CT_OBJ);
            dirs.push((mp, dir));
        }
        dirs
    }

    /// Whether reads should also look off the HRW mountpath.
    pub(super) fn resilver_active(&self) -> bool {
        let a = self.mp_admin.lock().expect("mountpath admin lock");
        a.resilvering || !a.draining.is_empty()
    }

    /// Where else an object may be while resilvering: the same name on every other mountpath.
    pub(super) fn other_locations(&self, bck: &Bck, obj: &str, skip: &str) -> Vec<Location> {
        let mut paths = self.mp_paths();
        paths.extend(self.draining());
        paths
            .into_iter()
            .filter(|p| p != skip)
            .map(|p| ais_fs::location(&p, bck, obj, ais_fs::CT_OBJ))
            .collect()
    }

    /// Resilver job `id`: moves every object not on its HRW mountpath there, from the
    /// mountpaths in use and the draining ones; a drained mountpath is let go at the end. One
    /// pass runs at a time (a superseded one stops at its next object before this one walks).
    /// Only a complete pass that no mountpath change overtook (`generation`) lets reads stop
    /// looking around; an aborted, superseded or failed one leaves them looking everywhere.
    async fn resilver(self: Arc<Self>, id: String, generation: u64) {
        let _one = self.resilver_run.lock().await;
        let t0 = Instant::now();
        let draining = self.draining();
        let mut sources = self.mp_paths();
        sources.extend(draining.iter().cloned());
        let mut errs: Vec<String> = Vec::new();
        let mut aborted = false;
        'walk: for src in &sources {
            for bck in self.bmd().list(None) {
                let dir = ais_fs::bucket_dir(src, &bck).join(ais_fs::CT_OBJ);
                let mut after = String::new();
                loop {
                    if self.is_aborted(&id) {
                        aborted = true;
                        break 'walk;
                    }
                    let (d, a) = (dir.clone(), after.clone());
                    let page = match tokio::task::spawn_blocking(move || {
                        ais_fs::walk_bucket(&d, "", &a, RES_PAGE)
                    })
                    .await
                    {
                        Ok(Ok(p)) => p,
                        // An unreadable mountpath being let go (a failed disk): best effort.
                        Ok(Err(e)) if draining.contains(src) => {
                            tracing::warn!(mountpath = %src, err = %e, "resilver: cannot walk a draining mountpath; letting it go");
                            break;
                        }
                        Ok(Err(e)) => {
                            errs.push(format!("{}: {e}", dir.display()));
                            break;
                        }
                        Err(e) => {
                            errs.push(e.to_string());
                            break;
                        }
                    };
                    let Some(last) = page.last() else { break };
                    after = last.name.clone();
                    let (me, b, src2, rid) = (self.clone(), bck.clone(), src.clone(), id.clone());
                    let r = tokio::task::spawn_blocking(move || {
                        me.resilver_page(&rid, &b, &src2, page)
                    })
                    .await;
                    match r {
                        Ok(p) => {
                            for m in p.errs.into_iter().take(32usize.saturating_sub(errs.len())) {
                                errs.push(m);
                            }
                            self.reb_add(&id, p.moved, p.bytes, None);
                            if p.aborted {
                                aborted = true;
                                break 'walk;
                            }
                        }
                        Err(e) => errs.push(e.to_string()),
                    }
                }
            }
        }
        {
            let mut a = self.mp_admin.lock().expect("mountpath admin lock");
            let current = a.current.as_deref() == Some(id.as_str());
            if current {
                a.current = None;
            }
            if current && !aborted && errs.is_empty() && a.generation == generation {
                a.draining.retain(|p| !draining.contains(p));
                a.resilvering = !a.draining.is_empty();
            }
        }
        self.persist_vmd();
        let err = if aborted {
            Some(Error::new(ErrKind::Conflict, format!("{id} aborted")))
        } else if errs.is_empty() {
            None
        } else {
            Some(Error::internal(errs.join("; ")))
        };
        if let Some(s) = self.job_done(&id, err) {
            tracing::info!(%id, moved = s.objs, bytes = s.bytes, errs = s.errs.len(), aborted, elapsed_ms = t0.elapsed().as_millis() as u64, "resilver done");
        }
    }

    /// Blocking: moves the objects of one walked page on mountpath `src` to their HRW
    /// mountpaths (placement as of each object, under its lock). A copy already at the HRW
    /// place was written there after the change (writes go to HRW places), so the one found
    /// here is stale and removed. Stops at the next object once the job is aborted.
    fn resilver_page(
        &self,
        id: &str,
        b: &Bck,
        src: &str,
        page: Vec<ais_fs::WalkEntry>,
    ) -> PageMoves {
        let mut out = PageMoves::default();
        for ent in page {
            if self.is_aborted(id) {
                out.aborted = true;
                break;
            }
            let d = ais_placement::digest(b.uname(&ent.name).as_bytes());
            let to = self.mps().locate_digest(b, &ent.name, d);
            if to.mountpath == src {
                continue;
            }
            let _g = Target::lock_for(&self.locks, d)
                .lock()
                .expect("object lock");
            // Gone since the walk (deleted, or moved by a superseded resilver).
            let Ok(meta) = std::fs::metadata(&ent.fqn) else {
                continue;
            };
            let cname = b.cname_obj(&ent.name);
            let from = Location {
                fqn: ent.fqn.clone(),
                mountpath: src.to_string(),
                bck_dir: ais_fs::bucket_dir(src, b),
                obj_name: ent.name.clone(),
                hashed: to.hashed,
            };
            let r = if to.fqn.exists() {
                ais_fs::delete_object(&from, &cname)
            } else {
                ais_fs::move_object(&from, &to)
            };
            match r {
                Ok(()) => {
                    out.moved += 1;
                    out.bytes += meta.len() as i64;
                }
                Err(err) => {
                    tracing::warn!(obj = %cname, %err, "resilver: move failed");
                    out.errs.push(format!("{cname}: {err}"));
                }
            }
        }
        out
    }
}

/// What [`Target::resilver_page`] did.
#[derive(Default)]
struct PageMoves {
    moved: i64,
    bytes: i64,
    errs: Vec<String>,
    aborted: bool,
}

impl Vmd {
    /// The volume list: `mountpaths` in use and the admin state `a`.
    fn of(a: &super::MpAdmin, mountpaths: Vec<String>) -> Vmd {
        Vmd {
            mountpaths,
            disabled: a.disabled.clone(),
            draining: a.draining.clone(),
            resilver_needed: a.resilvering,
        }
    }
}

/// Blocking: the object's metadata at `loc`, else at the first of `alts` that has it (while a
/// resilver moves objects between mountpaths).
pub(super) fn load_anywhere(
    loc: Location,
    alts: Vec<Location>,
    cname: &str,
) -> Result<(Location, ais_fs::Lom), ais_fs::Error> {
    match ais_fs::load_lom(&loc.fqn, cname) {
        Err(ais_fs::Error::NotFound(n)) => {
            for alt in alts {
                if let Ok(lom) = ais_fs::load_lom(&alt.fqn, cname) {
                    return Ok((alt, lom));
                }
            }
            // It may have landed at its HRW place while we looked elsewhere.
            match ais_fs::load_lom(&loc.fqn, cname) {
                Ok(lom) => Ok((loc, lom)),
                Err(_) => Err(ais_fs::Error::NotFound(n)),
            }
        }
        r => r.map(|lom| (loc, lom)),
    }
}
