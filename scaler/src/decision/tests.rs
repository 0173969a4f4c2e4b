//! Unit tests of the decision rules, each driven tick by tick through decide + apply.

use std::time::Duration;

use super::*;
use crate::policy::CostModel;
use crate::schedule::ScheduleRule;

const T0: u64 = 1_704_672_000; // Monday 2024-01-08 00:00:00 UTC

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

fn signals(stable: f64, panic: f64, ready: u32) -> Signals {
    Signals {
        stable_in_flight: stable,
        panic_in_flight: panic,
        ready,
        ..Signals::default()
    }
}

fn step(policy: &Policy, state: &mut ScalerState, s: Signals, secs: u64) -> Decision {
    let decision = decide(policy, state, &s, &[], at(secs));
    state.apply(policy, &decision, at(secs));
    decision
}

#[test]
fn reactive_recommendation_is_ceil_of_stable_over_target() {
    let policy = Policy::default();
    let mut state = ScalerState::new(5);
    let d = step(&policy, &mut state, signals(41.0, 41.0, 5), 0);
    assert_eq!(d.to, 6);
    assert_eq!(
        d.reason,
        Reason::Recommended {
            source: "reactive".into()
        }
    );
}

#[test]
fn scale_down_waits_for_the_stabilization_window() {
    let policy = Policy {
        scale_down_delay: Duration::from_secs(300),
        ..Policy::default()
    };
    let mut state = ScalerState::new(10);
    step(&policy, &mut state, signals(80.0, 80.0, 10), 0);
    // Load drops to 2 instances' worth; the window still remembers 10.
    for s in 1..300 {
        let d = step(&policy, &mut state, signals(16.0, 16.0, 10), s);
        assert_eq!(d.to, 10, "at {s}s");
        assert_eq!(d.reason, Reason::HeldForStabilization { highest: 10 });
    }
    let d = step(&policy, &mut state, signals(16.0, 16.0, 10), 300);
    assert_eq!(d.to, 2);
    assert_eq!(d.direction, Direction::Down);
}

#[test]
fn scale_up_is_immediate_despite_stabilization() {
    let policy = Policy::default();
    let mut state = ScalerState::new(2);
    step(&policy, &mut state, signals(16.0, 16.0, 2), 0);
    let d = step(&policy, &mut state, signals(24.0, 24.0, 2), 1);
    assert_eq!(d.to, 3);
}

#[test]
fn panic_enters_on_a_burst_holds_the_count_and_exits_after_a_stable_window() {
    let policy = Policy {
        scale_down_delay: Duration::ZERO,
        ..Policy::default()
    };
    let mut state = ScalerState::new(2);
    // Panic window asks for 5 >= 2.0 x 2 ready; the stable window only for 2.
    let d = step(&policy, &mut state, signals(16.0, 40.0, 2), 0);
    assert!(d.panicking);
    assert_eq!(d.to, 5);
    assert_eq!(d.recommendations[1], Recommendation::new("panic", 5));
    // The burst ends; no scale-down while panicking.
    for s in 1..=60 {
        let d = step(&policy, &mut state, signals(8.0, 8.0, 5), s);
        assert!(d.panicking, "at {s}s");
        assert_eq!(d.to, 5, "at {s}s");
        assert_eq!(d.reason, Reason::HeldWhilePanicking);
    }
    let d = step(&policy, &mut state, signals(8.0, 8.0, 5), 61);
    assert!(!d.panicking);
    assert_eq!(d.to, 1);
}

#[test]
fn scale_up_rate_caps_growth_per_tick() {
    let policy = Policy {
        max_scale_up_rate: 2.0,
        max: 100,
        ..Policy::default()
    };
    let mut state = ScalerState::new(3);
    let d = step(&policy, &mut state, signals(800.0, 800.0, 3), 0);
    assert_eq!(d.to, 6);
    assert_eq!(d.reason, Reason::ScaleUpRateLimited { limit: 6 });
    // Pending launches are not cancelled when ready lags behind desired.
    let d = step(&policy, &mut state, signals(800.0, 800.0, 2), 1);
    assert_eq!(d.to, 6);
}

#[test]
fn cost_budget_caps_the_count() {
    let policy = Policy {
        max: 100,
        max_scale_up_rate: 1000.0,
        cost: Some(CostModel {
            per_instance_hour: 0.10,
            budget_per_hour: Some(1.25),
        }),
        ..Policy::default()
    };
    let mut state = ScalerState::new(1);
    let d = step(&policy, &mut state, signals(800.0, 800.0, 1), 0);
    assert_eq!(d.to, 12);
    assert_eq!(d.reason, Reason::CappedByBudget { cap: 12 });
}

#[test]
fn schedule_raises_the_floor_only_in_its_minutes() {
    let policy = Policy {
        scale_down_delay: Duration::ZERO,
        max_scale_up_rate: 100.0,
        schedule: vec![ScheduleRule::new("* 8 * * MON-FRI", Some(6), None).unwrap()],
        ..Policy::default()
    };
    let mut state = ScalerState::new(1);
    let d = step(&policy, &mut state, signals(0.0, 0.0, 1), 7 * 3600 + 3599);
    assert_eq!(d.to, 1);
    let d = step(&policy, &mut state, signals(0.0, 0.0, 1), 8 * 3600);
    assert_eq!(d.to, 6);
    assert_eq!(
        d.reason,
        Reason::Recommended {
            source: "schedule".into()
        }
    );
    let d = step(&policy, &mut state, signals(0.0, 0.0, 6), 9 * 3600);
    assert_eq!(d.to, 1);
    // Saturday 08:00: no override.
    let mut state = ScalerState::new(1);
    let d = step(
        &policy,
        &mut state,
        signals(0.0, 0.0, 1),
        5 * 86_400 + 8 * 3600,
    );
    assert_eq!(d.to, 1);
}

#[test]
fn schedule_max_lowers_the_ceiling() {
    let policy = Policy {
        schedule: vec![ScheduleRule::new("* 0-5 * * *", None, Some(3)).unwrap()],
        ..Policy::default()
    };
    let mut state = ScalerState::new(3);
    let d = step(&policy, &mut state, signals(80.0, 80.0, 3), 3600);
    assert_eq!(d.to, 3);
    assert_eq!(d.reason, Reason::CappedAtMax { max: 3 });
}

#[test]
fn overrides_pause_and_set_the_count() {
    let policy = Policy {
        scale_down_delay: Duration::ZERO,
        ..Policy::default()
    };
    let mut state = ScalerState::new(4);
    state.set_overrides(Overrides {
        paused: true,
        ..Overrides::default()
    });
    let d = step(&policy, &mut state, signals(160.0, 160.0, 4), 0);
    assert_eq!((d.to, d.reason), (4, Reason::Paused));

    state.set_overrides(Overrides {
        desired: Some(7),
        ..Overrides::default()
    });
    let d = step(&policy, &mut state, signals(0.0, 0.0, 4), 1);
    assert_eq!((d.to, d.reason), (7, Reason::Manual { desired: 7 }));

    state.set_overrides(Overrides {
        min: Some(9),
        ..Overrides::default()
    });
    let d = step(&policy, &mut state, signals(0.0, 0.0, 7), 2);
    assert_eq!((d.to, d.reason), (9, Reason::RaisedToMin { min: 9 }));
}

#[test]
fn override_validation_rejects_inverted_bounds() {
    let policy = Policy::default();
    assert!(Overrides {
        min: Some(30),
        ..Overrides::default()
    }
    .validate(&policy)
    .is_err());
    assert!(Overrides {
        desired: Some(50),
        ..Overrides::default()
    }
    .validate(&policy)
    .is_err());
    Overrides {
        min: Some(3),
        max: Some(5),
        desired: Some(4),
        paused: false,
    }
    .validate(&policy)
    .unwrap();
}

#[test]
fn extra_recommenders_are_combined_with_max() {
    let policy = Policy::default();
    let state = ScalerState::new(2);
    let extra = [Recommendation::new("predictive", 9)];
    let d = decide(&policy, &state, &signals(16.0, 16.0, 2), &extra, at(0));
    assert_eq!(d.to, 9);
    assert_eq!(
        d.reason,
        Reason::Recommended {
            source: "predictive".into()
        }
    );
    assert_eq!(d.recommendations.len(), 2);
}

#[test]
fn a_pool_at_zero_wakes_on_its_first_requests_and_sleeps_again_when_idle() {
    let policy = Policy {
        min: 0,
        scale_down_delay: Duration::from_secs(60),
        ..Policy::default()
    };
    let mut state = ScalerState::new(0);
    // No requests: nothing to wake for.
    assert_eq!(step(&policy, &mut state, signals(0.0, 0.0, 0), 0).to, 0);
    // Requests arrive and find no backend, so nothing is in flight.
    let waking = Signals {
        request_rate: 3.0,
        ..signals(0.0, 0.0, 0)
    };
    let d = step(&policy, &mut state, waking, 1);
    assert_eq!(d.to, 1);
    assert_eq!(
        d.reason,
        Reason::Recommended {
            source: "wake".into()
        }
    );
    // Once an instance is ready the rate alone recommends nothing; idle for the
    // scale-down delay, the pool goes back to zero.
    let idle_ready = Signals {
        request_rate: 3.0,
        ..signals(0.0, 0.0, 1)
    };
    assert_eq!(step(&policy, &mut state, idle_ready, 2).to, 1);
    assert_eq!(step(&policy, &mut state, signals(0.0, 0.0, 1), 62).to, 0);
}
