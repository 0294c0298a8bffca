//! Dossiers (hồ sơ): status codes as the national public service portal (NPSP) knows them,
//! and the legal dossier code (Circular 03/2025/TT-VPCP, DOMAIN.md §3–4).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Where a dossier stands. Codes 1–10 are the NPSP's (DOMAIN.md §3); a draft has no code there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    /// Bản nháp: being filled, not yet filed.
    Draft,
    /// 1 Mới đăng ký: filed, awaiting reception.
    Submitted,
    /// 2 Được tiếp nhận.
    Accepted,
    /// 3 Không được tiếp nhận.
    NotAccepted,
    /// 4 Đang xử lý.
    Processing,
    /// 5 Yêu cầu bổ sung.
    SupplementRequested,
    /// 6 Yêu cầu thực hiện nghĩa vụ tài chính.
    PaymentRequested,
    /// 7 Công dân yêu cầu rút hồ sơ.
    WithdrawalRequested,
    /// 8 Dừng xử lý.
    Stopped,
    /// 9 Đã xử lý xong.
    Processed,
    /// 10 Đã trả kết quả.
    ResultReturned,
}

impl DossierStatus {
    pub const ALL: [DossierStatus; 11] = [
        Self::Draft,
        Self::Submitted,
        Self::Accepted,
        Self::NotAccepted,
        Self::Processing,
        Self::SupplementRequested,
        Self::PaymentRequested,
        Self::WithdrawalRequested,
        Self::Stopped,
        Self::Processed,
        Self::ResultReturned,
    ];

    /// The NPSP status code; None for a draft (the NPSP never sees drafts).
    pub fn npsp_code(self) -> Option<u8> {
        Some(match self {
            Self::Draft => return None,
            Self::Submitted => 1,
            Self::Accepted => 2,
            Self::NotAccepted => 3,
            Self::Processing => 4,
            Self::SupplementRequested => 5,
            Self::PaymentRequested => 6,
            Self::WithdrawalRequested => 7,
            Self::Stopped => 8,
            Self::Processed => 9,
            Self::ResultReturned => 10,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::NotAccepted => "not_accepted",
            Self::Processing => "processing",
            Self::SupplementRequested => "supplement_requested",
            Self::PaymentRequested => "payment_requested",
            Self::WithdrawalRequested => "withdrawal_requested",
            Self::Stopped => "stopped",
            Self::Processed => "processed",
            Self::ResultReturned => "result_returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang == "en") {
            (Self::Draft, false) => "Bản nháp",
            (Self::Submitted, false) => "Mới đăng ký",
            (Self::Accepted, false) => "Được tiếp nhận",
            (Self::NotAccepted, false) => "Không được tiếp nhận",
            (Self::Processing, false) => "Đang xử lý",
            (Self::SupplementRequested, false) => "Yêu cầu bổ sung",
            (Self::PaymentRequested, false) => "Yêu cầu thực hiện nghĩa vụ tài chính",
            (Self::WithdrawalRequested, false) => "Công dân yêu cầu rút hồ sơ",
            (Self::Stopped, false) => "Dừng xử lý",
            (Self::Processed, false) => "Đã xử lý xong",
            (Self::ResultReturned, false) => "Đã trả kết quả",
            (Self::Draft, true) => "Draft",
            (Self::Submitted, true) => "Filed, awaiting reception",
            (Self::Accepted, true) => "Accepted",
            (Self::NotAccepted, true) => "Not accepted",
            (Self::Processing, true) => "Being processed",
            (Self::SupplementRequested, true) => "Supplement requested",
            (Self::PaymentRequested, true) => "Payment requested",
            (Self::WithdrawalRequested, true) => "Withdrawal requested",
            (Self::Stopped, true) => "Stopped",
            (Self::Processed, true) => "Processed",
            (Self::ResultReturned, true) => "Result returned",
        }
    }
}

/// A dossier code: `<agency electronic ID>-<YYMMDD of receipt>-<serial of that day, 4+ digits>`,
/// e.g. `H15.50.05.13-261008-0975` (Circular 03/2025/TT-VPCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierCode {
    pub agency: String,
    pub day: NaiveDate,
    pub serial: u32,
}

impl DossierCode {
    pub fn new(agency: &crate::ids::AgencyId, day: NaiveDate, serial: u32) -> Self {
        Self { agency: agency.as_str().to_owned(), day, serial }
    }

    /// Parses a code as a person types it (spaces trimmed, letters upper-cased).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_uppercase();
        if s.len() > 60 {
            return None;
        }
        let mut parts = s.rsplitn(3, '-');
        let serial = parts.next()?;
        let date = parts.next()?;
        let agency = parts.next()?;
        crate::ids::AgencyId::parse(agency).ok()?;
        if serial.len() < 4 || serial.len() > 9 || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let yy: i32 = date[0..2].parse().ok()?;
        let day = NaiveDate::from_ymd_opt(2000 + yy, date[2..4].parse().ok()?, date[4..6].parse().ok()?)?;
        Some(Self { agency: agency.to_owned(), day, serial: serial.parse().ok()? })
    }
}

impl std::fmt::Display for DossierCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:02}{:02}{:02}-{:04}", self.agency, self.day.year() % 100, self.day.month(), self.day.day(), self.serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_in_the_legal_format() {
        let a = crate::ids::AgencyId::parse("H15.50.05.13").unwrap();
        let c = DossierCode::new(&a, NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(), 975);
        assert_eq!(c.to_string(), "H15.50.05.13-261008-0975");
        assert_eq!(DossierCode::parse(" h15.50.05.13-261008-0975 "), Some(c));
        // Past 9,999 a day the serial simply grows.
        let big = DossierCode::new(&a, NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(), 12345);
        assert_eq!(big.to_string(), "H15.50.05.13-260102-12345");
        assert_eq!(DossierCode::parse(&big.to_string()), Some(big));
        for bad in ["", "H26-261008", "H26-261308-0001", "H26-261008-01", "X-261008-0001", "H26-26100A-0001", "H26.31-261008-0001-1"] {
            assert_eq!(DossierCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses_map_to_the_national_codes() {
        let codes: Vec<Option<u8>> = DossierStatus::ALL.iter().map(|s| s.npsp_code()).collect();
        assert_eq!(codes, [None, Some(1), Some(2), Some(3), Some(4), Some(5), Some(6), Some(7), Some(8), Some(9), Some(10)]);
        for s in DossierStatus::ALL {
            assert_eq!(DossierStatus::parse(s.as_str()), Some(s));
        }
    }

    proptest! {
        #[test]
        fn codes_round_trip(serial in 1u32..10_000_000, days in 0i64..36_000, groups in proptest::collection::vec("[0-9A-Z]{2}", 0..4)) {
            let id = std::iter::once("H26".to_owned()).chain(groups).collect::<Vec<_>>().join(".");
            let a = crate::ids::AgencyId::parse(&id).unwrap();
            let day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(days % 36_500);
            let c = DossierCode::new(&a, day, serial);
            prop_assert_eq!(DossierCode::parse(&c.to_string()), Some(c));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,70}") {
            let _ = DossierCode::parse(&s);
        }
    }
}
