//! The parameter grid searched by every fit: the cartesian product of one list per
//! smoothing parameter, enumerated in a fixed order so both backends index points alike.

use crate::error::ForecastError;
use crate::series::Seasons;

/// One point of the grid: the smoothing parameters of a Holt-Winters model.
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
    /// Trend damping, in (0, 1]; 1 is an undamped trend.
    pub phi: f32,
}

/// Values for each smoothing parameter; the grid is their cartesian product.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    alpha: Vec<f32>,
    beta: Vec<f32>,
    gamma: Vec<f32>,
    omega: Vec<f32>,
    phi: Vec<f32>,
}

/// Geometric spacing from `lo` to `hi` with `k` values (`k >= 2`).
fn geometric(k: usize, lo: f32, hi: f32) -> Vec<f32> {
    let ratio = (f64::from(hi) / f64::from(lo)).powf(1.0 / (k as f64 - 1.0));
    (0..k)
        .map(|i| (f64::from(lo) * ratio.powi(i as i32)) as f32)
        .collect()
}

impl Grid {
    /// Builds a grid from one list per parameter; parameters a model does not use
    /// (gamma without seasons, omega without a second season) should get one value.
    pub fn new(
        alpha: &[f32],
        beta: &[f32],
        gamma: &[f32],
        omega: &[f32],
        phi: &[f32],
    ) -> Result<Self, ForecastError> {
        const UNIT: &str = "a value in [0, 1]";
        let axes: [(&'static str, &[f32], bool); 5] = [
            ("alpha", alpha, false),
            ("beta", beta, false),
            ("gamma", gamma, false),
            ("omega", omega, false),
            ("phi", phi, true),
        ];
        for (name, values, is_phi) in axes {
            if values.is_empty() {
                return Err(ForecastError::InvalidGrid(
                    "every parameter needs at least one value",
                ));
            }
            for &value in values {
                let ok = if is_phi {
                    value > 0.0 && value <= 1.0
                } else {
                    (0.0..=1.0).contains(&value)
                };
                if !ok {
                    let range = if is_phi { "a value in (0, 1]" } else { UNIT };
                    return Err(ForecastError::InvalidGridValue { name, value, range });
                }
            }
        }
        let grid = Grid {
            alpha: alpha.to_vec(),
            beta: beta.to_vec(),
            gamma: gamma.to_vec(),
            omega: omega.to_vec(),
            phi: phi.to_vec(),
        };
        let fits_u32 = alpha
            .len()
            .checked_mul(beta.len())
            .and_then(|n| n.checked_mul(gamma.len()))
            .and_then(|n| n.checked_mul(omega.len()))
            .and_then(|n| n.checked_mul(phi.len()))
            .is_some_and(|n| u32::try_from(n).is_ok());
        if !fits_u32 {
            return Err(ForecastError::InvalidGrid("more than 2^32 points"));
        }
        Ok(grid)
    }

    /// A 1,024-point grid suited to the given seasons, with a damped trend when asked.
    pub fn standard(seasons: Seasons, damped: bool) -> Self {
        let beta4 = [0.0, 0.01, 0.05, 0.2];
        let phi = if damped {
            vec![0.8, 0.9, 0.95, 0.98]
        } else {
            vec![1.0]
        };
        let (alpha, beta, gamma, omega) = match (seasons, damped) {
            (Seasons::None, false) => (
                geometric(32, 0.005, 0.99),
                geometric(32, 0.001, 0.5),
                vec![0.0],
                vec![0.0],
            ),
            (Seasons::None, true) => (
                geometric(16, 0.005, 0.99),
                geometric(16, 0.001, 0.5),
                vec![0.0],
                vec![0.0],
            ),
            (Seasons::Single(_), false) => (
                geometric(16, 0.005, 0.95),
                beta4.to_vec(),
                geometric(16, 0.005, 0.95),
                vec![0.0],
            ),
            (Seasons::Single(_), true) => (
                geometric(8, 0.01, 0.9),
                beta4.to_vec(),
                geometric(8, 0.01, 0.9),
                vec![0.0],
            ),
            (Seasons::Double(..), false) => (
                geometric(8, 0.01, 0.9),
                beta4.to_vec(),
                geometric(8, 0.01, 0.9),
                vec![0.01, 0.05, 0.2, 0.5],
            ),
            (Seasons::Double(..), true) => (
                geometric(8, 0.01, 0.9),
                vec![0.0, 0.05],
                geometric(8, 0.01, 0.9),
                vec![0.01, 0.05, 0.2, 0.5],
            ),
        };
        let phi = match (seasons, damped) {
            (Seasons::Double(..), true) => vec![0.9, 0.98],
            _ => phi,
        };
        Grid {
            alpha,
            beta,
            gamma,
            omega,
            phi,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.alpha.len() * self.beta.len() * self.gamma.len() * self.omega.len() * self.phi.len()
    }

    /// Always false: every axis holds at least one value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point at `index`; phi varies fastest, then omega, gamma, beta, alpha.
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
    fn standard_grids_have_1024_points_and_index_in_order() {
        for seasons in [Seasons::None, Seasons::Single(7), Seasons::Double(24, 168)] {
            for damped in [false, true] {
                let grid = Grid::standard(seasons, damped);
                assert_eq!(grid.len(), 1024, "{seasons} damped={damped}");
                assert!(
                    Grid::new(&grid.alpha, &grid.beta, &grid.gamma, &grid.omega, &grid.phi).is_ok()
                );
            }
        }
        let grid = Grid::new(&[0.1, 0.2], &[0.0], &[0.3, 0.4, 0.5], &[0.0], &[0.9, 1.0]).unwrap();
        assert_eq!(grid.len(), 12);
        assert_eq!(grid.point(1).unwrap().phi, 1.0);
        assert_eq!(grid.point(2).unwrap().gamma, 0.4);
        assert_eq!(grid.point(6).unwrap().alpha, 0.2);
        assert_eq!(grid.point(12), None);
        assert!(Grid::new(&[1.5], &[0.0], &[0.0], &[0.0], &[1.0]).is_err());
        assert!(Grid::new(&[0.5], &[0.0], &[0.0], &[0.0], &[0.0]).is_err());
        assert!(Grid::new(&[], &[0.0], &[0.0], &[0.0], &[1.0]).is_err());
    }
}
