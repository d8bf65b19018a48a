//! Wire types of the native API: control messages, list-objects request/response, job status,
//! header and query names. Field names and encodings follow what the official clients send and
//! parse (see the spec in `shared/spec/http-api.md`).

use crate::bck::Bck;
use crate::err::Error;
use crate::serde_util::str_int;
use serde::{Deserialize, Serialize};

/// URL path prefixes.
pub mod path {
    /// API version root.
    pub const V1: &str = "/v1";
    /// Buckets.
    pub const BUCKETS: &str = "buckets";
    /// Objects.
    pub const OBJECTS: &str = "objects";
    /// Cluster-wide queries and actions.
    pub const CLUSTER: &str = "cluster";
    /// Node-local queries and actions.
    pub const DAEMON: &str = "daemon";
    /// Health.
    pub const HEALTH: &str = "health";
    /// Forward to a node named by `Ais-Node-Id`.
    pub const REVERSE: &str = "reverse";
    /// Intra-cluster metadata sync (ours; not a client API).
    pub const METASYNC: &str = "metasync";
}

/// Header names (lower-case; HTTP header names are case-insensitive).
pub mod hdr {
    /// Checksum type of an object.
    pub const CKSUM_TYPE: &str = "ais-checksum-type";
    /// Checksum value of an object.
    pub const CKSUM_VALUE: &str = "ais-checksum-value";
    /// Access time, unix ns.
    pub const ATIME: &str = "ais-atime";
    /// Object version.
    pub const VERSION: &str = "ais-version";
    /// Custom metadata, `k=v` per header line.
    pub const CUSTOM_MD: &str = "ais-custom-md";
    /// Whether the object is present in the cluster.
    pub const PRESENT: &str = "ais-present";
    /// `t[TID]:mountpath`.
    pub const LOCATION: &str = "ais-location";
    /// Number of mirror copies.
    pub const MIRROR_COPIES: &str = "ais-mirror-copies";
    /// Bucket properties JSON.
    pub const BUCKET_PROPS: &str = "ais-bucket-props";
    /// Target node of a reverse-proxied request.
    pub const NODE_ID: &str = "ais-node-id";
    /// Node uptime, ns.
    pub const NODE_UPTIME: &str = "ais-node-uptime";
    /// Cluster uptime, ns.
    pub const CLUSTER_UPTIME: &str = "ais-cluster-uptime";
    /// JSON error of a HEAD reply.
    pub const ERROR: &str = "hdr-error";
    /// Intra-cluster: the sender's node id.
    pub const CALLER_ID: &str = "ais-caller-id";
}

/// Query parameter names.
pub mod qparam {
    /// Bucket provider.
    pub const PROVIDER: &str = "provider";
    /// Bucket namespace.
    pub const NAMESPACE: &str = "namespace";
    /// What to return.
    pub const WHAT: &str = "what";
    /// Object props for HEAD.
    pub const PROPS: &str = "props";
    /// Redirecting proxy id.
    pub const PID: &str = "pid";
    /// Redirect time, unix ns.
    pub const UTM: &str = "utm";
    /// Presence filter.
    pub const PRESENCE: &str = "presence";
}

/// Action names (`ActMsg.action`).
pub mod act {
    /// List buckets or objects.
    pub const LIST: &str = "list";
    /// Create a bucket.
    pub const CREATE_BCK: &str = "create-bck";
    /// Destroy a bucket.
    pub const DESTROY_BCK: &str = "destroy-bck";
    /// Delete objects by list or template.
    pub const DELETE_OBJECTS: &str = "delete-listrange";
    /// Start a job.
    pub const START: &str = "start";
    /// Stop a job.
    pub const STOP: &str = "stop";
    /// Change bucket props.
    pub const SET_BPROPS: &str = "set-bprops";
}

/// Control message `{"action","name","value"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ActMsg {
    /// Action name.
    #[serde(default)]
    pub action: String,
    /// Optional name argument.
    #[serde(default)]
    pub name: String,
    /// Optional value argument.
    #[serde(default)]
    pub value: serde_json::Value,
}

impl ActMsg {
    /// A message with just an action.
    pub fn new(action: &str) -> Self {
        ActMsg {
            action: action.into(),
            ..Default::default()
        }
    }
    /// Parses a JSON body; an empty body is the empty message.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(ActMsg::default());
        }
        serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("invalid action message: {e}")))
    }
}

/// List-objects flags (`LsoMsg.flags` bits).
pub mod ls_flag {
    /// Only objects present in the cluster.
    pub const CACHED: u64 = 1 << 0;
    /// Include missing main replicas.
    pub const MISSING: u64 = 1 << 1;
    /// Include deleted.
    pub const DELETED: u64 = 1 << 2;
    /// Expand archives.
    pub const ARCH_DIR: u64 = 1 << 3;
    /// Names only.
    pub const NAME_ONLY: u64 = 1 << 4;
    /// Names and sizes only.
    pub const NAME_SIZE: u64 = 1 << 5;
    /// Bucket must be present.
    pub const BCK_PRESENT: u64 = 1 << 6;
    /// Only objects not present in the cluster (remote buckets).
    pub const NOT_CACHED: u64 = 1 << 9;
    /// Do not recurse into virtual directories.
    pub const NO_RECURSION: u64 = 1 << 11;
    /// No directory entries.
    pub const NO_DIRS: u64 = 1 << 13;
}

/// List-objects entry flags.
pub mod ent_flag {
    /// Mask of the status bits.
    pub const STATUS_MASK: u16 = 0x1f;
    /// Object is present in the cluster.
    pub const IS_CACHED: u16 = 1 << 6;
    /// Entry is a virtual directory.
    pub const IS_DIR: u16 = 1 << 8;
}

/// Default and maximum list page size for ais buckets.
pub const LIST_PAGE_SIZE_MAX: usize = 10_000;

/// List-objects request (`apc.LsoMsg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LsoMsg {
    /// Listing session id ("" on the first page).
    pub uuid: String,
    /// Comma-separated props.
    pub props: String,
    /// Go time layout for `atime`.
    pub time_format: String,
    /// Name prefix.
    pub prefix: String,
    /// Start strictly after this name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub start_after: String,
    /// Continue after this name.
    pub continuation_token: String,
    /// Pin to one target.
    pub target: String,
    /// Flags (decimal string on the wire).
    #[serde(with = "str_int")]
    pub flags: u64,
    /// Page size (0 = default).
    pub pagesize: i64,
}

/// Which entry properties a listing fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LsoProps {
    /// `size`
    pub size: bool,
    /// `checksum`
    pub checksum: bool,
    /// `atime`
    pub atime: bool,
    /// `version`
    pub version: bool,
    /// `location`
    pub location: bool,
    /// `copies`
    pub copies: bool,
    /// `custom`
    pub custom: bool,
    /// `status` / `cached` (flags)
    pub flags: bool,
}

impl LsoProps {
    /// Parses the comma list; empty means `name,size,cached`. Unknown names are a 400.
    pub fn parse(props: &str) -> Result<LsoProps, Error> {
        let mut p = LsoProps::default();
        if props.trim().is_empty() {
            p.size = true;
            p.flags = true;
            return Ok(p);
        }
        for n in props.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match n {
                "name" => {}
                "size" => p.size = true,
                "checksum" => p.checksum = true,
                "atime" => p.atime = true,
                "version" => p.version = true,
                "location" => p.location = true,
                "copies" => p.copies = true,
                "custom" => p.custom = true,
                "cached" | "status" => p.flags = true,
                "ec" | "chunked" | "etag" | "last-modified" => {}
                _ => {
                    return Err(Error::bad_request(format!(
                        "invalid list-objects property \"{n}\""
                    )));
                }
            }
        }
        Ok(p)
    }
}

/// One listed object, msgpack field names as AIS (`cmn.LsoEnt`); empty fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LsoEnt {
    /// Object name.
    #[serde(rename = "n")]
    pub name: String,
    /// Checksum value.
    #[serde(rename = "cs", default, skip_serializing_if = "String::is_empty")]
    pub checksum: String,
    /// Access time, formatted.
    #[serde(rename = "a", default, skip_serializing_if = "String::is_empty")]
    pub atime: String,
    /// Version.
    #[serde(rename = "v", default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `t[TID]:mountpath`.
    #[serde(rename = "t", default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Custom metadata `[k:v ...]`.
    #[serde(rename = "m", default, skip_serializing_if = "String::is_empty")]
    pub custom: String,
    /// Size in bytes.
    #[serde(rename = "s", default, skip_serializing_if = "is_zero_i64")]
    pub size: i64,
    /// Number of copies.
    #[serde(rename = "c", default, skip_serializing_if = "is_zero_i16")]
    pub copies: i16,
    /// Entry flags.
    #[serde(rename = "f", default, skip_serializing_if = "is_zero_u16")]
    pub flags: u16,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_i16(v: &i16) -> bool {
    *v == 0
}
fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

/// List-objects page (`cmn.LsoRes`), msgpack form: exactly the 4 keys the SDK requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LsoRes {
    /// Listing session id.
    #[serde(rename = "UUID", default)]
    pub uuid: String,
    /// Name of the last entry when more pages follow; empty when done.
    #[serde(rename = "ContinuationToken", default)]
    pub continuation_token: String,
    /// Entries, sorted by name.
    #[serde(rename = "Entries", default, deserialize_with = "null_vec")]
    pub entries: Vec<LsoEnt>,
    /// Response flags.
    #[serde(rename = "Flags", default)]
    pub flags: u32,
}

fn null_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// JSON form of a listed object (when the client does not accept msgpack).
#[derive(Debug, Clone, Serialize)]
pub struct LsoEntJson<'a> {
    /// Name.
    pub name: &'a str,
    /// Checksum.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub checksum: &'a str,
    /// Atime.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub atime: &'a str,
    /// Version.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub version: &'a str,
    /// Location.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub location: &'a str,
    /// Custom md.
    #[serde(rename = "custom-md", skip_serializing_if = "str::is_empty")]
    pub custom: &'a str,
    /// Size as a decimal string.
    pub size: String,
    /// Copies.
    #[serde(skip_serializing_if = "is_zero_i16")]
    pub copies: i16,
    /// Flags.
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub flags: u16,
}

/// JSON form of a listing page.
#[derive(Debug, Clone, Serialize)]
pub struct LsoResJson<'a> {
    /// Session id.
    pub uuid: &'a str,
    /// Continuation token.
    pub continuation_token: &'a str,
    /// Entries.
    pub entries: Vec<LsoEntJson<'a>>,
    /// Flags.
    pub flags: u32,
}

impl LsoRes {
    /// The JSON form of this page.
    pub fn to_json_form(&self) -> LsoResJson<'_> {
        LsoResJson {
            uuid: &self.uuid,
            continuation_token: &self.continuation_token,
            entries: self
                .entries
                .iter()
                .map(|e| LsoEntJson {
                    name: &e.name,
                    checksum: &e.checksum,
                    atime: &e.atime,
                    version: &e.version,
                    location: &e.location,
                    custom: &e.custom,
                    size: e.size.to_string(),
                    copies: e.copies,
                    flags: e.flags,
                })
                .collect(),
            flags: self.flags,
        }
    }
}

/// Object selection of multi-object operations (`apc.ListRange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ListRange {
    /// Explicit names.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_vec")]
    pub objnames: Vec<String>,
    /// Brace-range template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template: String,
}

/// Cluster-wide status of one job (`what=status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobStatus {
    /// Job kind.
    pub kind: String,
    /// Job id.
    pub uuid: String,
    /// Error text ("" = none).
    pub err: String,
    /// Finish time in unix ns; 0 while running.
    pub end_time: i64,
    /// Whether the job was aborted.
    pub aborted: bool,
    /// Whether the job is idle (a finished job is idle).
    pub is_idle: bool,
}

/// Per-job counters in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SnapStats {
    /// Local objects processed.
    #[serde(rename = "loc-objs", with = "str_int")]
    pub loc_objs: i64,
    /// Local bytes processed.
    #[serde(rename = "loc-bytes", with = "str_int")]
    pub loc_bytes: i64,
    /// Objects sent.
    #[serde(rename = "out-objs", with = "str_int")]
    pub out_objs: i64,
    /// Bytes sent.
    #[serde(rename = "out-bytes", with = "str_int")]
    pub out_bytes: i64,
    /// Objects received.
    #[serde(rename = "in-objs", with = "str_int")]
    pub in_objs: i64,
    /// Bytes received.
    #[serde(rename = "in-bytes", with = "str_int")]
    pub in_bytes: i64,
}

/// One node's snapshot of a job (`what=qryxstats` values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobSnap {
    /// Job id.
    pub id: String,
    /// Job kind.
    pub kind: String,
    /// RFC3339 start time.
    #[serde(rename = "start-time")]
    pub start_time: String,
    /// RFC3339 end time; Go zero time while running.
    #[serde(rename = "end-time")]
    pub end_time: String,
    /// Bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bck: Option<Bck>,
    /// Counters.
    pub stats: SnapStats,
    /// Aborted.
    pub aborted: bool,
    /// Idle.
    pub is_idle: bool,
    /// Abort error.
    #[serde(rename = "abort-err")]
    pub abort_err: String,
    /// Error text.
    pub err: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lso_msg_from_sdk() {
        let j = r#"{"prefix":"d1/","pagesize":100,"uuid":"","props":"name,size","continuation_token":"","flags":"0","target":""}"#;
        let m: LsoMsg = serde_json::from_str(j).unwrap();
        assert_eq!(m.pagesize, 100);
        assert_eq!(m.flags, 0);
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(back["flags"], "0");
    }

    #[test]
    fn lso_res_msgpack_is_named_map() {
        let r = LsoRes {
            uuid: "u".into(),
            continuation_token: String::new(),
            entries: vec![LsoEnt {
                name: "o".into(),
                size: 5,
                flags: ent_flag::IS_CACHED,
                ..Default::default()
            }],
            flags: 0,
        };
        let b = rmp_serde::to_vec_named(&r).unwrap();
        // fixmap with 4 keys
        assert_eq!(b[0], 0x84);
        let back: LsoRes = rmp_serde::from_slice(&b).unwrap();
        assert_eq!(back, r);
        // the entry omits empty fields: map of 3 (n, s, f)
        let e = rmp_serde::to_vec_named(&r.entries[0]).unwrap();
        assert_eq!(e[0], 0x83);
    }

    #[test]
    fn props() {
        assert!(LsoProps::parse("").unwrap().size);
        let p = LsoProps::parse("name,checksum,location").unwrap();
        assert!(p.checksum && p.location && !p.size);
        assert!(LsoProps::parse("bogus").is_err());
    }

    #[test]
    fn actmsg() {
        let m = ActMsg::parse(br#"{"action":"create-bck","name":"","value":null}"#).unwrap();
        assert_eq!(m.action, "create-bck");
        assert_eq!(ActMsg::parse(b"").unwrap(), ActMsg::default());
        assert!(ActMsg::parse(b"{").is_err());
    }
}
