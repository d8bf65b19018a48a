//! Sorted, resumable walk of a bucket's objects on one mountpath.

use std::path::{Path, PathBuf};

/// One object found by [`walk_bucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    /// Object name.
    pub name: String,
    /// Full path.
    pub fqn: PathBuf,
}

/// Lists up to `limit` object names under `obj_dir` that start with `prefix` and sort strictly
/// after `after`, in bytewise name order. Subtrees that cannot contain a match are skipped, so
/// a page costs about what it returns, not the bucket size.
pub fn walk_bucket(
    obj_dir: &Path,
    prefix: &str,
    after: &str,
    limit: usize,
) -> std::io::Result<Vec<WalkEntry>> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    match walk(obj_dir, "", prefix, after, limit, &mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    }
    // Objects stored under hashed names (over-long path components) live at the top level;
    // their real names come from metadata and are merged into the order here.
    let mut hashed = Vec::new();
    for e in std::fs::read_dir(obj_dir)? {
        let e = e?;
        let Some(fname) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_hashed_name(&fname) || !e.file_type()?.is_file() {
            continue;
        }
        let fqn = e.path();
        let name = match crate::load_lom(&fqn, &fname) {
            Ok(lom) => lom.long_name.unwrap_or(fname),
            Err(_) => fname,
        };
        if name.starts_with(prefix) && name.as_str() > after {
            hashed.push(WalkEntry { name, fqn });
        }
    }
    if !hashed.is_empty() {
        out.extend(hashed);
        out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        out.truncate(limit);
    }
    Ok(out)
}

fn is_hashed_name(n: &str) -> bool {
    n.len() == crate::HASHED_NAME_PREFIX.len() + 64
        && n.starts_with(crate::HASHED_NAME_PREFIX)
        && n.as_bytes()[2..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

fn walk(
    dir: &Path,
    rel: &str,
    prefix: &str,
    after: &str,
    limit: usize,
    out: &mut Vec<WalkEntry>,
) -> std::io::Result<bool> {
    let mut ents: Vec<(String, bool)> = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Ok(name) = e.file_name().into_string() else {
            continue; // not UTF-8: not an object we wrote
        };
        let is_dir = e.file_type()?.is_dir();
        if rel.is_empty() && !is_dir && is_hashed_name(&name) {
            continue; // merged by walk_bucket
        }
        // sort key: a directory sorts as "name/", so DFS order equals full-name order
        ents.push(if is_dir {
            (name + "/", true)
        } else {
            (name, false)
        });
    }
    ents.sort_unstable();
    for (name, is_dir) in ents {
        let full = format!("{rel}{name}");
        if is_dir {
            if !(full.starts_with(prefix) || prefix.starts_with(&full)) {
                continue;
            }
            if !after.starts_with(&full) && full.as_str() < after {
                continue;
            }
            match walk(
                &dir.join(&name[..name.len() - 1]),
                &full,
                prefix,
                after,
                limit,
                out,
            ) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                // removed concurrently
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else {
            if !full.starts_with(prefix) || full.as_str() <= after {
                continue;
            }
            out.push(WalkEntry {
                fqn: dir.join(&name),
                name: full,
            });
            if out.len() >= limit {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(root: &Path, names: &[&str]) {
        for n in names {
            let p = root.join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
    }

    #[test]
    fn order_prefix_paging() {
        let d = tempfile::tempdir().unwrap();
        let mut names = vec![
            "a.txt", "a/b", "a/c/d", "a-", "b", "ünï/x", "z/z/z", "a/b0", "a/b/",
        ];
        names.pop();
        mk(d.path(), &names);
        let all = walk_bucket(d.path(), "", "", 100).unwrap();
        let got: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        let mut want = names.clone();
        want.sort();
        assert_eq!(got, want);
        // paging by token reproduces the full order
        let mut paged = Vec::new();
        let mut after = String::new();
        loop {
            let p = walk_bucket(d.path(), "", &after, 2).unwrap();
            if p.is_empty() {
                break;
            }
            after = p.last().unwrap().name.clone();
            paged.extend(p.into_iter().map(|e| e.name));
        }
        assert_eq!(paged, want);
        let pre: Vec<String> = walk_bucket(d.path(), "a/", "", 100)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(pre, ["a/b", "a/b0", "a/c/d"]);
        let pre: Vec<String> = walk_bucket(d.path(), "a/b", "a/b", 100)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(pre, ["a/b0"]);
        assert!(
            walk_bucket(&d.path().join("missing"), "", "", 10)
                .unwrap()
                .is_empty()
        );
    }
}
