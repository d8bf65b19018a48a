//! Hand-rolled flag parsing: `--name value`, `--name=value` and switches.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A command-line mistake: reported with the usage text and exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

/// Parsed flags of one verb.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<&'static str, String>,
    switches: HashSet<&'static str>,
}

impl Flags {
    /// Parses `args` accepting the flags in `with_value` (each takes one
    /// value) and the boolean `switches`. Names are given without `--`.
    pub(crate) fn parse(
        args: &[String],
        with_value: &[&'static str],
        switches: &[&'static str],
    ) -> anyhow::Result<Self> {
        let mut flags = Self::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(usage(format!("unexpected argument `{arg}`")));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if let Some(&known) = with_value.iter().find(|k| **k == name) {
                let value = match inline {
                    Some(v) => v.to_owned(),
                    None => it
                        .next()
                        .ok_or_else(|| usage(format!("flag `--{name}` needs a value")))?
                        .clone(),
                };
                if flags.values.insert(known, value).is_some() {
                    return Err(usage(format!("flag `--{name}` given twice")));
                }
            } else if let Some(&known) = switches.iter().find(|k| **k == name) {
                if inline.is_some() {
                    return Err(usage(format!("flag `--{name}` takes no value")));
                }
                flags.switches.insert(known);
            } else {
                return Err(usage(format!("unknown flag `{arg}`")));
            }
        }
        Ok(flags)
    }

    /// The value of `--name` parsed as `T`, or `default` when absent.
    pub(crate) fn num<T: FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| usage(format!("flag `--{name}`: `{v}` is not a valid number"))),
        }
    }

    /// The value of `--name` as a path, if given.
    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.values.get(name).map(PathBuf::from)
    }

    /// Whether the switch `--name` was given.
    pub(crate) fn on(&self, name: &str) -> bool {
        self.switches.contains(name)
    }
}

/// Builds a usage error for an invalid flag value.
pub(crate) fn bad_value(msg: impl Into<String>) -> anyhow::Error {
    usage(msg.into())
}
