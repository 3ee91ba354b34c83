//! A small deterministic PRNG (xoshiro256**, seeded through splitmix64), so that the same
//! `--seed` gives the same data on every machine and every release: no dependency whose
//! algorithm could change under us, and no global state.

use uuid::Uuid;

/// splitmix64: used to expand one u64 into xoshiro's state and to derive independent streams.
pub fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// An independent stream for one purpose and item (for instance the sources of action
    /// 12345), so that any item can be rendered alone, in any order, with the same result.
    pub fn stream(seed: u64, purpose: u64, item: u64) -> Self {
        let mut x = seed ^ purpose.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let a = splitmix64(&mut x);
        let mut y = a ^ item.wrapping_mul(0xA076_1D64_78BD_642F);
        Rng::new(splitmix64(&mut y))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n); n > 0. Lemire's multiply-shift (the tiny bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in [lo, hi] (inclusive).
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A word of a static list.
    pub fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    /// An index drawn with the given (not necessarily normalised) weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Roughly normal (sum of three uniforms), mean 0 and standard deviation 1.
    pub fn normalish(&mut self) -> f64 {
        (self.unit() + self.unit() + self.unit() - 1.5) * 2.0
    }

    /// A version 4 UUID made of this generator's bits.
    pub fn uuid(&mut self) -> Uuid {
        let bits = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    }
}

/// Draws from a fixed discrete distribution in O(log n): for the many thousand dyads.
pub struct Cumulative {
    upper: Vec<f64>,
}

impl Cumulative {
    pub fn new(weights: &[f64]) -> Self {
        let mut acc = 0.0;
        let upper = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Cumulative { upper }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self.upper.last().expect("at least one weight");
        let x = rng.unit() * total;
        self.upper
            .partition_point(|u| *u <= x)
            .min(self.upper.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r = Rng::new(7);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut r = Rng::new(7);
        assert_eq!(first, (0..3).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            Rng::stream(1, 2, 3).next_u64(),
            Rng::stream(1, 2, 4).next_u64()
        );
        let id = Rng::new(1).uuid();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn below_and_cumulative_stay_in_range() {
        let mut r = Rng::new(3);
        let c = Cumulative::new(&[1.0, 0.0, 3.0]);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let i = c.sample(&mut r);
            assert!(i == 0 || i == 2);
            let x = r.between(-2, 2);
            assert!((-2..=2).contains(&x));
        }
    }
}
