//! Local time. Vietnam has used UTC+7 without daylight saving since 1975, so a fixed
//! offset is exact for every date the platform handles and avoids shipping a tz database.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Asia/Ho_Chi_Minh.
pub fn vn_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

pub fn to_local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&vn_offset())
}

/// The calendar date in Vietnam at instant `t` (counters, effective dates and codes use it).
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    to_local(t).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_date_rolls_over_at_17_utc() {
        let before = Utc.with_ymd_and_hms(2026, 11, 25, 16, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 25, 17, 0, 0).unwrap();
        assert_eq!(local_date(before), NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert_eq!(local_date(after), NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    }
}
