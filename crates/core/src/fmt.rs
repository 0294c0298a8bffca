//! Vietnamese presentation: dd/mm/yyyy dates, VND with `.` thousands separators.

use chrono::{DateTime, NaiveDate, Utc};

/// 1234567 → "1.234.567 ₫"
pub fn vnd(amount: u64) -> String {
    format!("{} ₫", group_thousands(amount))
}

pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// "hh:mm dd/mm/yyyy" in Vietnam's time, as Form 01 writes it.
pub fn datetime(t: DateTime<Utc>) -> String {
    crate::time::to_local(t).format("%H:%M %d/%m/%Y").to_string()
}

/// Parses dd/mm/yyyy (what people type) or yyyy-mm-dd (what date inputs send).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%d/%m/%Y").or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn money() {
        assert_eq!(vnd(0), "0 ₫");
        assert_eq!(vnd(999), "999 ₫");
        assert_eq!(vnd(1000), "1.000 ₫");
        assert_eq!(vnd(200000), "200.000 ₫");
        assert_eq!(vnd(1234567), "1.234.567 ₫");
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 7).unwrap();
        assert_eq!(date(d), "07/02/2026");
        assert_eq!(parse_date("07/02/2026"), Some(d));
        assert_eq!(parse_date("2026-02-07"), Some(d));
        assert_eq!(parse_date("31/02/2026"), None);
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 17, 5, 0).unwrap();
        assert_eq!(datetime(t), "00:05 26/11/2026");
    }
}
