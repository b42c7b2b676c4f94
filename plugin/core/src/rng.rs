//! Sprout's one seeded random number generator: `SplitMix64`, small, fast and the same on every
//! machine and version, so a seed gives the same tokens, sprites and diffusion noise everywhere.
//! Token sampling draws uniforms from it; the image models draw standard normal noise
//! ([`Rng::normals`], Box–Muller), independent of any tensor library.

/// `SplitMix64`: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

/// Where the first uniform of each Box–Muller pair lies. It must not be 0 (its logarithm is
/// infinite); the two choices give different streams, and each model keeps the one its parity
/// fixtures were made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonZeroUniform {
    /// `(0, 1]`: 53 random bits plus one, over 2⁵³ (the sprite models).
    UpToOne,
    /// `(0, 1)`: 53 random bits plus one half, over 2⁵³ (Stable Diffusion).
    Open,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `len` standard normal values by Box–Muller: each pair of draws gives two values (the
    /// first uniform as `u1` says, the second in `[0, 1)`), the last pair's second value dropped
    /// when `len` is odd.
    pub fn normals(&mut self, len: usize, u1: NonZeroUniform) -> Vec<f32> {
        let lift = match u1 {
            NonZeroUniform::UpToOne => 1.0,
            NonZeroUniform::Open => 0.5,
        };
        let mut out = Vec::with_capacity(len + 1);
        while out.len() < len {
            let u1 = ((self.next_u64() >> 11) as f64 + lift) / (1u64 << 53) as f64;
            let u2 = self.next_f64();
            let r = (-2.0 * u1.ln()).sqrt();
            let a = core::f64::consts::TAU * u2;
            out.push((r * a.cos()) as f32);
            out.push((r * a.sin()) as f32);
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_splitmix64() {
        // The reference values of SplitMix64 seeded with 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert!((0.0..1.0).contains(&Rng::new(7).next_f64()));
    }

    #[test]
    fn normals_are_seeded_and_sized() {
        let a = Rng::new(3).normals(5, NonZeroUniform::UpToOne);
        assert_eq!(a.len(), 5);
        assert_eq!(a, Rng::new(3).normals(5, NonZeroUniform::UpToOne));
        let mean = Rng::new(9)
            .normals(10_000, NonZeroUniform::Open)
            .iter()
            .map(|x| f64::from(*x))
            .sum::<f64>()
            / 10_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
    }
}
