//! Open-loop pacing.
//!
//! [`Schedule`] gives every request a planned send time at a constant arrival
//! rate; a free connection claims the next planned time, so when all are busy
//! the backlog waits in order and its wait counts in the latency (no
//! coordinated omission). [`Timer`] sleeps until a planned time on a timerfd:
//! tokio's timer ticks in whole milliseconds and would add up to one to every
//! measured latency.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

/// The planned send times of one thread's share of an open-loop run.
///
/// With `threads` threads, thread `index` owns slots `index`, `index + threads`,
/// ... of the global sequence `start + k / rate`, so the threads interleave.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    end: Instant,
    give_up: Instant,
    index: u64,
    threads: u64,
    rate: f64,
    next: Cell<u64>,
}

impl Schedule {
    /// Plans `rate` requests per second over all threads from `start` until
    /// `end`; a backlog still waiting at `give_up` is left unsent.
    pub fn new(
        start: Instant,
        end: Instant,
        give_up: Instant,
        index: usize,
        threads: usize,
        rate: f64,
    ) -> Self {
        Self {
            start,
            end,
            give_up,
            index: index as u64,
            threads: threads.max(1) as u64,
            rate,
            next: Cell::new(0),
        }
    }

    /// Claims the next planned send time at `now`; `None` once the plan has
    /// ended, or once `now` is past `give_up` (an overloaded target's backlog).
    pub fn claim(&self, now: Instant) -> Option<Instant> {
        let k = self.next.get();
        let at = self.slot(k);
        if at >= self.end || now >= self.give_up {
            return None;
        }
        self.next.set(k + 1);
        Some(at)
    }

    /// Planned times before the end that no connection claimed (the backlog left).
    pub fn unclaimed(&self) -> u64 {
        let span = self.end.saturating_duration_since(self.start).as_secs_f64();
        let due = ((span * self.rate - self.index as f64) / self.threads as f64).ceil();
        (due.max(0.0) as u64).saturating_sub(self.next.get())
    }

    fn slot(&self, k: u64) -> Instant {
        let global = k * self.threads + self.index;
        self.start + Duration::from_secs_f64(global as f64 / self.rate)
    }
}

/// The timerfd, in the form tokio's `AsyncFd` registers.
#[derive(Debug)]
struct TimerHandle(TimerFd);

impl AsRawFd for TimerHandle {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot timer with microsecond precision, registered with the runtime.
#[derive(Debug)]
pub struct Timer {
    fd: AsyncFd<TimerHandle>,
}

impl Timer {
    /// Creates the timer; must be called inside a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<Self> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // `AsyncFd::new` is deprecated because a borrowed descriptor could be
        // closed while registered; `TimerHandle` owns this one until the
        // `AsyncFd` drops it, and the replacement (`register`) is `unsafe`,
        // which this crate forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::new(TimerHandle(fd))?;
        Ok(Self { fd })
    }

    /// Returns at `deadline` (at once when it has passed).
    pub async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait < Duration::from_micros(1) {
            return Ok(());
        }
        self.fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(wait)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(io::Error::from)?;
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

/// Asks the kernel to fire this thread's timers at most 1 µs late (the default
/// slack is 50 µs, which would show up in every latency).
pub fn tighten_timer_slack() -> io::Result<()> {
    nix::sys::prctl::set_timerslack(1_000).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_interleave_and_the_plan_ends() {
        let start = Instant::now();
        let end = start + Duration::from_millis(10);
        let give_up = end + Duration::from_secs(1);
        let a = Schedule::new(start, end, give_up, 0, 2, 1000.0);
        let b = Schedule::new(start, end, give_up, 1, 2, 1000.0);
        assert_eq!(a.claim(start), Some(start));
        assert_eq!(b.claim(start), Some(start + Duration::from_millis(1)));
        assert_eq!(a.claim(start), Some(start + Duration::from_millis(2)));
        assert_eq!(a.unclaimed(), 3);
        assert_eq!(b.unclaimed(), 4);
        let mut claimed = 2;
        while a.claim(end).is_some() {
            claimed += 1;
        }
        assert_eq!((claimed, a.unclaimed()), (5, 0));
    }

    #[test]
    fn a_backlog_past_give_up_is_left_unsent() {
        let start = Instant::now();
        let end = start + Duration::from_millis(10);
        let s = Schedule::new(start, end, end, 0, 1, 1000.0);
        assert!(s.claim(start).is_some());
        assert_eq!(s.claim(end), None);
        assert_eq!(s.unclaimed(), 9);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_timer_wakes_on_time() {
        let timer = Timer::new().unwrap();
        for micros in [0u64, 300, 1500] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            timer.sleep_until(deadline).await.unwrap();
            let late = Instant::now().saturating_duration_since(deadline);
            assert!(Instant::now() >= deadline);
            assert!(late < Duration::from_millis(20), "{late:?} late");
        }
    }
}
