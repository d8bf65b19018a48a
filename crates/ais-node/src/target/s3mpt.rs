//! S3 multipart uploads, kept by the target that owns the object (HRW), on the object's
//! mountpath: `<bucket dir>/%mp/<upload id>/` holds `manifest.json` (key, start time,
//! metadata) and one file per part (`00001`...), each written like an object (work file,
//! fsync, rename) with its MD5 ETag in its metadata. Completing concatenates the parts into
//! the object in one pass (checksummed like any PUT) and removes the upload.

use super::Target;
use super::s3::{metadata_from, s3e};
use crate::err::join_err;
use crate::intra::{ListUploadsReq, UploadInfo};
use crate::s3::{self, S3Req};
use crate::web::{self, Req, Resp};
use ais_core::{Bck, CksumType, Error};
use ais_fs::{Lom, ObjWriter};
use ais_s3::cond::Conditions;
use ais_s3::sigv4::Auth;
use ais_s3::xml::{self, PartEntry};
use ais_s3::{S3Error, S3ErrorCode};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Smallest part (all but the last), as S3 requires.
const MIN_PART: u64 = 5 << 20;
/// The manifest of an upload.
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    key: String,
    /// Unix nanoseconds.
    initiated: i64,
    /// Metadata given at CreateMultipartUpload (`x-amz-meta-*`, Content-Type ...).
    custom: BTreeMap<String, String>,
}

fn no_upload(id: &str) -> S3Error {
    S3Error::new(
        S3ErrorCode::NoSuchUpload,
        format!(
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed: {id}"
        ),
    )
}

fn io_err(what: &Path, e: std::io::Error) -> S3Error {
    S3Error::new(
        S3ErrorCode::InternalError,
        format!("{}: {e}", what.display()),
    )
}

fn uploads_dir(mp: &str, bck: &Bck) -> PathBuf {
    ais_fs::bucket_dir(mp, bck).join(ais_fs::CT_UPLOADS)
}

fn part_name(n: u32) -> String {
    format!("{n:05}")
}

/// Finds upload `id` of `key` on any mountpath (blocking): its mountpath, directory, manifest.
fn find_upload(
    mps: &ais_fs::Mountpaths,
    bck: &Bck,
    key: &str,
    id: &str,
) -> Result<(String, PathBuf, Manifest), S3Error> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(no_upload(id));
    }
    for mp in mps.all() {
        let dir = uploads_dir(&mp.path, bck).join(id);
        match std::fs::read(dir.join(MANIFEST)) {
            Ok(b) => {
                let m: Manifest = serde_json::from_slice(&b).map_err(|e| {
                    S3Error::new(
                        S3ErrorCode::InternalError,
                        format!("{}: corrupted upload manifest: {e}", dir.display()),
                    )
                })?;
                if m.key != key {
                    return Err(no_upload(id));
                }
                return Ok((mp.path.clone(), dir, m));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&dir, e)),
        }
    }
    Err(no_upload(id))
}

/// Writes `bytes` to `path` atomically: work file, fsync, rename, directory fsync.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), S3Error> {
    let dir = path.parent().expect("manifest has a parent");
    let tmp = dir.join(format!(".{MANIFEST}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// The parts of an upload, by number (blocking).
fn read_parts(dir: &Path, cname: &str) -> Result<BTreeMap<u32, (Lom, i64)>, S3Error> {
    let mut parts = BTreeMap::new();
    let rd = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| io_err(dir, e))?;
        let name = ent.file_name();
        let Some(n) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let path = ent.path();
        let lom = match ais_fs::load_lom(&path, cname) {
            Ok(l) => l,
            Err(ais_fs::Error::NotFound(_)) => continue,
            Err(e) => return Err(s3e(crate::err::from_fs(e, cname))),
        };
        let mtime = ent
            .metadata()
            .and_then(|m| m.modified())
            .map(ais_core::time::unix_nanos)
            .unwrap_or(lom.atime_ns);
        parts.insert(n, (lom, mtime));
    }
    Ok(parts)
}

fn upload_id(sr: &S3Req) -> String {
    sr.q.get("uploadId").unwrap_or("").to_string()
}

impl Target {
    pub(super) async fn mpt_create(
        self: &Arc<Self>,
        sr: &S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let custom = metadata_from(&sr.req.headers)?;
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).expect("OS random source available");
        let id = ais_s3::etag::hex(&b);
        let loc = self.mps().locate(bck, key);
        let dir = uploads_dir(&loc.mountpath, bck).join(&id);
        let m = Manifest {
            key: key.to_string(),
            initiated: ais_core::time::now_nanos(),
            custom,
        };
        let js = serde_json::to_vec(&m).map_err(|e| s3e(Error::internal(e.to_string())))?;
        tokio::task::spawn_blocking(move || -> Result<(), S3Error> {
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            write_atomic(&dir.join(MANIFEST), &js)
        })
        .await
        .map_err(|e| s3e(join_err(e)))??;
        Ok(s3::xml(xml::initiate_multipart(&bck.name, key, &id)))
    }

    pub(super) async fn mpt_part(
        self: &Arc<Self>,
        sr: &mut S3Req,
        auth: &Auth,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let (id, loc) = self.part_location(sr, bck, key).await?;
        let rcv = self
            .s3_receive(&mut sr.req, auth, loc, CksumType::None)
            .await?;
        let sums = self.commit_part(rcv, bck, key, &id).await?;
        super::s3::put_reply(&sums)
    }

    /// UploadPartCopy: a part from (a range of) another object.
    pub(super) async fn mpt_part_copy(
        self: &Arc<Self>,
        sr: &S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let (id, loc) = self.part_location(sr, bck, key).await?;
        let range = match sr.req.header("x-amz-copy-source-range") {
            None => None,
            Some(r) if r.trim().starts_with("bytes=") && r.contains('-') => Some(r.trim()),
            Some(_) => {
                return Err(S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    "x-amz-copy-source-range must be bytes=first-last",
                ));
            }
        };
        let resp = self.copy_source(sr, range, |_, _| Ok(())).await?;
        let rcv = self.receive_source(resp, loc, CksumType::None).await?;
        let sums = self.commit_part(rcv, bck, key, &id).await?;
        Ok(s3::xml(xml::copy_result(
            "CopyPartResult",
            &sums.md5_hex,
            &s3::iso8601(ais_core::time::now_nanos()),
        )))
    }

    /// The upload id and the part's file location, for UploadPart(Copy).
    async fn part_location(
        &self,
        sr: &S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<(String, ais_fs::Location), S3Error> {
        let n: u32 =
            sr.q.get("partNumber")
                .and_then(|n| n.parse().ok())
                .filter(|n| (1..=xml::MAX_PARTS).contains(n))
                .ok_or_else(|| {
                    S3Error::new(
                        S3ErrorCode::InvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive",
                    )
                })?;
        let id = upload_id(sr);
        let mps = self.mps();
        let (b2, k2, id2) = (bck.clone(), key.to_string(), id.clone());
        let (mp, dir, _) = tokio::task::spawn_blocking(move || find_upload(&mps, &b2, &k2, &id2))
            .await
            .map_err(|e| s3e(join_err(e)))??;
        let loc = ais_fs::Location {
            bck_dir: ais_fs::bucket_dir(&mp, bck),
            mountpath: mp,
            fqn: dir.join(part_name(n)),
            obj_name: key.to_string(),
            hashed: false,
        };
        Ok((id, loc))
    }

    /// Finishes a received part and commits it with its MD5 ETag in its metadata (one
    /// blocking call).
    async fn commit_part(
        &self,
        rcv: super::s3::Received,
        bck: &Bck,
        key: &str,
        id: &str,
    ) -> Result<ais_s3::etag::PayloadSums, S3Error> {
        let cname = bck.cname_obj(key);
        let id = id.to_string();
        tokio::task::spawn_blocking(move || {
            let (w, sums) = rcv.complete()?;
            let mut custom = BTreeMap::new();
            custom.insert("ETag".to_string(), sums.md5_hex.clone());
            w.commit(
                Lom {
                    atime_ns: ais_core::time::now_nanos(),
                    custom,
                    ..Default::default()
                },
                None,
            )
            .map(|_| sums)
            .map_err(|e| match e {
                // The upload was completed or aborted meanwhile.
                ais_fs::Error::NotFound(_) => no_upload(&id),
                e => s3e(crate::err::from_fs(e, &cname)),
            })
        })
        .await
        .map_err(|e| s3e(join_err(e)))?
    }

    pub(super) async fn mpt_list_parts(
        self: &Arc<Self>,
        sr: &S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let id = upload_id(sr);
        let marker: u32 = sr
            .q
            .get("part-number-marker")
            .map(|m| m.parse())
            .transpose()
            .map_err(|_| S3Error::new(S3ErrorCode::InvalidArgument, "invalid part-number-marker"))?
            .unwrap_or(0);
        let max: usize =
            sr.q.get("max-parts")
                .map(|m| m.parse())
                .transpose()
                .map_err(|_| S3Error::new(S3ErrorCode::InvalidArgument, "invalid max-parts"))?
                .unwrap_or(1000)
                .min(1000);
        let mps = self.mps();
        let (b2, k2, id2) = (bck.clone(), key.to_string(), id.clone());
        let cname = bck.cname_obj(key);
        let parts = tokio::task::spawn_blocking(move || {
            let (_, dir, _) = find_upload(&mps, &b2, &k2, &id2)?;
            read_parts(&dir, &cname)
        })
        .await
        .map_err(|e| s3e(join_err(e)))??;
        let after: Vec<PartEntry> = parts
            .range(marker.saturating_add(1)..)
            .map(|(n, (lom, mt))| PartEntry {
                number: *n,
                etag: lom.custom.get("ETag").cloned().unwrap_or_default(),
                size: lom.size,
                last_modified: s3::iso8601(*mt),
            })
            .collect();
        let truncated = after.len() > max;
        let shown = &after[..after.len().min(max)];
        Ok(s3::xml(xml::list_parts(
            &bck.name, key, &id, marker, max, truncated, shown,
        )))
    }

    pub(super) async fn mpt_complete(
        self: &Arc<Self>,
        sr: &mut S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let id = upload_id(sr);
        let body = s3::read_xml_body(&mut sr.req).await?;
        let listed = xml::parse_complete(&body)?;
        let ty = self.with_props(bck, |p| p.checksum.ty).map_err(s3e)?;
        let digest = ais_placement::digest(bck.uname(key).as_bytes());
        let loc = self.mps().locate_digest(bck, key, digest);
        let mps = self.mps();
        let (b2, k2, id2) = (bck.clone(), key.to_string(), id.clone());
        let cname = bck.cname_obj(key);
        let loc2 = loc.clone();
        // Check the listed parts and concatenate them into a new object (work file).
        let (w, manifest, dir, etag) = tokio::task::spawn_blocking(
            move || -> Result<(ObjWriter, Manifest, PathBuf, String), S3Error> {
                let (_, dir, manifest) = find_upload(&mps, &b2, &k2, &id2)?;
                let parts = read_parts(&dir, &cname)?;
                let last = listed.len() - 1;
                for (i, p) in listed.iter().enumerate() {
                    let Some((lom, _)) = parts.get(&p.number) else {
                        return Err(S3Error::new(
                            S3ErrorCode::InvalidPart,
                            format!("part {} was not uploaded", p.number),
                        ));
                    };
                    if lom.custom.get("ETag").map(String::as_str) != Some(p.etag.as_str()) {
                        return Err(S3Error::new(
                            S3ErrorCode::InvalidPart,
                            format!("part {}: the ETag does not match", p.number),
                        ));
                    }
                    if i < last && lom.size < MIN_PART {
                        return Err(S3Error::new(
                            S3ErrorCode::EntityTooSmall,
                            format!(
                                "part {} is {} bytes: all parts but the last must be at least 5 MiB",
                                p.number, lom.size
                            ),
                        ));
                    }
                }
                let mut w = ObjWriter::create(&loc2, ty)
                    .map_err(|e| s3e(crate::err::from_fs(e, &cname)))?;
                let mut buf = vec![0u8; 1 << 20];
                for p in &listed {
                    let path = dir.join(part_name(p.number));
                    let mut f = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
                    // The bytes concatenated are the ones listed: each part's MD5 is checked
                    // as it is read (a part re-uploaded meanwhile fails here).
                    let mut md5 = ais_core::CksumHasher::new(CksumType::Md5)
                        .expect("MD5 is a supported checksum");
                    loop {
                        let n = f.read(&mut buf).map_err(|e| io_err(&path, e))?;
                        if n == 0 {
                            break;
                        }
                        md5.update(&buf[..n]);
                        w.write(&buf[..n])
                            .map_err(|e| s3e(crate::err::from_fs(e, &cname)))?;
                    }
                    if md5.finish().value != p.etag {
                        return Err(S3Error::new(
                            S3ErrorCode::InvalidPart,
                            format!("part {} changed while completing the upload", p.number),
                        ));
                    }
                }
                let etag = ais_s3::etag::multipart_etag(listed.iter().map(|p| p.etag.as_str()));
                Ok((w, manifest, dir, etag))
            },
        )
        .await
        .map_err(|e| s3e(join_err(e)))??;
        let (lom, _) = self
            .s3_commit(
                super::s3::Staged::Written(w, etag.clone()),
                loc,
                bck,
                key,
                digest,
                manifest.custom,
                Conditions::default(),
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), err = %e, "removing a completed upload");
            }
        })
        .await
        .map_err(|e| s3e(join_err(e)))?;
        let mut r = s3::xml(xml::complete_multipart(
            &format!("/{}/{key}", bck.name),
            &bck.name,
            key,
            &etag,
        ));
        r.extensions_mut().insert(super::object::Stored(lom.size));
        Ok(r)
    }

    pub(super) async fn mpt_abort(
        self: &Arc<Self>,
        sr: &S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let id = upload_id(sr);
        let mps = self.mps();
        let (b2, k2) = (bck.clone(), key.to_string());
        tokio::task::spawn_blocking(move || -> Result<(), S3Error> {
            let (_, dir, _) = find_upload(&mps, &b2, &k2, &id)?;
            std::fs::remove_dir_all(&dir).map_err(|e| io_err(&dir, e))
        })
        .await
        .map_err(|e| s3e(join_err(e)))??;
        Ok(web::status(web::ok(), StatusCode::NO_CONTENT))
    }

    /// `POST /v1/intra/s3-uploads`: this target's uploads in progress of a bucket.
    pub(super) async fn list_uploads(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let b = req.read_body().await?;
        let lr: ListUploadsReq = serde_json::from_slice(&b)
            .map_err(|e| Error::bad_request(format!("list uploads request: {e}")))?;
        self.with_props(&lr.bck, |_| ())?;
        let mps = self.mps();
        let out = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for mp in mps.all() {
                let Ok(rd) = std::fs::read_dir(uploads_dir(&mp.path, &lr.bck)) else {
                    continue;
                };
                for ent in rd.flatten() {
                    let Ok(b) = std::fs::read(ent.path().join(MANIFEST)) else {
                        continue;
                    };
                    let Ok(m) = serde_json::from_slice::<Manifest>(&b) else {
                        continue;
                    };
                    if m.key.starts_with(&lr.prefix) {
                        out.push(UploadInfo {
                            key: m.key,
                            upload_id: ent.file_name().to_string_lossy().into_owned(),
                            initiated: m.initiated,
                        });
                    }
                }
            }
            out
        })
        .await
        .map_err(join_err)?;
        Ok(web::json(&out))
    }
}
