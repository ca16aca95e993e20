//! One length-prefixed frame on a byte stream, in charon's two framings (spec §1.4):
//!
//! * [`Framing::Varint`]: an unsigned LEB128 varint length, then the bytes (go-msgio `pbio`
//!   delimited; bcast, FROST p2p, parsigex, peerinfo). Charon's limit is 128 MiB.
//! * [`Framing::I64Le`]: an 8-byte little-endian signed length, then the bytes (the sync
//!   protocol's long-lived stream). Charon's limit is 32 MiB.
//!
//! Frames are opaque bytes; what they hold is the caller's business. The functions here have
//! no timeouts: [`crate::PeerStream`] wraps them with its protocol's timeout and names the peer.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Charon's limit for varint-delimited protobuf messages (128 MiB).
pub const MAX_VARINT_FRAME_BYTES: usize = 128 << 20;
/// Charon's limit for sync messages (32 MiB).
pub const MAX_I64_FRAME_BYTES: usize = 32 << 20;

/// How a frame's length is written in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Unsigned varint length (go-msgio delimited protobuf).
    Varint,
    /// 8-byte little-endian signed length (charon's sync protocol).
    I64Le,
}

impl Framing {
    /// Charon's maximum frame size for this framing.
    pub fn default_max_frame_bytes(self) -> usize {
        match self {
            Framing::Varint => MAX_VARINT_FRAME_BYTES,
            Framing::I64Le => MAX_I64_FRAME_BYTES,
        }
    }
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced (or offered) length exceeds the limit.
    #[error("frame of {len} bytes exceeds the limit of {max_frame_bytes} bytes")]
    TooLarge {
        /// The length announced by the peer (or given by the caller).
        len: u64,
        /// The limit in force.
        max_frame_bytes: usize,
    },
    /// The length prefix is malformed (negative, or a varint longer than 64 bits).
    #[error("malformed length prefix: {0}")]
    BadLength(&'static str),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({read} of {expected} bytes)")]
    Truncated {
        /// Bytes of the frame (or prefix) read before the end.
        read: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The underlying stream failed.
    #[error("stream I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes one frame (prefix and bytes) and flushes. Refuses frames over `max_frame_bytes`.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    framing: Framing,
    frame: &[u8],
    max_frame_bytes: usize,
) -> Result<(), FrameError> {
    if frame.len() > max_frame_bytes {
        return Err(FrameError::TooLarge {
            len: frame.len() as u64,
            max_frame_bytes,
        });
    }
    let mut prefix = [0u8; 10];
    let n = encode_prefix(framing, frame.len() as u64, &mut prefix);
    let mut buf = Vec::with_capacity(n + frame.len());
    buf.extend_from_slice(prefix.get(..n).unwrap_or_default());
    buf.extend_from_slice(frame);
    w.write_all(&buf).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one frame. `Ok(None)` means the stream ended cleanly before a new frame began;
/// an end anywhere inside a frame is [`FrameError::Truncated`]. The length is checked
/// against `max_frame_bytes` before any buffer is allocated.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    framing: Framing,
    max_frame_bytes: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let len = match framing {
        Framing::Varint => match read_varint(r).await? {
            Some(len) => len,
            None => return Ok(None),
        },
        Framing::I64Le => {
            let mut raw = [0u8; 8];
            let got = read_full(r, &mut raw).await?;
            if got == 0 {
                return Ok(None);
            }
            if got < raw.len() {
                return Err(FrameError::Truncated {
                    read: got,
                    expected: raw.len(),
                });
            }
            u64::try_from(i64::from_le_bytes(raw))
                .map_err(|_| FrameError::BadLength("negative int64 length"))?
        }
    };
    let len_usize = usize::try_from(len)
        .ok()
        .filter(|&l| l <= max_frame_bytes)
        .ok_or(FrameError::TooLarge {
            len,
            max_frame_bytes,
        })?;
    let mut frame = vec![0u8; len_usize];
    let got = read_full(r, &mut frame).await?;
    if got < len_usize {
        return Err(FrameError::Truncated {
            read: got,
            expected: len_usize,
        });
    }
    Ok(Some(frame))
}

/// Writes the length prefix into `out`, returning how many bytes it took.
fn encode_prefix(framing: Framing, len: u64, out: &mut [u8; 10]) -> usize {
    match framing {
        Framing::I64Le => {
            // Lengths are bounded by the frame limits, far below i64::MAX.
            let bytes = len.to_le_bytes();
            out[..8].copy_from_slice(&bytes);
            8
        }
        Framing::Varint => {
            let mut v = len;
            let mut i = 0;
            loop {
                let low = v.to_le_bytes()[0] & 0x7f;
                v >>= 7;
                if v == 0 {
                    out[i] = low;
                    return i + 1;
                }
                out[i] = low | 0x80;
                i += 1;
            }
        }
    }
}

/// Reads an unsigned LEB128 varint of at most 10 bytes (64 bits). `None` on a clean end
/// before the first byte.
async fn read_varint<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<u64>, FrameError> {
    let mut value: u64 = 0;
    for i in 0..10u32 {
        let mut byte = [0u8; 1];
        if read_full(r, &mut byte).await? == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(FrameError::Truncated {
                read: i as usize,
                expected: i as usize + 1,
            });
        }
        let b = byte[0];
        if i == 9 && b > 1 {
            return Err(FrameError::BadLength("varint longer than 64 bits"));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(FrameError::BadLength("varint longer than 64 bits"))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|b| !b.is_empty()) {
        let n = r.read(rest).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    fn roundtrip(framing: Framing, frame: &[u8]) -> Vec<u8> {
        let mut wire = Cursor::new(Vec::new());
        block_on(write_frame(&mut wire, framing, frame, 1 << 20)).expect("write");
        wire.into_inner()
    }

    #[test]
    fn varint_and_i64_prefixes_match_charon() {
        // 300 = 0xac 0x02 as a varint; 8 bytes little-endian for sync.
        let body = vec![9u8; 300];
        let wire = roundtrip(Framing::Varint, &body);
        assert_eq!(&wire[..2], &[0xac, 0x02]);
        assert_eq!(wire.len(), 302);
        let wire = roundtrip(Framing::I64Le, &body);
        assert_eq!(&wire[..8], &[0x2c, 0x01, 0, 0, 0, 0, 0, 0]);
        for framing in [Framing::Varint, Framing::I64Le] {
            for body in [&[][..], &[1, 2, 3][..], &body[..]] {
                let mut r = Cursor::new(roundtrip(framing, body));
                let got = block_on(read_frame(&mut r, framing, 1 << 20)).expect("read");
                assert_eq!(got.as_deref(), Some(body));
                assert!(block_on(read_frame(&mut r, framing, 1 << 20))
                    .expect("clean end")
                    .is_none());
            }
        }
    }

    #[test]
    fn hostile_prefixes_are_refused_before_allocating() {
        let cases: [(Framing, Vec<u8>); 4] = [
            (Framing::I64Le, (-1i64).to_le_bytes().to_vec()),
            (Framing::I64Le, (1i64 << 40).to_le_bytes().to_vec()),
            (Framing::Varint, vec![0xff; 11]),
            (Framing::Varint, vec![0x80, 0x80, 0x80, 0x80, 0x10]),
        ];
        for (framing, wire) in cases {
            let err =
                block_on(read_frame(&mut Cursor::new(wire), framing, 1024)).expect_err("refused");
            assert!(
                matches!(err, FrameError::TooLarge { .. } | FrameError::BadLength(_)),
                "{err}"
            );
        }
        let err = block_on(write_frame(
            &mut Cursor::new(Vec::new()),
            Framing::Varint,
            &[0; 11],
            10,
        ))
        .expect_err("too large");
        assert!(matches!(err, FrameError::TooLarge { len: 11, .. }));
    }

    #[test]
    fn truncation_inside_a_frame_is_an_error() {
        for framing in [Framing::Varint, Framing::I64Le] {
            let mut wire = roundtrip(framing, &[5; 40]);
            wire.truncate(wire.len() - 1);
            let err =
                block_on(read_frame(&mut Cursor::new(wire), framing, 1024)).expect_err("truncated");
            assert!(matches!(
                err,
                FrameError::Truncated {
                    read: 39,
                    expected: 40
                }
            ));
        }
        let err = block_on(read_frame(
            &mut Cursor::new(vec![1, 2, 3]),
            Framing::I64Le,
            9,
        ))
        .expect_err("short prefix");
        assert!(matches!(
            err,
            FrameError::Truncated {
                read: 3,
                expected: 8
            }
        ));
    }
}
