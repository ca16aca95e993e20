//! Both framings (charon-dkg-protocol.md §1.4): known prefixes, limits, and incremental
//! decoding that gives the same frames however the stream is chunked.

#![allow(clippy::unwrap_used)] // test harness: a failed unwrap is a failed test

use dkgd_ceremony::wire::framing::{encode_delimited, encode_sync};
use dkgd_ceremony::wire::{FrameDecoder, FrameError, Framing};
use proptest::prelude::*;

fn decode_all(framing: Framing, chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut d = FrameDecoder::new(framing);
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        while let Some(f) = d.poll_frame()? {
            out.push(f);
        }
    }
    d.finish()?;
    Ok(out)
}

#[test]
fn known_prefixes() {
    assert_eq!(encode_delimited(&[]), vec![0]);
    assert_eq!(encode_delimited(&[7; 127])[0], 0x7f);
    assert_eq!(encode_delimited(&[7; 128])[..2], [0x80, 0x01]);
    assert_eq!(encode_delimited(&[7; 300])[..2], [0xac, 0x02]);
    assert_eq!(encode_delimited(&[7; 300]).len(), 302);
    assert_eq!(
        encode_sync(&[1, 2, 3]),
        vec![3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]
    );
    assert_eq!(encode_sync(&[9; 256])[..8], [0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Framing::SYNC.max_frame_bytes(), 32 << 20);
    assert_eq!(Framing::DELIMITED.max_frame_bytes(), 128 << 20);
}

#[test]
fn empty_and_non_minimal_delimited_frames() {
    // Go's ReadUvarint accepts non-minimal varints; a zero length is an empty message.
    let frames = decode_all(Framing::DELIMITED, &[&[0x80, 0x00, 0x00, 0x01, 0xaa]]).unwrap();
    assert_eq!(frames, vec![vec![], vec![], vec![0xaa]]);
}

#[test]
fn limits_and_malformed_prefixes() {
    let small = Framing::Delimited {
        max_frame_bytes: 10,
    };
    // Refused as soon as the prefix is complete, before any body arrives.
    let mut d = FrameDecoder::new(small);
    d.push(&[11]);
    assert_eq!(
        d.poll_frame(),
        Err(FrameError::Oversized {
            len: 11,
            max_frame_bytes: 10
        })
    );
    d.push(&[0]);
    assert!(d.poll_frame().is_err(), "stays failed");
    assert!(decode_all(small, &[&[10], &[0; 10]]).is_ok());
    // Eleven continuation bytes: not a u64 varint.
    assert_eq!(
        decode_all(Framing::DELIMITED, &[&[0xff; 11]]),
        Err(FrameError::BadVarint)
    );
    assert_eq!(
        decode_all(
            Framing::DELIMITED,
            &[&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]]
        ),
        Err(FrameError::BadVarint)
    );
    // Sync: zero, negative and oversized lengths.
    assert_eq!(
        decode_all(Framing::SYNC, &[&0i64.to_le_bytes()]),
        Err(FrameError::NonPositiveLength { len: 0 })
    );
    assert_eq!(
        decode_all(Framing::SYNC, &[&(-5i64).to_le_bytes()]),
        Err(FrameError::NonPositiveLength { len: -5 })
    );
    assert_eq!(
        decode_all(Framing::SYNC, &[&((32i64 << 20) + 1).to_le_bytes()]),
        Err(FrameError::Oversized {
            len: (32 << 20) + 1,
            max_frame_bytes: 32 << 20
        })
    );
    // Truncation is reported at end of stream.
    assert_eq!(
        decode_all(Framing::SYNC, &[&encode_sync(&[1, 2, 3])[..9]]),
        Err(FrameError::Truncated {
            buffered: 9,
            needed: Some(11)
        })
    );
    assert_eq!(
        decode_all(Framing::DELIMITED, &[&[0x80]]),
        Err(FrameError::Truncated {
            buffered: 1,
            needed: None
        })
    );
}

#[test]
fn every_split_point_decodes_identically() {
    for framing in [Framing::DELIMITED, Framing::SYNC] {
        let bodies: Vec<Vec<u8>> = vec![vec![1], vec![2; 200], vec![3; 5], vec![4; 130]];
        let stream: Vec<u8> = bodies.iter().flat_map(|b| framing.encode(b)).collect();
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let got =
                    decode_all(framing, &[&stream[..i], &stream[i..j], &stream[j..]]).unwrap();
                assert_eq!(got, bodies, "{framing:?} split at {i}, {j}");
            }
        }
        let one_by_one: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_all(framing, &one_by_one).unwrap(), bodies);
    }
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![Just(Framing::DELIMITED), Just(Framing::SYNC)]
}

proptest! {
    #[test]
    fn random_chunking_gives_the_same_frames(
        framing in framing(),
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..400), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let stream: Vec<u8> = bodies.iter().flat_map(|b| framing.encode(b)).collect();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for c in cuts {
            chunks.push(&stream[at..c]);
            at = c;
        }
        chunks.push(&stream[at..]);
        prop_assert_eq!(decode_all(framing, &chunks).unwrap(), bodies);
    }

    #[test]
    fn random_bytes_never_panic(framing in framing(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut d = FrameDecoder::new(framing);
        d.push(&bytes);
        while let Ok(Some(_)) = d.poll_frame() {}
        let _ = d.finish();
    }
}
