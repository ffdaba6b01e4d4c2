//! Queue latency per host type: how long builds waited for a machine.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Waits kept per host type.
const KEEP: usize = 1000;

#[derive(Default)]
pub struct Latency(BTreeMap<String, VecDeque<Duration>>);

impl Latency {
    pub fn record(&mut self, host_type: &str, wait: Duration) {
        let q = self.0.entry(host_type.to_string()).or_default();
        if q.len() == KEEP {
            q.pop_front();
        }
        q.push_back(wait);
    }

    /// (host type, samples, p50, p95).
    pub fn percentiles(&self) -> Vec<(String, usize, Duration, Duration)> {
        self.0
            .iter()
            .map(|(h, q)| {
                let mut v: Vec<Duration> = q.iter().copied().collect();
                v.sort();
                (h.clone(), v.len(), pick(&v, 50), pick(&v, 95))
            })
            .collect()
    }
}

fn pick(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * pct + 50) / 100]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_spread() {
        let mut l = Latency::default();
        for ms in 1..=100 {
            l.record("host-a", Duration::from_millis(ms));
        }
        let p = l.percentiles();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].1, 100);
        assert_eq!(p[0].2, Duration::from_millis(51));
        assert_eq!(p[0].3, Duration::from_millis(95));
    }

    #[test]
    fn keeps_the_newest_samples() {
        let mut l = Latency::default();
        for _ in 0..KEEP {
            l.record("h", Duration::from_secs(100));
        }
        for _ in 0..KEEP {
            l.record("h", Duration::from_secs(1));
        }
        assert_eq!(l.percentiles()[0].3, Duration::from_secs(1));
    }
}
