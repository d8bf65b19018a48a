//! N-way mirroring (bucket property `mirror`): copies of an object on other mountpaths of its
//! target, chosen in HRW order after the object's own, under `%cp`. Copies are written right
//! after the object (under its lock), removed with it, restore it when it is lost or fails its
//! checksum, and are brought to the bucket's count in the background when the property changes.

use super::Target;
use ais_core::Bck;
use ais_fs::{Location, Mountpaths};
use ais_meta::Bprops;
use std::io::Read;
use std::sync::Arc;

/// Copies (the object included) a bucket asks for; 1 without mirroring.
pub(super) fn copies_of(p: &Bprops) -> usize {
    if p.mirror.enabled {
        p.mirror.copies.clamp(1, 32) as usize
    } else {
        1
    }
}

/// Blocking: writes every copy of the object at `main` (replacing older ones).
///
/// Best effort: the object is already committed, so a copy that cannot be written is logged
/// and left to the next restore or make-n-copies (a stale copy is never preferred: restore
/// takes the newest intact one).
pub(super) fn write_copies(
    main: &Location,
    copies: &[Location],
    cname: &str,
) -> Result<(), ais_fs::Error> {
    for c in copies {
        if let Err(e) = ais_fs::copy_object(main, cname, c, None, || ()) {
            tracing::warn!(obj = %cname, mp = %c.mountpath, err = %e, "writing a mirror copy");
        }
    }
    Ok(())
}

/// Blocking: removes copies; missing ones are fine.
pub(super) fn remove_copies(copies: &[Location], cname: &str) {
    for c in copies {
        match ais_fs::delete_object(c, cname) {
            Ok(()) | Err(ais_fs::Error::NotFound(_)) => {}
            Err(e) => {
                tracing::warn!(obj = %cname, mp = %c.mountpath, err = %e, "removing a mirror copy")
            }
        }
    }
}

/// Blocking: whether the object at `loc` is readable, of its recorded size, and matches its
/// stored checksum.
pub(super) fn intact(loc: &Location, cname: &str) -> bool {
    let Ok(lom) = ais_fs::load_lom(&loc.fqn, cname) else {
        return false;
    };
    let Ok(mut f) = std::fs::File::open(&loc.fqn) else {
        return false;
    };
    if f.metadata().map(|m| m.len()).ok() != Some(lom.size) {
        return false;
    }
    let Some(want) = &lom.cksum else {
        return true;
    };
    let Some(mut h) = ais_core::CksumHasher::new(want.ty) else {
        return true;
    };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(_) => return false,
        }
    }
    h.finish().value == want.value
}

/// Blocking: the object at `main` is lost or damaged. Restores it from the first intact copy
/// among `sources`, then re-creates the `wanted` copies that are missing or damaged. `false`
/// if no copy is intact.
pub(super) fn restore(
    main: &Location,
    sources: &[Location],
    wanted: &[Location],
    cname: &str,
) -> bool {
    if intact(main, cname) {
        return true; // written or restored meanwhile (callers hold the object lock)
    }
    // The newest intact copy (version, then access time): stale copies may linger where the
    // copy set used to be.
    let newest = |l: &Location| {
        ais_fs::load_lom(&l.fqn, cname)
            .map(|m| (m.version.parse::<u64>().unwrap_or(0), m.atime_ns))
            .unwrap_or((0, i64::MIN))
    };
    let Some(good) = sources
        .iter()
        .filter(|c| c.fqn != main.fqn && intact(c, cname))
        .max_by_key(|c| newest(c))
    else {
        return false;
    };
    if let Err(e) = ais_fs::copy_object(good, cname, main, None, || ()) {
        tracing::error!(obj = %cname, err = %e, "restoring from a mirror copy failed");
        return false;
    }
    tracing::warn!(obj = %cname, from = %good.mountpath, to = %main.mountpath,
        "object lost or corrupted: restored from its mirror copy");
    for c in wanted {
        if c.fqn != good.fqn
            && !intact(c, cname)
            && let Err(e) = ais_fs::copy_object(main, cname, c, None, || ())
        {
            tracing::warn!(obj = %cname, mp = %c.mountpath, err = %e, "re-creating a mirror copy");
        }
    }
    true
}

/// Every place a copy of an object may be: `%cp` on every mountpath (after a mountpath is
/// lost, the object's HRW mountpath can be the one that held its copy).
pub(super) fn copy_candidates(mps: &Mountpaths, bck: &Bck, obj: &str) -> Vec<Location> {
    mps.all()
        .iter()
        .map(|mp| ais_fs::location(&mp.path, bck, obj, ais_fs::CT_COPY))
        .collect()
}

/// Blocking: for every object of `bck` on this target, makes exactly `n - 1` copies exist
/// (re-creating lost or damaged ones, removing those beyond `n`). Returns (objects, copies
/// written, copies removed).
pub(super) fn make_n_copies(mps: &Mountpaths, bck: &Bck, n: usize) -> (u64, u64, u64) {
    const PAGE: usize = 1000;
    let all = mps.all().len();
    let (mut objs, mut written, mut removed) = (0u64, 0u64, 0u64);
    for (_, dir) in mps.obj_dirs(bck) {
        let mut after = String::new();
        while let Ok(page) = ais_fs::walk_bucket(&dir, "", &after, PAGE) {
            for e in &page {
                let d = ais_placement::digest(bck.uname(&e.name).as_bytes());
                let main = mps.locate_digest(bck, &e.name, d);
                if main.fqn != e.fqn {
                    continue; // not at its HRW mountpath: resilver's business
                }
                objs += 1;
                let cname = bck.cname_obj(&e.name);
                let every = mps.copy_locations(bck, &e.name, d, all);
                let (want, extra) = every.split_at((n - 1).min(every.len()));
                for c in want {
                    let same = ais_fs::load_lom(&c.fqn, &cname)
                        .ok()
                        .zip(ais_fs::load_lom(&main.fqn, &cname).ok())
                        .is_some_and(|(a, b)| a.cksum == b.cksum && a.size == b.size);
                    if !same && ais_fs::copy_object(&main, &cname, c, None, || ()).is_ok() {
                        written += 1;
                    }
                }
                for c in extra {
                    if c.fqn.exists() {
                        remove_copies(std::slice::from_ref(c), &cname);
                        removed += 1;
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = last.name.clone(),
                _ => break,
            }
        }
    }
    (objs, written, removed)
}

/// A bucket job the proxy starts on every target (make-n-copies, ec-encode).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct BckJobReq {
    pub(crate) id: String,
    pub(crate) bck: Bck,
    /// `ec-encode` with name `recover`: check and repair instead of encoding.
    #[serde(default)]
    pub(crate) recover: bool,
}

impl Target {
    /// Runs job `req.id` in the background (idempotent per id): brings mirror copies to the
    /// bucket's count, or erasure codes every object this target owns. Progress in the job's
    /// snap (`/v1/intra/status/<id>`).
    pub(crate) fn start_bck_job(self: &Arc<Self>, ec: bool, req: BckJobReq) {
        let kind = if ec { "ec-encode" } else { "make-n-copies" };
        if !self.job_begin(&req.id, kind, Some(&req.bck)) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let r = if ec && req.recover {
                me.ec_recover(&req.id, &req.bck).await
            } else if ec {
                me.ec_encode_all(&req.id, &req.bck)
                    .await
                    .map(|(objs, _)| (objs as i64, 0, Vec::new()))
            } else {
                match me.with_props(&req.bck, copies_of) {
                    Ok(n) => {
                        let (mps, bck) = (me.mps(), req.bck.clone());
                        tokio::task::spawn_blocking(move || make_n_copies(&mps, &bck, n))
                            .await
                            .map_err(crate::err::join_err)
                            .map(|(objs, written, removed)| {
                                tracing::info!(bck = %req.bck, copies = n, objs, written, removed, "make-n-copies done");
                                (objs as i64, 0, Vec::new())
                            })
                    }
                    Err(e) => Err(e),
                }
            };
            me.job_end(&req.id, r);
        });
    }
}

impl Target {
    /// The copy locations of an object of a bucket with `n` copies.
    pub(super) fn copy_locations(&self, bck: &Bck, obj: &str, d: u64, n: usize) -> Vec<Location> {
        self.mps().copy_locations(bck, obj, d, n)
    }
}
