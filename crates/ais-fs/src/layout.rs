//! Mountpaths and the path of an object on disk ("FQN").

use crate::Error;
use ais_core::Bck;
use std::path::{Path, PathBuf};

/// Content-type directory of object data.
pub const CT_OBJ: &str = "%ob";
/// Content-type directory of work (temporary) files.
pub const CT_WORK: &str = "%wk";
/// Content-type directory of mirror copies (n-way mirroring): a copy of an object has the
/// same relative path as the object itself, under this directory of another mountpath.
pub const CT_COPY: &str = "%cp";
/// Content-type directory of erasure-coded slices and replicas kept for other targets'
/// objects (same relative path as the object).
pub const CT_EC: &str = "%ec";
/// Content-type directory of S3 multipart uploads in progress (one subdirectory each).
pub const CT_UPLOADS: &str = "%mp";

/// One mountpath: a directory (usually one disk) owned by this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mountpath {
    /// Cleaned absolute path.
    pub path: String,
    /// XXH64 of the path, for HRW.
    pub digest: u64,
}

/// Where one object lives: its mountpath and full file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Mountpath path.
    pub mountpath: String,
    /// Bucket directory `<mp>/@prov[/ns]/bck`.
    pub bck_dir: PathBuf,
    /// Full path of the object file.
    pub fqn: PathBuf,
    /// Object name.
    pub obj_name: String,
    /// Whether the on-disk name is the hash of the object name (a path component is too long
    /// for the file system); the real name is then kept in the object's metadata.
    pub hashed: bool,
}

/// Prefix of hashed on-disk names of objects with over-long path components.
pub const HASHED_NAME_PREFIX: &str = ".x";

/// Whether `obj` must be stored under a hashed name.
pub fn needs_hashed_name(obj: &str) -> bool {
    obj.split('/')
        .any(|c| c.len() > ais_core::name::OBJ_NAME_COMPONENT_LEN_MAX)
}

/// The hashed on-disk name: `.x` + hex SHA-256 of the object name.
pub fn hashed_name(obj: &str) -> String {
    let c =
        ais_core::Cksum::of(ais_core::CksumType::Sha256, obj.as_bytes()).expect("sha256 hasher");
    format!("{HASHED_NAME_PREFIX}{}", c.value)
}

/// The set of available mountpaths of a target, in a fixed order.
#[derive(Debug, Clone)]
pub struct Mountpaths {
    mps: Vec<Mountpath>,
}

/// Where `obj` of `bck` lives under content-type directory `ct` (`%ob`, `%cp`, `%ec` ...) of
/// mountpath `mp` (over-long names hashed as for objects).
pub fn location(mp: &str, bck: &Bck, obj: &str, ct: &str) -> Location {
    let bck_dir = bucket_dir(mp, bck);
    let mut fqn = bck_dir.join(ct);
    let hashed = needs_hashed_name(obj);
    if hashed {
        fqn.push(hashed_name(obj));
    } else {
        fqn.push(obj);
    }
    Location {
        mountpath: mp.to_string(),
        bck_dir,
        fqn,
        obj_name: obj.to_string(),
        hashed,
    }
}

/// `<mp>/@<provider>[/#ns | /@uuid#ns]/<bucket>`.
pub fn bucket_dir(mp: &str, bck: &Bck) -> PathBuf {
    let mut p = PathBuf::from(mp);
    p.push(format!("@{}", bck.provider.as_str()));
    if !bck.namespace.is_global() {
        if bck.namespace.uuid.is_empty() {
            p.push(format!("#{}", bck.namespace.name));
        } else {
            p.push(bck.namespace.uname());
        }
    }
    p.push(&bck.name);
    p
}

impl Mountpaths {
    /// Opens the given (cleaned, absolute) mountpaths, creating directories as needed.
    pub fn new(paths: &[String]) -> Result<Self, Error> {
        if paths.is_empty() {
            return Err(Error::Mountpath(String::new(), "no mountpaths".into()));
        }
        let mut mps = Vec::with_capacity(paths.len());
        for p in paths {
            let clean = ais_core::config::clean_path(p);
            std::fs::create_dir_all(&clean).map_err(|e| Error::io(&clean, e))?;
            let md = std::fs::metadata(&clean).map_err(|e| Error::io(&clean, e))?;
            if !md.is_dir() {
                return Err(Error::Mountpath(clean, "not a directory".into()));
            }
            mps.push(Mountpath {
                digest: ais_placement::digest(clean.as_bytes()),
                path: clean,
            });
        }
        Ok(Mountpaths { mps })
    }

    /// All mountpaths.
    pub fn all(&self) -> &[Mountpath] {
        &self.mps
    }

    /// The HRW mountpath for an object whose uname digest is `d`.
    pub fn hrw(&self, d: u64) -> &Mountpath {
        let i = ais_placement::hrw_max(d, self.mps.iter().map(|m| m.digest))
            .expect("Mountpaths is never empty");
        &self.mps[i]
    }

    /// Where `obj` of `bck` lives (by HRW over mountpaths).
    pub fn locate(&self, bck: &Bck, obj: &str) -> Location {
        let d = ais_placement::digest(bck.uname(obj).as_bytes());
        self.locate_digest(bck, obj, d)
    }

    /// Like [`Mountpaths::locate`] with a precomputed uname digest.
    pub fn locate_digest(&self, bck: &Bck, obj: &str, d: u64) -> Location {
        location(&self.hrw(d).path, bck, obj, CT_OBJ)
    }

    /// Where the mirror copies of an object go: the `n - 1` mountpaths that follow its own in
    /// HRW order (fewer when there are not enough mountpaths), each under [`CT_COPY`].
    pub fn copy_locations(&self, bck: &Bck, obj: &str, d: u64, n: usize) -> Vec<Location> {
        if n <= 1 {
            return Vec::new();
        }
        let digests: Vec<u64> = self.mps.iter().map(|m| m.digest).collect();
        ais_placement::hrw_sorted(d, &digests)
            .into_iter()
            .skip(1)
            .take(n - 1)
            .map(|i| location(&self.mps[i].path, bck, obj, CT_COPY))
            .collect()
    }

    /// The object directory (`%ob`) of `bck` on every mountpath.
    pub fn obj_dirs(&self, bck: &Bck) -> Vec<(String, PathBuf)> {
        self.mps
            .iter()
            .map(|m| (m.path.clone(), bucket_dir(&m.path, bck).join(CT_OBJ)))
            .collect()
    }
}

impl Location {
    /// The work directory of this object's bucket on its mountpath.
    pub fn work_dir(&self) -> PathBuf {
        self.bck_dir.join(CT_WORK)
    }
    /// The `%ob` directory of the bucket on this mountpath.
    pub fn obj_dir(&self) -> PathBuf {
        self.bck_dir.join(CT_OBJ)
    }
    /// Path for display in errors.
    pub fn display(&self) -> std::path::Display<'_> {
        Path::new(&self.fqn).display()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_core::{Namespace, Provider};

    #[test]
    fn layout() {
        let b = Bck::new("imagenet", Provider::Ais).unwrap();
        assert_eq!(
            bucket_dir("/ais/mp2", &b),
            PathBuf::from("/ais/mp2/@ais/imagenet")
        );
        let mut g = Bck::new("llm-data", Provider::Gcp).unwrap();
        g.namespace = Namespace {
            uuid: String::new(),
            name: "prod".into(),
        };
        assert_eq!(
            bucket_dir("/vdi", &g),
            PathBuf::from("/vdi/@gcp/#prod/llm-data")
        );
    }

    #[test]
    fn spec_mountpath_hrw() {
        let d = tempfile::tempdir().unwrap();
        // spec vectors use /ais/mpN; check the choice function on digests directly
        let mps = Mountpaths {
            mps: ["/ais/mp1", "/ais/mp2", "/ais/mp3"]
                .iter()
                .map(|p| Mountpath {
                    path: p.to_string(),
                    digest: ais_placement::digest(p.as_bytes()),
                })
                .collect(),
        };
        let b = Bck::new("bck", Provider::Ais).unwrap();
        let loc = mps.locate(&b, "obj1");
        assert_eq!(loc.mountpath, "/ais/mp2");
        assert_eq!(loc.fqn, PathBuf::from("/ais/mp2/@ais/bck/%ob/obj1"));
        let b = Bck::new("imagenet", Provider::Ais).unwrap();
        assert_eq!(
            mps.locate(&b, "train/0001.jpg").fqn,
            PathBuf::from("/ais/mp2/@ais/imagenet/%ob/train/0001.jpg")
        );
        drop(d);
    }
}
