//! Business days: the one rule for which day an instant belongs to and where a day begins and ends.
//!
//! A business day runs from `day_start_hour:00` local time on its date to the same hour the next day
//! (hour 0: the calendar day; hour 4 for a shop open past midnight: an order at 02:00 belongs to the
//! previous day). On a daylight-saving change a day starts at the first instant whose local time is the
//! start hour or later.
//!
//! Which instant decides the day of an order or a refund is the ledger's rule (`ledger::day`), like
//! WeChat's bill: an order that received money belongs to the day of its *payment*, any other order to the
//! day it was created in, a refund to the day of its success (else of its creation).
//!
//! Every function taking local time has an `_in` twin taking any [`TimeZone`], which is what the tests use.
//! A leaf module: no storage, no drawing; the ledger, the window and the command line all ask it.

use chrono::{DateTime, Duration, Local, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Why a business day has no bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DayError(pub String);

/// The business day that `at` belongs to, when days start at `day_start_hour` local time.
pub fn business_day(at: DateTime<Utc>, day_start_hour: u8) -> NaiveDate {
    business_day_in(&Local, at, day_start_hour)
}

/// [`business_day`] in any time zone.
pub fn business_day_in<Tz: TimeZone>(tz: &Tz, at: DateTime<Utc>, day_start_hour: u8) -> NaiveDate {
    (at.with_timezone(tz).naive_local() - Duration::hours(i64::from(day_start_hour))).date()
}

/// The UTC bounds `[from, to)` of business day `day` in local time.
pub fn day_bounds(
    day: NaiveDate,
    day_start_hour: u8,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DayError> {
    day_bounds_in(&Local, day, day_start_hour)
}

/// The UTC bounds `[from, to)` of business day `day` in `tz`.
pub fn day_bounds_in<Tz: TimeZone>(
    tz: &Tz,
    day: NaiveDate,
    day_start_hour: u8,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DayError> {
    if day_start_hour > 23 {
        return Err(DayError(format!(
            "the day-start hour must be 0–23, not {day_start_hour}"
        )));
    }
    let next = day
        .succ_opt()
        .ok_or_else(|| DayError(format!("no day after {day}")))?;
    let start = |d: NaiveDate| {
        d.and_hms_opt(u32::from(day_start_hour), 0, 0)
            .expect("hour checked")
    };
    Ok((
        local_instant(tz, start(day)),
        local_instant(tz, start(next)),
    ))
}

/// The first instant whose local date-time is `naive` or later: the earlier one when the clock is turned
/// back, the moment of the jump when the clock skips over `naive`.
fn local_instant<Tz: TimeZone>(tz: &Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        // The pair's order is not reliable (chrono's `Local` gives the later instant first).
        LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        LocalResult::None => {
            // In a gap: the last minute before it exists; the gap starts a minute after that.
            for m in 1..=24 * 60 {
                if let Some(t) = tz
                    .from_local_datetime(&(naive - Duration::minutes(m)))
                    .latest()
                {
                    return t.with_timezone(&Utc) + Duration::minutes(m);
                }
            }
            naive.and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn day_bounds_follow_the_start_hour() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let (from, to) = day_bounds_in(&tz, day, 0).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-26T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-27T16:00:00+00:00");
        let (from, to) = day_bounds_in(&tz, day, 4).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-26T20:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-27T20:00:00+00:00");
        assert!(day_bounds_in(&tz, day, 24).is_err());
    }

    #[test]
    fn an_instant_belongs_to_the_day_whose_bounds_hold_it() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        for hour in [0, 4, 23] {
            let (from, to) = day_bounds_in(&tz, day, hour).unwrap();
            assert_eq!(business_day_in(&tz, from, hour), day, "hour {hour}");
            assert_eq!(business_day_in(&tz, to - Duration::seconds(1), hour), day);
            assert_eq!(business_day_in(&tz, to, hour), day.succ_opt().unwrap());
        }
        // 02:00 local with days starting at 04:00 belongs to the day before.
        let at = tz
            .with_ymd_and_hms(2026, 11, 28, 2, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(business_day_in(&tz, at, 4), day);
        assert_eq!(
            business_day_in(&tz, at, 0),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
    }
}
