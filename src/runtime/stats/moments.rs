//! Running mean and variance (Welford's online algorithm), the building block of the ratios.
//!
//! Definition: after `n` values, `mean` is their arithmetic mean and `m2` the sum of squared
//! deviations from it, updated one value at a time without keeping the values
//! (<https://en.wikipedia.org/wiki/Algorithms_for_calculating_variance#Welford's_online_algorithm>).
//! Numerically stable: no `Σx² − n·mean²` cancellation, so a series of identical values gives a
//! variance of exactly 0, which the ratios test for.
//!
//! Edge cases: the mean needs one value, the population variance one, the sample variance (divide
//! by `n − 1`, Bessel's correction) two; fewer give `None`.

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    pub(super) fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub(super) fn count(&self) -> u64 {
        self.n
    }

    pub(super) fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// Σ(x − mean)² / n.
    pub(super) fn population_variance(&self) -> Option<f64> {
        (self.n > 0).then(|| self.m2 / self.n as f64)
    }

    /// Σ(x − mean)² / (n − 1).
    pub(super) fn sample_variance(&self) -> Option<f64> {
        (self.n > 1).then(|| self.m2 / (self.n - 1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass() {
        let xs = [1.5, -2.0, 3.25, 0.0, 10.0, -7.5];
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.add(x));
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        assert!((m.mean().unwrap() - mean).abs() < 1e-12);
        assert!((m.population_variance().unwrap() - ss / n).abs() < 1e-12);
        assert!((m.sample_variance().unwrap() - ss / (n - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn constant_values_have_exactly_zero_variance() {
        let mut m = Moments::default();
        (0..1000).for_each(|_| m.add(0.1));
        assert_eq!(m.population_variance(), Some(0.0));
        assert_eq!(m.sample_variance(), Some(0.0));
    }

    #[test]
    fn too_few_values() {
        let mut m = Moments::default();
        assert_eq!((m.mean(), m.population_variance()), (None, None));
        m.add(4.0);
        assert_eq!(m.sample_variance(), None);
        assert_eq!(m.population_variance(), Some(0.0));
    }
}
