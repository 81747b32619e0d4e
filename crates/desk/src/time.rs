//! Wall-clock times as the operator reads them: in the machine's time zone,
//! today's as a time of day, older ones with their date.

use chrono::{Datelike, Local, LocalResult, TimeZone, Timelike};

/// Now, in Unix milliseconds.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A moment in local time, split for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Days before today (0: today, 1: yesterday); negative in the future.
    pub days_ago: i64,
}

fn local(ms: i64) -> Option<chrono::DateTime<Local>> {
    match Local.timestamp_millis_opt(ms) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => None,
    }
}

/// `ms` in local time, with how many days before `now_ms` it was.
pub fn local_time(ms: i64, now_ms: i64) -> Option<LocalTime> {
    let t = local(ms)?;
    let now = local(now_ms)?;
    let days_ago = now
        .date_naive()
        .signed_duration_since(t.date_naive())
        .num_days();
    Some(LocalTime {
        year: t.year(),
        month: t.month(),
        day: t.day(),
        hour: t.hour(),
        minute: t.minute(),
        days_ago,
    })
}

/// The start of `ms`'s local day, in Unix ms (today's figures count from here).
pub fn local_midnight(ms: i64) -> i64 {
    let Some(t) = local(ms) else { return ms };
    let midnight = t.date_naive().and_hms_opt(0, 0, 0);
    match midnight.map(|m| Local.from_local_datetime(&m)) {
        Some(LocalResult::Single(m) | LocalResult::Ambiguous(m, _)) => m.timestamp_millis(),
        // A day that starts in a DST gap: its first hour that exists.
        _ => ms - i64::from(t.num_seconds_from_midnight()) * 1000,
    }
}

/// A duration as a clock: `4:05`, `1:02:03`.
pub fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_in_local_time_and_durations_read_as_clocks() {
        let now = unix_ms();
        let t = local_time(now, now).unwrap();
        assert_eq!(t.days_ago, 0);
        assert_eq!(local_time(now - 86_400_000, now).unwrap().days_ago, 1);
        let m = local_midnight(now);
        assert!(m <= now && now - m < 86_400_000 + 3_600_000);
        assert_eq!(local_time(m, now).unwrap().hour, 0);
        assert_eq!(clock(245_000), "4:05");
        assert_eq!(clock(3_723_000), "1:02:03");
        assert_eq!(clock(-5), "0:00");
    }
}
