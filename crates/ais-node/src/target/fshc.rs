//! Filesystem health checker: after an I/O error or a miss on a mountpath, probe it (root is a
//! directory; a probe file can be written, fsynced, read back and removed). A mountpath that
//! fails is disabled — taken out of placement, which starts a resilver; objects it held come
//! back from mirror copies or EC slices when read.

use super::Target;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most one probe per mountpath in this period.
const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_FILE: &str = ".ais.fshc";

/// Blocking: probes the file system at `mp`.
pub(super) fn probe(mp: &str) -> Result<(), String> {
    let root = Path::new(mp);
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err("not a directory".into()),
        Err(e) => return Err(format!("stat: {e}")),
    }
    let f = root.join(PROBE_FILE);
    let payload = b"ais-fshc-probe";
    let res = (|| -> std::io::Result<bool> {
        let mut w = std::fs::File::create(&f)?;
        w.write_all(payload)?;
        w.sync_all()?;
        let mut back = Vec::new();
        std::fs::File::open(&f)?.read_to_end(&mut back)?;
        Ok(back == payload)
    })();
    let _ = std::fs::remove_file(&f);
    match res {
        Ok(true) => Ok(()),
        // A full disk (or quota) is not a failed disk: the root is there and readable.
        Err(e) if matches!(e.raw_os_error(), Some(28) | Some(122)) => Ok(()),
        Ok(false) => Err("probe read back different bytes".into()),
        Err(e) => Err(format!("probe: {e}")),
    }
}

impl Target {
    /// Probes `mp` in the background (rate limited) and disables it if it fails.
    pub(super) fn fshc_check(self: &Arc<Self>, mp: &str) {
        if !self.fshc_due(mp) {
            return;
        }
        let (me, mp) = (self.clone(), mp.to_string());
        tokio::spawn(async move { me.fshc_run(&mp).await });
    }

    /// A mountpath whose root vanished: probes and disables it now (not rate limited), so
    /// the caller can retry on the remaining ones. `true` if it was disabled.
    pub(super) async fn fshc_now(self: &Arc<Self>, mp: &str) -> bool {
        self.fshc_due(mp);
        self.fshc_run(mp).await
    }

    fn fshc_due(&self, mp: &str) -> bool {
        let mut last = self.fshc.lock().expect("fshc lock");
        let now = Instant::now();
        match last.get(mp) {
            Some(t) if now.duration_since(*t) < PROBE_EVERY => false,
            _ => {
                last.insert(mp.to_string(), now);
                true
            }
        }
    }

    async fn fshc_run(self: &Arc<Self>, mp: &str) -> bool {
        if !self.mps().all().iter().any(|m| m.path == mp) {
            return true; // already out of service
        }
        let m2 = mp.to_string();
        let Ok(Err(why)) = tokio::task::spawn_blocking(move || probe(&m2)).await else {
            return false;
        };
        tracing::error!(node = %self.name, mountpath = %mp, %why, "mountpath failed its health check: disabling");
        self.ctl.stats.err_io.inc();
        match self
            .mp_change(&http::Method::POST, "disable-mp", mp.to_string(), true)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(mountpath = %mp, err = %e, "could not disable a failed mountpath");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        let d = tempfile::tempdir().unwrap();
        assert!(probe(d.path().to_str().unwrap()).is_ok());
        assert!(!d.path().join(PROBE_FILE).exists());
        let gone = d.path().join("gone");
        assert!(probe(gone.to_str().unwrap()).unwrap_err().contains("stat"));
        let file = d.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(probe(file.to_str().unwrap()).is_err());
    }
}
