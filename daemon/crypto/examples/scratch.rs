use blstrs::{G1Affine, G1Projective, Scalar};
use ff::Field;
use group::{Curve, Group};
use std::time::Instant;
fn main() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
    use rand_chacha::rand_core::SeedableRng;
    let pts: Vec<G1Projective> = (0..64).map(|_| G1Projective::generator() * Scalar::random(&mut rng)).collect();
    let comp: Vec<[u8; 48]> = pts.iter().map(|p| p.to_affine().to_compressed()).collect();
    let sc: Vec<Scalar> = (0..64).map(|_| Scalar::random(&mut rng)).collect();
    let t = Instant::now();
    for c in &comp { let _ = G1Affine::from_compressed(c); }
    println!("decompress+check: {:?}/pt", t.elapsed() / 64);
    let t = Instant::now();
    for c in &comp { let _ = G1Affine::from_compressed_unchecked(c); }
    println!("decompress only: {:?}/pt", t.elapsed() / 64);
    let t = Instant::now();
    for s in &sc { let _ = G1Projective::generator() * s; }
    println!("mult: {:?}", t.elapsed() / 64);
    for k in [9usize, 21, 63] {
        let t = Instant::now();
        for _ in 0..20 { let _ = G1Projective::multi_exp(&pts[..k], &sc[..k]); }
        println!("msm {k}: {:?}", t.elapsed() / 20);
    }
    let t = Instant::now();
    for _ in 0..64 { let _ = pts[0].to_affine().to_compressed(); }
    println!("compress: {:?}", t.elapsed() / 64);
    let t = Instant::now();
    for _ in 0..64 { let _ = blst::blst_scalar::hash_to(&[1u8; 98], b"BLS12381_XMD:SHA-256_SSWU_RO_"); }
    println!("hash_to: {:?}", t.elapsed() / 64);
}
