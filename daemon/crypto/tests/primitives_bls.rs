//! BLS known answers and real-lock checks (formats.md §3.3, §3.5, §7): the builder-registration
//! vector from `shared/vectors/charon/vectors.md`, the deposit keys, and the aggregate
//! signature / share interpolation of real charon locks.

use dkgd_crypto::bls::{
    aggregate_signatures, fast_aggregate_verify, interpolate_public_key,
    threshold_combine_signatures, BlsError, BlsPublicKey, BlsSecretKey, BlsSignature,
};
use dkgd_testkit::{
    md_number_after as number_after, md_section as section, md_value_after as value_after,
    parse_json, read_vector_str, unhex, VECTORS_MD,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn sha(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

fn chunk(bytes: &[u8]) -> [u8; 32] {
    let mut c = [0u8; 32];
    c[..bytes.len()].copy_from_slice(bytes);
    c
}

fn sk(hex_text: &str) -> BlsSecretKey {
    let raw: [u8; 32] = unhex(hex_text).try_into().expect("32-byte BLS secret");
    BlsSecretKey::from_bytes(&raw).expect("valid BLS secret")
}

/// Signing root of a builder registration, computed here by hand (standard SSZ) so that the
/// crypto crate's known-answer test does not depend on dkgd-formats.
#[test]
fn builder_registration_signature_known_answer() {
    let s = section("Builder registration");
    let secret = sk(&value_after(&s, "* BLS secret"));
    let fee = unhex(&value_after(&s, "fee_recipient"));
    let pubkey = unhex(&value_after(&s, "pubkey"));
    let fork = unhex(&value_after(&s, "genesis fork version hoodi"));
    let want = unhex(&value_after(&s, "* signature"));
    let gas = number_after(&s, "gas_limit");
    let ts = number_after(&s, "timestamp");

    let pk_root = sha(&pubkey[..32], &chunk(&pubkey[32..]));
    let msg_root = sha(
        &sha(&chunk(&fee), &chunk(&gas.to_le_bytes())),
        &sha(&chunk(&ts.to_le_bytes()), &pk_root),
    );
    let fork_data_root = sha(&chunk(&fork), &[0u8; 32]);
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(&[0, 0, 0, 1]);
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    let signing_root = sha(&msg_root, &domain);

    let sig = secret.sign(&signing_root);
    assert_eq!(
        sig.to_bytes().to_vec(),
        want,
        "{VECTORS_MD}: registration signature"
    );
    secret.public_key().verify(&signing_root, &sig).unwrap();
    let parsed = BlsSignature::from_bytes(&want).unwrap();
    assert_eq!(parsed, sig);
    let mut tampered = signing_root;
    tampered[5] ^= 0x80;
    assert_eq!(
        secret.public_key().verify(&tampered, &parsed),
        Err(BlsError::VerificationFailed)
    );
}

/// The four deposit keys of vectors.md derive the pubkeys found in the deposit golden file.
#[test]
fn deposit_keys_derive_golden_pubkeys() {
    let s = section("Deposit data");
    let golden = read_vector_str("charon/eth2util/deposit/testdata/TestMarshalDepositData.golden");
    let mut found = 0;
    for line in s
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
    {
        let key = value_after(line, ". ");
        let pk = sk(&key).public_key();
        let hex_pk = hex::encode(pk.to_bytes());
        assert!(
            golden.contains(&hex_pk),
            "pubkey {hex_pk} not in golden file"
        );
        found += 1;
    }
    assert_eq!(found, 4, "{VECTORS_MD}: four deposit keys");
}

/// Real, fully signed locks: `signature_aggregate` is FastAggregateVerify over all shares of
/// all validators on the raw lock hash, and the first t shares interpolate to the group key.
#[test]
fn real_locks_aggregate_and_interpolate() {
    for rel in [
        "charon/cluster/examples/cluster-lock-003.json",
        "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json",
        "obol-sdk/fixtures-0a6c839a-clusterLockV1X7.json",
        "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json",
    ] {
        let lock = parse_json(rel);
        let t = usize::try_from(lock["cluster_definition"]["threshold"].as_u64().unwrap()).unwrap();
        let hash = unhex(lock["lock_hash"].as_str().unwrap());
        let mut all = Vec::new();
        for dv in lock["distributed_validators"].as_array().unwrap() {
            let group =
                BlsPublicKey::from_bytes(&unhex(dv["distributed_public_key"].as_str().unwrap()))
                    .unwrap();
            let shares: Vec<BlsPublicKey> = dv["public_shares"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| BlsPublicKey::from_bytes(&unhex(s.as_str().unwrap())).unwrap())
                .collect();
            let first_t: Vec<(u32, BlsPublicKey)> =
                (1..).zip(shares.iter().copied()).take(t).collect();
            assert_eq!(interpolate_public_key(&first_t).unwrap(), group, "{rel}");
            // Any other t-subset (here the last t) gives the same key.
            let n = u32::try_from(shares.len()).unwrap();
            let last_t: Vec<(u32, BlsPublicKey)> = (1..=n)
                .zip(shares.iter().copied())
                .skip(shares.len() - t)
                .collect();
            assert_eq!(interpolate_public_key(&last_t).unwrap(), group, "{rel}");
            all.extend(shares);
        }
        let agg = BlsSignature::from_bytes(&unhex(lock["signature_aggregate"].as_str().unwrap()))
            .unwrap();
        fast_aggregate_verify(&all, &hash, &agg).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mut wrong = hash.clone();
        wrong[0] ^= 1;
        assert!(fast_aggregate_verify(&all, &wrong, &agg).is_err(), "{rel}");
    }
}

fn shamir(group: &BlsSecretKey, t: usize, n: u32, seed: u64) -> Vec<(u32, BlsSecretKey)> {
    use blstrs::Scalar;
    use ff::Field;
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let c0 = Option::<Scalar>::from(Scalar::from_bytes_be(&group.expose_secret()))
        .expect("a BLS secret is a canonical scalar");
    let coeffs: Vec<Scalar> = std::iter::once(c0)
        .chain((1..t).map(|_| Scalar::random(&mut rng)))
        .collect();
    (1..=n)
        .map(|i| {
            let x = Scalar::from(u64::from(i));
            let y = coeffs.iter().rev().fold(Scalar::ZERO, |acc, c| acc * x + c);
            (
                i,
                BlsSecretKey::from_bytes(&y.to_bytes_be()).expect("non-zero share"),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Shares of a random polynomial interpolate to the group key, and any t partial
    /// signatures combine to exactly the group signature; aggregating partial signatures
    /// without Lagrange weights does not.
    #[test]
    fn threshold_round_trip(seed in any::<u64>(), t in 1usize..5, extra in 0u32..3, rot in 0usize..8) {
        use rand_chacha::rand_core::SeedableRng;
        let n = u32::try_from(t).unwrap() + extra;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let group = BlsSecretKey::generate(&mut rng);
        let shares = shamir(&group, t, n, seed ^ 0x5eed);
        let msg = seed.to_be_bytes();
        let mut chosen: Vec<&(u32, BlsSecretKey)> = shares.iter().collect();
        chosen.rotate_left(rot % shares.len());
        chosen.truncate(t);
        let pubs: Vec<_> = chosen.iter().map(|(i, s)| (*i, s.public_key())).collect();
        prop_assert_eq!(interpolate_public_key(&pubs).unwrap(), group.public_key());
        let partials: Vec<_> = chosen.iter().map(|(i, s)| (*i, s.sign(&msg))).collect();
        let combined = threshold_combine_signatures(&partials).unwrap();
        prop_assert_eq!(combined, group.sign(&msg));
        if t > 1 {
            let plain: Vec<_> = partials.iter().map(|(_, s)| *s).collect();
            prop_assert_ne!(aggregate_signatures(&plain).unwrap(), combined);
        }
    }
}

#[test]
fn duplicate_and_zero_indices_are_typed_errors() {
    let a = BlsSecretKey::from_bytes(&[3; 32]).unwrap();
    let pk = a.public_key();
    assert_eq!(
        interpolate_public_key(&[(1, pk), (1, pk)]),
        Err(BlsError::DuplicateIndex(1))
    );
    assert_eq!(interpolate_public_key(&[(0, pk)]), Err(BlsError::ZeroIndex));
    assert!(matches!(
        threshold_combine_signatures(&[]),
        Err(BlsError::Empty { .. })
    ));
}
