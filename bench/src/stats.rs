//! Order statistics of timing samples: the median is what the tables report
//! (robust to the odd slow repetition), with min, p10, p90 and max beside it
//! to show the spread.

/// Summary of a set of timing samples (milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest sample.
    pub min: f64,
    /// 10th percentile.
    pub p10: f64,
    /// Median (50th percentile).
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Largest sample.
    pub max: f64,
}

/// The `q`-quantile (`0 ≤ q ≤ 1`) of ascending `sorted` samples, interpolating
/// linearly between the two nearest ranks (numpy's default): the median of an
/// even count is the mean of the middle two. `None` when there are no samples
/// or `q` is outside `[0, 1]`.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

impl Summary {
    /// Summarizes `samples` (any order). `None` when there are none or one is
    /// not finite (a failed timing must not pass for a number).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        Some(Summary {
            n: s.len(),
            min: s[0],
            p10: quantile(&s, 0.1)?,
            median: quantile(&s, 0.5)?,
            p90: quantile(&s, 0.9)?,
            max: s[s.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
        assert_eq!(Summary::of(&[7.0]).unwrap().median, 7.0);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // numpy.percentile(range(11), [10, 50, 90]) == [1, 5, 9]
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        let s = Summary::of(&v).unwrap();
        assert_eq!(
            (s.min, s.p10, s.median, s.p90, s.max),
            (0.0, 1.0, 5.0, 9.0, 10.0)
        );
        // numpy.percentile([1, 2, 3, 4], 10) == 1.3, 90 -> 3.7
        let s = Summary::of(&[4.0, 2.0, 1.0, 3.0]).unwrap();
        assert!((s.p10 - 1.3).abs() < 1e-12 && (s.p90 - 3.7).abs() < 1e-12);
        assert_eq!(quantile(&[1.0, 2.0], 1.5), None);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn summary_does_not_depend_on_order_and_is_monotone() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut v: Vec<f64> = (0..101).map(|_| rng.random_range(0.5..3.0)).collect();
        let a = Summary::of(&v).unwrap();
        v.shuffle(&mut rng);
        let b = Summary::of(&v).unwrap();
        assert_eq!(a, b);
        assert!(a.min <= a.p10 && a.p10 <= a.median && a.median <= a.p90 && a.p90 <= a.max);
        assert_eq!(a.n, 101);
        // With 101 samples the median is exactly the 51st smallest.
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(a.median, sorted[50]);
    }

    #[test]
    fn empty_or_non_finite_samples_have_no_summary() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
        assert!(Summary::of(&[f64::INFINITY]).is_none());
    }
}
