//! The parameter grid searched by every fit: the cartesian product of one list per
//! parameter, enumerated in a fixed order so both backends index points alike.
//!
//! The AR(1) coefficient `lambda` varies fastest. It does not enter the recursion (the
//! smoothing equations see the unadjusted one-step error), so one run of the recursion
//! scores every `lambda` of its block: a grid has [`Grid::bases`] recursions, each
//! scoring [`Grid::lambdas`]`.len()` points.

use crate::error::ForecastError;
use crate::series::Seasons;

/// Most values the `lambda` axis may hold: the kernel keeps one accumulator per value.
pub const MAX_LAMBDAS: usize = 16;

/// One point of the grid: the parameters of a Holt-Winters model with an AR(1) error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Level smoothing, in [0, 1].
    pub alpha: f32,
    /// Trend smoothing, in [0, 1].
    pub beta: f32,
    /// Short (or only) seasonal smoothing, in [0, 1].
    pub gamma: f32,
    /// Long seasonal smoothing of the double seasonal form, in [0, 1].
    pub omega: f32,
    /// Trend damping, in [0, 1]: 1 is a linear trend, 0 no trend at all.
    pub phi: f32,
    /// AR(1) coefficient of the one-step error (Taylor 2003), in [0, 1]: the forecast
    /// adds `lambda` times the last error; 0 is plain Holt-Winters.
    pub lambda: f32,
}

/// What a fit minimizes: a sum over the scored rows of the AR(1)-adjusted one-step
/// errors `e_t - lambda e_{t-1}`, absolute or squared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// The sum of absolute errors: the measure MASE scores, and one-off errors (a
    /// holiday) count once, not squared.
    #[default]
    Absolute,
    /// The sum of squared errors (SSE), Holt-Winters' classical least-squares fit.
    Squared,
}

impl Loss {
    /// Every loss, in the order the documentation lists them.
    pub const ALL: [Self; 2] = [Loss::Absolute, Loss::Squared];

    /// The configuration and command-line name: `absolute` or `squared`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Absolute => "absolute",
            Loss::Squared => "squared",
        }
    }
}

impl std::str::FromStr for Loss {
    type Err = ForecastError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Loss::ALL
            .into_iter()
            .find(|loss| loss.name() == s)
            .ok_or_else(|| ForecastError::UnknownLoss(s.to_string()))
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Values for each parameter; the grid is their cartesian product. The grid also
/// carries the loss its points are scored by and the half-lives of the fits combined.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    alpha: Vec<f32>,
    beta: Vec<f32>,
    gamma: Vec<f32>,
    omega: Vec<f32>,
    phi: Vec<f32>,
    lambda: Vec<f32>,
    loss: Loss,
    half_lives: Vec<f32>,
}

/// The half-lives of [`Grid::standard_half_lives`], in longest seasonal periods.
pub const STANDARD_HALF_LIVES: [f32; 6] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// The per-row factor of a loss whose weights halve every `half_life` rows (1 for an
/// infinite half-life: every row weighs the same). Computed in f64 and rounded once, so
/// both backends multiply by the same f32.
pub fn discount(half_life: f32) -> f32 {
    if half_life.is_finite() {
        0.5_f64.powf(1.0 / f64::from(half_life)) as f32
    } else {
        1.0
    }
}

/// Geometric spacing from `lo` to `hi` with `k` values (`k >= 2`).
fn geometric(k: usize, lo: f32, hi: f32) -> Vec<f32> {
    let ratio = (f64::from(hi) / f64::from(lo)).powf(1.0 / (k as f64 - 1.0));
    (0..k)
        .map(|i| (f64::from(lo) * ratio.powi(i as i32)) as f32)
        .collect()
}

/// `0` followed by `k - 1` geometric values from `lo` to `hi`: "off", then a range.
fn off_then_geometric(k: usize, lo: f32, hi: f32) -> Vec<f32> {
    std::iter::once(0.0)
        .chain(geometric(k - 1, lo, hi))
        .collect()
}

/// The AR(1) coefficients every standard grid tries: none, then weak to a random walk.
const STANDARD_LAMBDAS: [f32; 12] = [
    0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.98, 1.0,
];

impl Grid {
    /// Builds a grid from one list per parameter; parameters a model does not use
    /// (gamma without seasons, omega without a second season) should get one value.
    pub fn new(
        alpha: &[f32],
        beta: &[f32],
        gamma: &[f32],
        omega: &[f32],
        phi: &[f32],
        lambda: &[f32],
    ) -> Result<Self, ForecastError> {
        let axes: [(&'static str, &[f32]); 6] = [
            ("alpha", alpha),
            ("beta", beta),
            ("gamma", gamma),
            ("omega", omega),
            ("phi", phi),
            ("lambda", lambda),
        ];
        for (name, values) in axes {
            if values.is_empty() {
                return Err(ForecastError::InvalidGrid(
                    "every parameter needs at least one value",
                ));
            }
            if let Some(&value) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(ForecastError::InvalidGridValue {
                    name,
                    value,
                    range: "a value in [0, 1]",
                });
            }
        }
        if lambda.len() > MAX_LAMBDAS {
            return Err(ForecastError::InvalidGrid("lambda holds at most 16 values"));
        }
        let fits_u32 = alpha
            .len()
            .checked_mul(beta.len())
            .and_then(|n| n.checked_mul(gamma.len()))
            .and_then(|n| n.checked_mul(omega.len()))
            .and_then(|n| n.checked_mul(phi.len()))
            .and_then(|n| n.checked_mul(lambda.len()))
            .is_some_and(|n| u32::try_from(n).is_ok());
        if !fits_u32 {
            return Err(ForecastError::InvalidGrid("more than 2^32 points"));
        }
        Ok(Grid {
            alpha: alpha.to_vec(),
            beta: beta.to_vec(),
            gamma: gamma.to_vec(),
            omega: omega.to_vec(),
            phi: phi.to_vec(),
            lambda: lambda.to_vec(),
            loss: Loss::default(),
            half_lives: vec![f32::INFINITY],
        })
    }

    /// The grid suited to the given seasons: at most 1,024 recursions, each scored with
    /// the twelve standard AR(1) coefficients.
    ///
    /// Undamped grids choose between no trend (`phi = 0`) and a linear one (`phi = 1`);
    /// damped grids between damped trends. The seasonal axes start at 0 (a fixed
    /// pattern) and reach 0.8-1 (a pattern that follows the last cycle, as a seasonal
    /// naive forecast does); the level's start at 0, since the AR(1) term, not the level,
    /// is what follows short excursions.
    pub fn standard(seasons: Seasons, damped: bool) -> Self {
        let damping = vec![0.8, 0.9, 0.95, 0.98];
        let (alpha, beta, gamma, omega, phi) = match (seasons, damped) {
            (Seasons::None, false) => (
                geometric(32, 0.005, 0.99),
                geometric(16, 0.001, 0.5),
                vec![0.0],
                vec![0.0],
                vec![0.0, 1.0],
            ),
            (Seasons::None, true) => (
                geometric(16, 0.005, 0.99),
                geometric(16, 0.001, 0.5),
                vec![0.0],
                vec![0.0],
                damping,
            ),
            (Seasons::Single(_), false) => (
                off_then_geometric(12, 0.001, 0.95),
                vec![0.01, 0.05, 0.2],
                off_then_geometric(12, 0.005, 0.95),
                vec![0.0],
                vec![0.0, 1.0],
            ),
            (Seasons::Single(_), true) => (
                off_then_geometric(8, 0.003, 0.9),
                vec![0.01, 0.05, 0.2],
                off_then_geometric(8, 0.01, 0.9),
                vec![0.0],
                damping,
            ),
            (Seasons::Double(..), false) => (
                vec![0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.6],
                vec![0.01],
                vec![0.0, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.8],
                vec![0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0],
                vec![0.0, 1.0],
            ),
            (Seasons::Double(..), true) => (
                vec![0.0, 0.001, 0.01, 0.03, 0.1, 0.3],
                vec![0.01, 0.05],
                vec![0.0, 0.03, 0.1, 0.2, 0.3, 0.5],
                vec![0.0, 0.1, 0.3, 0.5, 0.7, 1.0],
                vec![0.9, 0.98],
            ),
        };
        Grid {
            alpha,
            beta,
            gamma,
            omega,
            phi,
            lambda: STANDARD_LAMBDAS.to_vec(),
            loss: Loss::default(),
            half_lives: vec![f32::INFINITY],
        }
    }

    /// The half-lives, in rows, of the fits a forecast combines by default:
    /// [`STANDARD_HALF_LIVES`] times the longest seasonal period, from "the last half
    /// cycle counts most" to nearly every row alike. A series without seasons gets one
    /// fit in which every row weighs the same.
    pub fn standard_half_lives(seasons: Seasons) -> Vec<f32> {
        match seasons {
            Seasons::None => vec![f32::INFINITY],
            _ => STANDARD_HALF_LIVES
                .iter()
                .map(|&periods| periods * seasons.longest() as f32)
                .collect(),
        }
    }

    /// The same points, fitted once per half-life (in rows; infinite: every row weighs
    /// the same) and the fits' forecasts averaged. A fit's loss weighs the error of a
    /// row half as much as that of the row `half_life` rows later, so short half-lives
    /// follow a recent change of pattern and long ones average over the whole history.
    pub fn with_half_lives(mut self, half_lives: &[f32]) -> Result<Self, ForecastError> {
        if half_lives.is_empty() {
            return Err(ForecastError::InvalidGrid(
                "at least one half-life is needed",
            ));
        }
        if let Some(&value) = half_lives.iter().find(|h| h.is_nan() || **h <= 0.0) {
            return Err(ForecastError::InvalidGridValue {
                name: "half-life",
                value,
                range: "a positive number of rows",
            });
        }
        self.half_lives = half_lives.to_vec();
        Ok(self)
    }

    /// The half-lives of the fits combined, in rows (one infinite value by default).
    pub fn half_lives(&self) -> &[f32] {
        &self.half_lives
    }

    /// The same points, scored by `loss`.
    pub fn with_loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// What the fit minimizes over these points.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.bases() * self.lambda.len()
    }

    /// Always false: every axis holds at least one value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of recursions a fit runs per series: the points without the `lambda` axis.
    pub fn bases(&self) -> usize {
        self.alpha.len() * self.beta.len() * self.gamma.len() * self.omega.len() * self.phi.len()
    }

    /// The `lambda` axis; point `i` has `lambdas()[i % lambdas().len()]`.
    pub fn lambdas(&self) -> &[f32] {
        &self.lambda
    }

    /// The point at `index`; lambda varies fastest, then phi, omega, gamma, beta, alpha.
    pub fn point(&self, index: usize) -> Option<Params> {
        if index >= self.len() {
            return None;
        }
        let mut rest = index;
        let mut take = |axis: &[f32]| {
            let value = axis[rest % axis.len()];
            rest /= axis.len();
            value
        };
        let lambda = take(&self.lambda);
        let phi = take(&self.phi);
        let omega = take(&self.omega);
        let gamma = take(&self.gamma);
        let beta = take(&self.beta);
        let alpha = take(&self.alpha);
        Some(Params {
            alpha,
            beta,
            gamma,
            omega,
            phi,
            lambda,
        })
    }

    /// Every point in index order.
    pub fn points(&self) -> impl Iterator<Item = Params> + '_ {
        (0..self.len()).filter_map(|i| self.point(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_grids_stay_within_1024_recursions_and_index_in_order() {
        for seasons in [Seasons::None, Seasons::Single(7), Seasons::Double(24, 168)] {
            for damped in [false, true] {
                let grid = Grid::standard(seasons, damped);
                assert!(grid.bases() <= 1024, "{seasons} damped={damped}");
                assert_eq!(grid.len(), grid.bases() * 12);
                assert!(Grid::new(
                    &grid.alpha,
                    &grid.beta,
                    &grid.gamma,
                    &grid.omega,
                    &grid.phi,
                    &grid.lambda
                )
                .is_ok());
            }
        }
        let grid = Grid::new(
            &[0.1, 0.2],
            &[0.0],
            &[0.3, 0.4, 0.5],
            &[0.0],
            &[0.9, 1.0],
            &[0.0, 0.5],
        )
        .unwrap();
        assert_eq!((grid.len(), grid.bases()), (24, 12));
        assert_eq!(grid.point(1).unwrap().lambda, 0.5);
        assert_eq!(grid.point(2).unwrap().phi, 1.0);
        assert_eq!(grid.point(4).unwrap().gamma, 0.4);
        assert_eq!(grid.point(12).unwrap().alpha, 0.2);
        assert_eq!(grid.point(24), None);
        let one = [0.5];
        assert!(Grid::new(&[1.5], &one, &one, &one, &[1.0], &[0.0]).is_err());
        assert!(Grid::new(&one, &one, &one, &one, &[-0.1], &[0.0]).is_err());
        assert!(Grid::new(&[], &one, &one, &one, &[1.0], &[0.0]).is_err());
        assert!(Grid::new(&one, &one, &one, &one, &[1.0], &[1.1]).is_err());
        assert!(Grid::new(&one, &one, &one, &one, &[1.0], &[0.5; 17]).is_err());
    }

    #[test]
    fn half_lives_scale_with_the_longest_period_and_discount_rows() {
        assert_eq!(
            Grid::standard_half_lives(Seasons::Double(24, 168)),
            vec![84.0, 168.0, 336.0, 672.0, 1344.0, 2688.0]
        );
        assert_eq!(
            Grid::standard_half_lives(Seasons::None),
            vec![f32::INFINITY]
        );
        assert_eq!(discount(f32::INFINITY), 1.0);
        let factor = f64::from(discount(168.0));
        assert!((factor.powi(168) - 0.5).abs() < 1e-5, "{factor}");
        let grid = Grid::standard(Seasons::Single(24), false);
        assert_eq!(grid.half_lives(), &[f32::INFINITY]);
        assert!(grid.clone().with_half_lives(&[]).is_err());
        assert!(grid.clone().with_half_lives(&[0.0]).is_err());
        assert!(grid.clone().with_half_lives(&[-1.0]).is_err());
        assert!(grid.clone().with_half_lives(&[0.5]).is_ok());
        assert!(grid.clone().with_half_lives(&[f32::NAN]).is_err());
        let two = grid.with_half_lives(&[12.0, f32::INFINITY]).unwrap();
        assert_eq!(two.half_lives(), &[12.0, f32::INFINITY]);
    }
}
