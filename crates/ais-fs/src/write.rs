//! Atomic object writes, metadata loads, deletes.

use crate::Error;
use crate::layout::{Location, Mountpaths, bucket_dir};
use crate::lom::{LOM_XATTR, Lom};
use ais_core::{Bck, Cksum, CksumHasher, CksumType};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

/// Read size when copying an object.
const COPY_BUF_BYTES: usize = 1 << 20;

/// Writes one object to a work file and commits it atomically (see the crate docs).
pub struct ObjWriter {
    loc: Location,
    work: PathBuf,
    file: File,
    hasher: Option<CksumHasher>,
    verify: Option<(Cksum, Option<CksumHasher>)>,
    size: u64,
    committed: bool,
}

fn rand_hex() -> String {
    let mut b = [0u8; 8];
    // A failing OS RNG only weakens uniqueness of a work-file name; fall back to time.
    if getrandom::fill(&mut b).is_err() {
        b = (ais_core::time::now_nanos() as u64).to_le_bytes();
    }
    ais_core::cksum::hex(&b)
}

impl ObjWriter {
    /// Starts writing the object at `loc`, computing a checksum of `ty`.
    pub fn create(loc: &Location, ty: CksumType) -> Result<Self, Error> {
        Self::create_verified(loc, ty, None)
    }

    /// Like [`ObjWriter::create`], and also checks the data against a client-supplied checksum
    /// on commit.
    pub fn create_verified(
        loc: &Location,
        ty: CksumType,
        verify: Option<Cksum>,
    ) -> Result<Self, Error> {
        let wdir = loc.work_dir();
        let d = ais_placement::digest(loc.obj_name.as_bytes());
        let work = wdir.join(format!("{d:016x}.{}", rand_hex()));
        let open = || File::options().write(true).create_new(true).open(&work);
        let file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Never re-create a mountpath that vanished (a failed or unmounted disk).
                if !Path::new(&loc.mountpath).is_dir() {
                    return Err(Error::Mountpath(
                        loc.mountpath.clone(),
                        "mountpath directory is missing".into(),
                    ));
                }
                std::fs::create_dir_all(&wdir).map_err(|e| Error::io(wdir.display(), e))?;
                open().map_err(|e| Error::io(work.display(), e))?
            }
            Err(e) => return Err(Error::io(work.display(), e)),
        };
        let verify = verify.map(|c| {
            let h = if c.ty == ty || c.ty == CksumType::None {
                None
            } else {
                CksumHasher::new(c.ty)
            };
            (c, h)
        });
        Ok(ObjWriter {
            loc: loc.clone(),
            work,
            file,
            hasher: CksumHasher::new(ty),
            verify,
            size: 0,
            committed: false,
        })
    }

    /// Appends bytes.
    pub fn write(&mut self, buf: &[u8]) -> Result<(), Error> {
        self.file
            .write_all(buf)
            .map_err(|e| Error::io(self.work.display(), e))?;
        if let Some(h) = &mut self.hasher {
            h.update(buf);
        }
        if let Some((_, Some(h))) = &mut self.verify {
            h.update(buf);
        }
        self.size += buf.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Verifies, fsyncs, attaches metadata and renames into place. `lom` supplies version,
    /// atime and custom metadata; size and checksum are filled in. With `expect_size`, a short
    /// or long body is an error.
    pub fn commit(mut self, mut lom: Lom, expect_size: Option<u64>) -> Result<Lom, Error> {
        if let Some(n) = expect_size
            && n != self.size
        {
            return Err(Error::Checksum(ais_core::Error::bad_request(format!(
                "{}: size mismatch: received {} bytes, expected {n}",
                self.loc.obj_name, self.size
            ))));
        }
        let cksum = self.hasher.take().map(CksumHasher::finish);
        if let Some((want, h)) = self.verify.take()
            && want.ty != CksumType::None
        {
            let got = match h {
                Some(h) => h.finish(),
                None => cksum.clone().expect("same type as the stored checksum"),
            };
            got.verify(&want, &self.loc.obj_name)
                .map_err(Error::Checksum)?;
        }
        lom.size = self.size;
        lom.cksum = cksum;
        lom.long_name = self.loc.hashed.then(|| self.loc.obj_name.clone());
        self.file
            .sync_all()
            .map_err(|e| Error::io(self.work.display(), e))?;
        rustix::fs::fsetxattr(
            &self.file,
            LOM_XATTR,
            &lom.encode(),
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(|e| Error::io(self.work.display(), e.into()))?;
        let fqn = &self.loc.fqn;
        let parent = fqn.parent().expect("fqn has a parent");
        let conflict = || Error::NameConflict(self.loc.obj_name.clone());
        if let Err(e) = std::fs::rename(&self.work, fqn) {
            match e.kind() {
                ErrorKind::NotFound => {
                    std::fs::create_dir_all(parent).map_err(|e| match e.kind() {
                        ErrorKind::AlreadyExists | ErrorKind::NotADirectory => conflict(),
                        _ => Error::io(parent.display(), e),
                    })?;
                    std::fs::rename(&self.work, fqn).map_err(|e| rename_err(e, &self.loc))?;
                }
                _ => return Err(rename_err(e, &self.loc)),
            }
        }
        self.committed = true;
        // Make the rename durable.
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(lom)
    }
}

fn rename_err(e: std::io::Error, loc: &Location) -> Error {
    match e.kind() {
        ErrorKind::IsADirectory | ErrorKind::NotADirectory | ErrorKind::DirectoryNotEmpty => {
            Error::NameConflict(loc.obj_name.clone())
        }
        _ => Error::io(loc.display(), e),
    }
}

impl Drop for ObjWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.work);
        }
    }
}

/// Loads the metadata of the object at `fqn`; `name` is used in errors (e.g. `ais://b/o`).
pub fn load_lom(fqn: &Path, name: &str) -> Result<Lom, Error> {
    let mut buf = [0u8; 4096];
    match rustix::fs::getxattr(fqn, LOM_XATTR, &mut buf[..]) {
        Ok(n) => Lom::decode(&buf[..n]).map_err(|why| Error::CorruptMeta(name.to_string(), why)),
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => {
            Err(Error::NotFound(name.to_string()))
        }
        Err(rustix::io::Errno::NODATA) => {
            if fqn.is_dir() {
                Err(Error::NotFound(name.to_string()))
            } else {
                Err(Error::CorruptMeta(name.to_string(), "missing"))
            }
        }
        Err(e) => Err(Error::io(fqn.display(), e.into())),
    }
}

/// Replaces the stored metadata of an existing object (e.g. custom metadata updates).
pub fn store_lom(fqn: &Path, name: &str, lom: &Lom) -> Result<(), Error> {
    match rustix::fs::setxattr(
        fqn,
        LOM_XATTR,
        &lom.encode(),
        rustix::fs::XattrFlags::REPLACE,
    ) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NODATA) => {
            Err(Error::NotFound(name.to_string()))
        }
        Err(e) => Err(Error::io(fqn.display(), e.into())),
    }
}

/// Deletes the object at `loc` and prunes emptied virtual directories.
pub fn delete_object(loc: &Location, name: &str) -> Result<(), Error> {
    match std::fs::remove_file(&loc.fqn) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
            ) =>
        {
            return Err(Error::NotFound(name.to_string()));
        }
        Err(_) if loc.fqn.is_dir() => return Err(Error::NotFound(name.to_string())),
        Err(e) => return Err(Error::io(loc.display(), e)),
    }
    prune_empty_dirs(loc);
    Ok(())
}

/// Removes the virtual directories above `loc` that its removal left empty, up to the bucket's
/// `%ob` directory.
fn prune_empty_dirs(loc: &Location) {
    let stop = loc.obj_dir();
    let mut dir = loc.fqn.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(&stop) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Copies the object at `from` to `to` through a work file, in 1 MiB reads: the data, version,
/// atime and custom metadata. The new copy gets a checksum of `ty` (`None`: the source's type)
/// and, where that is the source's type, is verified against it. `guard` is called just before
/// the commit and held across it (e.g. an object lock). `name` is used in errors.
pub fn copy_object<G>(
    from: &Location,
    name: &str,
    to: &Location,
    ty: Option<CksumType>,
    guard: impl FnOnce() -> G,
) -> Result<Lom, Error> {
    let lom = load_lom(&from.fqn, name)?;
    let mut f = File::open(&from.fqn).map_err(|e| Error::io(name, e))?;
    let ty = ty.unwrap_or_else(|| lom.cksum.as_ref().map_or(CksumType::None, |c| c.ty));
    let verify = lom.cksum.clone().filter(|c| c.ty == ty);
    let mut w = ObjWriter::create_verified(to, ty, verify)?;
    let mut buf = vec![0u8; COPY_BUF_BYTES];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(name, e))?;
        if n == 0 {
            break;
        }
        w.write(&buf[..n])?;
    }
    let _g = guard();
    w.commit(
        Lom {
            atime_ns: lom.atime_ns,
            version: lom.version,
            custom: lom.custom,
            ..Default::default()
        },
        Some(lom.size),
    )
}

/// Moves an object between mountpaths: a rename on the same file system (the metadata travels
/// in the xattr), else [`copy_object`] and remove the source. Prunes the virtual directories the
/// move left empty at the source.
pub fn move_object(from: &Location, to: &Location) -> Result<(), Error> {
    let parent = to.fqn.parent().expect("fqn has a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
    match std::fs::rename(&from.fqn, &to.fqn) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            copy_object(from, &from.obj_name, to, None, || ())?;
            std::fs::remove_file(&from.fqn).map_err(|e| Error::io(&from.obj_name, e))?;
        }
        Err(e) => return Err(Error::io(&from.obj_name, e)),
    }
    prune_empty_dirs(from);
    Ok(())
}

/// Removes all data of `bck` from every mountpath: each bucket directory is first renamed into
/// a trash directory (instant, atomic), then deleted.
pub fn destroy_bucket(mps: &Mountpaths, bck: &Bck) -> Result<(), Error> {
    for mp in mps.all() {
        let dir = bucket_dir(&mp.path, bck);
        let trash = Path::new(&mp.path).join(".ais.trash");
        if let Err(e) = std::fs::create_dir_all(&trash) {
            return Err(Error::io(trash.display(), e));
        }
        let t = trash.join(rand_hex());
        match std::fs::rename(&dir, &t) {
            Ok(()) => std::fs::remove_dir_all(&t).map_err(|e| Error::io(t.display(), e))?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir.display(), e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_core::Provider;

    fn setup() -> (tempfile::TempDir, Mountpaths, Bck) {
        let d = tempfile::tempdir().unwrap();
        let paths: Vec<String> = (1..=3)
            .map(|i| format!("{}/mp{i}", d.path().display()))
            .collect();
        (
            d,
            Mountpaths::new(&paths).unwrap(),
            Bck::new("b", Provider::Ais).unwrap(),
        )
    }

    fn work_files(loc: &Location) -> usize {
        std::fs::read_dir(loc.work_dir())
            .map(|r| r.count())
            .unwrap_or(0)
    }

    #[test]
    fn put_get_delete() {
        let (_d, mps, b) = setup();
        let loc = mps.locate(&b, "a/b/c");
        let mut w = ObjWriter::create(&loc, CksumType::Xxhash).unwrap();
        w.write(b"hel").unwrap();
        w.write(b"lo").unwrap();
        let mut lom = Lom {
            version: "1".into(),
            ..Default::default()
        };
        lom.custom.insert("k".into(), "v".into());
        let got = w.commit(lom, Some(5)).unwrap();
        assert_eq!(got.size, 5);
        let back = load_lom(&loc.fqn, "ais://b/a/b/c").unwrap();
        assert_eq!(back, got);
        assert_eq!(back.cksum.unwrap().value, "26c7827d889f6da3");
        assert_eq!(work_files(&loc), 0);
        // a virtual directory is not an object
        let dir = Location {
            fqn: loc.fqn.parent().unwrap().to_path_buf(),
            ..loc.clone()
        };
        assert!(matches!(load_lom(&dir.fqn, "d"), Err(Error::NotFound(_))));
        delete_object(&loc, "x").unwrap();
        assert!(!loc.fqn.exists());
        assert!(
            !loc.obj_dir().join("a").exists(),
            "empty virtual dirs pruned"
        );
        assert!(matches!(delete_object(&loc, "x"), Err(Error::NotFound(_))));
        assert!(matches!(load_lom(&loc.fqn, "x"), Err(Error::NotFound(_))));
    }

    #[test]
    fn bad_checksum_leaves_nothing() {
        let (_d, mps, b) = setup();
        let loc = mps.locate(&b, "obj");
        let want = Cksum {
            ty: CksumType::Md5,
            value: "00".repeat(16),
        };
        let mut w = ObjWriter::create_verified(&loc, CksumType::Xxhash, Some(want)).unwrap();
        w.write(b"hello").unwrap();
        let e = w.commit(Lom::default(), None).unwrap_err();
        assert_eq!(e.kind(), ais_core::ErrKind::BadChecksum);
        assert!(!loc.fqn.exists());
        assert_eq!(work_files(&loc), 0);
        // the right md5 passes
        let want = Cksum::of(CksumType::Md5, b"hello").unwrap();
        let mut w = ObjWriter::create_verified(&loc, CksumType::Xxhash, Some(want)).unwrap();
        w.write(b"hello").unwrap();
        w.commit(Lom::default(), None).unwrap();
        assert!(loc.fqn.exists());
    }

    #[test]
    fn abandoned_write_is_invisible() {
        let (_d, mps, b) = setup();
        let loc = mps.locate(&b, "obj");
        let mut w = ObjWriter::create(&loc, CksumType::Xxhash).unwrap();
        w.write(&[7u8; 1000]).unwrap();
        assert!(!loc.fqn.exists());
        drop(w);
        assert!(!loc.fqn.exists());
        assert_eq!(work_files(&loc), 0);
    }

    #[test]
    fn name_conflicts() {
        let (_d, mps, b) = setup();
        let put = |name: &str| {
            let loc = mps.locate_digest(&b, name, 42);
            let mut w = ObjWriter::create(&loc, CksumType::Xxhash).unwrap();
            w.write(b"x").unwrap();
            w.commit(Lom::default(), None)
        };
        put("a").unwrap();
        assert!(matches!(put("a/b"), Err(Error::NameConflict(_))));
        put("c/d").unwrap();
        assert!(matches!(put("c"), Err(Error::NameConflict(_))));
        put("a").unwrap(); // overwrite ok
    }

    #[test]
    fn long_names() {
        let (_d, mps, b) = setup();
        let long = format!("dir/{}", "z".repeat(1024));
        let names = ["a", long.as_str(), "dir/b", "zz"];
        for n in names {
            let loc = mps.locate(&b, n);
            assert_eq!(loc.hashed, n == long);
            let mut w = ObjWriter::create(&loc, CksumType::Xxhash).unwrap();
            w.write(n.as_bytes()).unwrap();
            w.commit(Lom::default(), None).unwrap();
            let lom = load_lom(&loc.fqn, n).unwrap();
            assert_eq!(lom.long_name.as_deref(), (n == long).then_some(n));
        }
        let mut all: Vec<String> = Vec::new();
        for (_, dir) in mps.obj_dirs(&b) {
            all.extend(
                crate::walk_bucket(&dir, "", "", 100)
                    .unwrap()
                    .into_iter()
                    .map(|e| e.name),
            );
        }
        all.sort();
        assert_eq!(all, ["a", "dir/b", long.as_str(), "zz"]);
        let mut paged = Vec::new();
        for (_, dir) in mps.obj_dirs(&b) {
            paged.extend(
                crate::walk_bucket(&dir, "dir/", "dir/b", 1)
                    .unwrap()
                    .into_iter()
                    .map(|e| e.name),
            );
        }
        assert_eq!(paged, [long.as_str()]);
        let loc = mps.locate(&b, &long);
        delete_object(&loc, &long).unwrap();
        assert!(!loc.fqn.exists());
    }

    #[test]
    fn destroy() {
        let (_d, mps, b) = setup();
        for i in 0..20 {
            let loc = mps.locate(&b, &format!("o{i}"));
            let mut w = ObjWriter::create(&loc, CksumType::None).unwrap();
            w.write(b"x").unwrap();
            w.commit(Lom::default(), None).unwrap();
        }
        destroy_bucket(&mps, &b).unwrap();
        for (_, d) in mps.obj_dirs(&b) {
            assert!(!d.exists());
        }
        destroy_bucket(&mps, &b).unwrap();
    }

    #[test]
    fn copy_and_move_keep_data_and_metadata() {
        let (_d, mps, b) = setup();
        let src = mps.locate(&b, "a/b/src");
        let mut w = ObjWriter::create(&src, CksumType::Xxhash).unwrap();
        w.write(b"payload").unwrap();
        let mut custom = std::collections::BTreeMap::new();
        custom.insert("k".to_string(), "v".to_string());
        let lom = Lom {
            version: "7".into(),
            atime_ns: 42,
            custom,
            ..Default::default()
        };
        let orig = w.commit(lom, None).unwrap();

        // Copy under another name and checksum type: data and metadata come along.
        let dst = mps.locate(&b, "copy");
        let mut guarded = false;
        let got = copy_object(&src, "src", &dst, Some(CksumType::Sha256), || {
            guarded = true
        })
        .unwrap();
        assert!(guarded, "the guard is taken before the commit");
        assert_eq!(std::fs::read(&dst.fqn).unwrap(), b"payload");
        let stored = load_lom(&dst.fqn, "copy").unwrap();
        assert_eq!(stored, got);
        assert_eq!((stored.version.as_str(), stored.atime_ns), ("7", 42));
        assert_eq!(stored.custom, orig.custom);
        assert_eq!(stored.cksum.unwrap().ty, CksumType::Sha256);

        // A copy that does not match the source's checksum is refused and leaves nothing.
        let mut bad = orig.clone();
        bad.cksum.as_mut().unwrap().value = "0000000000000000".into();
        store_lom(&src.fqn, "src", &bad).unwrap();
        let dst2 = mps.locate(&b, "copy2");
        assert!(matches!(
            copy_object(&src, "src", &dst2, None, || ()),
            Err(Error::Checksum(_))
        ));
        assert!(!dst2.fqn.exists());
        assert_eq!(work_files(&dst2), 0);
        store_lom(&src.fqn, "src", &orig).unwrap();

        // Move to another mountpath: the source and its emptied directories are gone.
        let other = mps.all().iter().find(|m| m.path != src.mountpath).unwrap();
        let to = Mountpaths::new(std::slice::from_ref(&other.path))
            .unwrap()
            .locate(&b, "a/b/src");
        move_object(&src, &to).unwrap();
        assert!(!src.fqn.exists());
        assert!(!src.obj_dir().join("a").exists());
        assert_eq!(std::fs::read(&to.fqn).unwrap(), b"payload");
        assert_eq!(load_lom(&to.fqn, "src").unwrap(), orig);
    }
}
