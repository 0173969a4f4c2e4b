//! Open- and closed-loop load runs.
//!
//! The connections are split over `threads` OS threads, each a current-thread
//! tokio runtime driving its connections as local tasks. Every thread opens its
//! connections, then all start at one shared instant; only requests planned
//! after the warmup are recorded; planning stops at the end of the window and
//! requests in flight finish (within the timeout). The threads' recorders are
//! merged into one [`Report`].

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::task::LocalSet;

use crate::connection::{Connection, Reply};
use crate::error::{RequestError, SetupError};
use crate::pacing::{tighten_timer_slack, Schedule, Timer};
use crate::report::{Over, Report};
use crate::stats::Recorder;
use crate::target::Target;

/// Time between planning the start and starting, for threads to connect.
const LEAD_TIME: Duration = Duration::from_millis(100);
/// Pause after a failed connect in closed loop, so a dead target is not spun on.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// A constant arrival rate in requests per second, whatever the responses do.
    Open {
        /// Requests per second over all connections.
        rate: f64,
    },
    /// Each connection sends its next request as soon as the last one is answered.
    Closed,
}

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the load goes.
    pub target: Target,
    /// Open or closed loop.
    pub mode: Mode,
    /// Keep-alive connections in all.
    pub connections: usize,
    /// Load threads.
    pub threads: usize,
    /// The measured window.
    pub duration: Duration,
    /// Unmeasured load before the window.
    pub warmup: Duration,
    /// Closed loop only: stop after this many requests in all, warmup included
    /// (the window still caps the run). A fixed count makes per-request counts
    /// of a profiled target (instructions, system calls) exact.
    pub requests: Option<u64>,
    /// Longest wait for one response.
    pub timeout: Duration,
    /// Report the share of responses slower than this.
    pub count_over: Option<Duration>,
    /// Processes whose CPU time over the measured window goes into the report.
    pub cpu_pids: Vec<u32>,
    /// Labels copied into the report.
    pub tags: BTreeMap<String, String>,
}

impl Plan {
    /// Checks the numbers make a run that can work.
    pub fn validate(&self) -> Result<(), SetupError> {
        let bad = |option, reason: &str| {
            Err(SetupError::Option {
                option,
                reason: reason.to_owned(),
            })
        };
        if self.connections == 0 {
            return bad("--connections", "must be at least 1");
        }
        if self.threads == 0 || self.threads > self.connections {
            return bad("--threads", "must be between 1 and --connections");
        }
        if self.duration.is_zero() {
            return bad("--duration", "must be longer than 0s");
        }
        if let Mode::Open { rate } = self.mode {
            if !(rate.is_finite() && rate > 0.0) {
                return bad("--rate", "must be a positive number of requests per second");
            }
            if self.requests.is_some() {
                return bad("--requests", "works in closed loop only (without --rate)");
            }
        }
        Ok(())
    }
}

/// Runs `plan` to the end and summarises it.
pub fn run(plan: &Plan) -> Result<Report, SetupError> {
    plan.validate()?;
    let start = Instant::now() + LEAD_TIME;
    let window = (start + plan.warmup, start + plan.warmup + plan.duration);
    let (outcomes, readings) = std::thread::scope(|scope| {
        // The CPU readings are taken on their own thread, at the window's edges.
        let cpu = (!plan.cpu_pids.is_empty()).then(|| {
            scope.spawn(move || -> Result<_, SetupError> {
                crate::cpu::sleep_until(window.0);
                let before = crate::cpu::read(&plan.cpu_pids)?;
                crate::cpu::sleep_until(window.1);
                let after = crate::cpu::read(&plan.cpu_pids)?;
                Ok(before.zip(after))
            })
        });
        let mut handles = Vec::with_capacity(plan.threads);
        for index in 0..plan.threads {
            let share = plan.connections / plan.threads
                + usize::from(index < plan.connections % plan.threads);
            let handle = std::thread::Builder::new()
                .name(format!("loadgen-{index}"))
                .spawn_scoped(scope, move || load_thread(plan, index, share, start))
                .map_err(|source| SetupError::System {
                    what: "a load thread",
                    source,
                })?;
            handles.push(handle);
        }
        let outcomes = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| SetupError::Thread("a load thread panicked".into()))?
            })
            .collect::<Result<Vec<_>, SetupError>>()?;
        let readings = match cpu {
            Some(h) => h
                .join()
                .map_err(|_| SetupError::Thread("the CPU reader panicked".into()))??,
            None => None,
        };
        Ok::<_, SetupError>((outcomes, readings))
    })?;
    let mut merged = Recorder::new()?;
    let mut unsent = 0;
    for (recorder, left) in &outcomes {
        merged.merge(recorder)?;
        unsent += left;
    }
    let mut report = report(plan, &merged, unsent, start + plan.warmup);
    report.cpu =
        readings.map(|(before, after)| crate::cpu::used(before, after, report.achieved_rate));
    Ok(report)
}

fn report(plan: &Plan, recorder: &Recorder, unsent: u64, measure_from: Instant) -> Report {
    // An overloaded target's backlog is answered after the window: the rate
    // counts the time until the last answer, not just the window.
    let span = recorder
        .last_response()
        .map_or(plan.duration, |last| {
            last.saturating_duration_since(measure_from)
        })
        .max(plan.duration);
    let counts = Report::counts(recorder);
    let (mode, target_rate) = match plan.mode {
        Mode::Open { rate } => ("open", Some(rate)),
        Mode::Closed => ("closed", None),
    };
    Report {
        mode,
        url: plan.target.url.clone(),
        connections: plan.connections,
        threads: plan.threads,
        duration_s: plan.duration.as_secs_f64(),
        warmup_s: plan.warmup.as_secs_f64(),
        target_rate,
        requests: recorder.sent(),
        responses: recorder.responses(),
        ok: counts.ok,
        errors: counts.errors,
        error_total: counts.error_total,
        statuses: counts.statuses,
        unsent,
        achieved_rate: recorder.responses() as f64 / span.as_secs_f64(),
        latency_us: recorder.latency(),
        send_lag_us: target_rate.map(|_| recorder.lag()),
        over: plan.count_over.map(|t| Over {
            threshold_us: t.as_secs_f64() * 1e6,
            fraction: recorder.fraction_over(t),
        }),
        cpu: None,
        tags: plan.tags.clone(),
    }
}

/// How one thread's connections decide when to send.
#[derive(Debug)]
enum Pace {
    Open(Schedule),
    /// Until `end`, or until `left` requests are used up.
    Closed {
        end: Instant,
        left: Cell<u64>,
    },
}

/// What a thread's connection tasks share.
#[derive(Debug)]
struct Shared {
    target: Target,
    pace: Pace,
    measure_from: Instant,
    timeout: Duration,
    recorder: RefCell<Recorder>,
}

fn load_thread(
    plan: &Plan,
    index: usize,
    connections: usize,
    start: Instant,
) -> Result<(Recorder, u64), SetupError> {
    let system = |what| move |source| SetupError::System { what, source };
    tighten_timer_slack().map_err(system("a precise timer slack"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(system("a load runtime"))?;
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let pace = match plan.mode {
        Mode::Open { rate } => Pace::Open(Schedule::new(
            start,
            end,
            end + plan.timeout,
            index,
            plan.threads,
            rate,
        )),
        Mode::Closed => Pace::Closed {
            end,
            left: Cell::new(plan.requests.map_or(u64::MAX, |total| {
                share(total, index as u64, plan.threads as u64)
            })),
        },
    };
    let shared = Rc::new(Shared {
        target: plan.target.clone(),
        pace,
        measure_from,
        timeout: plan.timeout,
        recorder: RefCell::new(Recorder::new()?),
    });
    let local = LocalSet::new();
    local.block_on(&runtime, async {
        let mut tasks = Vec::with_capacity(connections);
        let mut opened = Vec::with_capacity(connections);
        for _ in 0..connections {
            let timer = match shared.pace {
                Pace::Open(_) => Some(Timer::new().map_err(system("a timerfd"))?),
                Pace::Closed { .. } => None,
            };
            // A connection that fails here is opened again by its first request.
            opened.push((Connection::open(shared.target.address).await.ok(), timer));
        }
        tokio::time::sleep_until(start.into()).await;
        for (connection, timer) in opened {
            tasks.push(tokio::task::spawn_local(drive(
                Rc::clone(&shared),
                connection,
                timer,
            )));
        }
        for task in tasks {
            task.await
                .map_err(|e| SetupError::Thread(format!("a connection task failed: {e}")))?;
        }
        Ok::<(), SetupError>(())
    })?;
    let unsent = match &shared.pace {
        Pace::Open(schedule) => schedule.unclaimed(),
        Pace::Closed { .. } => 0,
    };
    let recorder = shared.recorder.borrow().clone();
    Ok((recorder, unsent))
}

/// One connection's loop: claim a send time, wait for it, send, record.
async fn drive(shared: Rc<Shared>, mut connection: Option<Connection>, timer: Option<Timer>) {
    loop {
        let planned = match &shared.pace {
            Pace::Open(schedule) => match schedule.claim(Instant::now()) {
                Some(at) => at,
                None => return,
            },
            Pace::Closed { end, left } => {
                let now = Instant::now();
                if now >= *end || left.get() == 0 {
                    return;
                }
                left.set(left.get() - 1);
                now
            }
        };
        if let Some(timer) = &timer {
            if timer.sleep_until(planned).await.is_err() {
                shared.recorder.borrow_mut().failure("timer");
                return;
            }
        }
        let sent = Instant::now();
        let result = tokio::time::timeout(shared.timeout, exchange(&mut connection, &shared))
            .await
            .unwrap_or(Err(RequestError::Timeout));
        let done = Instant::now();
        let measured = planned >= shared.measure_from;
        match result {
            Ok(reply) => {
                if measured {
                    shared.recorder.borrow_mut().response(
                        reply.status,
                        done - planned,
                        sent - planned,
                        done,
                    );
                }
                if reply.close {
                    connection = None;
                }
            }
            Err(e) => {
                if measured {
                    shared.recorder.borrow_mut().failure(e.kind());
                }
                connection = None;
                let closed_loop = matches!(shared.pace, Pace::Closed { .. });
                if closed_loop && matches!(e, RequestError::Connect(_)) {
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        }
    }
}

/// Thread `index`'s part of `total` split over `threads` as evenly as possible.
fn share(total: u64, index: u64, threads: u64) -> u64 {
    total / threads + u64::from(index < total % threads)
}

async fn exchange(
    connection: &mut Option<Connection>,
    shared: &Shared,
) -> Result<Reply, RequestError> {
    let open = match connection {
        Some(open) => open,
        None => connection.insert(Connection::open(shared.target.address).await?),
    };
    open.exchange(&shared.target.request).await
}
