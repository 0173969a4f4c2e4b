//! Passive outlier detection: a member whose requests keep failing is ejected.
//!
//! `consecutive_failures` connect failures or 5xx answers in a row eject a member
//! for `base_ejection` times the number of times it has been ejected (capped),
//! never more than `max_ejection_percent` of the pool at once (one ejection is
//! always allowed). The maintenance sweep lifts ejections when they run out.
//! A pool without an `outlier` table still ejects backends that cannot be
//! connected to ([`CONNECT_FAILURES_ONLY`]); 5xx answers count only when the
//! table is there.

use std::time::Duration;

use tidegate_balancer::Nanos;

use tidegate_conf::Outlier;

use crate::clock::nanos;
use crate::member::{Failure, Member};
use crate::pool::Pool;

/// The longest single ejection, unless `base_ejection` itself is longer.
const MAX_EJECTION: Duration = Duration::from_secs(300);

/// What a pool without an `outlier` table ejects for: connect failures alone
/// (a backend that refuses or drops connections is down, whatever its answers
/// mean), for 10 s at first, as nginx's `max_fails`/`fail_timeout` do by default.
const CONNECT_FAILURES_ONLY: Outlier = Outlier {
    consecutive_failures: 5,
    base_ejection: Duration::from_secs(10),
    max_ejection_percent: 50,
};

/// Counts a failed request against `member`; ejects it when the streak is long enough.
pub fn record_failure(pool: &Pool, member: &Member, why: Failure, now: Nanos) {
    let outlier = match (pool.outlier(), why) {
        (Some(outlier), _) => outlier,
        (None, Failure::Connect) => &CONNECT_FAILURES_ONLY,
        (None, Failure::Response) => return,
    };
    if member.record_failure() < outlier.consecutive_failures || member.is_ejected(now) {
        return;
    }
    let state = pool.state();
    if !state.try_eject(pool.members().len(), outlier.max_ejection_percent) {
        return;
    }
    let times = member.times_ejected().saturating_add(1);
    let length = outlier
        .base_ejection
        .saturating_mul(times)
        .min(MAX_EJECTION.max(outlier.base_ejection));
    if member.eject(now.saturating_add(nanos(length)), now, why) {
        member.refresh(now);
        tracing::warn!(
            pool = pool.name(),
            backend = %member.addr(),
            failures = outlier.consecutive_failures,
            reason = match why {
                Failure::Connect => "connect failures",
                Failure::Response => "5xx answers",
            },
            ejected_for = ?length,
            "backend ejected"
        );
    } else {
        state.ejection_ended();
    }
}

/// Counts a successful request: ends the member's failure streak.
pub fn record_success(member: &Member) {
    member.record_success();
}
