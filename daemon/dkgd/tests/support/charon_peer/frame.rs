//! charon's two framings, as the script writes and reads them: the sync protocol prefixes
//! each message with its length as a little-endian int64 (`dkg/sync`), every other protocol
//! with an unsigned varint (`p2p.SendReceive`, protobuf's delimited form). Written here on
//! purpose, apart from dkgd-ceremony's wire module, so a framing bug there shows up as a
//! disagreement with this peer.

use dkgd_p2p::PeerStream;

use super::net::SYNC;

/// The script's limit on one message (charon's generous bounds are far above anything the
/// ceremonies under test send).
const MAX_MESSAGE: usize = 128 << 20;

/// Reads and writes whole messages on a stream, in the framing its protocol uses.
#[allow(async_fn_in_trait)]
pub trait Frames {
    /// Writes `body` with its length prefix.
    async fn send_frame(&mut self, body: &[u8]) -> Result<(), String>;
    /// Reads one message; an error if the stream ends or breaks first.
    async fn recv_frame(&mut self) -> Result<Vec<u8>, String>;
}

impl Frames for PeerStream {
    async fn send_frame(&mut self, body: &[u8]) -> Result<(), String> {
        let mut out = if self.protocol().id() == SYNC {
            i64::try_from(body.len())
                .map_err(|_| "message too long".to_string())?
                .to_le_bytes()
                .to_vec()
        } else {
            let mut prefix = Vec::new();
            let mut len = u64::try_from(body.len()).map_err(|_| "message too long")?;
            while len >= 0x80 {
                prefix.push(low7(len) | 0x80);
                len >>= 7;
            }
            prefix.push(low7(len));
            prefix
        };
        out.extend_from_slice(body);
        self.send(&out).await.map_err(|e| e.to_string())
    }

    async fn recv_frame(&mut self) -> Result<Vec<u8>, String> {
        let len = if self.protocol().id() == SYNC {
            let mut prefix = [0u8; 8];
            read_exact(self, &mut prefix).await?;
            usize::try_from(i64::from_le_bytes(prefix)).map_err(|_| "negative length")?
        } else {
            let mut len = 0u64;
            let mut shift = 0;
            loop {
                let mut b = [0u8; 1];
                read_exact(self, &mut b).await?;
                len |= u64::from(b[0] & 0x7f) << shift;
                if b[0] & 0x80 == 0 {
                    break;
                }
                shift += 7;
                if shift > 63 {
                    return Err("varint too long".into());
                }
            }
            usize::try_from(len).map_err(|_| "length too large")?
        };
        if len > MAX_MESSAGE {
            return Err(format!("a {len}-byte message"));
        }
        let mut body = vec![0u8; len];
        read_exact(self, &mut body).await?;
        Ok(body)
    }
}

/// The low seven bits of `v`.
fn low7(v: u64) -> u8 {
    u8::try_from(v & 0x7f).unwrap_or(0)
}

/// Fills `buf` without reading past it (the next message stays on the stream).
async fn read_exact(s: &mut PeerStream, buf: &mut [u8]) -> Result<(), String> {
    let mut at = 0;
    while at < buf.len() {
        let n = s.recv(&mut buf[at..]).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the peer closed the stream".into());
        }
        at += n;
    }
    Ok(())
}
