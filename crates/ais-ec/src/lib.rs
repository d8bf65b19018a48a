//! `ais-ec`: the erasure-coding core of AIStore, with no I/O and no networking.
//!
//! An object is cut into `data` equal shards (the last one zero-padded) and `parity` recovery
//! shards are computed from them with Reed-Solomon ([`reed_solomon_simd`]). Each of the
//! `data + parity` shards is a [`Slice`] carrying its own XXH64 checksum (seed 0, the value AIS
//! prints as `xxhash`). Any `data` intact slices, in any mix of data and parity, give the object
//! back ([`reconstruct`]) and the lost slices themselves ([`rebuild_missing`]), so they can be
//! restored on other targets. A slice that fails its checksum, or has the wrong length, is
//! treated as missing.
//!
//! ```
//! use ais_ec::{EcConfig, encode, reconstruct};
//! let cfg = EcConfig::new(4, 2)?;
//! let object = b"the quick brown fox jumps over the lazy dog".to_vec();
//! let enc = encode(&cfg, &object)?;
//! let mut slices: Vec<_> = enc.slices.into_iter().map(Some).collect();
//! slices[0] = None; // lost
//! slices[5] = None; // lost
//! assert_eq!(reconstruct(&cfg, enc.original_len, &slices)?, object);
//! # Ok::<(), ais_ec::Error>(())
//! ```
//!
//! Not here (yet): placing slices on targets, the encode xaction, rebuild on GET, streaming.

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use std::fmt;

/// Largest number of data slices AIS accepts (`ec.data_slices`).
pub const MAX_DATA: usize = 32;
/// Largest number of parity slices AIS accepts (`ec.parity_slices`).
pub const MAX_PARITY: usize = 32;

/// Errors of encoding and reconstruction.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `data` or `parity` outside `1..=32`.
    #[error("invalid EC config: data={data} parity={parity} (each must be in 1..=32)")]
    InvalidConfig {
        /// Requested data slices.
        data: usize,
        /// Requested parity slices.
        parity: usize,
    },
    /// The slice vector does not have one entry per slice (`data + parity`).
    #[error("expected {expected} slice entries (data + parity), got {got}")]
    SliceCount {
        /// `data + parity`.
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// The slice at `position` says it is slice `index`.
    #[error("slice at position {position} has index {index}")]
    SliceIndex {
        /// Position in the vector.
        position: usize,
        /// Index the slice carries.
        index: usize,
    },
    /// Fewer than `data` intact slices remain; nothing can be rebuilt.
    #[error(
        "cannot reconstruct: need {need} intact slices of {total}, have {have} (missing: {missing:?}, bad checksum: {corrupt:?}, wrong length: {bad_len:?})"
    )]
    TooFewSlices {
        /// `data`.
        need: usize,
        /// `data + parity`.
        total: usize,
        /// Intact slices.
        have: usize,
        /// Indices given as `None`.
        missing: Vec<usize>,
        /// Indices present but failing their checksum.
        corrupt: Vec<usize>,
        /// Indices present but not of the expected slice length.
        bad_len: Vec<usize>,
    },
    /// The Reed-Solomon codec refused its input (should not happen with a valid config).
    #[error("reed-solomon: {0}")]
    Codec(#[from] reed_solomon_simd::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Number of data and parity slices (AIS bucket props `ec.data_slices`, `ec.parity_slices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EcConfig {
    /// Data slices, `1..=32`.
    pub data: usize,
    /// Parity slices, `1..=32`.
    pub parity: usize,
}

impl EcConfig {
    /// A validated config.
    pub fn new(data: usize, parity: usize) -> Result<EcConfig> {
        let c = EcConfig { data, parity };
        c.validate()?;
        Ok(c)
    }

    /// Checks both counts are in `1..=32`.
    pub fn validate(&self) -> Result<()> {
        if (1..=MAX_DATA).contains(&self.data) && (1..=MAX_PARITY).contains(&self.parity) {
            Ok(())
        } else {
            Err(Error::InvalidConfig {
                data: self.data,
                parity: self.parity,
            })
        }
    }

    /// `data + parity`.
    pub fn total(&self) -> usize {
        self.data + self.parity
    }

    /// Length of every slice of an object of `object_len` bytes: `ceil(object_len / data)`
    /// rounded up to even (reed-solomon-simd 3.x needs a non-zero even shard size), at least 2.
    pub fn slice_len(&self, object_len: usize) -> usize {
        let l = object_len.div_ceil(self.data.max(1)).max(1);
        l + (l & 1)
    }
}

impl fmt::Display for EcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.data, self.parity)
    }
}

/// XXH64 (seed 0) of `bytes`: the per-slice checksum, same value as AIS `xxhash`.
#[inline]
pub fn checksum(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// One slice: data slices are `0..data`, parity slices `data..data + parity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Position among the `data + parity` slices.
    pub index: usize,
    /// Slice content (data slices include the zero padding).
    pub bytes: Vec<u8>,
    /// XXH64 (seed 0) of `bytes` as computed when the slice was made.
    pub checksum: u64,
}

impl Slice {
    /// A slice with its checksum computed now.
    pub fn new(index: usize, bytes: Vec<u8>) -> Slice {
        let checksum = checksum(&bytes);
        Slice {
            index,
            bytes,
            checksum,
        }
    }

    /// Whether `bytes` still match `checksum`.
    pub fn verify(&self) -> bool {
        checksum(&self.bytes) == self.checksum
    }

    /// The checksum as AIS prints an `xxhash` value (16 lower-case hex chars).
    pub fn checksum_hex(&self) -> String {
        format!("{:016x}", self.checksum)
    }
}

/// Output of [`encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Object length; needed by [`reconstruct`] to drop the padding.
    pub original_len: usize,
    /// Length of every slice ([`EcConfig::slice_len`]).
    pub slice_len: usize,
    /// `data + parity` slices, in index order.
    pub slices: Vec<Slice>,
}

/// Splits `object` into `cfg.data` slices and computes `cfg.parity` parity slices.
pub fn encode(cfg: &EcConfig, object: &[u8]) -> Result<Encoded> {
    cfg.validate()?;
    let slice_len = cfg.slice_len(object.len());
    let mut data: Vec<Vec<u8>> = Vec::with_capacity(cfg.data);
    for i in 0..cfg.data {
        let start = (i * slice_len).min(object.len());
        let end = ((i + 1) * slice_len).min(object.len());
        let mut b = Vec::with_capacity(slice_len);
        b.extend_from_slice(&object[start..end]);
        b.resize(slice_len, 0);
        data.push(b);
    }
    let mut enc = ReedSolomonEncoder::new(cfg.data, cfg.parity, slice_len)?;
    for d in &data {
        enc.add_original_shard(d)?;
    }
    let res = enc.encode()?;
    let mut slices = Vec::with_capacity(cfg.total());
    slices.extend(data.into_iter().enumerate().map(|(i, b)| Slice::new(i, b)));
    slices.extend(
        res.recovery_iter()
            .enumerate()
            .map(|(i, r)| Slice::new(cfg.data + i, r.to_vec())),
    );
    Ok(Encoded {
        original_len: object.len(),
        slice_len,
        slices,
    })
}

/// Which slices can be used.
struct Survey {
    /// `usable[i]`: slice `i` is present, of the right length and passes its checksum.
    usable: Vec<bool>,
}

/// Checks which slices can be used. With `enough`, stops checksumming once `cfg.data` intact
/// slices are found (the rest count as unusable): all a reconstruction needs. Errors always
/// list every missing and damaged slice, since they are only returned when all were checked.
fn survey(
    cfg: &EcConfig,
    original_len: usize,
    slices: &[Option<Slice>],
    enough: bool,
) -> Result<Survey> {
    cfg.validate()?;
    let total = cfg.total();
    if slices.len() != total {
        return Err(Error::SliceCount {
            expected: total,
            got: slices.len(),
        });
    }
    let slice_len = cfg.slice_len(original_len);
    let (mut missing, mut corrupt, mut bad_len) = (Vec::new(), Vec::new(), Vec::new());
    let mut usable = vec![false; total];
    let mut have = 0;
    for (pos, s) in slices.iter().enumerate() {
        match s {
            Some(s) if s.index != pos => {
                return Err(Error::SliceIndex {
                    position: pos,
                    index: s.index,
                });
            }
            _ if enough && have == cfg.data => {}
            None => missing.push(pos),
            Some(s) if s.bytes.len() != slice_len => bad_len.push(pos),
            Some(s) if !s.verify() => corrupt.push(pos),
            Some(_) => {
                usable[pos] = true;
                have += 1;
            }
        }
    }
    if have < cfg.data {
        return Err(Error::TooFewSlices {
            need: cfg.data,
            total,
            have,
            missing,
            corrupt,
            bad_len,
        });
    }
    Ok(Survey { usable })
}

/// A decoder loaded with `cfg.data` usable slices (originals first), or `None` when every data
/// slice is usable and there is nothing to decode.
fn loaded_decoder(
    cfg: &EcConfig,
    slice_len: usize,
    slices: &[Option<Slice>],
    usable: &[bool],
) -> Result<Option<ReedSolomonDecoder>> {
    if usable[..cfg.data].iter().all(|u| *u) {
        return Ok(None);
    }
    let mut dec = ReedSolomonDecoder::new(cfg.data, cfg.parity, slice_len)?;
    let mut fed = 0;
    for (i, s) in slices.iter().enumerate() {
        if fed == cfg.data {
            break;
        }
        if let (true, Some(s)) = (usable[i], s) {
            if i < cfg.data {
                dec.add_original_shard(i, &s.bytes)?;
            } else {
                dec.add_recovery_shard(i - cfg.data, &s.bytes)?;
            }
            fed += 1;
        }
    }
    Ok(Some(dec))
}

/// The decoder restores every original shard it was not given; not finding one is a codec bug.
fn not_restored(cfg: &EcConfig, usable: &[bool]) -> Error {
    let originals = usable[..cfg.data].iter().filter(|u| **u).count();
    Error::Codec(reed_solomon_simd::Error::NotEnoughShards {
        original_count: cfg.data,
        original_received_count: originals,
        recovery_received_count: cfg.data - originals,
    })
}

/// Rebuilds the object of `original_len` bytes from `slices` (one entry per slice index,
/// `None` for a lost one). Needs any `cfg.data` intact slices; a slice failing its checksum
/// or of the wrong length counts as lost. Checks slices in index order and checksums only
/// until `cfg.data` are found intact (with every slice present, the parity slices are not
/// read); use [`rebuild_missing`] to find and repair every damaged slice.
pub fn reconstruct(
    cfg: &EcConfig,
    original_len: usize,
    slices: &[Option<Slice>],
) -> Result<Vec<u8>> {
    let sv = survey(cfg, original_len, slices, true)?;
    let slice_len = cfg.slice_len(original_len);
    let mut dec = loaded_decoder(cfg, slice_len, slices, &sv.usable)?;
    let res = match dec.as_mut() {
        Some(d) => Some(d.decode()?),
        None => None,
    };
    let mut out = Vec::with_capacity(original_len);
    for (i, s) in slices[..cfg.data].iter().enumerate() {
        let left = original_len - out.len();
        if left == 0 {
            break;
        }
        let bytes: &[u8] = match (s, &res) {
            (Some(s), _) if sv.usable[i] => &s.bytes,
            (_, Some(res)) => res
                .restored_original(i)
                .ok_or_else(|| not_restored(cfg, &sv.usable))?,
            (_, None) => return Err(not_restored(cfg, &sv.usable)),
        };
        out.extend_from_slice(&bytes[..left.min(slice_len)]);
    }
    Ok(out)
}

/// Rebuilds every slice of `slices` that is lost, fails its checksum or has the wrong length,
/// data and parity alike, each with a fresh checksum, in index order (empty if all are intact).
/// Needs any `cfg.data` intact slices.
pub fn rebuild_missing(
    cfg: &EcConfig,
    original_len: usize,
    slices: &[Option<Slice>],
) -> Result<Vec<Slice>> {
    let sv = survey(cfg, original_len, slices, false)?;
    if sv.usable.iter().all(|u| *u) {
        return Ok(Vec::new());
    }
    let slice_len = cfg.slice_len(original_len);
    let mut out = Vec::with_capacity(cfg.total() - cfg.data);
    let mut dec = loaded_decoder(cfg, slice_len, slices, &sv.usable)?;
    if let Some(d) = dec.as_mut() {
        let res = d.decode()?;
        out.extend(
            res.restored_original_iter()
                .map(|(i, b)| Slice::new(i, b.to_vec())),
        );
    }
    if sv.usable[cfg.data..].iter().any(|u| !*u) {
        let mut enc = ReedSolomonEncoder::new(cfg.data, cfg.parity, slice_len)?;
        for (i, s) in slices[..cfg.data].iter().enumerate() {
            let bytes = match s {
                Some(s) if sv.usable[i] => &s.bytes,
                _ => {
                    &out.iter()
                        .find(|r| r.index == i)
                        .ok_or_else(|| not_restored(cfg, &sv.usable))?
                        .bytes
                }
            };
            enc.add_original_shard(bytes)?;
        }
        let res = enc.encode()?;
        for (j, b) in res.recovery_iter().enumerate() {
            if !sv.usable[cfg.data + j] {
                out.push(Slice::new(cfg.data + j, b.to_vec()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
