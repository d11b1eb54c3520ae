//! Latency percentiles over recorded samples.

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentiles of durations in microseconds.
pub fn percentiles(samples_us: &mut [u64]) -> Percentiles {
    samples_us.sort_unstable();
    let at = |q: f64| -> f64 {
        if samples_us.is_empty() {
            return 0.0;
        }
        let rank = ((q * samples_us.len() as f64).ceil() as usize).clamp(1, samples_us.len());
        samples_us[rank - 1] as f64 / 1000.0
    };
    Percentiles {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank() {
        let mut v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        let p = super::percentiles(&mut v);
        assert_eq!((p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms), (50.0, 95.0, 99.0, 100.0));
    }
}
