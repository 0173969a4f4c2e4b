//! Property tests of the decision function's promises, driven through the real
//! `Controller` (windows + decide + commit) over random signal sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

use std::time::Duration;

use proptest::prelude::*;
use tidegate_scaler::{Controller, CostModel, Direction, Observation, Policy, Timestamp};

const T0: u64 = 1_704_672_000;

fn policy_strategy() -> impl Strategy<Value = Policy> {
    (
        0u32..5,
        1u32..60,
        1.0f64..20.0,
        1.5f64..4.0,
        1.0f64..5.0,
        0u64..400,
        prop::option::of((0.05f64..2.0, 0.0f64..40.0)),
    )
        .prop_map(|(min, span, target, threshold, rate, delay, cost)| {
            let max = min + span;
            let cost = cost.map(|(price, extra)| CostModel {
                per_instance_hour: price,
                // Always pays for min, sometimes for less than max.
                budget_per_hour: Some(price * f64::from(min) + extra),
            });
            Policy {
                min,
                max,
                target_in_flight: target,
                panic_threshold: threshold,
                max_scale_up_rate: rate,
                scale_down_delay: Duration::from_secs(delay),
                cost,
                ..Policy::default()
            }
        })
}

/// Per tick: base in-flight, whether it is a burst (x5), and how far ready lags desired.
fn load_strategy() -> impl Strategy<Value = Vec<(f64, bool, u32)>> {
    prop::collection::vec((0.0f64..300.0, prop::bool::weighted(0.1), 0u32..4), 1..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bounds_budget_panic_and_rate_hold_on_any_load(policy in policy_strategy(), load in load_strategy()) {
        policy.validate().unwrap();
        let budget_cap = policy.budget_cap().unwrap_or(u32::MAX);
        let mut controller = Controller::new("p", policy.clone(), policy.min).unwrap();
        let mut ready = policy.min;
        for (i, (base, burst, lag)) in load.into_iter().enumerate() {
            let in_flight = if burst { base * 5.0 } else { base };
            let observation = Observation { in_flight, ready, ..Observation::default() };
            let d = controller.step(&observation, Timestamp::from_unix_secs(T0 + i as u64));
            prop_assert!(d.to <= policy.max, "tick {i}: {} above max {}", d.to, policy.max);
            prop_assert!(d.to <= budget_cap, "tick {i}: {} above the budget's {}", d.to, budget_cap);
            prop_assert!(d.to >= policy.min, "tick {i}: {} below min {}", d.to, policy.min);
            if d.panicking {
                prop_assert!(d.to >= d.from, "tick {i}: scaled down {} -> {} while panicking", d.from, d.to);
            }
            if d.to > d.from {
                let limit = (f64::from(ready.max(1)) * policy.max_scale_up_rate).ceil() as u32;
                prop_assert!(
                    d.to <= limit.max(policy.min),
                    "tick {i}: grew {} -> {} with {ready} ready, limit {limit}", d.from, d.to
                );
            }
            // Instances become ready with a random lag behind the desired count.
            ready = d.to.saturating_sub(lag);
        }
    }

    #[test]
    fn flat_noisy_load_does_not_flap(level in 10.0f64..200.0, noise in prop::collection::vec(-0.1f64..0.1, 1200)) {
        let changes = desired_changes(Policy { max: 100, ..Policy::default() }, level, &noise);
        prop_assert!(changes <= 4, "desired changed {changes} times in 10 minutes at load {level:.1}");
    }
}

/// Desired-count changes during the second 10 minutes of `noise.len()` 1 s ticks at
/// `level` x (1 + noise), with instances ready as soon as desired.
fn desired_changes(policy: Policy, level: f64, noise: &[f64]) -> usize {
    let mut controller = Controller::new("p", policy, 1).unwrap();
    let mut ready = 1;
    let mut changes = 0;
    for (i, n) in noise.iter().enumerate() {
        let observation = Observation {
            in_flight: level * (1.0 + n),
            ready,
            ..Observation::default()
        };
        let d = controller.step(&observation, Timestamp::from_unix_secs(T0 + i as u64));
        if i >= 600 && d.direction != Direction::None {
            changes += 1;
        }
        ready = d.to;
    }
    changes
}

/// The flapping property can fail: without scale-down stabilization the same load flaps.
#[test]
fn flapping_is_detected_without_stabilization() {
    let mut rng = fastrand::Rng::with_seed(7);
    let noise: Vec<f64> = (0..1200).map(|_| rng.f64() * 0.2 - 0.1).collect();
    let unstable = Policy {
        scale_down_delay: Duration::ZERO,
        ..Policy::default()
    };
    let stable = Policy::default();
    let flaps = desired_changes(unstable, 40.0, &noise);
    assert!(
        flaps > 4,
        "expected flapping without stabilization, got {flaps} changes"
    );
    assert!(desired_changes(stable, 40.0, &noise) <= 4);
}
