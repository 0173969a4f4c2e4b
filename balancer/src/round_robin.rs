//! `round_robin`: backends in turn, skipping those the pick does not admit.
//!
//! A shared atomic cursor advances once per backend looked at, so consecutive picks visit
//! every admitted backend exactly once per cycle no matter which ones are skipped. After a
//! full turn of misses (other threads may have moved the cursor meanwhile) a plain scan
//! from the last position makes sure an admitted backend is never missed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::select::{Admission, Select};

/// Round-robin cursor over one snapshot.
#[derive(Debug, Default)]
pub(crate) struct RoundRobin {
    cursor: AtomicUsize,
}

impl Select for RoundRobin {
    fn select(
        &self,
        backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<usize> {
        let n = backends.len();
        let mut last = 0;
        for _ in 0..n {
            // Wrapping at usize::MAX only skews one turn.
            last = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
            if admission.admits(&backends[last], rng) {
                return Some(last);
            }
        }
        (1..=n)
            .map(|step| (last + step) % n)
            .find(|&i| admission.admits(&backends[i], rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ewma::EwmaConfig;
    use crate::selector::PickRequest;

    fn backends(n: u16) -> Vec<Arc<Backend>> {
        (0..n)
            .map(|i| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 9000 + i));
                Arc::new(Backend::new(addr, None, 1, EwmaConfig::default(), 0))
            })
            .collect()
    }

    fn picks(rr: &RoundRobin, backends: &[Arc<Backend>], count: usize) -> Vec<Option<usize>> {
        let req = PickRequest {
            now: 0,
            region: None,
            exclude: &[],
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(3);
        (0..count)
            .map(|_| rr.select(backends, &admission, &mut rng))
            .collect()
    }

    #[test]
    fn goes_in_turn() {
        let b = backends(3);
        let got = picks(&RoundRobin::default(), &b, 7);
        let want = [0, 1, 2, 0, 1, 2, 0].map(Some);
        assert_eq!(got, want);
    }

    #[test]
    fn skips_unusable_backends_without_doubling_their_neighbour() {
        let b = backends(4);
        b[1].set_healthy(false);
        let got = picks(&RoundRobin::default(), &b, 6);
        let want = [0, 2, 3, 0, 2, 3].map(Some);
        assert_eq!(got, want);
    }

    #[test]
    fn nothing_usable_and_no_backends_give_none() {
        let b = backends(2);
        b.iter().for_each(|b| b.set_draining(true));
        assert_eq!(picks(&RoundRobin::default(), &b, 1), [None]);
        assert_eq!(picks(&RoundRobin::default(), &[], 1), [None]);
    }
}
