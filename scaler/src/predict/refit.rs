//! Where fits run: inline on the caller's thread (the simulator, for determinism) or on a
//! dedicated background thread, so the control loop never waits on a fit.
//!
//! A job is a snapshot of the closed steps; the outcome carries the fitted model with the
//! index of the step after its last value, so the recommender can catch it up on the
//! steps that closed while it was being fitted. At most one background job is in flight.

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidegate_gpu::{Fit, ForecastError, Forecaster, Grid, Seasons, Series};

use crate::time::Timestamp;

/// A snapshot of the history to fit.
#[derive(Debug)]
pub(crate) struct FitJob {
    /// Closed step means, oldest first.
    pub(crate) values: Vec<f32>,
    /// Index of the step after the last value.
    pub(crate) next: u64,
    /// When the job was submitted (the tick's time).
    pub(crate) at: Timestamp,
}

/// A finished job.
#[derive(Debug)]
pub(crate) struct FitOutcome {
    /// The fitted model, or why there is none.
    pub(crate) fit: Result<Fit, ForecastError>,
    /// Index of the step after the last fitted value.
    pub(crate) next: u64,
    /// When the job was submitted.
    pub(crate) at: Timestamp,
    /// Steps fitted.
    pub(crate) steps: usize,
    /// Wall time the fit took (reported only; no decision depends on it).
    pub(crate) duration: Duration,
}

/// What a fit needs besides the values.
#[derive(Debug, Clone)]
pub(crate) struct FitSetup {
    forecaster: Arc<Forecaster>,
    seasons: Seasons,
    grid: Grid,
}

impl FitSetup {
    fn run(&self, job: FitJob) -> FitOutcome {
        let started = Instant::now();
        let steps = job.values.len();
        let fit = Series::new(job.values, self.seasons).and_then(|series| {
            let fit = self
                .forecaster
                .fit(std::slice::from_ref(&series), &self.grid)
                .into_iter()
                .next()
                .ok_or(ForecastError::Diverged)?;
            if fit.is_finite() {
                Ok(fit)
            } else {
                Err(ForecastError::Diverged)
            }
        });
        FitOutcome {
            fit,
            next: job.next,
            at: job.at,
            steps,
            duration: started.elapsed(),
        }
    }
}

/// Runs fits inline or on a background thread.
#[derive(Debug)]
pub(crate) enum Refitter {
    /// Fits on the caller's thread when submitted.
    Inline(FitSetup),
    /// Fits on a dedicated thread; outcomes are polled.
    Background {
        jobs: SyncSender<FitJob>,
        outcomes: Receiver<FitOutcome>,
        in_flight: bool,
    },
}

/// Why a job could not be handed to the background thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// A fit is already running.
    Busy,
    /// The thread is gone (it panicked); no fit will run again.
    Stopped,
}

impl Refitter {
    /// Fits on the caller's thread.
    pub(crate) fn inline(forecaster: Arc<Forecaster>, seasons: Seasons, grid: Grid) -> Self {
        Self::Inline(FitSetup {
            forecaster,
            seasons,
            grid,
        })
    }

    /// Starts the thread `name` that runs fits; it ends when the refitter is dropped.
    pub(crate) fn background(
        name: String,
        forecaster: Arc<Forecaster>,
        seasons: Seasons,
        grid: Grid,
    ) -> std::io::Result<Self> {
        let model = FitSetup {
            forecaster,
            seasons,
            grid,
        };
        let (jobs, job_queue) = mpsc::sync_channel::<FitJob>(1);
        let (done, outcomes) = mpsc::channel();
        std::thread::Builder::new().name(name).spawn(move || {
            for job in job_queue {
                if done.send(model.run(job)).is_err() {
                    break;
                }
            }
        })?;
        Ok(Self::Background {
            jobs,
            outcomes,
            in_flight: false,
        })
    }

    /// Whether a background fit is running.
    pub(crate) fn busy(&self) -> bool {
        matches!(
            self,
            Self::Background {
                in_flight: true,
                ..
            }
        )
    }

    /// Runs `job` now (inline: its outcome) or hands it to the thread (background: None).
    pub(crate) fn submit(&mut self, job: FitJob) -> Result<Option<FitOutcome>, SubmitError> {
        match self {
            Self::Inline(model) => Ok(Some(model.run(job))),
            Self::Background {
                jobs, in_flight, ..
            } => {
                if *in_flight {
                    return Err(SubmitError::Busy);
                }
                match jobs.try_send(job) {
                    Ok(()) => {
                        *in_flight = true;
                        Ok(None)
                    }
                    Err(TrySendError::Full(_)) => Err(SubmitError::Busy),
                    Err(TrySendError::Disconnected(_)) => Err(SubmitError::Stopped),
                }
            }
        }
    }

    /// A finished background fit, if one is waiting; never blocks.
    pub(crate) fn poll(&mut self) -> Result<Option<FitOutcome>, SubmitError> {
        match self {
            Self::Inline(_) => Ok(None),
            Self::Background {
                outcomes,
                in_flight,
                ..
            } => match outcomes.try_recv() {
                Ok(outcome) => {
                    *in_flight = false;
                    Ok(Some(outcome))
                }
                Err(TryRecvError::Empty) => Ok(None),
                Err(TryRecvError::Disconnected) => {
                    *in_flight = false;
                    Err(SubmitError::Stopped)
                }
            },
        }
    }
}
