//! The CPU reference on series whose answer is known: seasonality recovered, a damped
//! trend preferred where the trend dies out, persistent errors followed by the AR(1)
//! term, and Taylor's double seasonal model beating the seasonal naive forecast on real
//! electricity demand.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

mod common;

use tidegate_gpu::{
    backtest, Backend, BacktestSpec, Device, Fit, Forecaster, Grid, Loss, Seasons, Series,
};

/// Deterministic noise in [-1, 1].
fn noise(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }
}

/// `values` fitted on the CPU with a daily season of 24 rows and the standard grid.
fn daily_fit(values: &[f32]) -> Fit {
    let seasons = Seasons::Single(24);
    let series = Series::new(values.to_vec(), seasons).unwrap();
    Forecaster::new(Device::Cpu).fit(&[series], &Grid::standard(seasons, false))[0].clone()
}

fn pattern(t: usize) -> f32 {
    20.0 * (2.0 * std::f32::consts::PI * (t % 24) as f32 / 24.0).sin()
        + if t % 24 == 9 { 15.0 } else { 0.0 }
}

#[test]
fn single_season_is_recovered_and_forecast() {
    let mut jitter = noise(7);
    let values: Vec<f32> = (0..24 * 20)
        .map(|t| 200.0 + 0.05 * t as f32 + pattern(t) + jitter())
        .collect();
    let series = Series::new(values.clone(), Seasons::Single(24)).unwrap();
    let forecaster = Forecaster::new(Device::Cpu);
    let fit = &forecaster.fit(&[series], &Grid::standard(Seasons::Single(24), false))[0];
    assert_eq!(fit.backend(), Backend::Cpu);
    // Uniform noise on [-1, 1] has sd 0.58; a good fit's one-step error is close to it.
    assert!(
        fit.rmse() < 0.9,
        "rmse {} with {:?}",
        fit.rmse(),
        fit.params()
    );
    let forecast = fit.forecast(48, 0.9).unwrap();
    for (k, (&point, &upper)) in forecast.point.iter().zip(&forecast.upper).enumerate() {
        let t = values.len() + k;
        let truth = 200.0 + 0.05 * t as f32 + pattern(t);
        assert!(
            (point - truth).abs() < 2.0,
            "step {}: {point} vs {truth}",
            k + 1
        );
        assert!(
            upper > point,
            "step {}: upper {upper} <= point {point}",
            k + 1
        );
    }
    assert!(fit.forecast(4, 1.0).is_err());
}

#[test]
fn damped_trend_wins_when_surges_level_off() {
    // Every 60 steps a surge starts whose step-to-step growth decays by 0.9.
    let mut jitter = noise(11);
    let (mut level, mut trend) = (100.0_f32, 0.0_f32);
    let truth: Vec<f32> = (0..600)
        .map(|t| {
            if t % 60 == 0 {
                trend = 4.0;
            }
            trend *= 0.9;
            level += trend;
            level
        })
        .collect();
    let values: Vec<f32> = truth.iter().map(|v| v + 0.2 * jitter()).collect();
    // Fit up to 10 steps into the last surge, then forecast the 40 steps where it levels off.
    let cut = 550;
    let series = [Series::new(values[..cut].to_vec(), Seasons::None).unwrap()];
    let forecaster = Forecaster::new(Device::Cpu);
    let damped = &forecaster.fit(&series, &Grid::standard(Seasons::None, true))[0];
    let straight = &forecaster.fit(&series, &Grid::standard(Seasons::None, false))[0];
    assert!(damped.params().phi < 1.0, "{:?}", damped.params());
    assert!(
        damped.loss() < straight.loss(),
        "damped {} vs undamped {}",
        damped.loss(),
        straight.loss()
    );
    let mae = |fit: &Fit| {
        let point = fit.forecast(40, 0.9).unwrap().point;
        point
            .iter()
            .zip(&truth[cut..])
            .map(|(p, t)| (p - t).abs())
            .sum::<f32>()
            / 40.0
    };
    let (damped_mae, straight_mae) = (mae(damped), mae(straight));
    assert!(
        damped_mae < 0.5 * straight_mae,
        "40-step MAE damped {damped_mae} vs undamped {straight_mae}"
    );
    // Without seasons the damped forecast's increments shrink by exactly phi each step.
    let point = damped.forecast(6, 0.9).unwrap().point;
    let steps: Vec<f32> = point.windows(2).map(|w| w[1] - w[0]).collect();
    for w in steps.windows(2) {
        if w[0].abs() > 1e-2 {
            assert!(
                (w[1] / w[0] - damped.params().phi).abs() < 1e-2,
                "{steps:?}"
            );
        }
    }
}

fn taylor_mase(horizon: usize) -> (f64, f64) {
    // The whole trace (4,032 rows): each fit still sees at most the 2,016 rows before its origin.
    let values = common::full_trace("taylor_halfhourly.csv")
        .column("value")
        .unwrap()
        .to_vec();
    let spec = BacktestSpec {
        seasons: Seasons::Double(48, 336),
        horizon,
        origins: 24,
        spacing: 29,
        window: 2016,
        seasonal_copy: true,
    };
    let result = backtest(
        &Forecaster::new(Device::Cpu),
        &values,
        &spec,
        &Grid::standard(spec.seasons, false),
    )
    .unwrap();
    assert_eq!(result.rows.len(), 24 * horizon);
    assert!(result
        .rows
        .iter()
        .all(|r| r.origin + r.step <= values.len()));
    (result.mase.unwrap(), result.naive_mase.unwrap())
}

#[test]
fn double_seasonal_beats_seasonal_naive_on_taylor() {
    for horizon in [1, 12] {
        let (model, naive) = taylor_mase(horizon);
        println!("taylor_halfhourly horizon {horizon}: MASE {model:.3}, seasonal naive {naive:.3}");
        assert!(
            model < naive,
            "horizon {horizon}: MASE {model} not below seasonal naive {naive}"
        );
    }
}

#[test]
fn observing_new_values_equals_refitting_with_the_same_parameters() {
    let mut jitter = noise(3);
    // The level already shifted once in the history, so the fit learns to follow shifts.
    let values: Vec<f32> = (0..24 * 12)
        .map(|t| if t < 24 * 6 { 200.0 } else { 225.0 } + pattern(t) + jitter())
        .collect();
    let seasons = Seasons::Single(24);
    let forecaster = Forecaster::new(Device::Cpu);
    let fit = daily_fit(&values);
    // After the fitted history the level shifts up by 50; feed one day of it.
    let n = values.len();
    let shifted: Vec<f32> = (n..n + 24).map(|t| 275.0 + pattern(t)).collect();
    let mut updated = fit.clone();
    shifted.iter().for_each(|&y| updated.observe(y));
    assert_eq!(updated.params(), fit.params(), "observe never refits");

    // The same parameters run over the longer series end in the same state.
    let p = fit.params();
    let one_point = Grid::new(
        &[p.alpha],
        &[p.beta],
        &[p.gamma],
        &[p.omega],
        &[p.phi],
        &[p.lambda],
    )
    .unwrap();
    let longer = [values, shifted].concat();
    let refit = &forecaster.fit(&[Series::new(longer, seasons).unwrap()], &one_point)[0];
    let (ahead, reference) = (
        updated.forecast(6, 0.9).unwrap().point,
        refit.forecast(6, 0.9).unwrap().point,
    );
    let stale = fit.forecast(30, 0.9).unwrap().point;
    for k in 0..6 {
        assert!(
            (ahead[k] - reference[k]).abs() < 0.05,
            "step {}: observed {} vs refitted {}",
            k + 1,
            ahead[k],
            reference[k]
        );
        let truth = 275.0 + pattern(n + 24 + k);
        assert!(
            (ahead[k] - truth).abs() < (stale[24 + k] - truth).abs() - 10.0,
            "step {}: the update moves toward the shift",
            k + 1
        );
    }
}

/// A daily pattern plus errors that persist: each is 0.9 of the last plus fresh noise.
fn pattern_with_persistent_errors(len: usize) -> Vec<f32> {
    let mut jitter = noise(5);
    let mut error = 0.0_f32;
    (0..len)
        .map(|t| {
            error = 0.9 * error + 2.0 * jitter();
            200.0 + pattern(t) + error
        })
        .collect()
}

#[test]
fn ar1_adjustment_follows_persistent_errors() {
    let values = pattern_with_persistent_errors(24 * 40);
    let seasons = Seasons::Single(24);
    let spec = BacktestSpec {
        seasons,
        horizon: 1,
        origins: 60,
        spacing: 7,
        window: 24 * 20,
        // The AR(1) term is the models' own: score them alone.
        seasonal_copy: false,
    };
    let forecaster = Forecaster::new(Device::Cpu);
    let standard = Grid::standard(seasons, false);
    let adjusted = backtest(&forecaster, &values, &spec, &standard).unwrap();
    // The same grid without the AR(1) term.
    let axis = |pick: fn(&tidegate_gpu::Params) -> f32| {
        let mut values: Vec<f32> = standard.points().map(|p| pick(&p)).collect();
        values.sort_by(f32::total_cmp);
        values.dedup();
        values
    };
    let plain = Grid::new(
        &axis(|p| p.alpha),
        &axis(|p| p.beta),
        &axis(|p| p.gamma),
        &axis(|p| p.omega),
        &axis(|p| p.phi),
        &[0.0],
    )
    .unwrap();
    let unadjusted = backtest(&forecaster, &values, &spec, &plain).unwrap();
    let (with_ar, without) = (adjusted.mase.unwrap(), unadjusted.mase.unwrap());
    println!("one-step MASE with the AR(1) term {with_ar:.3}, without {without:.3}");
    assert!(
        with_ar < 0.95 * without,
        "AR(1) {with_ar} vs plain {without}"
    );
    let fit = &forecaster.fit(
        &[Series::new(values[..24 * 20].to_vec(), seasons).unwrap()],
        &standard,
    )[0];
    assert!(fit.params().lambda >= 0.5, "{:?}", fit.params());
}

#[test]
fn ar1_term_decays_by_lambda_and_widens_the_quantile() {
    // No smoothing at all: level, seasonals and trend stay at their initial values, so
    // the forecast is the initial state plus lambda^k times the last error.
    let mut jitter = noise(9);
    let mut values: Vec<f32> = (0..200).map(|_| 50.0 + jitter()).collect();
    values[199] = 53.0;
    let series = [Series::new(values, Seasons::None).unwrap()];
    let forecaster = Forecaster::new(Device::Cpu);
    let grid = |lambda: f32| Grid::new(&[0.0], &[0.0], &[0.0], &[0.0], &[0.0], &[lambda]).unwrap();
    let with_ar = &forecaster.fit(&series, &grid(0.5))[0];
    let without = &forecaster.fit(&series, &grid(0.0))[0];
    let (a, b) = (
        with_ar.forecast(5, 0.9).unwrap(),
        without.forecast(5, 0.9).unwrap(),
    );
    let excess: Vec<f32> = a.point.iter().zip(&b.point).map(|(a, b)| a - b).collect();
    assert!(excess[0].abs() > 1e-3, "{excess:?}");
    for k in 1..5 {
        assert!(
            (excess[k] / excess[k - 1] - 0.5).abs() < 1e-3,
            "the AR(1) term halves each step: {excess:?}"
        );
    }
    // v_h = 1 + 0.25 + ... + 0.25^(h-1): the spread grows as its square root.
    let spread: Vec<f32> = a.upper.iter().zip(&a.point).map(|(u, p)| u - p).collect();
    let mut v = 0.0;
    for (k, s) in spread.iter().enumerate() {
        v += 0.25_f32.powi(k as i32);
        assert!(
            (s / spread[0] - v.sqrt()).abs() < 1e-3,
            "step {}: spread {spread:?}",
            k + 1
        );
    }
}

#[test]
fn squared_loss_is_the_sum_of_squared_residuals() {
    // One grid point, so both losses score the same residuals: the absolute loss is
    // rows x MAE and the squared loss rows x RMSE^2, with the same number of rows, in
    // the series' units (the kernel sums on the standardized series).
    let mut jitter = noise(11);
    let values: Vec<f32> = (0..300)
        .map(|t| 400.0 + 30.0 * pattern(t) + 12.0 * jitter())
        .collect();
    let series = [Series::new(values, Seasons::Single(24)).unwrap()];
    let forecaster = Forecaster::new(Device::Cpu);
    let grid = Grid::new(&[0.1], &[0.01], &[0.2], &[0.0], &[0.0], &[0.5]).unwrap();
    let absolute = &forecaster.fit(&series, &grid)[0];
    let squared = &forecaster.fit(&series, &grid.clone().with_loss(Loss::Squared))[0];
    assert_eq!(absolute.loss_kind(), Loss::Absolute);
    assert_eq!(squared.loss_kind(), Loss::Squared);
    let rows_absolute = absolute.loss() / absolute.mae();
    let rows_squared = squared.loss() / squared.rmse().powi(2);
    assert!(
        (rows_absolute - rows_squared).abs() < 1e-3 * rows_absolute,
        "absolute {} / {} vs squared {} / {}^2",
        absolute.loss(),
        absolute.mae(),
        squared.loss(),
        squared.rmse()
    );
    assert!(
        (rows_absolute - rows_absolute.round()).abs() < 1e-2 && rows_absolute > 100.0,
        "{rows_absolute}"
    );
    // Squares weigh the largest errors more: the RMSE exceeds the MAE.
    assert!(squared.rmse() > absolute.mae());
}

#[test]
fn half_lives_fit_one_model_each_and_the_forecast_is_their_mean() {
    let mut jitter = noise(11);
    // The daily pattern doubles for the last 4 of 20 days: recent rows tell another story.
    let values: Vec<f32> = (0..24 * 20)
        .map(|t| {
            let gain = if t < 24 * 16 { 1.0 } else { 2.0 };
            300.0 + gain * pattern(t) + 2.0 * jitter()
        })
        .collect();
    let seasons = Seasons::Single(24);
    let series = [Series::new(values, seasons).unwrap()];
    let forecaster = Forecaster::new(Device::Cpu);
    let grid = Grid::standard(seasons, false);
    let alone = |half_life: f32| {
        let grid = grid.clone().with_half_lives(&[half_life]).unwrap();
        forecaster.fit(&series, &grid)[0].clone()
    };
    let (recent, whole) = (alone(12.0), alone(f32::INFINITY));
    assert_ne!(
        recent.params(),
        whole.params(),
        "a 12-row half-life weighs the changed days"
    );
    let both = &forecaster.fit(
        &series,
        &grid
            .clone()
            .with_half_lives(&[12.0, f32::INFINITY])
            .unwrap(),
    )[0];
    let members: Vec<_> = both.members().collect();
    assert_eq!(
        members,
        vec![(12.0, recent.params()), (f32::INFINITY, whole.params())]
    );
    // The models' average, before the seasonal copy joins it.
    let (recent, whole, both) = (
        recent.without_seasonal_copy(),
        whole.without_seasonal_copy(),
        both.clone().without_seasonal_copy(),
    );
    let (a, b, mean) = (
        recent.forecast(24, 0.9).unwrap(),
        whole.forecast(24, 0.9).unwrap(),
        both.forecast(24, 0.9).unwrap(),
    );
    for k in 0..24 {
        let expected = (a.point[k] + b.point[k]) / 2.0;
        assert!(
            (mean.point[k] - expected).abs() < 1e-3,
            "step {k}: {mean:?}"
        );
        let expected = (a.upper[k] + b.upper[k]) / 2.0;
        assert!(
            (mean.upper[k] - expected).abs() < 1e-3,
            "step {k}: {mean:?}"
        );
    }
    // Observing a value moves every model.
    let mut observed = both.clone();
    observed.observe(320.0);
    let (mut a2, mut b2) = (recent.clone(), whole.clone());
    a2.observe(320.0);
    b2.observe(320.0);
    let step = |f: &Fit| f.forecast(1, 0.5).unwrap().point[0];
    assert!((step(&observed) - (step(&a2) + step(&b2)) / 2.0).abs() < 1e-3);
}

/// A day whose shape no sine describes: the pattern plus fixed noise.
fn irregular_day(t: usize) -> f32 {
    let mut jitter = noise(100 + (t % 24) as u64);
    300.0 + pattern(t) + 25.0 * jitter()
}

#[test]
fn seasonal_copy_takes_over_where_the_last_cycles_repeat_exactly() {
    // Ten noisy days, then four identical ones: a schedule that stopped changing.
    let mut jitter = noise(5);
    let values: Vec<f32> = (0..24 * 14)
        .map(|t| irregular_day(t) + if t < 24 * 10 { 8.0 * jitter() } else { 0.0 })
        .collect();
    let fit = daily_fit(&values);
    let weight = fit.copy_weight().unwrap();
    assert!(
        weight > 0.99,
        "the copy made no error lately: weight {weight}"
    );

    let combined = fit.forecast(24, 0.9).unwrap();
    let models = fit
        .clone()
        .without_seasonal_copy()
        .forecast(24, 0.9)
        .unwrap();
    let n = values.len();
    let (mut combined_error, mut models_error) = (0.0, 0.0);
    for k in 0..24 {
        let copy = values[n - 24 + k];
        let expected = (1.0 - weight) * f64::from(models.point[k]) + weight * f64::from(copy);
        assert!(
            (f64::from(combined.point[k]) - expected).abs() < 1e-2,
            "step {}: {} is not the weighted mean of {} and {copy}",
            k + 1,
            combined.point[k],
            models.point[k]
        );
        // The upper quantile keeps the models' spread above the combined point.
        let spread = models.upper[k] - models.point[k];
        assert!((combined.upper[k] - combined.point[k] - spread).abs() < 1e-2);
        let truth = irregular_day(n + k);
        combined_error += (combined.point[k] - truth).abs();
        models_error += (models.point[k] - truth).abs();
    }
    assert!(
        combined_error < 0.2 * models_error,
        "combined {combined_error} vs models {models_error}"
    );
}

#[test]
fn seasonal_copy_gives_way_after_a_level_shift() {
    let mut jitter = noise(9);
    // The level already shifted once in the history, so the models learn to follow.
    let values: Vec<f32> = (0..24 * 14)
        .map(|t| if t < 24 * 7 { 200.0 } else { 230.0 } + pattern(t) + jitter())
        .collect();
    let mut fit = daily_fit(&values);
    // Six hours 50 above the usual: the copy of yesterday misses by 50 every hour, the
    // models' level follows.
    let n = values.len();
    (n..n + 6).for_each(|t| fit.observe(280.0 + pattern(t)));
    let weight = fit.copy_weight().unwrap();
    assert!(weight < 0.2, "the copy missed lately: weight {weight}");
    let next = fit.forecast(1, 0.5).unwrap().point[0];
    let truth = 280.0 + pattern(n + 6);
    assert!(
        (next - truth).abs() < 10.0,
        "next {next} vs the shifted level {truth}"
    );
}
