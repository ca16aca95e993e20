//! Retry delays after a failed ceremony: exponential, capped (like the k8s DKG sidecar's
//! `initial`, `max`, `factor`). A pure function of the number of consecutive failures.

use std::time::Duration;

/// Exponential backoff parameters (validated by [`Backoff::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
}

/// Why a backoff configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// The initial delay is zero.
    #[error("backoff_initial_secs must be at least 1")]
    ZeroInitial,
    /// The maximum is below the initial delay.
    #[error("backoff_max_secs must not be below backoff_initial_secs")]
    MaxBelowInitial,
    /// The factor is below 1 or not a number.
    #[error("backoff_factor must be a number of at least 1.0")]
    BadFactor,
}

impl Backoff {
    /// Checks and builds a backoff: `initial > 0`, `max >= initial`, `factor >= 1` (finite).
    pub fn new(initial: Duration, max: Duration, factor: f64) -> Result<Self, BackoffError> {
        if initial.is_zero() {
            return Err(BackoffError::ZeroInitial);
        }
        if max < initial {
            return Err(BackoffError::MaxBelowInitial);
        }
        if !factor.is_finite() || factor < 1.0 {
            return Err(BackoffError::BadFactor);
        }
        Ok(Self {
            initial,
            max,
            factor,
        })
    }

    /// The largest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The delay before the next attempt after `failures` consecutive failures:
    /// `initial · factor^(failures−1)`, capped at `max` (and `initial` for 0 or 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let mut d = self.initial;
        for _ in 1..failures {
            if d.as_secs_f64() * self.factor >= self.max.as_secs_f64() {
                return self.max;
            }
            d = d.mul_f64(self.factor);
        }
        d.min(self.max)
    }
}

impl Default for Backoff {
    /// 10 s, doubling, at most 10 minutes.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(600),
            factor: 2.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn doubles_from_initial_up_to_max() {
        let b = Backoff::default();
        let got: Vec<u64> = (0..10).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(got, [10, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
    }

    #[test]
    fn huge_failure_counts_stay_at_max() {
        let b = Backoff::new(secs(1), secs(3600), 10.0).unwrap();
        assert_eq!(b.delay(u32::MAX), secs(3600));
        assert_eq!(b.delay(3), secs(100));
    }

    #[test]
    fn factor_one_is_constant_and_fractions_work() {
        let b = Backoff::new(secs(5), secs(60), 1.0).unwrap();
        assert_eq!(b.delay(50), secs(5));
        let b = Backoff::new(secs(10), secs(60), 1.5).unwrap();
        assert_eq!(b.delay(2), secs(15));
        assert_eq!(b.delay(3), Duration::from_millis(22_500));
    }

    #[test]
    fn refuses_nonsense() {
        assert_eq!(
            Backoff::new(secs(0), secs(1), 2.0),
            Err(BackoffError::ZeroInitial)
        );
        assert_eq!(
            Backoff::new(secs(10), secs(1), 2.0),
            Err(BackoffError::MaxBelowInitial)
        );
        for f in [0.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                Backoff::new(secs(1), secs(2), f),
                Err(BackoffError::BadFactor)
            );
        }
    }
}
