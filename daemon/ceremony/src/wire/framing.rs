//! The two stream framings of charon's DKG (charon-dkg-protocol.md §1.4):
//!
//! | framing | prefix | limit | used by |
//! |---|---|---|---|
//! | [`Framing::Delimited`] | unsigned LEB128 varint length (go-msgio `pbio`) | 128 MiB | bcast, FROST p2p, parsigex, peerinfo |
//! | [`Framing::Sync`] | 8-byte little-endian signed int64 length | 32 MiB, and > 0 | sync |
//!
//! Encoding is one function per framing. Decoding is incremental and sans-IO: the driver
//! [`FrameDecoder::push`]es whatever bytes the stream yielded, in any chunking, then drains
//! [`FrameDecoder::poll_frame`] until it returns `Ok(None)`; at end of stream
//! [`FrameDecoder::finish`] reports a truncated frame. An oversized length is refused as soon
//! as its prefix is complete, before any body is buffered. After an error the decoder stays
//! failed (the stream must be reset).
//!
//! Details matching go-msgio's `binary.ReadUvarint`: at most 10 prefix bytes, non-minimal
//! encodings accepted, a zero length is an empty message. charon's sync reader refuses a
//! length ≤ 0 (`dkg/sync/server.go`).

/// charon's limit for varint-delimited messages (`p2p/sender.go`: 128 MiB).
pub const MAX_DELIMITED_FRAME_BYTES: usize = 128 << 20;
/// charon's limit for sync messages (`dkg/sync/server.go`: 32 MiB).
pub const MAX_SYNC_FRAME_BYTES: usize = 32 << 20;

/// Longest unsigned varint of a `u64`.
const MAX_VARINT_BYTES: usize = 10;
/// Length of the sync prefix.
const SYNC_PREFIX_BYTES: usize = 8;

/// A stream framing, with its largest acceptable body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Unsigned-varint length prefix.
    Delimited {
        /// Largest body accepted.
        max_frame_bytes: usize,
    },
    /// 8-byte little-endian int64 length prefix; the length must be positive.
    Sync {
        /// Largest body accepted.
        max_frame_bytes: usize,
    },
}

impl Framing {
    /// charon's delimited framing (128 MiB).
    pub const DELIMITED: Framing = Framing::Delimited {
        max_frame_bytes: MAX_DELIMITED_FRAME_BYTES,
    };
    /// charon's sync framing (32 MiB).
    pub const SYNC: Framing = Framing::Sync {
        max_frame_bytes: MAX_SYNC_FRAME_BYTES,
    };

    /// The largest body accepted.
    pub fn max_frame_bytes(self) -> usize {
        match self {
            Framing::Delimited { max_frame_bytes } | Framing::Sync { max_frame_bytes } => {
                max_frame_bytes
            }
        }
    }

    /// Prefixes `body` with its length in this framing.
    pub fn encode(self, body: &[u8]) -> Vec<u8> {
        match self {
            Framing::Delimited { .. } => encode_delimited(body),
            Framing::Sync { .. } => encode_sync(body),
        }
    }
}

/// Why a stream's bytes cannot be framed. The stream must be reset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced length is above the limit.
    #[error("frame of {len} bytes exceeds the limit of {max_frame_bytes} bytes")]
    Oversized {
        /// Announced length.
        len: u64,
        /// The limit.
        max_frame_bytes: usize,
    },
    /// The varint prefix is longer than 10 bytes or overflows 64 bits.
    #[error("frame length prefix is not a valid unsigned varint")]
    BadVarint,
    /// The sync length prefix is zero or negative.
    #[error("sync frame length {len} is not positive")]
    NonPositiveLength {
        /// Announced length.
        len: i64,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes received of the unfinished frame (prefix included).
        buffered: usize,
        /// Bytes that frame needs in total (prefix included), if the prefix was complete.
        needed: Option<usize>,
    },
}

/// `body` with an unsigned-varint length prefix.
pub fn encode_delimited(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + MAX_VARINT_BYTES);
    let mut n = body.len() as u64;
    loop {
        let [low, ..] = n.to_le_bytes();
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(body);
    out
}

/// `body` with an 8-byte little-endian length prefix.
pub fn encode_sync(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + SYNC_PREFIX_BYTES);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// What the prefix at the front of the buffer says.
enum Prefix {
    /// Not all prefix bytes are here yet.
    Incomplete,
    /// A complete prefix of `prefix_len` bytes announcing `body_len` bytes.
    Complete { prefix_len: usize, body_len: usize },
}

/// Incremental decoder for one stream (see the module docs).
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    framing: Framing,
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    start: usize,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder for `framing`.
    pub fn new(framing: Framing) -> Self {
        FrameDecoder {
            framing,
            buf: Vec::new(),
            start: 0,
            failed: None,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame body, `Ok(None)` if more bytes are needed.
    pub fn poll_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let (prefix_len, body_len) = match self.prefix(pending) {
            Ok(Prefix::Incomplete) => return Ok(None),
            Ok(Prefix::Complete {
                prefix_len,
                body_len,
            }) => (prefix_len, body_len),
            Err(e) => {
                self.failed = Some(e.clone());
                return Err(e);
            }
        };
        let Some(body) = pending.get(prefix_len..prefix_len + body_len) else {
            return Ok(None);
        };
        let body = body.to_vec();
        self.start += prefix_len + body_len;
        Ok(Some(body))
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered_len(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Call at end of stream: an error if a frame was left unfinished.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let buffered = self.buffered_len();
        if buffered == 0 {
            return Ok(());
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let needed = match self.prefix(pending) {
            Ok(Prefix::Complete {
                prefix_len,
                body_len,
            }) => Some(prefix_len + body_len),
            _ => None,
        };
        Err(FrameError::Truncated { buffered, needed })
    }

    fn prefix(&self, pending: &[u8]) -> Result<Prefix, FrameError> {
        let max = self.framing.max_frame_bytes();
        match self.framing {
            Framing::Delimited { .. } => {
                let mut len: u64 = 0;
                for (i, b) in pending.iter().take(MAX_VARINT_BYTES).enumerate() {
                    let bits = u64::from(b & 0x7f);
                    // The tenth byte may only carry the top bit of a u64.
                    if i == MAX_VARINT_BYTES - 1 && *b > 1 {
                        return Err(FrameError::BadVarint);
                    }
                    len |= bits << (7 * i);
                    if b & 0x80 == 0 {
                        return checked_len(len, max).map(|body_len| Prefix::Complete {
                            prefix_len: i + 1,
                            body_len,
                        });
                    }
                }
                if pending.len() >= MAX_VARINT_BYTES {
                    return Err(FrameError::BadVarint);
                }
                Ok(Prefix::Incomplete)
            }
            Framing::Sync { .. } => {
                let Some(raw) = pending
                    .get(..SYNC_PREFIX_BYTES)
                    .and_then(|p| <[u8; SYNC_PREFIX_BYTES]>::try_from(p).ok())
                else {
                    return Ok(Prefix::Incomplete);
                };
                let len = i64::from_le_bytes(raw);
                let len = u64::try_from(len)
                    .ok()
                    .filter(|l| *l > 0)
                    .ok_or(FrameError::NonPositiveLength { len })?;
                checked_len(len, max).map(|body_len| Prefix::Complete {
                    prefix_len: SYNC_PREFIX_BYTES,
                    body_len,
                })
            }
        }
    }
}

fn checked_len(len: u64, max_frame_bytes: usize) -> Result<usize, FrameError> {
    usize::try_from(len)
        .ok()
        .filter(|l| *l <= max_frame_bytes)
        .ok_or(FrameError::Oversized {
            len,
            max_frame_bytes,
        })
}
