//! CPU time of other processes over a load run's measured window.
//!
//! With `--cpu-pid`, `loadgen` reads each process's user and system time
//! (all its threads, from `/proc/PID/stat`) when the measured window opens and
//! when it closes, and reports the sum and what it comes to per response. Under
//! a closed loop every process on the machine competes for the same cores, so
//! requests per second also measure how the scheduler shared them out; CPU time
//! per request measures what the proxy itself spends on each one.

use std::time::Instant;

use nix::unistd::{sysconf, SysconfVar};
use serde::Serialize;

use crate::error::SetupError;

/// CPU time of the processes given with `--cpu-pid` over the measured window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuUse {
    /// User plus system seconds of all of them, all threads.
    pub seconds: f64,
    /// The wall-clock time between the two readings, seconds.
    pub window_s: f64,
    /// `seconds` divided by the responses of the window, microseconds.
    pub per_response_us: Option<f64>,
}

/// A reading of the processes' CPU time, to be subtracted from a later one.
#[derive(Debug, Clone, Copy)]
pub struct CpuReading {
    ticks: u64,
    at: Instant,
}

/// Reads the summed user and system time of `pids`; `None` when no pid was given.
pub fn read(pids: &[u32]) -> Result<Option<CpuReading>, SetupError> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut ticks = 0;
    for &pid in pids {
        let stat =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| SetupError::Proc {
                pid,
                file: "stat",
                reason: e.to_string(),
            })?;
        ticks += user_and_system_ticks(&stat).ok_or_else(|| SetupError::Proc {
            pid,
            file: "stat",
            reason: "cannot parse utime and stime".into(),
        })?;
    }
    Ok(Some(CpuReading {
        ticks,
        at: Instant::now(),
    }))
}

/// What the processes spent between `before` and `after`, given the responses
/// per second of the window.
pub fn used(before: CpuReading, after: CpuReading, rate: f64) -> CpuUse {
    let seconds = after.ticks.saturating_sub(before.ticks) as f64 / clock_ticks_per_second();
    let window_s = after.at.saturating_duration_since(before.at).as_secs_f64();
    let responses = rate * window_s;
    CpuUse {
        seconds,
        window_s,
        per_response_us: (responses >= 1.0).then(|| seconds * 1e6 / responses),
    }
}

/// Sleeps until `at` (returns at once when it has passed).
pub fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// The unit of `/proc/PID/stat`'s times (`USER_HZ`, 100 on Linux's usual
/// architectures).
fn clock_ticks_per_second() -> f64 {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(hz)) if hz > 0 => hz as f64,
        _ => 100.0,
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn user_and_system_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn parses_user_and_system_time_after_the_command_name() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194304 100 0 0 0 37 5 0 0 20 0 2 0 9 1 1";
        assert_eq!(user_and_system_ticks(stat), Some(42));
        assert_eq!(user_and_system_ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn counts_the_time_a_busy_thread_spends() {
        let me = [std::process::id()];
        let before = read(&me).unwrap().unwrap();
        let spin_until = Instant::now() + Duration::from_millis(300);
        let mut x = 0u64;
        while Instant::now() < spin_until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = read(&me).unwrap().unwrap();
        let cpu = used(before, after, 1000.0);
        assert!(
            cpu.seconds >= 0.2 && cpu.seconds <= cpu.window_s + 0.05,
            "{cpu:?}"
        );
        let per = cpu.per_response_us.unwrap();
        assert!((per - cpu.seconds * 1e6 / (1000.0 * cpu.window_s)).abs() < 1e-6);
        assert_eq!(read(&[]).unwrap().map(|r| r.ticks), None);
    }
}
