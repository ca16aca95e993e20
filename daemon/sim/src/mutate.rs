//! Frame mutators: what a buggy or hostile peer does to the frames it sends.

use dkgd_ceremony::wire::parsig::{pubkey_string, signature_json};
use dkgd_ceremony::wire::proto::ParSigExMsg;
use dkgd_ceremony::wire::ProtocolId;
use dkgd_ceremony::Duty;
use dkgd_crypto::bls::BlsSecretKey;
use prost::Message;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Changes (or keeps) one frame body on its way from one node to another.
pub trait Mutator {
    /// The body to deliver instead of `body`, which travels on `protocol`.
    fn mutate(&mut self, protocol: ProtocolId, body: Vec<u8>) -> Vec<u8>;
    /// How many bodies were changed so far.
    fn mutated(&self) -> usize;
}

/// The ways a body is changed; `pick` chooses one, `arg` sizes and positions it.
fn apply(mut body: Vec<u8>, pick: usize, mut arg: impl FnMut(usize) -> usize) -> Vec<u8> {
    match pick % 5 {
        0 if !body.is_empty() => {
            let i = arg(body.len());
            if let Some(b) = body.get_mut(i) {
                *b ^= 1 << (arg(8) % 8);
            }
        }
        1 => {
            let keep = arg(body.len());
            body.truncate(keep);
        }
        2 => {
            let extra = arg(16) + 1;
            body.extend((0..extra).map(|_| byte(arg(256))));
        }
        3 => {
            let len = arg(64);
            body = (0..len).map(|_| byte(arg(256))).collect();
        }
        _ => body.clear(),
    }
    body
}

fn byte(v: usize) -> u8 {
    u8::try_from(v % 256).unwrap_or(0)
}

/// A seeded mutator: leaves five frames in six alone and changes the rest with a flipped
/// bit, a cut, trailing bytes, a random body or an empty one.
#[derive(Debug)]
pub struct SeededTamper {
    rng: ChaCha20Rng,
    mutated: usize,
}

impl SeededTamper {
    /// A mutator whose choices all come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha20Rng::seed_from_u64(seed),
            mutated: 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.rng.next_u32()).unwrap_or(0) % n.max(1)
    }
}

impl Mutator for SeededTamper {
    fn mutate(&mut self, _protocol: ProtocolId, body: Vec<u8>) -> Vec<u8> {
        if self.below(6) != 0 {
            return body;
        }
        self.mutated += 1;
        let pick = self.below(5);
        apply(body, pick, |n| self.below(n))
    }

    fn mutated(&self) -> usize {
        self.mutated
    }
}

/// A mutator driven by a byte tape (a fuzzer's input): each frame takes one byte; 0–191 keep
/// the frame, the rest pick a change whose sizes and positions come from the following
/// bytes. Once the tape is used up every frame passes unchanged, so a short input means a
/// mostly honest run and the fuzzer grows the tape to reach later steps.
#[derive(Debug)]
pub struct TapeMutator {
    tape: Vec<u8>,
    at: usize,
    mutated: usize,
}

impl TapeMutator {
    /// A mutator reading `tape` from its start.
    pub fn new(tape: &[u8]) -> Self {
        Self {
            tape: tape.to_vec(),
            at: 0,
            mutated: 0,
        }
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.tape.get(self.at).copied();
        self.at += 1;
        b
    }

    /// A value below `n` from the next two tape bytes (0 once the tape is used up).
    fn below(&mut self, n: usize) -> usize {
        let hi = usize::from(self.next().unwrap_or(0));
        let lo = usize::from(self.next().unwrap_or(0));
        (hi << 8 | lo) % n.max(1)
    }
}

impl Mutator for TapeMutator {
    fn mutate(&mut self, _protocol: ProtocolId, body: Vec<u8>) -> Vec<u8> {
        match self.next() {
            Some(b) if b >= 192 => {
                self.mutated += 1;
                apply(body, usize::from(b - 192), |n| self.below(n))
            }
            _ => body,
        }
    }

    fn mutated(&self) -> usize {
        self.mutated
    }
}

/// A peer that sends, for one duty and one validator, a partial signature that is a valid
/// BLS signature but not over the duty's message (by a key of its own): every other frame
/// passes unchanged. The receiver must name the sender, the duty and the validator.
#[derive(Debug)]
pub struct BadPartial {
    slot: u64,
    validator_key: String,
    signature: [u8; 96],
    mutated: usize,
}

impl BadPartial {
    /// Replaces the partial signature for `duty` of the validator whose group public key is
    /// `group_key` (from an honest run of the same seeds: the DKG is deterministic).
    pub fn new(duty: Duty, group_key: &[u8; 48]) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0xbad);
        let key = BlsSecretKey::generate(&mut rng);
        BadPartial {
            slot: duty.sig_type(),
            validator_key: pubkey_string(group_key),
            signature: key.sign(b"another message").to_bytes(),
            mutated: 0,
        }
    }
}

impl Mutator for BadPartial {
    fn mutate(&mut self, protocol: ProtocolId, body: Vec<u8>) -> Vec<u8> {
        if protocol != ProtocolId::Parsigex {
            return body;
        }
        let Ok(mut msg) = ParSigExMsg::decode(body.as_slice()) else {
            return body;
        };
        if msg.duty.map(|d| d.slot) != Some(self.slot) {
            return body;
        }
        let Some(partial) = msg
            .data_set
            .as_mut()
            .and_then(|s| s.set.get_mut(&self.validator_key))
        else {
            return body;
        };
        partial.signature = self.signature.to_vec();
        partial.data = signature_json(&self.signature);
        self.mutated += 1;
        msg.encode_to_vec()
    }

    fn mutated(&self) -> usize {
        self.mutated
    }
}
