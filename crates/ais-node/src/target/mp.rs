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
}

/// The mountpaths to open at start-up: the persisted list if any, else the config's.
pub(crate) fn startup_mountpaths(
    cfg: &crate::NodeConfig,
) -> Result<(Vec<String>, Vec<String>), crate::Error> {
    let dir = std::path::Path::new(&cfg.local.confdir);
    match crate::metastore::load::<Vmd>(dir, VMD_FILE)? {
        Some(v) if !v.mountpaths.is_empty() => Ok((v.mountpaths, v.disabled)),
        _ => Ok((cfg.local.mountpaths(), Vec::new())),
    }
}

impl Target {
    /// `/v1/daemon/mountpaths`: `PUT` attach-mp, `DELETE` detach-mp, `POST` enable-mp /
    /// disable-mp / rescan-mp; the value is the mountpath.
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
        self.mp_change(&req.method, &msg.action, path).await?;
        Ok(web::ok())
    }

    /// Attaches, enables, detaches or disables a mountpath (see [`Target::mountpath_action`])
    /// and starts the resilver.
    pub(super) async fn mp_change(
        self: &Arc<Self>,
        method: &http::Method,
        action: &str,
        path: String,
    ) -> Result<(), Error> {
        let cur: Vec<String> = self.mps().all().iter().map(|m| m.path.clone()).collect();
        let (next, drain, disable, enable) = match (method, action) {
            (&http::Method::PUT, "attach-mp") | (&http::Method::POST, "enable-mp") => {
                if cur.contains(&path) {
                    return Ok(());
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
            (&http::Method::POST, "rescan-mp") => return Ok(()),
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
            let vmd = Vmd {
                mountpaths: next,
                disabled: a.disabled.clone(),
            };
            crate::metastore::save(
                std::path::Path::new(&self.ctl.cfg.local.confdir),
                VMD_FILE,
                &vmd,
            )
            .map_err(|e| Error::internal(e.to_string()))?;
        }
        *self.mps.write().expect("mountpaths lock") = Arc::new(mps);
        tracing::info!(%action, mountpath = %path, "mountpaths changed: resilver");
        let me = self.clone();
        tokio::spawn(async move { me.resilver().await });
        Ok(())
    }

    /// Whether reads should also look off the HRW mountpath.
    pub(super) fn resilver_active(&self) -> bool {
        let a = self.mp_admin.lock().expect("mountpath admin lock");
        a.resilvering || !a.draining.is_empty()
    }

    /// Where else an object may be while resilvering: the same name on every other mountpath.
    pub(super) fn other_locations(&self, bck: &Bck, obj: &str, skip: &str) -> Vec<Location> {
        let mut paths: Vec<String> = self.mps().all().iter().map(|m| m.path.clone()).collect();
        paths.extend(
            self.mp_admin
                .lock()
                .expect("mountpath admin lock")
                .draining
                .iter()
                .cloned(),
        );
        paths
            .into_iter()
            .filter(|p| p != skip)
            .map(|p| ais_fs::location(&p, bck, obj, ais_fs::CT_OBJ))
            .collect()
    }

    async fn resilver(self: Arc<Self>) {
        let t0 = Instant::now();
        let mut moved = 0u64;
        let mut errs = 0u64;
        loop {
            let draining = self
                .mp_admin
                .lock()
                .expect("mountpath admin lock")
                .draining
                .clone();
            let mut sources: Vec<String> =
                self.mps().all().iter().map(|m| m.path.clone()).collect();
            sources.extend(draining.iter().cloned());
            for src in &sources {
                for bck in self.bmd().list(None) {
                    let dir = ais_fs::bucket_dir(src, &bck).join(ais_fs::CT_OBJ);
                    let mut after = String::new();
                    loop {
                        let (d, a) = (dir.clone(), after.clone());
                        let Ok(Ok(page)) = tokio::task::spawn_blocking(move || {
                            ais_fs::walk_bucket(&d, "", &a, RES_PAGE)
                        })
                        .await
                        else {
                            errs += 1;
                            break;
                        };
                        let Some(last) = page.last() else { break };
                        after = last.name.clone();
                        let mps = self.mps();
                        let locks = self.locks.clone();
                        let (b, src2) = (bck.clone(), src.clone());
                        let r = tokio::task::spawn_blocking(move || {
                            let (mut n, mut e) = (0u64, 0u64);
                            for ent in page {
                                let d = ais_placement::digest(b.uname(&ent.name).as_bytes());
                                let to = mps.locate_digest(&b, &ent.name, d);
                                if to.mountpath == src2 {
                                    continue;
                                }
                                let _g = Target::lock_for(&locks, d).lock().expect("object lock");
                                let from = Location { fqn: ent.fqn.clone(), mountpath: src2.clone(), bck_dir: ais_fs::bucket_dir(&src2, &b), obj_name: ent.name.clone(), hashed: to.hashed };
                                match ais_fs::move_object(&from, &to) {
                                    Ok(()) => n += 1,
                                    Err(err) => {
                                        tracing::warn!(obj = %b.cname_obj(&ent.name), %err, "resilver: move failed");
                                        e += 1;
                                    }
                                }
                            }
                            (n, e)
                        })
                        .await;
                        match r {
                            Ok((n, e)) => {
                                moved += n;
                                errs += e;
                            }
                            Err(_) => errs += 1,
                        }
                    }
                }
            }
            // A drained mountpath is let go once nothing is left on it; another change while we
            // ran may need one more pass.
            let mut a = self.mp_admin.lock().expect("mountpath admin lock");
            a.draining.retain(|p| !draining.contains(p));
            if a.draining.is_empty() {
                a.resilvering = false;
                break;
            }
        }
        tracing::info!(
            moved,
            errs,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "resilver done"
        );
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
