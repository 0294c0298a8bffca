//! Identifiers with their legal structure, validated on construction
//! ("parse, don't validate"): a value of these types is always well formed.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Why an identifier was refused. Each has a stable code and a message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("personal ID number must be 12 digits")]
    PersonalIdFormat,
    #[error("unknown province code in personal ID number")]
    PersonalIdProvince,
    #[error("personal ID number's century digit or birth year is impossible")]
    PersonalIdYear,
    #[error("personal ID number does not match the birth date or gender")]
    PersonalIdMismatch,
    #[error("tax code must be 10 digits, or 10 digits, a dash and 3 digits")]
    TaxCodeFormat,
    #[error("tax code check digit is wrong")]
    TaxCodeCheckDigit,
    #[error("agency electronic ID is malformed")]
    AgencyIdFormat,
    #[error("procedure code is malformed")]
    ProcedureCodeFormat,
    #[error("administrative unit code is malformed")]
    AdminUnitCodeFormat,
    #[error("user name is malformed")]
    UsernameFormat,
}

impl IdError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::PersonalIdFormat => "personal_id_format",
            Self::PersonalIdProvince => "personal_id_province",
            Self::PersonalIdYear => "personal_id_year",
            Self::PersonalIdMismatch => "personal_id_mismatch",
            Self::TaxCodeFormat => "tax_code_format",
            Self::TaxCodeCheckDigit => "tax_code_check_digit",
            Self::AgencyIdFormat => "agency_id_format",
            Self::ProcedureCodeFormat => "procedure_code_format",
            Self::AdminUnitCodeFormat => "admin_unit_code_format",
            Self::UsernameFormat => "username_format",
        }
    }

    pub fn message(&self, lang: &str) -> &'static str {
        let en = lang == "en";
        match self {
            Self::PersonalIdFormat if en => "The personal ID number must have exactly 12 digits.",
            Self::PersonalIdFormat => "Số định danh cá nhân phải gồm đúng 12 chữ số.",
            Self::PersonalIdProvince if en => "The first three digits of the personal ID number are not a valid province code.",
            Self::PersonalIdProvince => "Ba chữ số đầu của số định danh cá nhân không phải mã tỉnh hợp lệ.",
            Self::PersonalIdYear if en => "The personal ID number encodes an impossible year of birth.",
            Self::PersonalIdYear => "Số định danh cá nhân có năm sinh không hợp lệ.",
            Self::PersonalIdMismatch if en => "The personal ID number does not match the date of birth or gender given.",
            Self::PersonalIdMismatch => "Số định danh cá nhân không khớp với ngày sinh hoặc giới tính đã khai.",
            Self::TaxCodeFormat if en => "The tax code must be 10 digits, or 10 digits followed by a dash and 3 digits.",
            Self::TaxCodeFormat => "Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số, dấu gạch ngang và 3 chữ số.",
            Self::TaxCodeCheckDigit if en => "The tax code is not valid (its check digit is wrong). Please check it again.",
            Self::TaxCodeCheckDigit => "Mã số thuế không hợp lệ (sai chữ số kiểm tra). Vui lòng kiểm tra lại.",
            Self::AgencyIdFormat if en => "The agency electronic ID must be dot-separated groups of capital letters and digits, starting with a letter and two digits (e.g. H26.05), at most 35 characters.",
            Self::AgencyIdFormat => "Mã định danh điện tử của cơ quan phải gồm các nhóm chữ in hoa và chữ số ngăn cách bởi dấu chấm, nhóm đầu là một chữ cái và hai chữ số (ví dụ H26.05), tối đa 35 ký tự.",
            Self::ProcedureCodeFormat if en => "The procedure code must look like 1.001193 (optionally followed by a local suffix).",
            Self::ProcedureCodeFormat => "Mã thủ tục phải có dạng 1.001193 (có thể kèm hậu tố địa phương).",
            Self::AdminUnitCodeFormat if en => "The administrative unit code must be 2, 3 or 5 digits.",
            Self::AdminUnitCodeFormat => "Mã đơn vị hành chính phải gồm 2, 3 hoặc 5 chữ số.",
            Self::UsernameFormat if en => "The user name must be 3–32 characters: lowercase letters, digits, dot, dash or underscore.",
            Self::UsernameFormat => "Tên đăng nhập phải dài 3–32 ký tự, gồm chữ thường không dấu, chữ số, dấu chấm, gạch ngang hoặc gạch dưới.",
        }
    }
}

/// Province codes (GSO) that appear as the first three digits of a personal ID number:
/// the 63 provinces before the 2025 merger. Numbers issued earlier keep their code.
const BIRTH_PROVINCE_CODES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52,
    54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

/// Số định danh cá nhân (on the căn cước card): 3-digit province of birth, one digit for
/// gender and century, 2 digits of birth year, 6 random digits (Decree 137/2015, Circular 07/2016).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonalId(String);

impl PersonalId {
    /// Parses the structure; `current_year` bounds the birth year (no one is born in the future).
    pub fn parse(s: &str, current_year: i32) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::PersonalIdFormat);
        }
        let province: u16 = s[0..3].parse().map_err(|_| IdError::PersonalIdFormat)?;
        if !BIRTH_PROVINCE_CODES.contains(&province) {
            return Err(IdError::PersonalIdProvince);
        }
        let id = Self(s.to_owned());
        let year = id.birth_year();
        if year > current_year || year < 1900 {
            return Err(IdError::PersonalIdYear);
        }
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn century_digit(&self) -> u8 {
        self.0.as_bytes()[3] - b'0'
    }

    pub fn gender(&self) -> Gender {
        if self.century_digit().is_multiple_of(2) {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// 0/1 → 1900s, 2/3 → 2000s, 4/5 → 2100s, 6/7 → 2200s, 8/9 → 2300s.
    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * i32::from(self.century_digit() / 2);
        let yy: i32 = self.0[4..6].parse().unwrap_or(0);
        century + yy
    }

    /// Checks the number against a declared birth date (and gender, when known).
    pub fn check_against(&self, birth: NaiveDate, gender: Option<Gender>) -> Result<(), IdError> {
        if birth.year() != self.birth_year() || gender.is_some_and(|g| g != self.gender()) {
            return Err(IdError::PersonalIdMismatch);
        }
        Ok(())
    }
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Mã số thuế of an organisation: 10 digits with a check digit, or a branch code 10-3.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxCode(String);

impl TaxCode {
    const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let (main, branch) = match s.split_once('-') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        if main.len() != 10 || !main.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::TaxCodeFormat);
        }
        if let Some(b) = branch {
            if b.len() != 3 || !b.bytes().all(|c| c.is_ascii_digit()) {
                return Err(IdError::TaxCodeFormat);
            }
        }
        let d: Vec<u32> = main.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = Self::WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
        let check = 10 - (sum % 11) as i32;
        // A remainder of 0 gives 10: no such code is ever issued.
        if check != d[9] as i32 {
            return Err(IdError::TaxCodeCheckDigit);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Mã định danh điện tử of an agency (Decision 20/2020/QĐ-TTg): at most 35 characters,
/// dot-separated groups of [0-9A-Z], read left to right; the first group is a letter and two
/// digits (e.g. H26). A child's ID extends its parent's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyId(String);

impl AgencyId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 35 {
            return Err(IdError::AgencyIdFormat);
        }
        let mut groups = s.split('.');
        let first = groups.next().unwrap_or("").as_bytes();
        if first.len() != 3 || !first[0].is_ascii_uppercase() || !first[1..].iter().all(u8::is_ascii_digit) {
            return Err(IdError::AgencyIdFormat);
        }
        for g in groups {
            if g.is_empty() || g.len() > 3 || !g.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
                return Err(IdError::AgencyIdFormat);
            }
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this ID is a direct extension of `parent` (parent + "." + one group).
    pub fn extends(&self, parent: &AgencyId) -> bool {
        self.0.strip_prefix(parent.as_str()).and_then(|rest| rest.strip_prefix('.')).is_some_and(|g| !g.contains('.'))
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Code of a procedure in the national database: `x.yyyyyy`, optionally localised
/// with a suffix of dot-separated groups (e.g. `2.000488.000.00.00.H26`).
pub fn check_procedure_code(s: &str) -> Result<(), IdError> {
    let b = s.as_bytes();
    let head_ok = b.len() >= 8 && b[0].is_ascii_digit() && b[1] == b'.' && b[2..8].iter().all(u8::is_ascii_digit);
    if !head_ok {
        return Err(IdError::ProcedureCodeFormat);
    }
    let tail = &s[8..];
    let tail_ok = tail.is_empty()
        || (tail.starts_with('.')
            && tail.len() <= 30
            && tail[1..].split('.').all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_alphanumeric())));
    if tail_ok {
        Ok(())
    } else {
        Err(IdError::ProcedureCodeFormat)
    }
}

/// GSO code of an administrative unit: 2 digits (province), 3 (former district), 5 (commune level).
pub fn check_admin_unit_code(s: &str) -> Result<(), IdError> {
    if matches!(s.len(), 2 | 3 | 5) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IdError::AdminUnitCodeFormat)
    }
}

/// Officer and administrator user names.
pub fn check_username(s: &str) -> Result<(), IdError> {
    let ok = (3..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
        && s.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(IdError::UsernameFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn personal_id_structure() {
        let id = PersonalId::parse("001203012345", 2026).unwrap();
        assert_eq!(id.birth_year(), 2003);
        assert_eq!(id.gender(), Gender::Male);
        let f = PersonalId::parse("079185000123", 2026).unwrap();
        assert_eq!(f.birth_year(), 1985);
        assert_eq!(f.gender(), Gender::Female);
        assert_eq!(PersonalId::parse("00120301234", 2026), Err(IdError::PersonalIdFormat));
        assert_eq!(PersonalId::parse("00120301234a", 2026), Err(IdError::PersonalIdFormat));
        assert_eq!(PersonalId::parse("003203012345", 2026), Err(IdError::PersonalIdProvince));
        assert_eq!(PersonalId::parse("097203012345", 2026), Err(IdError::PersonalIdProvince));
        // Born in 2099 per the number, but it is 2026.
        assert_eq!(PersonalId::parse("001299012345", 2026), Err(IdError::PersonalIdYear));
        // 2100s.
        assert_eq!(PersonalId::parse("001400012345", 2026), Err(IdError::PersonalIdYear));
    }

    #[test]
    fn personal_id_against_birth_date() {
        let id = PersonalId::parse("001203012345", 2026).unwrap();
        let d = NaiveDate::from_ymd_opt(2003, 5, 1).unwrap();
        assert!(id.check_against(d, Some(Gender::Male)).is_ok());
        assert_eq!(id.check_against(d, Some(Gender::Female)), Err(IdError::PersonalIdMismatch));
        let other = NaiveDate::from_ymd_opt(1903, 5, 1).unwrap();
        assert_eq!(id.check_against(other, None), Err(IdError::PersonalIdMismatch));
    }

    #[test]
    fn tax_codes() {
        // Real, published codes.
        assert!(TaxCode::parse("0100109106").is_ok());
        assert!(TaxCode::parse("0100107518").is_ok());
        assert!(TaxCode::parse("0100109106-001").is_ok());
        assert_eq!(TaxCode::parse("0100109107"), Err(IdError::TaxCodeCheckDigit));
        assert_eq!(TaxCode::parse("010010910"), Err(IdError::TaxCodeFormat));
        assert_eq!(TaxCode::parse("0100109106-01"), Err(IdError::TaxCodeFormat));
        assert_eq!(TaxCode::parse("01001O9106"), Err(IdError::TaxCodeFormat));
    }

    #[test]
    fn agency_ids() {
        let root = AgencyId::parse("H26").unwrap();
        let child = AgencyId::parse("H26.05").unwrap();
        let grandchild = AgencyId::parse("H26.05.01").unwrap();
        assert!(child.extends(&root));
        assert!(grandchild.extends(&child));
        assert!(!grandchild.extends(&root));
        assert!(AgencyId::parse("H15.50.05.13").is_ok());
        for bad in ["", "h26", "26", "H2", "H26.", "H26..01", "H26.ab", "H26.0001", "HH6.01", &"H26.01".repeat(7)] {
            assert_eq!(AgencyId::parse(bad), Err(IdError::AgencyIdFormat), "{bad}");
        }
    }

    #[test]
    fn procedure_and_unit_codes() {
        assert!(check_procedure_code("1.001193").is_ok());
        assert!(check_procedure_code("2.000488.000.00.00.H26").is_ok());
        for bad in ["", "1.00119", "1001193", "a.001193", "1.001193.", "1.001193 x"] {
            assert!(check_procedure_code(bad).is_err(), "{bad}");
        }
        assert!(check_admin_unit_code("01").is_ok());
        assert!(check_admin_unit_code("00004").is_ok());
        assert!(check_admin_unit_code("0004").is_err());
        assert!(check_username("nguyen.van-a_1").is_ok());
        assert!(check_username("Admin").is_err());
        assert!(check_username("ab").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_tax_code_has_one_check_digit(prefix in "[0-9]{9}") {
            let ok: Vec<u8> = (0..10u8)
                .filter(|d| TaxCode::parse(&format!("{prefix}{d}")).is_ok())
                .collect();
            prop_assert!(ok.len() <= 1);
        }

        #[test]
        fn personal_id_never_panics(s in "\\PC{0,20}") {
            let _ = PersonalId::parse(&s, 2026);
            let _ = TaxCode::parse(&s);
            let _ = AgencyId::parse(&s);
            let _ = check_procedure_code(&s);
        }
    }
}
