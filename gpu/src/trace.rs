//! Reading demand traces: CSV with a header, the first column a timestamp, then one
//! numeric column per series (the format of `shared/traces/*.csv`).

use std::path::Path;

use crate::error::ForecastError;

/// A demand trace: timestamps and one or more named value columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    timestamps: Vec<String>,
    names: Vec<String>,
    columns: Vec<Vec<f32>>,
}

impl Trace {
    /// Reads and parses a trace file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ForecastError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ForecastError::TraceIo {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text)
    }

    /// Parses trace text; blank lines are skipped, every other row needs every column.
    pub fn parse(text: &str) -> Result<Self, ForecastError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        let format = |line: usize, message: String| ForecastError::TraceFormat { line, message };
        let (_, header) = lines.next().ok_or_else(|| {
            format(
                1,
                "empty file; expected a header like timestamp,value".into(),
            )
        })?;
        let names: Vec<String> = header
            .split(',')
            .skip(1)
            .map(|n| n.trim().to_string())
            .collect();
        if names.is_empty() {
            return Err(format(
                1,
                "need a timestamp column and at least one value column".into(),
            ));
        }
        let mut trace = Trace {
            timestamps: Vec::new(),
            columns: vec![Vec::new(); names.len()],
            names,
        };
        for (line, row) in lines {
            let mut fields = row.split(',').map(str::trim);
            let timestamp = fields.next().unwrap_or_default();
            let mut count = 0;
            for (column, field) in trace.columns.iter_mut().zip(fields.by_ref()) {
                let value = field
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format(line, format!("{field:?} is not a finite number")))?;
                column.push(value);
                count += 1;
            }
            if count != trace.names.len() || fields.next().is_some() {
                return Err(format(
                    line,
                    format!("expected {} fields like the header", trace.names.len() + 1),
                ));
            }
            trace.timestamps.push(timestamp.to_string());
        }
        Ok(trace)
    }

    /// Keeps only the last `rows` rows (all of them if there are fewer).
    pub fn tail(mut self, rows: usize) -> Self {
        let skip = self.timestamps.len().saturating_sub(rows);
        self.timestamps.drain(..skip);
        self.columns.iter_mut().for_each(|c| drop(c.drain(..skip)));
        self
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Timestamps as written in the file.
    pub fn timestamps(&self) -> &[String] {
        &self.timestamps
    }

    /// Names of the value columns, in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values of the named column.
    pub fn column(&self, name: &str) -> Option<&[f32]> {
        let index = self.names.iter().position(|n| n == name)?;
        Some(&self.columns[index])
    }

    /// The named column, or the first value column when `name` is `None`, with its name.
    pub fn select(&self, name: Option<&str>) -> Result<(&str, &[f32]), ForecastError> {
        let index = match name {
            Some(name) => self.names.iter().position(|n| n == name).ok_or_else(|| {
                ForecastError::UnknownColumn {
                    column: name.to_string(),
                    available: self.names.join(", "),
                }
            })?,
            None => 0,
        };
        match (self.names.get(index), self.columns.get(index)) {
            (Some(name), Some(values)) => Ok((name, values)),
            _ => Err(ForecastError::TraceFormat {
                line: 1,
                message: "no value column".into(),
            }),
        }
    }

    /// Every (name, values) column, in file order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &[f32])> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.columns.iter().map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_and_reports_bad_lines() {
        let trace = Trace::parse("timestamp,a,b\r\nt0,1,2\nt1,3,4\n\n").unwrap();
        assert_eq!(trace.column("b"), Some(&[2.0, 4.0][..]));
        assert_eq!(trace.clone().tail(1).column("a"), Some(&[3.0][..]));
        assert_eq!(trace.len(), 2);
        assert_eq!(trace.select(None), Ok(("a", &[1.0, 3.0][..])));
        assert_eq!(trace.select(Some("b")), Ok(("b", &[2.0, 4.0][..])));
        assert_eq!(
            trace.select(Some("c")),
            Err(ForecastError::UnknownColumn {
                column: "c".into(),
                available: "a, b".into()
            })
        );
        let bad = Trace::parse("timestamp,a\nt0,1\nt1,x\n");
        assert!(matches!(
            bad,
            Err(ForecastError::TraceFormat { line: 3, .. })
        ));
        let short = Trace::parse("timestamp,a,b\nt0,1\n");
        assert!(matches!(
            short,
            Err(ForecastError::TraceFormat { line: 2, .. })
        ));
    }
}
