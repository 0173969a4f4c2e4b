//! Run records as `compare.sh` collects them: one JSON object a line, each a
//! `loadgen` report (or a capacity record) with `tags` naming its section,
//! target, round and rate. Only the fields the tables use are read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::CompareError;

/// One measured run, as far as the tables need it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Run {
    /// Section, target, round, rate.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Responses per second over the measured window.
    #[serde(default)]
    pub achieved_rate: f64,
    /// Requests planned and sent in the window.
    #[serde(default)]
    pub requests: u64,
    /// Responses with a 2xx/3xx status (idle runs: connections that got one).
    #[serde(default)]
    pub ok: u64,
    /// Failures and bad statuses by kind.
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    /// Planned sends that never left.
    #[serde(default)]
    pub unsent: u64,
    /// Latency percentiles in microseconds.
    pub latency_us: Option<Latency>,
    /// Share of responses over a threshold.
    pub over: Option<Over>,
    /// Idle runs: resident size before and while holding, KiB.
    pub rss_kib: Option<Rss>,
    /// Idle runs: connections asked for.
    #[serde(default)]
    pub connections: u64,
    /// Idle runs: connections still open after the hold.
    #[serde(default)]
    pub still_open: u64,
    /// CPU time of the proxy under test over the window (`loadgen --cpu-pid`).
    pub cpu: Option<Cpu>,
    /// Capacity records: the derivation, see [`super::capacity`].
    pub capacity: Option<super::capacity::Capacity>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub struct Latency {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

/// CPU time of the processes `loadgen --cpu-pid` was given.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Cpu {
    /// Their user and system time per response, microseconds.
    pub per_response_us: Option<f64>,
}

/// The share of responses slower than a threshold.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Over {
    /// The threshold in microseconds.
    pub threshold_us: f64,
    /// Fraction slower than it.
    pub fraction: f64,
}

/// Resident size before and while holding idle connections, KiB.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Rss {
    /// Before opening.
    pub before: u64,
    /// While holding.
    pub held: u64,
}

impl Run {
    /// The value of tag `key`, or "" when absent.
    pub fn tag(&self, key: &str) -> &str {
        self.tags.get(key).map_or("", String::as_str)
    }

    /// Failures and bad statuses in all.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Reads every record of a runs file; empty lines are skipped.
pub fn load(path: &Path) -> Result<Vec<Run>, CompareError> {
    let text = std::fs::read_to_string(path).map_err(|source| CompareError::Io {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| CompareError::Json {
                path: path.to_owned(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// The runs of `section` against `target` (and, when given, at `rate`), in file order.
pub fn select<'a>(
    runs: &'a [Run],
    section: &str,
    target: &str,
    rate: Option<&str>,
) -> Vec<&'a Run> {
    runs.iter()
        .filter(|r| r.tag("section") == section && r.tag("target") == target)
        .filter(|r| rate.is_none_or(|rate| r.tag("rate") == rate))
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn loads_and_selects_loadgen_reports() {
        let dir = std::env::temp_dir().join(format!("compare-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("runs.jsonl");
        let lines = [
            r#"{"mode":"open","achieved_rate":999.5,"errors":{"timeout":2},"latency_us":{"count":1,"min":1,"mean":2,"p50":3,"p90":4,"p99":5,"p99_9":6,"max":7},"tags":{"section":"latency","target":"haproxy","rate":"1000","round":"1"}}"#,
            "",
            r#"{"mode":"idle","ok":10,"connections":10,"still_open":9,"rss_kib":{"before":1,"held":2},"tags":{"section":"memory","target":"nginx"}}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let runs = load(&path).unwrap();
        assert_eq!(runs.len(), 2);
        let latency = select(&runs, "latency", "haproxy", Some("1000"));
        assert_eq!(latency.len(), 1);
        assert_eq!(latency[0].latency_us.unwrap().p99_9, 6.0);
        assert_eq!(latency[0].error_total(), 2);
        assert!(select(&runs, "latency", "haproxy", Some("5000")).is_empty());
        assert_eq!(select(&runs, "memory", "nginx", None)[0].still_open, 9);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            load(&path),
            Err(CompareError::Json { line: 1, .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
