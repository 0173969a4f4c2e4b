//! The predictive recommender's promises: silence before two longest seasons of history,
//! forecasts that track a seasonal series, and ticks that never wait on a fit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tidegate_gpu::{Device, Forecaster, Grid, Seasons, Series};

use super::*;
use crate::recommend::Recommender;
use crate::signals::Signals;
use crate::time::Timestamp;

const STEP_S: u64 = 60;
const SEASON: u64 = 24;

/// A daily-like pattern of 24 one-minute steps with a trend and deterministic noise.
fn truth(step: u64) -> f64 {
    let phase = 2.0 * std::f64::consts::PI * (step % SEASON) as f64 / SEASON as f64;
    let burst = if step % SEASON == 9 { 60.0 } else { 0.0 };
    200.0 + 0.05 * step as f64 + 80.0 * phase.sin() + burst
}

fn noise(step: u64) -> f64 {
    let x = step
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 4.0
}

fn config(lead: Duration) -> PredictiveConfig {
    PredictiveConfig {
        seasons: vec![Duration::from_secs(SEASON * STEP_S)],
        step: Some(Duration::from_secs(STEP_S)),
        history: Duration::from_secs(10 * SEASON * STEP_S),
        refit_every: Duration::from_secs(SEASON * STEP_S),
        lead_time: lead,
        service_time: Some(Duration::from_millis(200)),
        target_in_flight: 8.0,
        quantile: 0.9,
        ..PredictiveConfig::default()
    }
}

fn signals(rate: f64) -> Signals {
    Signals {
        request_rate: rate,
        stable_in_flight: rate * 0.2,
        ..Signals::default()
    }
}

/// Ticks every 10 s through `steps` steps starting at step `from`; returns the
/// recommendations of the last tick of each step.
fn replay(rec: &PredictiveRecommender, from: u64, steps: u64) -> Vec<Option<u32>> {
    let t0 = Timestamp::from_unix_secs(0);
    (from..from + steps)
        .map(|step| {
            let rate = truth(step) + noise(step);
            let mut last = None;
            for k in 0..STEP_S / 10 {
                let now = t0 + Duration::from_secs(step * STEP_S + 10 * k);
                last = rec.recommend("p", &signals(rate), now).map(|r| r.instances);
            }
            last
        })
        .collect()
}

#[test]
fn recommends_nothing_before_two_longest_seasons() {
    let rec = PredictiveRecommender::synchronous(
        "p",
        &config(Duration::from_secs(30)),
        Arc::new(Forecaster::new(Device::Cpu)),
    )
    .unwrap();
    // Step 2 x 24 - 1 closes during step 48: every tick before that abstains.
    let before = replay(&rec, 0, 2 * SEASON);
    assert!(before.iter().all(Option::is_none), "{before:?}");
    assert_eq!(rec.report().fits, 0);
    assert_eq!(rec.forecast_rps(), None);
    let after = replay(&rec, 2 * SEASON, 1);
    assert!(after[0].is_some(), "recommends once 48 steps are closed");
    assert_eq!(rec.report().fits, 1);
}

#[test]
fn the_seasonal_copy_is_mixed_in_unless_left_out() {
    let report = |seasonal_copy: bool| {
        let rec = PredictiveRecommender::synchronous(
            "p",
            &PredictiveConfig {
                seasonal_copy,
                ..config(Duration::from_secs(180))
            },
            Arc::new(Forecaster::new(Device::Cpu)),
        )
        .unwrap();
        replay(&rec, 0, 3 * SEASON);
        rec.report()
    };
    let (with, without) = (report(true), report(false));
    let weight = with.fit.expect("fitted").seasonal_copy_weight;
    assert!(
        weight.is_some_and(|w| (0.0..=1.0).contains(&w)),
        "{weight:?}"
    );
    assert_eq!(without.fit.expect("fitted").seasonal_copy_weight, None);
    let (a, b) = (with.forecast.unwrap(), without.forecast.unwrap());
    assert_ne!(a.point_rps, b.point_rps, "the forecast differs without it");
}

#[test]
fn disabled_policy_never_recommends() {
    let rec = PredictiveRecommender::synchronous(
        "p",
        &PredictiveConfig {
            enabled: false,
            ..config(Duration::from_secs(30))
        },
        Arc::new(Forecaster::new(Device::Cpu)),
    )
    .unwrap();
    assert!(replay(&rec, 0, 4 * SEASON).iter().all(Option::is_none));
    assert_eq!(rec.report().history_steps, 0);
}

#[test]
fn tracks_a_seasonal_series_ahead_of_time() {
    // Lead time 3 min: the forecast is 3-4 steps past the last closed step, no nowcast.
    let rec = PredictiveRecommender::synchronous(
        "p",
        &config(Duration::from_secs(180)),
        Arc::new(Forecaster::new(Device::Cpu)),
    )
    .unwrap();
    replay(&rec, 0, 8 * SEASON);
    let t0 = Timestamp::from_unix_secs(0);
    for step in 8 * SEASON..10 * SEASON {
        let rate = truth(step) + noise(step);
        let now = t0 + Duration::from_secs(step * STEP_S + 30);
        let recommendation = rec.recommend("p", &signals(rate), now);
        let report = rec.report();
        let forecast = report.forecast.unwrap();
        let expected = truth(step + 3);
        assert!(
            (forecast.point_rps - expected).abs() < 0.05 * expected,
            "step {step}: forecast {} for truth {expected}",
            forecast.point_rps
        );
        assert!(forecast.upper_rps > forecast.point_rps);
        assert_eq!(forecast.at, now + Duration::from_secs(180));
        let instances = (forecast.upper_rps * 0.2 / 8.0).ceil() as u32;
        assert_eq!(
            recommendation.map(|r| r.instances),
            Some(instances),
            "same units as the reactive policy"
        );
    }
    let fit = rec.report().fit.unwrap();
    assert_eq!(fit.backend, "cpu");
    // The noise is uniform on +-2 (sd 1.15); missing the pattern (amplitude 80) or the
    // trend would leave errors tens of requests per second wide.
    assert!(fit.rmse_rps < 2.0, "{fit:?}");
    // One model per default half-life, 0.5 to 16 seasons; the flat fields are the first's.
    let half_lives: Vec<Option<f32>> = fit.members.iter().map(|m| m.half_life_steps).collect();
    let season = SEASON as f32;
    assert_eq!(
        half_lives,
        [0.5, 1.0, 2.0, 4.0, 8.0, 16.0].map(|k| Some(k * season))
    );
    assert_eq!(
        (fit.alpha, fit.gamma),
        (fit.members[0].alpha, fit.members[0].gamma)
    );
    // Two weeks of history hold whole cycles: the seasonal copy is weighed in.
    let weight = fit
        .seasonal_copy_weight
        .expect("the copy of the last cycle");
    assert!((0.0..=1.0).contains(&weight), "{weight}");
}

#[test]
fn a_tick_never_waits_on_a_fit() {
    // A fit heavy enough to measure: 5,000 steps with seasons of 48 and 1,440 steps.
    let config = PredictiveConfig {
        seasons: vec![Duration::from_secs(48 * 60), Duration::from_secs(1440 * 60)],
        step: Some(Duration::from_secs(60)),
        history: Duration::from_secs(5_000 * 60),
        refit_every: Duration::from_secs(100 * 60),
        service_time: Some(Duration::from_millis(200)),
        ..PredictiveConfig::default()
    };
    let forecaster = Arc::new(Forecaster::new(Device::Cpu));
    let values: Vec<f32> = (0..5_000).map(|s| truth(s) as f32).collect();
    let started = Instant::now();
    let seasons = Seasons::Double(48, 1440);
    forecaster.fit(
        &[Series::new(values, seasons).unwrap()],
        &Grid::standard(seasons, false),
    );
    let fit_time = started.elapsed();

    let rec = PredictiveRecommender::new("p", &config, forecaster).unwrap();
    let t0 = Timestamp::from_unix_secs(0);
    let tick = |step: u64| {
        let started = Instant::now();
        let r = rec.recommend(
            "p",
            &signals(truth(step)),
            t0 + Duration::from_secs(step * 60),
        );
        (r, started.elapsed())
    };
    for step in 0..2 * 1440 {
        assert_eq!(tick(step).0, None);
    }
    // This tick closes the 2,880th step and submits the first fit; it must not wait for it.
    let (first, took) = tick(2 * 1440);
    assert_eq!(first, None);
    assert!(rec.report().fitting, "the fit runs in the background");
    assert!(
        took < fit_time / 4,
        "the submitting tick took {took:?}; a fit takes {fit_time:?}"
    );
    // Ticks go on while it runs; the result is picked up by a later tick.
    let deadline = Instant::now() + Duration::from_secs(120) + 20 * fit_time;
    let mut step = 2 * 1440 + 1;
    while rec.report().fits == 0 {
        assert!(Instant::now() < deadline, "the fit never finished");
        tick(step);
        step += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(tick(step).0.is_some());
}
