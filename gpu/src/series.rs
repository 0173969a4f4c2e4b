//! Validated input series: the values and their seasonal periods.
//!
//! A [`Series`] is checked once on construction (finite values, periods in order,
//! enough points for the initial state), so fitting it cannot fail later.

use std::fmt;

use crate::error::ForecastError;

/// The seasonal structure of a series, in steps of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seasons {
    /// No seasonality: Holt's linear (optionally damped) trend.
    None,
    /// One seasonal period, e.g. 24 for hourly data with a daily cycle.
    Single(u32),
    /// Taylor's double seasonal form: a short and a long period, e.g. 24 and 168.
    Double(u32, u32),
}

impl Seasons {
    /// Builds seasons from a list of periods: none, one, or two in increasing order.
    pub fn from_periods(periods: &[u32]) -> Result<Self, ForecastError> {
        let seasons = match *periods {
            [] => Seasons::None,
            [m] => Seasons::Single(m),
            [m1, m2] => Seasons::Double(m1, m2),
            _ => {
                return Err(ForecastError::InvalidSeasons {
                    seasons: format!("{periods:?}"),
                    hint: "give at most two periods",
                })
            }
        };
        seasons.validate()?;
        Ok(seasons)
    }

    /// Checks the periods: each at least 2, and a double's short period below its long one.
    pub fn validate(self) -> Result<(), ForecastError> {
        let hint = match self {
            Seasons::None => return Ok(()),
            Seasons::Single(m) if m < 2 => "a period must be at least 2 steps",
            Seasons::Double(m1, _) if m1 < 2 => "a period must be at least 2 steps",
            Seasons::Double(m1, m2) if m2 <= m1 => "list the shorter period first, e.g. 24,168",
            _ => return Ok(()),
        };
        Err(ForecastError::InvalidSeasons {
            seasons: self.to_string(),
            hint,
        })
    }

    /// The short period (0 when there is none).
    pub fn short(self) -> u32 {
        match self {
            Seasons::None => 0,
            Seasons::Single(m) | Seasons::Double(m, _) => m,
        }
    }

    /// The long period of a double season (0 otherwise).
    pub fn long(self) -> u32 {
        match self {
            Seasons::Double(_, m2) => m2,
            _ => 0,
        }
    }

    /// The longest period, or 1 without seasonality; initialization averages whole periods of it.
    pub fn longest(self) -> usize {
        self.short().max(self.long()).max(1) as usize
    }

    /// Seasonal state values a model carries: short period plus long period.
    pub fn state_len(self) -> usize {
        self.short() as usize + self.long() as usize
    }

    /// Fewest points a series needs: two full periods of the longest season, and at least 4.
    pub fn min_len(self) -> usize {
        (2 * self.longest()).max(4)
    }
}

impl fmt::Display for Seasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seasons::None => f.write_str("none"),
            Seasons::Single(m) => write!(f, "{m}"),
            Seasons::Double(m1, m2) => write!(f, "{m1},{m2}"),
        }
    }
}

/// One demand series, oldest value first, with its seasonal periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    values: Vec<f32>,
    seasons: Seasons,
}

impl Series {
    /// Validates and wraps a series.
    pub fn new(values: Vec<f32>, seasons: Seasons) -> Result<Self, ForecastError> {
        seasons.validate()?;
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ForecastError::NonFiniteValue { index, value });
        }
        let needed = seasons.min_len();
        if values.len() < needed || u32::try_from(values.len()).is_err() {
            return Err(ForecastError::SeriesTooShort {
                len: values.len(),
                needed,
            });
        }
        Ok(Series { values, seasons })
    }

    /// The values, oldest first.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The seasonal periods.
    pub fn seasons(&self) -> Seasons {
        self.seasons
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a valid series has at least four points.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_periods_and_short_series() {
        assert!(Seasons::from_periods(&[168, 24]).is_err());
        assert!(Seasons::from_periods(&[1]).is_err());
        assert!(Seasons::from_periods(&[1, 2, 3]).is_err());
        assert_eq!(
            Seasons::from_periods(&[24, 168]),
            Ok(Seasons::Double(24, 168))
        );
        let short = Series::new(vec![1.0; 47], Seasons::Single(24));
        assert_eq!(
            short,
            Err(ForecastError::SeriesTooShort {
                len: 47,
                needed: 48
            })
        );
        let nan = Series::new(vec![1.0, f32::NAN, 1.0, 1.0], Seasons::None);
        assert!(matches!(
            nan,
            Err(ForecastError::NonFiniteValue { index: 1, .. })
        ));
    }
}
