//! Demand traces: CSV files with a `timestamp` column and one column per series.
//!
//! `timestamp` is ISO-8601 UTC (RFC 3339); the other columns are numbers. A [`Trace`]
//! is one column of such a file; [`Trace::scaled_to_peak`] turns it into request rates
//! by scaling linearly so that its maximum is the peak asked for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ScalerError;
use crate::time::Timestamp;

/// One series of a trace file.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The file it came from.
    pub path: PathBuf,
    /// The column's name.
    pub column: String,
    /// The first row's timestamp.
    pub start: Timestamp,
    /// Time between rows, from the first two timestamps (`None` for a single row).
    pub step: Option<Duration>,
    /// The values, one per row.
    pub values: Vec<f64>,
}

impl Trace {
    /// Scales the values linearly so that their maximum is `peak_rps`.
    pub fn scaled_to_peak(mut self, peak_rps: f64) -> Result<Self, ScalerError> {
        if !(peak_rps.is_finite() && peak_rps > 0.0) {
            return Err(ScalerError::invalid(
                "peak_rps",
                peak_rps,
                "must be a number > 0",
            ));
        }
        let max = self.values.iter().copied().fold(0.0_f64, f64::max);
        if max <= 0.0 {
            return Err(self.error(
                0,
                format!(
                    "column {:?} has no positive value to scale to a peak",
                    self.column
                ),
            ));
        }
        let factor = peak_rps / max;
        for v in &mut self.values {
            *v *= factor;
        }
        Ok(self)
    }

    fn error(&self, line: usize, message: String) -> ScalerError {
        ScalerError::Trace {
            path: self.path.clone(),
            line,
            message,
        }
    }
}

/// Reads column `column` (default: the first value column) of the trace CSV at `path`.
pub fn read_trace(path: &Path, column: Option<&str>) -> Result<Trace, ScalerError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScalerError::io(path, e))?;
    let error = |line: usize, message: String| ScalerError::Trace {
        path: path.to_owned(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(error(
            0,
            "the file is empty; expected a header `timestamp,SERIES...`".into(),
        ));
    };
    let names: Vec<&str> = header.split(',').map(unquote).collect();
    if names
        .first()
        .is_none_or(|n| !n.eq_ignore_ascii_case("timestamp"))
        || names.len() < 2
    {
        return Err(error(
            1,
            "the header must be `timestamp,SERIES...` with at least one series".into(),
        ));
    }
    let index = match column {
        None => 1,
        Some(name) => names
            .iter()
            .skip(1)
            .position(|n| *n == name)
            .map(|i| i + 1)
            .ok_or_else(|| {
                error(
                    1,
                    format!("no column {name:?}; the file has {}", names[1..].join(", ")),
                )
            })?,
    };
    let mut stamps = Vec::with_capacity(2);
    let mut values = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').map(unquote).collect();
        let (Some(stamp), Some(value)) = (fields.first(), fields.get(index)) else {
            return Err(error(
                i + 1,
                format!("expected {} fields, found {}", names.len(), fields.len()),
            ));
        };
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                error(
                    i + 1,
                    format!(
                        "{:?} is not a number >= 0 in column {:?}",
                        value, names[index]
                    ),
                )
            })?;
        if stamps.len() < 2 {
            let parsed = chrono::DateTime::parse_from_rfc3339(stamp).map_err(|e| {
                error(
                    i + 1,
                    format!("timestamp {stamp:?}: {e}; write e.g. 2013-01-01T00:00:00Z"),
                )
            })?;
            let millis = u64::try_from(parsed.timestamp_millis())
                .map_err(|_| error(i + 1, format!("timestamp {stamp:?} is before 1970")))?;
            stamps.push(Timestamp::from_unix_millis(millis));
        }
        values.push(value);
    }
    let Some(&start) = stamps.first() else {
        return Err(error(0, "the file has a header but no rows".into()));
    };
    let step = match stamps.get(1) {
        Some(&second) if second > start => Some(second.saturating_since(start)),
        Some(_) => return Err(error(3, "timestamps must increase".into())),
        None => None,
    };
    Ok(Trace {
        path: path.to_owned(),
        column: names[index].to_owned(),
        start,
        step,
        values,
    })
}

fn unquote(field: &str) -> &str {
    field.trim().trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_a_named_column_and_scales_it() {
        let (_dir, path) =
            write("timestamp,A,B\n2013-01-01T00:00:00Z,1,10\n2013-01-01T01:00:00Z,2,40\n");
        let trace = read_trace(&path, Some("B")).unwrap();
        assert_eq!(trace.column, "B");
        assert_eq!(trace.step, Some(Duration::from_secs(3600)));
        assert_eq!(trace.start.to_rfc3339(), "2013-01-01T00:00:00.000Z");
        let scaled = trace.scaled_to_peak(2000.0).unwrap();
        assert_eq!(scaled.values, [500.0, 2000.0]);
        assert_eq!(read_trace(&path, None).unwrap().column, "A");
    }

    #[test]
    fn errors_name_the_line() {
        let (_dir, path) = write("timestamp,A\n2013-01-01T00:00:00Z,1\n2013-01-01T01:00:00Z,x\n");
        let err = read_trace(&path, None).unwrap_err().to_string();
        assert!(
            err.ends_with(":3: \"x\" is not a number >= 0 in column \"A\""),
            "{err}"
        );
        let err = read_trace(&path, Some("Z")).unwrap_err().to_string();
        assert!(err.contains("no column \"Z\""), "{err}");
    }
}
