//! Persisting a node's metadata (Smap, BMD) as JSON files in its confdir, atomically.

use crate::Error;
use serde::{Serialize, de::DeserializeOwned};
use std::io::Write;
use std::path::Path;

/// File name of the persisted Smap.
pub(crate) const SMAP_FILE: &str = ".ais.smap";
/// File name of the persisted BMD.
pub(crate) const BMD_FILE: &str = ".ais.bmd";

/// Writes `data` to `path` via a work file, fsync and rename.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let io = |e: std::io::Error| Error::Storage(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(data).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(d) = path.parent().and_then(|p| std::fs::File::open(p).ok()) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Saves `v` as JSON.
pub(crate) fn save<T: Serialize>(dir: &Path, name: &str, v: &T) -> Result<(), Error> {
    let b = serde_json::to_vec(v).map_err(|e| Error::Storage(format!("encode {name}: {e}")))?;
    write_atomic(&dir.join(name), &b)
}

/// Loads JSON saved by [`save`]; `None` if absent.
pub(crate) fn load<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>, Error> {
    let p = dir.join(name);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Storage(format!("{}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Storage(format!("{}: {e}", p.display()))),
    }
}

/// Removes what [`save`] saved (absent is fine).
pub(crate) fn remove(dir: &Path, name: &str) -> Result<(), Error> {
    let p = dir.join(name);
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Storage(format!("{}: {e}", p.display())))
        }
        _ => Ok(()),
    }
}
