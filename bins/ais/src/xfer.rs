//! Multi-object transfers (`put --recursive`, `get --recursive`), checksum-verified GET, bucket
//! copy (`cp`), and the progress display they share with `job wait`.
//!
//! Progress bars and spinners go to stderr and only when stderr is a terminal: in pipes, scripts
//! and tests they are hidden, so stdout (and stderr) stay machine-readable.

use crate::{explain, human, prefixed, send};
use ais_api::{Client, ObjAttrs};
use ais_core::Bck;
use ais_core::wire::JobStatus;
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinSet;

/// A byte-counting progress bar on stderr; hidden unless stderr is a terminal.
fn bytes_bar(total: u64, msg: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(st) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(st.progress_chars("=> "));
    }
    pb.set_message(msg);
    pb
}

/// A spinner with elapsed time on stderr; hidden unless stderr is a terminal.
fn spinner(msg: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    if let Ok(st) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(st);
    }
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Regular files under `root` (symlinks to files are followed, symlinked directories are not,
/// so there are no cycles), sorted by name; each with its path relative to `root` joined by `/`
/// and its size.
fn walk(root: &Path) -> Result<Vec<(PathBuf, String, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))?;
        for ent in rd {
            let ent = ent.with_context(|| format!("read {}", dir.display()))?;
            let path = ent.path();
            if ent.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let md =
                std::fs::metadata(&path).with_context(|| format!("stat {}", path.display()))?;
            if !md.is_file() {
                continue; // symlinked directory, socket, fifo, ...
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            let name = parts
                .ok_or_else(|| anyhow!("{}: file name is not UTF-8", path.display()))?
                .join("/");
            out.push((path, name, md.len()));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Runs `jobs` (each yielding a byte count) at most `concurrency` at a time, advancing `pb`.
/// Stops scheduling at the first error and returns it with how many jobs had succeeded.
async fn run_bounded<F>(
    jobs: Vec<F>,
    concurrency: usize,
    pb: &ProgressBar,
) -> std::result::Result<usize, (usize, anyhow::Error)>
where
    F: std::future::Future<Output = Result<u64>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut pending = jobs.into_iter();
    let (mut done, mut first_err) = (0usize, None);
    loop {
        while first_err.is_none() && set.len() < concurrency.max(1) {
            match pending.next() {
                Some(j) => {
                    set.spawn(j);
                }
                None => break,
            }
        }
        let Some(r) = set.join_next().await else {
            break;
        };
        match r.map_err(|e| anyhow!("task: {e}")).and_then(|r| r) {
            Ok(n) => {
                done += 1;
                pb.inc(n);
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        None => Ok(done),
        Some(e) => Err((done, e)),
    }
}

/// `ais put DIR ais://B[/PREFIX] --recursive`: uploads every file under `dir` as
/// `PREFIX + relative path`, `concurrency` at a time; prints one summary line.
pub(crate) async fn put_dir(
    c: &Client,
    dir: &Path,
    bck: &Bck,
    prefix: &str,
    concurrency: usize,
    json: bool,
) -> Result<()> {
    let files = walk(dir)?;
    // One clear error (with its hint) rather than one per file.
    c.head_bucket(bck)
        .await
        .map_err(|e| explain(e, Some(bck)))?;
    if files.is_empty() {
        bail!("{}: no files to upload", dir.display());
    }
    let (n, total) = (files.len(), files.iter().map(|f| f.2).sum::<u64>());
    let pb = bytes_bar(total, format!("PUT {n} files"));
    let jobs: Vec<_> = files
        .into_iter()
        .map(|(path, rel, _)| {
            let (c, bck, obj) = (c.clone(), bck.clone(), format!("{prefix}{rel}"));
            async move {
                let p = path.clone();
                let data = tokio::task::spawn_blocking(move || std::fs::read(&p))
                    .await?
                    .with_context(|| format!("read {}", path.display()))?;
                let len = data.len() as u64;
                c.put_object(&bck, &obj, bytes::Bytes::from(data), None)
                    .await
                    .map_err(|e| explain(e, Some(&bck)))
                    .with_context(|| format!("PUT {}", bck.cname_obj(&obj)))?;
                Ok(len)
            }
        })
        .collect();
    let res = run_bounded(jobs, concurrency, &pb).await;
    pb.finish_and_clear();
    match res {
        Ok(_) if json => crate::print_json(&serde_json::json!({
            "objects": n, "size": total, "bucket": bck.cname(), "prefix": prefix
        })),
        Ok(_) => {
            println!(
                "PUT {n} file{} ({}) from {:?} => {}",
                if n == 1 { "" } else { "s" },
                human(total),
                dir.display().to_string(),
                prefixed(bck, prefix)
            );
            Ok(())
        }
        Err((done, e)) => Err(e.context(format!("{done} of {n} files uploaded"))),
    }
}

/// Checks the received bytes against the `Ais-Checksum-Type`/`Ais-Checksum-Value` the cluster
/// sent with them.
pub(crate) fn verify(attrs: &ObjAttrs, data: &[u8], what: &str) -> Result<()> {
    let Some(want) = &attrs.cksum else {
        bail!(
            "{what}: the cluster sent no checksum to verify against\n\
             hint: the bucket's checksum type may be `none`"
        );
    };
    let got = ais_core::Cksum::of(want.ty, data)
        .ok_or_else(|| anyhow!("{what}: cannot compute checksum type {}", want.ty.as_str()))?;
    want.verify(&got, what).map_err(|e| anyhow!("{e}"))
}

/// Where object `name` goes under `dir`, refusing names that would leave it (`..`, absolute).
fn local_path(dir: &Path, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    if name.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!(
            "object name {name:?} cannot be a local file name under {}",
            dir.display()
        );
    }
    Ok(dir.join(rel))
}

/// `ais get ais://B[/PREFIX] DIR --recursive`: downloads every object with the prefix to
/// `DIR/<object name>`, `concurrency` at a time, verifying checksums when `checksum`.
pub(crate) async fn get_dir(
    c: &Client,
    bck: &Bck,
    prefix: &str,
    dir: &Path,
    concurrency: usize,
    checksum: bool,
) -> Result<()> {
    let ents = c
        .list_objects_all(bck, prefix, "name,size")
        .await
        .map_err(|e| explain(e, Some(bck)))?;
    if ents.is_empty() {
        bail!("{}: no objects", prefixed(bck, prefix));
    }
    let paths = ents
        .iter()
        .map(|e| local_path(dir, &e.name))
        .collect::<Result<Vec<_>>>()?;
    let (n, total) = (
        ents.len(),
        ents.iter().map(|e| e.size.max(0) as u64).sum::<u64>(),
    );
    let pb = bytes_bar(total, format!("GET {n} objects"));
    let jobs: Vec<_> = ents
        .into_iter()
        .zip(paths)
        .map(|(e, path)| {
            let (c, bck) = (c.clone(), bck.clone());
            async move {
                let what = bck.cname_obj(&e.name);
                let (attrs, data) = c
                    .get_object(&bck, &e.name, None)
                    .await
                    .map_err(|err| explain(err, Some(&bck)))
                    .with_context(|| format!("GET {what}"))?;
                if checksum {
                    verify(&attrs, &data, &what)?;
                }
                let len = data.len() as u64;
                tokio::task::spawn_blocking(move || -> Result<()> {
                    if let Some(p) = path.parent() {
                        std::fs::create_dir_all(p)
                            .with_context(|| format!("create {}", p.display()))?;
                    }
                    std::fs::write(&path, &data)
                        .with_context(|| format!("write {}", path.display()))
                })
                .await??;
                Ok(len)
            }
        })
        .collect();
    let res = run_bounded(jobs, concurrency, &pb).await;
    pb.finish_and_clear();
    match res {
        Ok(_) => {
            eprintln!(
                "GET {n} object{} ({}) from {} => {:?}",
                if n == 1 { "" } else { "s" },
                human(total),
                prefixed(bck, prefix),
                dir.display().to_string()
            );
            Ok(())
        }
        Err((done, e)) => Err(e.context(format!("{done} of {n} objects downloaded"))),
    }
}

/// Starts a `copy-bck` job (`src` → `dst`, only names with `prefix`, each prefixed with
/// `prepend` at the destination); the destination is created when missing. Returns the job id.
pub(crate) async fn copy_bucket(
    ep: &str,
    src: &Bck,
    dst: &Bck,
    prefix: &str,
    prepend: &str,
) -> Result<String> {
    let mut q = vec![
        ("provider", src.provider.as_str().to_string()),
        ("bck_to", dst.uname_prefix()),
    ];
    if !src.namespace.is_global() {
        q.push(("namespace", src.namespace.uname()));
    }
    let body = serde_json::json!({
        "action": "copy-bck",
        "name": "",
        "value": {"prefix": prefix, "prepend": prepend, "dry_run": false, "force": false},
    });
    let r = send(
        reqwest::Client::new()
            .post(format!("{ep}/v1/buckets/{}", src.name))
            .query(&q)
            .json(&body),
    )
    .await
    .map_err(|e| {
        if e.to_string().contains("does not exist") {
            anyhow!("{e}\nhint: `ais ls` lists the buckets")
        } else {
            e
        }
    })?;
    let id = r.text().await?.trim().to_string();
    if id.is_empty() {
        bail!("copy-bck: the cluster returned no job id");
    }
    Ok(id)
}

/// Waits for job `id` (a spinner on a terminal); fails when it failed, was aborted, or is still
/// running after `timeout`.
pub(crate) async fn wait_job(c: &Client, id: &str, timeout: Duration) -> Result<JobStatus> {
    let sp = spinner(format!("waiting for job {id}"));
    let res = c.wait_job(id, timeout).await;
    sp.finish_and_clear();
    let st = res.map_err(|e| match e {
        ais_api::Error::Timeout(_) => {
            anyhow!("{e}\nhint: `ais job show {id}` shows it; `ais job stop {id}` aborts it")
        }
        e => explain(e, None),
    })?;
    if !st.err.is_empty() || st.aborted {
        bail!(
            "job {id} ({}) {}: {}",
            st.kind,
            if st.aborted { "aborted" } else { "failed" },
            st.err
        );
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_core::{Cksum, CksumType};

    #[test]
    fn verify_good_bad_missing() {
        let data = b"some bytes";
        let good = ObjAttrs {
            cksum: Cksum::of(CksumType::Xxhash, data),
            ..Default::default()
        };
        assert!(verify(&good, data, "ais://b/o").is_ok());
        let e = verify(&good, b"other bytes", "ais://b/o").unwrap_err();
        assert!(e.to_string().contains("BAD DATA CHECKSUM"), "{e}");
        let e = verify(&ObjAttrs::default(), data, "ais://b/o").unwrap_err();
        assert!(e.to_string().contains("hint:"), "{e}");
    }

    #[test]
    fn local_paths_stay_inside() {
        let d = Path::new("/tmp/x");
        assert_eq!(local_path(d, "a/b.txt").unwrap(), d.join("a/b.txt"));
        for bad in ["", "../etc/passwd", "a/../../b", "/abs", "./a"] {
            assert!(local_path(d, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn walk_lists_files_relative_sorted() {
        let root = std::env::temp_dir().join(format!("ais-cli-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("d/e")).unwrap();
        std::fs::write(root.join("z"), b"12").unwrap();
        std::fs::write(root.join("d/e/f"), b"1").unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        let got: Vec<(String, u64)> = walk(&root)
            .unwrap()
            .into_iter()
            .map(|(_, n, s)| (n, s))
            .collect();
        assert_eq!(got, vec![("d/e/f".to_string(), 1), ("z".to_string(), 2)]);
        let _ = std::fs::remove_dir_all(&root);
    }
}
