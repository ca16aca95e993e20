//! Start-up known-answer test of the BLS backend on the running CPU (issue 4 "Self-test"):
//! charon once shipped a BLS library that produced wrong keys on some CPUs, so the daemon
//! refuses to touch keys unless blst (and the field arithmetic FROST uses) reproduces
//! externally produced results here.
//!
//! Checks, all against hard-coded bytes:
//! 1. secret → public key (deposit golden key #1 of `TestMarshalDepositData.golden`);
//! 2. signing (teku's builder-registration signature, charon `registration_test.go`), and
//!    verification of that signature;
//! 3. aggregation of the two signatures above;
//! 4. field arithmetic and Lagrange interpolation: shares `s + a·x` of the deposit key at
//!    x = 1, 3 (values from an independent big-integer computation), their partial signatures
//!    combine to the golden deposit signature and their public shares to the golden pubkey.
//!
//! Runs in a few milliseconds on x86-64 (see the `dkg` bench for the figure on a machine).

use crate::bls::{
    interpolate_public_key, threshold_combine_signatures, BlsPublicKey, BlsSignature,
};
use crate::frost::threshold::{partial_sign, ETH_DST};
use crate::frost::{SecretShare, ShareIdx};
use blst::min_pk::{AggregateSignature, SecretKey, Signature};
use blst::BLST_ERROR;

/// The self-test found the BLS backend computing a wrong result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("BLS self-test failed at \"{check}\": this CPU/library combination computes wrong BLS results; refusing to handle keys")]
#[non_exhaustive]
pub struct SelfTestError {
    /// Which known answer was not reproduced.
    pub check: &'static str,
}

/// Builder-registration vector (vectors.md): secret key.
const REG_SECRET: &str = "345768c0245f1dc702df9e50e811002f61ebb2680b3d5931527ef59f96cbaf9b";
/// Its public key (derived with blst, confirmed independently with py_ecc).
const REG_PUBKEY: &str = "9305c3b8cf2f4ee9c636b2e5bd60b730e4816840f01683bdcb75352451e553839c9173cd4212c08947443692dc48eaf7";
/// Signing root of the registration message (fee recipient 0x…dEaD, gas limit 30 000 000,
/// timestamp 1646092800, hoodi builder domain); recomputed in the tests below.
const REG_ROOT: &str = "69d1ac3e5fb328bcbb04afb78a30e21721e1ade1397d03299d21644f1fc48a3d";
/// The registration signature (produced by teku; vectors.md).
const REG_SIG: &str = "838c82166e22fc27998fee74319daf42545f9fd32ae0e5d69319c888739a2c817f82aab48f04f165e32304d2ab8d317c1318d6d907dbe6372417fcfc4e3f0b550c357d5087abda4b80c021a64d2463e43efb017eeb1cef0dd92e38770b9628a1";

/// Deposit golden key #1 (vectors.md) and its golden pubkey.
const DEP_SECRET: &str = "01477d4bfbbcebe1fef8d4d6f624ecbb6e3178558bb1b0d6286c816c66842a6d";
const DEP_PUBKEY: &str = "813f5d2697f76841a752ef8c1ac11d1bb76e07003799c5745f8a569214653810def3b60920b54fb0ab3cb6deb08c3972";
/// Signing root of its deposit message (golden `deposit_message_root` under goerli's deposit
/// domain); recomputed in the tests below.
const DEP_ROOT: &str = "e86ea9233d0a2887e1068792734b72c3df0b5eb08dc5e0933a49ba28b3b30191";
/// Its golden deposit signature.
const DEP_SIG: &str = "b9bc77c52be591255d52ef25b7f2e0feb668329983619b0e23b5caf2d5768b3a9661079eaf68564eb5d743b531252aad058a9d0b48a87af601765176699248568d8bd7dd0539e38658c572ad628e1f0854a797378bf2125a08d1beb685faef91";
/// `f(x) = DEP_SECRET + REG_SECRET·x mod r` at x = 1 and x = 3 (Python big integers).
const SHARE_1: &str = "359ee60c201c09a901d87327de35ecead01d2abd96ef0a077aeb770bfd4fda08";
const SHARE_3: &str = "2a6010393f3cc7eed45dd7c1a4b615444036eb8aad6b606b1fe9624c2ae7393d";

/// Aggregate of `REG_SIG` and `DEP_SIG` (derived with blst, confirmed with py_ecc).
const AGG_SIG: &str = "90abaa38c799d1264b9f41eb79965579bed7c0e44363865370b51ff7ab3896ee0434144663c00bac916e879e32c6501908352c1d11bef3fe3685a8a01a0f55c4e51f62662ede4b75a8985001798200d62a84a25b178d739ba7737e1f975df69e";

fn fail(check: &'static str) -> SelfTestError {
    SelfTestError { check }
}

fn bytes<const N: usize>(h: &str, check: &'static str) -> Result<[u8; N], SelfTestError> {
    hex::decode(h)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(fail(check))
}

/// Runs the known-answer tests; `Err` names the first check that failed.
pub fn check() -> Result<(), SelfTestError> {
    // 1. Key derivation.
    let dep_sk = SecretKey::from_bytes(&bytes::<32>(DEP_SECRET, "constants")?)
        .map_err(|_| fail("secret key decoding"))?;
    if dep_sk.sk_to_pk().compress() != bytes::<48>(DEP_PUBKEY, "constants")? {
        return Err(fail("secret key to public key"));
    }
    let reg_sk = SecretKey::from_bytes(&bytes::<32>(REG_SECRET, "constants")?)
        .map_err(|_| fail("secret key decoding"))?;
    let reg_pk = reg_sk.sk_to_pk();
    if reg_pk.compress() != bytes::<48>(REG_PUBKEY, "constants")? {
        return Err(fail("secret key to public key"));
    }

    // 2. Signing and verification.
    let reg_root = bytes::<32>(REG_ROOT, "constants")?;
    let reg_sig = reg_sk.sign(&reg_root, ETH_DST, &[]);
    if reg_sig.compress() != bytes::<96>(REG_SIG, "constants")? {
        return Err(fail("signing"));
    }
    if reg_sig.verify(true, &reg_root, ETH_DST, &[], &reg_pk, true) != BLST_ERROR::BLST_SUCCESS {
        return Err(fail("verification"));
    }
    let wrong_root = bytes::<32>(DEP_ROOT, "constants")?;
    if reg_sig.verify(true, &wrong_root, ETH_DST, &[], &reg_pk, true) == BLST_ERROR::BLST_SUCCESS {
        return Err(fail("verification rejects a wrong message"));
    }

    // 3. Aggregation.
    let dep_sig_bytes = bytes::<96>(DEP_SIG, "constants")?;
    let dep_sig = Signature::from_bytes(&dep_sig_bytes).map_err(|_| fail("signature decoding"))?;
    let agg = AggregateSignature::aggregate(&[&reg_sig, &dep_sig], true)
        .map_err(|_| fail("aggregation"))?;
    if agg.to_signature().compress() != bytes::<96>(AGG_SIG, "constants")? {
        return Err(fail("aggregation"));
    }

    // 4. Field arithmetic and Lagrange interpolation (the FROST/threshold backend).
    let (x1, x3) = match (ShareIdx::new(1), ShareIdx::new(3)) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(fail("constants")),
    };
    let s1 = SecretShare::from_be_bytes(x1, &bytes::<32>(SHARE_1, "constants")?)
        .ok_or(fail("share decoding"))?;
    let s3 = SecretShare::from_be_bytes(x3, &bytes::<32>(SHARE_3, "constants")?)
        .ok_or(fail("share decoding"))?;
    let dep_root = bytes::<32>(DEP_ROOT, "constants")?;
    let p1 = partial_sign(&s1, &dep_root).map_err(|_| fail("partial signing"))?;
    let p3 = partial_sign(&s3, &dep_root).map_err(|_| fail("partial signing"))?;
    // The same combination code as the ceremony's aggregation and lock verification.
    let sig = |b: [u8; 96]| BlsSignature::from_bytes(&b).map_err(|_| fail("partial signing"));
    let partials = [(x3.get(), sig(p3)?), (x1.get(), sig(p1)?)];
    let combined =
        threshold_combine_signatures(&partials).map_err(|_| fail("threshold combine"))?;
    if combined.to_bytes() != dep_sig_bytes {
        return Err(fail("Lagrange interpolation of signatures"));
    }
    let public = |s: &SecretShare| {
        BlsPublicKey::from_bytes(&s.public_share()).map_err(|_| fail("public share"))
    };
    let pubs = [(x1.get(), public(&s1)?), (x3.get(), public(&s3)?)];
    let group = interpolate_public_key(&pubs).map_err(|_| fail("public share combine"))?;
    if group.to_bytes() != bytes::<48>(DEP_PUBKEY, "constants")? {
        return Err(fail("Lagrange interpolation of public keys"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn h(parts: &[&[u8]]) -> [u8; 32] {
        let mut d = Sha256::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().into()
    }

    /// `domain = domain_type ‖ hash_tree_root(ForkData{fork_version, zero root})[..28]`.
    fn domain(domain_type: [u8; 4], fork_version: [u8; 4]) -> [u8; 32] {
        let mut v = [0u8; 32];
        v[..4].copy_from_slice(&fork_version);
        let fdr = h(&[&v, &[0u8; 32]]);
        let mut d = [0u8; 32];
        d[..4].copy_from_slice(&domain_type);
        d[4..].copy_from_slice(&fdr[..28]);
        d
    }

    #[test]
    fn signing_roots_are_what_the_comments_say() {
        // ValidatorRegistrationV1 {fee_recipient, gas_limit, timestamp, pubkey}.
        let mut fee = [0u8; 32];
        fee[18..20].copy_from_slice(&[0xde, 0xad]);
        let mut gas = [0u8; 32];
        gas[..8].copy_from_slice(&30_000_000u64.to_le_bytes());
        let mut ts = [0u8; 32];
        ts[..8].copy_from_slice(&1_646_092_800u64.to_le_bytes());
        let pk = hex::decode("86966350b672bd502bfbdb37a6ea8a7392e8fb7f5ebb5c5e2055f4ee168ebfab0fef63084f28c9f62c3ba71f825e527e").expect("hex");
        let pk_root = h(&[&pk[..32], &pk[32..], &[0u8; 16]]);
        let root = h(&[&h(&[&fee, &gas]), &h(&[&ts, &pk_root])]);
        let d = domain([0, 0, 0, 1], [0x10, 0x00, 0x09, 0x10]);
        assert_eq!(hex::encode(h(&[&root, &d])), REG_ROOT);

        let dmr = hex::decode("6dcf9ebf537997129102c7d74f3e54bd5446d608eb2d4fb15a53e3362e775a9b")
            .expect("hex");
        let d = domain([3, 0, 0, 0], [0x00, 0x00, 0x10, 0x20]);
        assert_eq!(hex::encode(h(&[&dmr, &d])), DEP_ROOT);
    }

    #[test]
    fn self_test_passes_quickly() {
        let start = std::time::Instant::now();
        assert_eq!(check(), Ok(()));
        eprintln!("selftest: {:?}", start.elapsed());
    }
}
