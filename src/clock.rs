//! Time: the clock PayDesk reads, and Beijing time for the protocol.
//!
//! Everything that depends on "now" takes a [`Clock`], so tests can pin time and move it. Protocol times
//! (`time_start`, `time_expire`, `time_end`) are `yyyyMMddHHmmss` in Beijing time (UTC+8, no daylight saving)
//! whatever the machine's time zone; storage uses UTC instants.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// UTC+8.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// `yyyyMMddHHmmss` in Beijing time.
pub fn format_wx(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// Parse a `yyyyMMddHHmmss` Beijing time.
pub fn parse_wx(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time: the refund times (`success_time`, `refund_success_time_$n`).
pub fn format_wx_datetime(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Parse a `yyyy-MM-dd HH:mm:ss` Beijing time.
pub fn parse_wx_datetime(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 19 {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_format_round_trips() {
        let t = Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap();
        assert_eq!(format_wx(t), "20240520123000");
        assert_eq!(parse_wx("20240520123000"), Some(t));
        // Across midnight: 16:30 UTC is 00:30 the next day in Beijing.
        let late = Utc.with_ymd_and_hms(2024, 12, 31, 16, 30, 0).unwrap();
        assert_eq!(format_wx(late), "20250101003000");
        assert_eq!(parse_wx("2024052012300"), None);
        assert_eq!(parse_wx("20241332123000"), None);
        assert_eq!(parse_wx("2024-05-20 12:"), None);
        assert_eq!(format_wx_datetime(t), "2024-05-20 12:30:00");
        assert_eq!(parse_wx_datetime("2024-05-20 12:30:00"), Some(t));
        assert_eq!(parse_wx_datetime("20240520123000"), None);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t = Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap();
        let c = ManualClock::new(t);
        assert_eq!(c.now(), t);
        c.advance(chrono::Duration::seconds(90));
        assert_eq!(format_wx(c.now()), "20240520123130");
    }
}
