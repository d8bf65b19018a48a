//! Incremental, sans-I/O decoder of `aws-chunked` request bodies.
//!
//! Wire format: `hex-size[;chunk-signature=<hex>]\r\n<data>\r\n` repeated, ending with a
//! zero-size chunk `0[;chunk-signature=..]\r\n`, then optional trailers `name:value\r\n`
//! (e.g. `x-amz-checksum-crc32:...`, and for signed trailers `x-amz-trailer-signature:...`),
//! then a final `\r\n`.
//!
//! Chunk data is passed through as it arrives (slices of the input, no copy); with a verifying
//! [`ChunkSigner`] each chunk is hashed on the way and its signature checked when the chunk's
//! trailing CRLF arrives, so an error may come after some of the chunk's data was emitted: the
//! caller must then discard everything written.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::sigv4::ChunkSigner;
use crate::{S3Error, S3ErrorCode};

/// The longest chunk-header line accepted.
pub const MAX_HEADER_LINE: usize = 4 * 1024;
/// The largest trailer section accepted.
pub const MAX_TRAILERS: usize = 16 * 1024;

const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-header line.
    Header,
    /// Passing chunk data through; bytes left in the chunk.
    Data(u64),
    /// Expecting the CRLF after chunk data (`true` once the CR was seen).
    DataEnd(bool),
    /// After the zero-size chunk: trailer lines; `true` once a blank line came while no
    /// trailer had been seen (tolerated: trailers may still follow it).
    Trailers(bool),
    /// The terminating blank line was seen.
    Done,
    /// An error was returned; every later call fails.
    Failed,
}

/// Decodes an `aws-chunked` body incrementally.
#[derive(Debug)]
pub struct Decoder {
    signer: Option<ChunkSigner>,
    verify: bool,
    max_chunk: usize,
    state: State,
    /// Partial header or trailer line.
    line: Vec<u8>,
    hasher: Sha256,
    chunk_sig: Option<String>,
    trailers: Vec<(String, String)>,
    trailer_bytes: usize,
    /// Trailers as signed: `name:value\n` each.
    trailer_canon: Vec<u8>,
    trailer_signed: bool,
    decoded: u64,
}

fn bad(msg: impl Into<String>) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidRequest, msg)
}

fn incomplete() -> S3Error {
    S3Error::new(
        S3ErrorCode::IncompleteBody,
        "The request body terminated unexpectedly",
    )
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl Decoder {
    /// A decoder. `signer`: `Some` for signed chunks (each chunk's signature is verified over
    /// the SHA-256 of its data, see AWS "chunk string to sign"; signed trailers too), `None`
    /// for unsigned ones (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`; any `chunk-signature` is
    /// ignored). `max_chunk`: the largest chunk size accepted.
    pub fn new(signer: Option<ChunkSigner>, max_chunk: usize) -> Decoder {
        let verify = signer.as_ref().is_some_and(ChunkSigner::verifies);
        Decoder {
            signer,
            verify,
            max_chunk,
            state: State::Header,
            line: Vec::new(),
            hasher: Sha256::new(),
            chunk_sig: None,
            trailers: Vec::new(),
            trailer_bytes: 0,
            trailer_canon: Vec::new(),
            trailer_signed: false,
            decoded: 0,
        }
    }

    /// Feeds raw body bytes; appends decoded payload pieces (slices of `input`) to `out`.
    /// Keeps partial state across calls. After an error, every call fails.
    pub fn push(&mut self, input: Bytes, out: &mut Vec<Bytes>) -> Result<(), S3Error> {
        let r = self.push_inner(input, out);
        if r.is_err() {
            self.state = State::Failed;
        }
        r
    }

    fn push_inner(&mut self, mut input: Bytes, out: &mut Vec<Bytes>) -> Result<(), S3Error> {
        while !input.is_empty() {
            match self.state {
                State::Failed => return Err(bad("aws-chunked body already failed")),
                State::Header => {
                    if let Some(line) =
                        self.take_line(&mut input, MAX_HEADER_LINE, "chunk header line too long")?
                    {
                        self.header_line(&line)?;
                    }
                }
                State::Data(left) => {
                    let n = usize::try_from(left).map_or(input.len(), |l| l.min(input.len()));
                    let piece = input.split_to(n);
                    if self.verify {
                        self.hasher.update(&piece);
                    }
                    self.decoded += n as u64;
                    out.push(piece);
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd(false)
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd(cr) => {
                    let b = input[0];
                    let _ = input.split_to(1);
                    match (cr, b) {
                        (false, b'\r') => self.state = State::DataEnd(true),
                        (_, b'\n') => {
                            self.end_chunk()?;
                            self.state = State::Header;
                        }
                        _ => return Err(bad("aws-chunked: chunk data not followed by CRLF")),
                    }
                }
                State::Trailers(_) => {
                    let room = MAX_TRAILERS.saturating_sub(self.trailer_bytes);
                    if let Some(line) =
                        self.take_line(&mut input, room, "aws-chunked trailers too large")?
                    {
                        self.trailer_bytes += line.len();
                        self.trailer_line(&line)?;
                    }
                }
                State::Done => {
                    // Tolerate stray line ends after the end; anything else is an error.
                    if input.iter().all(|&b| b == b'\r' || b == b'\n') {
                        return Ok(());
                    }
                    return Err(bad("aws-chunked: data after the end of the body"));
                }
            }
        }
        Ok(())
    }

    /// Moves bytes up to and including the next `\n` into `self.line`; returns the complete
    /// line (taking it out of `self.line`) or `None` if more input is needed.
    fn take_line(
        &mut self,
        input: &mut Bytes,
        max: usize,
        too_long: &str,
    ) -> Result<Option<Vec<u8>>, S3Error> {
        match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                // The limit is on the content; allow the CRLF on top.
                if self.line.len() + i + 1 > max + 2 {
                    return Err(bad(too_long));
                }
                self.line.extend_from_slice(&input.split_to(i + 1));
                Ok(Some(std::mem::take(&mut self.line)))
            }
            None => {
                if self.line.len() + input.len() > max + 1 {
                    return Err(bad(too_long));
                }
                self.line.extend_from_slice(input);
                input.clear();
                Ok(None)
            }
        }
    }

    fn header_line(&mut self, raw: &[u8]) -> Result<(), S3Error> {
        let line = std::str::from_utf8(strip_eol(raw))
            .map_err(|_| bad("aws-chunked: invalid chunk header"))?;
        let mut parts = line.split(';');
        let size_hex = parts.next().unwrap_or("").trim();
        if size_hex.is_empty()
            || size_hex.len() > 16
            || !size_hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(bad(format!("aws-chunked: invalid chunk size {size_hex:?}")));
        }
        let size = u64::from_str_radix(size_hex, 16)
            .map_err(|_| bad("aws-chunked: invalid chunk size"))?;
        if size > self.max_chunk as u64 {
            return Err(bad(format!(
                "aws-chunked: chunk of {size} bytes exceeds the limit of {}",
                self.max_chunk
            )));
        }
        self.chunk_sig = parts
            .filter_map(|p| p.trim().strip_prefix("chunk-signature="))
            .map(|s| s.trim().to_owned())
            .next();
        if self.verify && self.chunk_sig.is_none() {
            return Err(S3Error::new(
                S3ErrorCode::SignatureDoesNotMatch,
                "aws-chunked: chunk without chunk-signature",
            ));
        }
        if size == 0 {
            // Final chunk: its signature covers the empty string.
            self.hasher = Sha256::new();
            self.end_chunk()?;
            self.state = State::Trailers(false);
        } else {
            self.hasher = Sha256::new();
            self.state = State::Data(size);
        }
        Ok(())
    }

    fn end_chunk(&mut self) -> Result<(), S3Error> {
        let hash: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if let (Some(signer), Some(sig)) = (self.signer.as_mut(), self.chunk_sig.take()) {
            signer.verify_chunk(&hash, &sig)?;
        }
        Ok(())
    }

    fn trailer_line(&mut self, raw: &[u8]) -> Result<(), S3Error> {
        let line = strip_eol(raw);
        if line.is_empty() {
            let State::Trailers(blank_seen) = self.state else {
                return Ok(());
            };
            if self.trailers.is_empty() && !self.trailer_signed && !blank_seen {
                // Either the end, or an extra CRLF before the trailers: wait and see.
                self.state = State::Trailers(true);
                return Ok(());
            }
            self.check_trailer_signed()?;
            self.state = State::Done;
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| bad("aws-chunked: invalid trailer"))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("aws-chunked: invalid trailer {line:?}")));
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() {
            return Err(bad("aws-chunked: invalid trailer name"));
        }
        if self.trailer_signed {
            return Err(bad("aws-chunked: trailer after x-amz-trailer-signature"));
        }
        if name == TRAILER_SIGNATURE {
            if let Some(signer) = self.signer.as_mut() {
                signer.verify_trailer(&self.trailer_canon, value)?;
            }
            self.trailer_signed = true;
            return Ok(());
        }
        self.trailer_canon.extend_from_slice(name.as_bytes());
        self.trailer_canon.push(b':');
        self.trailer_canon.extend_from_slice(value.as_bytes());
        self.trailer_canon.push(b'\n');
        self.trailers.push((name, value.to_owned()));
        Ok(())
    }

    /// With verified chunks, trailers must be signed too.
    fn check_trailer_signed(&self) -> Result<(), S3Error> {
        if self.verify && !self.trailers.is_empty() && !self.trailer_signed {
            return Err(S3Error::new(
                S3ErrorCode::SignatureDoesNotMatch,
                "aws-chunked: trailers without x-amz-trailer-signature",
            ));
        }
        Ok(())
    }

    /// At end of body: `Err(IncompleteBody)` unless the terminating chunk (and complete
    /// trailer lines) were seen. The final blank line may be missing.
    pub fn finish(&mut self) -> Result<(), S3Error> {
        let r = match self.state {
            State::Done => Ok(()),
            State::Trailers(_) if self.line.is_empty() => self.check_trailer_signed(),
            State::Failed => Err(bad("aws-chunked body already failed")),
            _ => Err(incomplete()),
        };
        if r.is_ok() {
            self.state = State::Done;
        } else {
            self.state = State::Failed;
        }
        r
    }

    /// Whether the terminating chunk has been seen (trailers may still follow).
    pub fn is_last_chunk_seen(&self) -> bool {
        matches!(self.state, State::Trailers(_) | State::Done)
    }

    /// Trailers received (lowercase name, value), e.g. `("x-amz-checksum-crc32", "base64")`;
    /// `x-amz-trailer-signature` is not listed (it is verified).
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Decoded payload bytes so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{self, ChunkSigner};

    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    fn aws_signer() -> ChunkSigner {
        ChunkSigner::for_client(SEED, SK, "us-east-1", "20130524T000000Z")
    }

    /// The AWS example body: 65536 + 1024 bytes of 'a'.
    fn aws_body() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
        );
        b.extend(std::iter::repeat_n(b'a', 65536));
        b.extend_from_slice(b"\r\n");
        b.extend_from_slice(
            b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
        );
        b.extend(std::iter::repeat_n(b'a', 1024));
        b.extend_from_slice(b"\r\n");
        b.extend_from_slice(
            b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        );
        b
    }

    /// Decodes `body` split at `cuts`; returns the payload or the first error.
    fn decode(d: &mut Decoder, body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, S3Error> {
        let body = Bytes::copy_from_slice(body);
        let mut out = Vec::new();
        let mut prev = 0;
        for &c in cuts.iter().chain(std::iter::once(&body.len())) {
            d.push(body.slice(prev..c), &mut out)?;
            prev = c;
        }
        d.finish()?;
        let mut v = Vec::new();
        for piece in out {
            v.extend_from_slice(&piece);
        }
        assert_eq!(d.decoded_len(), v.len() as u64);
        Ok(v)
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn cuts(&mut self, len: usize, n: usize) -> Vec<usize> {
            let mut v: Vec<usize> = (0..n)
                .map(|_| (self.next() % (len as u64 + 1)) as usize)
                .collect();
            v.sort_unstable();
            v
        }
    }

    #[test]
    fn aws_example_whole_and_one_byte_pieces() {
        let body = aws_body();
        assert_eq!(body.len(), 66824);
        let want = vec![b'a'; 66560];
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        assert_eq!(decode(&mut d, &body, &[]).unwrap(), want);
        assert!(d.trailers().is_empty());

        let cuts: Vec<usize> = (1..body.len()).collect();
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        assert_eq!(decode(&mut d, &body, &cuts).unwrap(), want);
    }

    #[test]
    fn aws_example_random_and_boundary_splits() {
        let body = aws_body();
        let want = vec![b'a'; 66560];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in [1, 2, 3, 5, 17, 100] {
            for _ in 0..4 {
                let cuts = rng.cuts(body.len(), n);
                let mut d = Decoder::new(Some(aws_signer()), 65536);
                assert_eq!(decode(&mut d, &body, &cuts).unwrap(), want, "{cuts:?}");
            }
        }
        // Every two-way split around the framing.
        let framing: Vec<usize> = (0..100)
            .chain(65_530..65_720)
            .chain(66_700..body.len())
            .collect();
        for c in framing {
            let mut d = Decoder::new(Some(aws_signer()), 65536);
            assert_eq!(decode(&mut d, &body, &[c]).unwrap(), want, "cut {c}");
        }
    }

    /// A signed body built with the client signer: chunks of `chunk`, optional trailers.
    fn signed_body(data: &[u8], chunk: usize, trailers: &[(&str, &str)]) -> (Vec<u8>, ChunkSigner) {
        let now = std::time::SystemTime::now();
        let amz = sigv4::format_amz_date(now);
        let seed = "0".repeat(64);
        let server = ChunkSigner::for_client(&seed, SK, "us-east-1", &amz);
        let mut c = server.clone();
        let mut b = Vec::new();
        for piece in data.chunks(chunk) {
            let s = c.next_signature(piece);
            b.extend_from_slice(format!("{:x};chunk-signature={s}\r\n", piece.len()).as_bytes());
            b.extend_from_slice(piece);
            b.extend_from_slice(b"\r\n");
        }
        let s = c.next_signature(b"");
        b.extend_from_slice(format!("0;chunk-signature={s}\r\n").as_bytes());
        if !trailers.is_empty() {
            let mut canon = Vec::new();
            for (k, v) in trailers {
                b.extend_from_slice(format!("{k}:{v}\r\n").as_bytes());
                canon.extend_from_slice(format!("{k}:{v}\n").as_bytes());
            }
            let ts = c.trailer_signature(&canon);
            b.extend_from_slice(format!("x-amz-trailer-signature:{ts}\r\n").as_bytes());
        }
        b.extend_from_slice(b"\r\n");
        (b, server)
    }

    #[test]
    fn signed_every_two_way_split_with_trailers() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let (body, server) = signed_body(&data, 100, &[("x-amz-checksum-crc32", "AAAAAA==")]);
        for c in 0..=body.len() {
            let mut d = Decoder::new(Some(server.clone()), 100);
            assert_eq!(decode(&mut d, &body, &[c]).unwrap(), data, "cut {c}");
            assert_eq!(
                d.trailers(),
                &[("x-amz-checksum-crc32".to_owned(), "AAAAAA==".to_owned())]
            );
        }
        // Tampered trailer value.
        let mut bad_body = body.clone();
        let at = body.windows(8).position(|w| w == b"AAAAAA==").unwrap();
        bad_body[at + 5] = b'B';
        let mut d = Decoder::new(Some(server.clone()), 100);
        let e = decode(&mut d, &bad_body, &[]).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Chunk too large for max_chunk.
        let mut d = Decoder::new(Some(server), 99);
        let e = decode(&mut d, &body, &[]).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidRequest);
    }

    #[test]
    fn tampered_data_fails() {
        let mut body = aws_body();
        body[100] = b'b';
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        let e = decode(&mut d, &body, &[]).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Later calls keep failing.
        let mut out = Vec::new();
        assert!(d.push(Bytes::from_static(b"0\r\n\r\n"), &mut out).is_err());
        assert!(d.finish().is_err());

        // Tampered signature of the final chunk.
        let mut body = aws_body();
        let n = body.len();
        body[n - 5] = if body[n - 5] == b'0' { b'1' } else { b'0' };
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        assert_eq!(
            decode(&mut d, &body, &[]).unwrap_err().code,
            S3ErrorCode::SignatureDoesNotMatch
        );

        // Missing chunk signature while verifying.
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        assert_eq!(
            decode(&mut d, b"3\r\nabc\r\n0\r\n\r\n", &[])
                .unwrap_err()
                .code,
            S3ErrorCode::SignatureDoesNotMatch
        );
        // Garbage signatures are fine with a non-verifying signer.
        let mut d = Decoder::new(Some(ChunkSigner::unverified()), 1 << 20);
        assert_eq!(
            decode(
                &mut d,
                b"3;chunk-signature=xyz\r\nabc\r\n0;chunk-signature=q\r\n\r\n",
                &[]
            )
            .unwrap(),
            b"abc"
        );
    }

    #[test]
    fn truncated_is_incomplete() {
        let body = aws_body();
        for cut in [
            0,
            1,
            50,
            88,
            90,
            1000,
            65_624,
            65_626,
            66_700,
            body.len() - 3,
        ] {
            let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
            let e = decode(&mut d, &body[..cut], &[]).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::IncompleteBody, "cut {cut}");
        }
        // Missing only the final CRLF: tolerated.
        let mut d = Decoder::new(Some(aws_signer()), 1 << 20);
        assert_eq!(
            decode(&mut d, &body[..body.len() - 2], &[]).unwrap().len(),
            66560
        );
    }

    #[test]
    fn unsigned_with_trailer() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        for c in 0..=body.len() {
            let mut d = Decoder::new(None, 1024);
            assert_eq!(decode(&mut d, body, &[c]).unwrap(), b"hello world");
            assert_eq!(
                d.trailers(),
                &[("x-amz-checksum-crc32".to_owned(), "DUoRhQ==".to_owned())]
            );
        }
        // Trailer names are lowercased; final CRLF may be missing at the very end.
        let body = b"3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32C: abc= \r\n";
        let mut d = Decoder::new(None, 1024);
        assert_eq!(decode(&mut d, body, &[]).unwrap(), b"abc");
        assert_eq!(
            d.trailers(),
            &[("x-amz-checksum-crc32c".to_owned(), "abc=".to_owned())]
        );
        // An extra CRLF before the trailers is tolerated.
        let body = b"3\r\nabc\r\n0\r\n\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let mut d = Decoder::new(None, 1024);
        assert_eq!(decode(&mut d, body, &[]).unwrap(), b"abc");
        assert_eq!(d.trailers().len(), 1);
        // A partial trailer line is incomplete.
        let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA";
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, body, &[]).unwrap_err().code,
            S3ErrorCode::IncompleteBody
        );
        // Data after the end.
        let body = b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\nxyz";
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, body, &[]).unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
        // No CRLF after chunk data.
        let body = b"3\r\nabcd\r\n0\r\n\r\n";
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, body, &[]).unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
        // Bad size.
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, b"zz\r\n", &[]).unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn bounded_memory() {
        // Header line over 4 KiB, whole or dribbled.
        let mut line = b"5;".to_vec();
        line.extend(std::iter::repeat_n(b'x', 5000));
        let mut d = Decoder::new(None, 1024);
        let mut out = Vec::new();
        assert_eq!(
            d.push(Bytes::from(line.clone()), &mut out)
                .unwrap_err()
                .code,
            S3ErrorCode::InvalidRequest
        );
        let mut d = Decoder::new(None, 1024);
        let mut r = Ok(());
        for ch in line.chunks(100) {
            r = d.push(Bytes::copy_from_slice(ch), &mut out);
            if r.is_err() {
                break;
            }
        }
        assert_eq!(r.unwrap_err().code, S3ErrorCode::InvalidRequest);
        // A header line just under the limit is fine.
        let mut ok = b"3;".to_vec();
        ok.extend(std::iter::repeat_n(b'x', MAX_HEADER_LINE - 2));
        ok.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
        let mut d = Decoder::new(None, 1024);
        assert_eq!(decode(&mut d, &ok, &[]).unwrap(), b"abc");
        // Trailers over 16 KiB.
        let mut body = b"0\r\n".to_vec();
        for i in 0..400 {
            body.extend_from_slice(format!("x-amz-meta-{i}:{}\r\n", "v".repeat(40)).as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, &body, &[]).unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
        // Oversized chunk size (and overflowing hex).
        let mut d = Decoder::new(None, 1024);
        assert_eq!(
            decode(&mut d, b"401\r\n", &[]).unwrap_err().code,
            S3ErrorCode::InvalidRequest
        );
        let mut d = Decoder::new(None, usize::MAX);
        assert_eq!(
            decode(&mut d, b"fffffffffffffffff\r\n", &[])
                .unwrap_err()
                .code,
            S3ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn zero_copy_pieces() {
        let body = Bytes::from_static(b"5\r\nhello\r\n0\r\n\r\n");
        let mut d = Decoder::new(None, 1024);
        let mut out = Vec::new();
        d.push(body.clone(), &mut out).unwrap();
        d.finish().unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ptr(), body[3..].as_ptr());
    }
}
