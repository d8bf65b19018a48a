//! Erasure coding (bucket property `ec`: data slices D, parity slices P, `objsize_limit`).
//!
//! The object stays whole at its HRW owner (reads never decode). After a PUT the owner, in the
//! background, splits it into D+P Reed–Solomon slices (`ais-ec`) and sends slice `i` to the
//! `i`-th other target in the object's HRW order; objects below `objsize_limit` are instead
//! replicated whole to P targets. Slices and replicas live under `%ec` with their metadata
//! (index, D/P, original size, checksum, version, custom metadata). A GET that finds the object
//! missing or corrupted — on its owner, or on a new owner after targets died — gathers the
//! pieces from every target, rebuilds the object (verified against its original checksum),
//! stores it and re-spreads the slices.

use super::Target;
use crate::err::join_err;
use crate::web::{self, Resp};
use ais_core::{Bck, Cksum, CksumType, Error};
use ais_ec::{EcConfig, Slice};
use ais_fs::{Location, Lom, ObjWriter};
use ais_meta::{Bprops, Snode};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Header with a slice's [`SliceMeta`] (JSON).
const META_HDR: &str = "ais-ec-meta";
/// Custom-metadata key of a stored slice's [`SliceMeta`].
const META_KEY: &str = "ec.meta";
/// Objects larger than this are not erasure coded (they are read whole to encode).
pub(super) const EC_MAX_OBJECT: u64 = 256 << 20;

/// What a slice (or replica) says about itself and its object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SliceMeta {
    /// Slice index in `0..D+P`; `None` for a whole replica.
    idx: Option<usize>,
    d: usize,
    p: usize,
    /// Size of the object.
    size: u64,
    /// xxhash64 of the slice bytes (replicas: 0).
    slice_xxh: u64,
    /// The object's checksum (type, value).
    cksum: Option<(String, String)>,
    version: String,
    atime: i64,
    custom: BTreeMap<String, String>,
}

/// D, P and the replication limit of a bucket with EC on.
pub(super) fn ec_of(p: &Bprops) -> Option<(EcConfig, u64)> {
    if !p.ec.enabled {
        return None;
    }
    let cfg = EcConfig::new(p.ec.data_slices as usize, p.ec.parity_slices as usize).ok()?;
    Some((cfg, p.ec.objsize_limit.max(0) as u64))
}

/// Where this target keeps the slice or replica of `obj`.
fn slice_location(loc: &Location) -> Location {
    let name = if loc.hashed {
        ais_fs::hashed_name(&loc.obj_name)
    } else {
        loc.obj_name.clone()
    };
    Location {
        fqn: loc.bck_dir.join(ais_fs::CT_EC).join(name),
        ..loc.clone()
    }
}

fn obj_path(bck: &Bck, obj: &str) -> String {
    format!(
        "/v1/intra/ec/{}/{}",
        bck.name,
        percent_encoding::utf8_percent_encode(obj, crate::common::PATH_SEGMENT)
    )
}

impl Target {
    /// The other targets, in the object's HRW order, that hold its `n` slices or replicas.
    fn ec_targets(&self, bck: &Bck, obj: &str, n: usize) -> Vec<Snode> {
        let smap = self.smap();
        let ts: Vec<&Snode> = smap
            .tmap
            .values()
            .filter(|t| t.is_placeable() && t.daemon_id != self.ctl.me.daemon_id)
            .collect();
        let digests: Vec<u64> = ts.iter().map(|t| t.id_digest).collect();
        let d = ais_placement::digest(bck.uname(obj).as_bytes());
        ais_placement::hrw_sorted(d, &digests)
            .into_iter()
            .take(n)
            .map(|i| ts[i].clone())
            .collect()
    }

    /// After a PUT (or a rebuild): encodes the object in the background and sends its slices.
    pub(super) fn ec_encode_later(self: &Arc<Self>, bck: Bck, obj: String) {
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.ec_encode(&bck, &obj).await {
                tracing::warn!(obj = %bck.cname_obj(&obj), err = %e, "erasure coding failed");
            }
        });
    }

    /// Encodes one object this target owns and sends its slices (or replicas).
    pub(super) async fn ec_encode(&self, bck: &Bck, obj: &str) -> Result<usize, Error> {
        let Some((cfg, limit)) = self.with_props(bck, ec_of)? else {
            return Ok(0);
        };
        let loc = self.mps().locate(bck, obj);
        let cname = bck.cname_obj(obj);
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let locks = self.locks.clone();
        let (lom, bytes) = tokio::task::spawn_blocking(move || -> Result<_, ais_fs::Error> {
            // A consistent snapshot: metadata and bytes of one version.
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            let lom = ais_fs::load_lom(&loc.fqn, &cname)?;
            if lom.size > EC_MAX_OBJECT {
                return Ok((lom, None));
            }
            let b = std::fs::read(&loc.fqn).map_err(|e| ais_fs::Error::Io(cname.clone(), e))?;
            Ok((lom, Some(b)))
        })
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))?;
        let Some(bytes) = bytes else {
            tracing::warn!(obj = %bck.cname_obj(obj), size = lom.size, "too large to erasure code");
            return Ok(0);
        };
        let meta = |idx: Option<usize>, slice_xxh: u64| SliceMeta {
            idx,
            d: cfg.data,
            p: cfg.parity,
            size: lom.size,
            slice_xxh,
            cksum: lom
                .cksum
                .as_ref()
                .map(|c| (c.ty.as_str().to_string(), c.value.clone())),
            version: lom.version.clone(),
            atime: lom.atime_ns,
            custom: lom.custom.clone(),
        };
        let replicate = lom.size < limit;
        let n = if replicate { cfg.parity } else { cfg.total() };
        let targets = self.ec_targets(bck, obj, n);
        if targets.len() < n {
            return Err(Error::new(
                ais_core::ErrKind::Unavailable,
                format!(
                    "{}: EC {cfg} needs {n} other targets, the cluster has {}",
                    bck.cname_obj(obj),
                    targets.len()
                ),
            ));
        }
        let pieces: Vec<(SliceMeta, Bytes)> = if replicate {
            let b = Bytes::from(bytes);
            (0..n).map(|_| (meta(None, 0), b.clone())).collect()
        } else {
            let enc = tokio::task::spawn_blocking(move || ais_ec::encode(&cfg, &bytes))
                .await
                .map_err(join_err)?
                .map_err(|e| Error::internal(format!("encode: {e}")))?;
            enc.slices
                .into_iter()
                .map(|s| (meta(Some(s.index), s.checksum), Bytes::from(s.bytes)))
                .collect()
        };
        let sends = targets.iter().zip(pieces).map(|(t, (m, b))| {
            let url = format!("{}{}", t.intra_data_net.direct_url, super::reb::STREAM_PATH);
            let hdr = ais_transport::ObjHdr {
                size: b.len() as u64,
                kind: ais_transport::kind::EC_SLICE,
                provider: bck.provider.as_str().to_string(),
                namespace: bck.namespace.uname(),
                bucket: bck.name.clone(),
                name: obj.to_string(),
                opaque: serde_json::to_vec(&m).unwrap_or_default().into(),
                ..Default::default()
            };
            async move {
                self.xport.send(&url, hdr, b.into()).await.map_err(|e| {
                    Error::internal(format!("{} to {}: {e}", bck.cname_obj(obj), t.name()))
                })
            }
        });
        for r in futures_util::future::join_all(sends).await {
            r?;
        }
        Ok(n)
    }

    /// Stores a slice or replica sent by the object's owner (over the transport).
    pub(super) async fn store_slice(
        &self,
        bck: Bck,
        obj: String,
        js: String,
        bytes: Bytes,
    ) -> Result<(), Error> {
        self.with_props(&bck, |_| ())?;
        ais_core::name::validate_obj_name(&obj, false)?;
        let loc = slice_location(&self.mps().locate(&bck, &obj));
        let cname = bck.cname_obj(&obj);
        let incoming: SliceMeta = serde_json::from_str(&js)
            .map_err(|e| Error::bad_request(format!("slice metadata: {e}")))?;
        let c2 = cname.clone();
        tokio::task::spawn_blocking(move || -> Result<(), ais_fs::Error> {
            let cname = c2;
            // A late slice of an older version never replaces a newer one.
            let age = |m: &SliceMeta| (m.version.parse::<u64>().unwrap_or(0), m.atime);
            if let Ok(have) = ais_fs::load_lom(&loc.fqn, &cname)
                && let Some(m) = have
                    .custom
                    .get(META_KEY)
                    .and_then(|j| serde_json::from_str::<SliceMeta>(j).ok())
                && age(&m) > age(&incoming)
            {
                return Ok(());
            }
            let mut w = ObjWriter::create(&loc, CksumType::None)?;
            w.write(&bytes)?;
            let mut custom = BTreeMap::new();
            custom.insert(META_KEY.to_string(), js);
            w.commit(
                Lom {
                    atime_ns: ais_core::time::now_nanos(),
                    custom,
                    ..Default::default()
                },
                Some(bytes.len() as u64),
            )
            .map(|_| ())
        })
        .await
        .map_err(join_err)?
        .map_err(|e| crate::err::from_fs(e, &cname))?;
        Ok(())
    }

    /// `GET /v1/intra/ec/B/O`: the slice or replica this target keeps (404 if none).
    pub(super) async fn ec_get_slice(&self, bck: Bck, obj: String) -> Result<Resp, Error> {
        let loc = slice_location(&self.mps().locate(&bck, &obj));
        let cname = bck.cname_obj(&obj);
        let (meta, bytes) = tokio::task::spawn_blocking(move || -> Result<_, ais_fs::Error> {
            let lom = ais_fs::load_lom(&loc.fqn, &cname)?;
            let b = std::fs::read(&loc.fqn).map_err(|e| ais_fs::Error::Io(cname.clone(), e))?;
            Ok((lom.custom.get(META_KEY).cloned().unwrap_or_default(), b))
        })
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))?;
        let mut r = http::Response::new(web::full(bytes));
        r.headers_mut().insert(
            META_HDR,
            http::HeaderValue::from_str(&meta).map_err(|e| Error::internal(e.to_string()))?,
        );
        Ok(r)
    }

    /// `DELETE /v1/intra/ec/B/O`: drops this target's slice or replica.
    pub(super) async fn ec_delete_slice(&self, bck: Bck, obj: String) -> Result<Resp, Error> {
        let loc = slice_location(&self.mps().locate(&bck, &obj));
        let cname = bck.cname_obj(&obj);
        tokio::task::spawn_blocking(move || match ais_fs::delete_object(&loc, &cname) {
            Ok(()) | Err(ais_fs::Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))?;
        Ok(web::ok())
    }

    /// After a DELETE of an EC object: every target drops its piece (failures are logged; a
    /// target that is down keeps its piece).
    pub(super) async fn ec_delete_all(&self, bck: &Bck, obj: &str) {
        let path = obj_path(bck, obj);
        let smap = self.smap();
        let dels = smap.tmap.values().map(|t| {
            let url = format!("{}{path}", t.intra_data_net.direct_url);
            async move {
                let r = self
                    .ctl
                    .intra
                    .request(reqwest::Method::DELETE, &url)
                    .send()
                    .await;
                if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                    tracing::warn!(%url, "dropping an EC slice failed");
                }
            }
        });
        futures_util::future::join_all(dels).await;
    }

    /// The object is missing or damaged here: gathers slices or a replica from every target,
    /// rebuilds and stores it, and re-spreads its slices. `false` if it cannot be rebuilt.
    pub(super) async fn ec_restore(self: &Arc<Self>, bck: &Bck, obj: &str) -> Result<bool, Error> {
        if self.with_props(bck, ec_of)?.is_none() {
            return Ok(false);
        }
        // One rebuild per object at a time; the others find it rebuilt.
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let _flight = self.cold[(digest as usize) % self.cold.len()].lock().await;
        {
            let loc = self.mps().locate_digest(bck, obj, digest);
            let cname = bck.cname_obj(obj);
            if tokio::task::spawn_blocking(move || super::mirror::intact(&loc, &cname))
                .await
                .map_err(join_err)?
            {
                return Ok(true);
            }
        }
        let path = obj_path(bck, obj);
        let smap = self.smap();
        let gets = smap.tmap.values().map(|t| {
            let url = format!("{}{path}", t.intra_data_net.direct_url);
            async move {
                let r = self
                    .ctl
                    .intra
                    .request(reqwest::Method::GET, &url)
                    .send()
                    .await
                    .ok()?;
                if !r.status().is_success() {
                    return None;
                }
                let meta: SliceMeta =
                    serde_json::from_str(r.headers().get(META_HDR)?.to_str().ok()?).ok()?;
                let b = r.bytes().await.ok()?;
                Some((meta, b))
            }
        });
        let got: Vec<(SliceMeta, Bytes)> = futures_util::future::join_all(gets)
            .await
            .into_iter()
            .flatten()
            .collect();
        // The newest object the pieces speak of (stale pieces of an older version may linger
        // on targets that no longer are in its HRW set).
        let newest = |m: &SliceMeta| (m.version.parse::<u64>().unwrap_or(0), m.atime);
        let Some(first) = got
            .iter()
            .map(|(m, _)| m)
            .max_by_key(|m| newest(m))
            .cloned()
        else {
            return Ok(false);
        };
        let got: Vec<(SliceMeta, Bytes)> = got
            .into_iter()
            .filter(|(m, _)| newest(m) == newest(&first) && m.size == first.size)
            .collect();
        let want = first.cksum.as_ref().and_then(|(t, v)| {
            CksumType::parse(t).ok().map(|ty| Cksum {
                ty,
                value: v.clone(),
            })
        });
        let data: Option<Vec<u8>> = if let Some((_, b)) = got.iter().find(|(m, _)| m.idx.is_none())
        {
            Some(b.to_vec())
        } else {
            let cfg = EcConfig::new(first.d, first.p)
                .map_err(|e| Error::internal(format!("slice metadata: {e}")))?;
            let mut slices: Vec<Option<Slice>> = vec![None; cfg.total()];
            for (m, b) in &got {
                if let Some(i) = m.idx.filter(|i| *i < cfg.total()) {
                    slices[i] = Some(Slice {
                        index: i,
                        bytes: b.to_vec(),
                        checksum: m.slice_xxh,
                    });
                }
            }
            let size = first.size as usize;
            tokio::task::spawn_blocking(move || ais_ec::reconstruct(&cfg, size, &slices).ok())
                .await
                .map_err(join_err)?
        };
        let Some(data) = data else {
            return Ok(false);
        };
        if let Some(w) = &want
            && ais_core::Cksum::of(w.ty, &data).is_some_and(|got| got.value != w.value)
        {
            tracing::error!(obj = %bck.cname_obj(obj), "rebuilt object fails its checksum");
            return Ok(false);
        }
        let ty = self.with_props(bck, |p| p.checksum.ty)?;
        let loc = self.mps().locate_digest(bck, obj, digest);
        let locks = self.locks.clone();
        let cname = bck.cname_obj(obj);
        let lom = Lom {
            atime_ns: first.atime,
            version: first.version.clone(),
            custom: first.custom.clone(),
            ..Default::default()
        };
        tokio::task::spawn_blocking(move || -> Result<(), ais_fs::Error> {
            let mut w = ObjWriter::create(&loc, ty)?;
            w.write(&data)?;
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            if ais_fs::load_lom(&loc.fqn, &cname).is_ok() && super::mirror::intact(&loc, &cname) {
                return Ok(()); // someone else restored or re-wrote it meanwhile
            }
            w.commit(lom, Some(data.len() as u64)).map(|_| ())
        })
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))?;
        tracing::warn!(obj = %bck.cname_obj(obj), pieces = got.len(), "object rebuilt from erasure-coded slices");
        self.ec_encode_later(bck.clone(), obj.to_string());
        Ok(true)
    }

    /// Check-and-repair (`ec-encode` named `recover`): every object this target owns is
    /// verified against its checksum and rebuilt from slices when it is missing or damaged —
    /// including objects known only from the slices this target keeps for them. For slices
    /// whose object lives elsewhere, the owner is asked (a HEAD there rebuilds a lost object).
    /// Returns (objects rebuilt, 0, errors).
    pub(super) async fn ec_recover(
        self: &Arc<Self>,
        id: &str,
        bck: &Bck,
    ) -> Result<(i64, i64, Vec<String>), Error> {
        // Every name this target knows: its objects and the slices it keeps.
        let mut names = std::collections::BTreeSet::new();
        for mp in self.mps().all() {
            for ct in [ais_fs::CT_OBJ, ais_fs::CT_EC] {
                let dir = ais_fs::bucket_dir(&mp.path, bck).join(ct);
                let page = tokio::task::spawn_blocking(move || {
                    ais_fs::walk_bucket(&dir, "", "", usize::MAX)
                })
                .await
                .map_err(join_err)?
                .map_err(|e| Error::internal(format!("ec recover walk: {e}")))?;
                names.extend(page.into_iter().map(|e| e.name));
            }
        }
        let (mut rebuilt, mut errs) = (0i64, Vec::new());
        let smap = self.smap();
        for name in names {
            if self.is_aborted(id) {
                return Err(Error::new(
                    ais_core::ErrKind::Conflict,
                    format!("{id} aborted"),
                ));
            }
            let Ok(owner) = smap.hrw_target(&bck.uname(&name)) else {
                continue;
            };
            if owner.daemon_id == self.ctl.me.daemon_id {
                let loc = self.mps().locate(bck, &name);
                let cname = bck.cname_obj(&name);
                let ok = tokio::task::spawn_blocking(move || super::mirror::intact(&loc, &cname))
                    .await
                    .map_err(join_err)?;
                if !ok {
                    match self.ec_restore(bck, &name).await {
                        Ok(true) => rebuilt += 1,
                        Ok(false) => {
                            errs.push(format!("{}: cannot be rebuilt", bck.cname_obj(&name)))
                        }
                        Err(e) => errs.push(e.msg),
                    }
                }
            } else {
                let url = format!(
                    "{}/v1/objects/{}/{}?provider={}",
                    owner.public_net.direct_url,
                    bck.name,
                    percent_encoding::utf8_percent_encode(&name, crate::common::PATH_SEGMENT),
                    bck.provider.as_str()
                );
                let r = self
                    .ctl
                    .intra
                    .request(reqwest::Method::HEAD, &url)
                    .send()
                    .await;
                if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                    errs.push(format!(
                        "{}: owner {} cannot serve it",
                        bck.cname_obj(&name),
                        owner.name()
                    ));
                }
            }
            if errs.len() > 100 {
                break;
            }
        }
        tracing::info!(bck = %bck, rebuilt, errs = errs.len(), "ec recover done");
        Ok((rebuilt, 0, errs))
    }

    /// Encodes every object of `bck` this target owns (EC turned on or changed): job `id`.
    /// Returns (objects encoded, failures).
    pub(super) async fn ec_encode_all(&self, id: &str, bck: &Bck) -> Result<(u64, u64), Error> {
        const PAGE: usize = 1000;
        let (mut n, mut failed) = (0u64, 0u64);
        for (_, dir) in self.mps().obj_dirs(bck) {
            let mut after = String::new();
            loop {
                let (d2, a2) = (dir.clone(), after.clone());
                let page =
                    tokio::task::spawn_blocking(move || ais_fs::walk_bucket(&d2, "", &a2, PAGE))
                        .await
                        .map_err(join_err)?
                        .map_err(|e| Error::internal(format!("ec-encode walk: {e}")))?;
                for e in &page {
                    if self.is_aborted(id) {
                        return Err(Error::new(
                            ais_core::ErrKind::Conflict,
                            format!("{id} aborted"),
                        ));
                    }
                    match self.ec_encode(bck, &e.name).await {
                        Ok(_) => n += 1,
                        Err(_) => failed += 1,
                    }
                }
                match page.last() {
                    Some(l) if page.len() == PAGE => after = l.name.clone(),
                    _ => break,
                }
            }
        }
        tracing::info!(bck = %bck, encoded = n, failed, "ec-encode done");
        Ok((n, failed))
    }
}
