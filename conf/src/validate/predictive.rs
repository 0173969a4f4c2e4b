//! A scaler's `predictive` table: one or two seasons (the second a multiple of the
//! first, as Taylor's double-seasonal model needs), enough history to fit them, and
//! a quantile in [0.5, 1).

use std::time::Duration;

use toml::Spanned;

use crate::raw::RawPredictive;
use crate::source::Source;
use crate::{ConfigError, FitLoss, Predictive};

use super::value;

/// Hint for a malformed seasons list.
const SEASONS_HINT: &str =
    "e.g. seasons = [\"1d\"], or [\"1d\", \"7d\"] for daily and weekly patterns";

/// Hint for a malformed half-life.
const HALF_LIVES_HINT: &str = "e.g. half_lives = [\"3d 12h\", \"7d\", \"14d\"], or [] for one fit \
     weighing every row alike";

/// The `predictive` table of a scaler, with defaults for what it leaves out.
pub(super) fn predictive(
    raw: &Spanned<RawPredictive>,
    source: &Source<'_>,
) -> Result<Predictive, ConfigError> {
    let table = raw.get_ref();
    let defaults = Predictive::default();
    let seasons = match &table.seasons {
        Some(seasons) => self::seasons(seasons, source)?,
        None => defaults.seasons,
    };
    let history =
        value::positive_duration_or(table.history.as_ref(), "history", defaults.history, source)?;
    let longest = seasons.iter().max().copied().unwrap_or_default();
    if history < longest.saturating_mul(2) {
        let span = table
            .history
            .as_ref()
            .map(Spanned::span)
            .or_else(|| table.seasons.as_ref().map(Spanned::span))
            .unwrap_or_else(|| raw.span());
        return Err(source.error(
            span,
            format!(
                "history ({}) is shorter than two of the longest season ({})",
                value::written(history),
                value::written(longest)
            ),
            format!(
                "the model needs two full seasons: set history = \"{}\" or more",
                value::written(longest.saturating_mul(2))
            ),
        ));
    }
    Ok(Predictive {
        enabled: table.enabled.unwrap_or(defaults.enabled),
        seasons,
        history,
        quantile: value::number_or(
            table.quantile.as_ref(),
            "quantile",
            ("from 0.5 up to but not including 1", |q| {
                (0.5..1.0).contains(&q)
            }),
            defaults.quantile,
            "e.g. quantile = 0.9 provisions for the 90th percentile of the forecast",
            source,
        )?,
        refit_every: value::positive_duration_or(
            table.refit_every.as_ref(),
            "refit_every",
            defaults.refit_every,
            source,
        )?,
        damped: table.damped.unwrap_or(defaults.damped),
        loss: match &table.loss {
            Some(loss) => FitLoss::from_name(loss.get_ref()).ok_or_else(|| {
                source.error(
                    loss.span(),
                    format!("unknown loss \"{}\"", loss.get_ref()),
                    "use \"absolute\" (the sum of absolute one-step errors) or \"squared\" \
                     (their sum of squares)",
                )
            })?,
            None => defaults.loss,
        },
        half_lives: match &table.half_lives {
            Some(list) => Some(
                list.get_ref()
                    .iter()
                    .map(|entry| {
                        value::positive_duration(entry, "half-life", HALF_LIVES_HINT, source)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            None => defaults.half_lives,
        },
        seasonal_copy: table.seasonal_copy.unwrap_or(defaults.seasonal_copy),
    })
}

/// One or two positive periods, the second a longer multiple of the first.
fn seasons(
    raw: &Spanned<Vec<Spanned<String>>>,
    source: &Source<'_>,
) -> Result<Vec<Duration>, ConfigError> {
    let entries = raw.get_ref();
    if entries.is_empty() || entries.len() > 2 {
        return Err(source.error(
            raw.span(),
            format!(
                "seasons lists {} periods; one or two are supported",
                entries.len()
            ),
            SEASONS_HINT,
        ));
    }
    let mut seasons = Vec::with_capacity(entries.len());
    for entry in entries {
        seasons.push(value::positive_duration(
            entry,
            "season",
            SEASONS_HINT,
            source,
        )?);
    }
    if let (Some(first), Some(second), Some(entry)) =
        (seasons.first(), seasons.get(1), entries.get(1))
    {
        if second <= first || second.as_nanos() % first.as_nanos() != 0 {
            return Err(source.error(
                entry.span(),
                format!(
                    "season {} is not a longer multiple of the first season, {}",
                    value::written(*second),
                    value::written(*first)
                ),
                "the second season must span a whole number of first seasons, e.g. [\"1d\", \"7d\"]",
            ));
        }
    }
    Ok(seasons)
}
