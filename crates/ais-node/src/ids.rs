//! Where a node's id comes from: flag, env `AIS_DAEMON_ID`, what is stored on disk (proxy:
//! `<confdir>/.ais.proxy_id`; target: xattr `user.ais.daemon_id` on every mountpath root), or a
//! fresh random one that is then stored.

use crate::Error;
use std::path::Path;

const PROXY_ID_FILE: &str = ".ais.proxy_id";
const TARGET_ID_XATTR: &str = "user.ais.daemon_id";

fn random_id() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("OS random source available");
    ais_core::id::gen_node_id(&b)
}

fn check(id: String) -> Result<String, Error> {
    ais_core::id::validate_node_id(&id).map_err(|e| Error::Config(e.msg))?;
    Ok(id)
}

fn explicit(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| std::env::var("AIS_DAEMON_ID").ok())
        .filter(|s| !s.is_empty())
}

/// Resolves a proxy id.
pub(crate) fn proxy_id(flag: Option<&str>, confdir: &Path) -> Result<String, Error> {
    if let Some(id) = explicit(flag) {
        return check(id);
    }
    let f = confdir.join(PROXY_ID_FILE);
    if let Ok(s) = std::fs::read_to_string(&f) {
        return check(s.trim().to_string());
    }
    let id = random_id();
    std::fs::create_dir_all(confdir)
        .map_err(|e| Error::Storage(format!("{}: {e}", confdir.display())))?;
    crate::metastore::write_atomic(&f, id.as_bytes())?;
    Ok(id)
}

/// Resolves a target id from its mountpaths (all that carry one must agree).
pub(crate) fn target_id(flag: Option<&str>, mountpaths: &[String]) -> Result<String, Error> {
    let mut found: Option<String> = None;
    for mp in mountpaths {
        let mut buf = [0u8; 64];
        if let Ok(n) = rustix_getxattr(mp, &mut buf) {
            let id = String::from_utf8_lossy(&buf[..n]).into_owned();
            match &found {
                Some(f) if *f != id => {
                    return Err(Error::Storage(format!(
                        "target ID mismatch: mountpath {mp} has {id}, another has {f}"
                    )));
                }
                _ => found = Some(id),
            }
        }
    }
    let id = match (explicit(flag), found) {
        (Some(e), Some(f)) if e != f => {
            return Err(Error::Config(format!(
                "target ID mismatch: configured {e}, mountpaths have {f}"
            )));
        }
        (Some(e), _) => e,
        (None, Some(f)) => f,
        (None, None) => random_id(),
    };
    let id = check(id)?;
    for mp in mountpaths {
        rustix_setxattr(mp, id.as_bytes())
            .map_err(|e| Error::Storage(format!("{mp}: store node id: {e}")))?;
    }
    Ok(id)
}

fn rustix_getxattr(p: &str, buf: &mut [u8]) -> std::io::Result<usize> {
    ais_fs_xattr::get(p, TARGET_ID_XATTR, buf)
}

fn rustix_setxattr(p: &str, v: &[u8]) -> std::io::Result<()> {
    ais_fs_xattr::set(p, TARGET_ID_XATTR, v)
}

/// Thin wrappers over `rustix`'s path xattr calls.
mod ais_fs_xattr {
    pub(super) fn get(p: &str, name: &str, buf: &mut [u8]) -> std::io::Result<usize> {
        rustix::fs::getxattr(p, name, buf).map_err(Into::into)
    }
    pub(super) fn set(p: &str, name: &str, v: &[u8]) -> std::io::Result<()> {
        rustix::fs::setxattr(p, name, v, rustix::fs::XattrFlags::empty()).map_err(Into::into)
    }
}
