//! Accounts (tài khoản) and roles. One account per citizen, business or officer; federated
//! identities (the national identity provider, later) link to an account, never replace it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Công dân: signs in with the 12-digit personal ID number.
    Citizen,
    /// Doanh nghiệp / tổ chức: signs in with the tax code.
    Business,
    /// Cán bộ, công chức: created by an administrator, bound to an agency.
    Officer,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Business => "business",
            Self::Officer => "officer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "citizen" => Self::Citizen,
            "business" => Self::Business,
            "officer" => Self::Officer,
            _ => return None,
        })
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Citizen, "en") => "Citizen",
            (Self::Business, "en") => "Business",
            (Self::Officer, "en") => "Officer",
            (Self::Citizen, _) => "Công dân",
            (Self::Business, _) => "Doanh nghiệp",
            (Self::Officer, _) => "Cán bộ",
        }
    }
}

/// A role, granted at an agency and applying to it and its sub-agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Quản trị hệ thống: manages agencies, units, procedures and accounts.
    Admin,
    /// Quản lý danh mục: edits the procedures of its agency subtree.
    CatalogEditor,
    /// Cán bộ một cửa: receives dossiers and returns results.
    Reception,
    /// Chuyên viên: reviews dossiers.
    Specialist,
    /// Lãnh đạo: approves and signs.
    Leader,
    /// Theo dõi, giám sát: reads indicators and reports.
    Monitor,
}

impl Role {
    /// Roles that read and act on dossiers (hồ sơ) of the agencies they cover.
    pub fn handles_dossiers(self) -> bool {
        matches!(self, Self::Reception | Self::Specialist | Self::Leader)
    }

    pub const ALL: [Role; 6] = [Role::Admin, Role::CatalogEditor, Role::Reception, Role::Specialist, Role::Leader, Role::Monitor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CatalogEditor => "catalog_editor",
            Self::Reception => "reception",
            Self::Specialist => "specialist",
            Self::Leader => "leader",
            Self::Monitor => "monitor",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Admin, "en") => "System administrator",
            (Self::CatalogEditor, "en") => "Catalog editor",
            (Self::Reception, "en") => "One-stop officer",
            (Self::Specialist, "en") => "Specialist",
            (Self::Leader, "en") => "Leader",
            (Self::Monitor, "en") => "Monitoring",
            (Self::Admin, _) => "Quản trị hệ thống",
            (Self::CatalogEditor, _) => "Quản lý danh mục thủ tục",
            (Self::Reception, _) => "Cán bộ một cửa",
            (Self::Specialist, _) => "Chuyên viên",
            (Self::Leader, _) => "Lãnh đạo",
            (Self::Monitor, _) => "Theo dõi, giám sát",
        }
    }
}

/// A role granted at an agency (by electronic ID); it covers the agency's whole subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: Role,
    pub agency: String,
}

impl RoleGrant {
    /// Whether this grant covers `agency` (the same agency or one below it in the tree).
    /// Electronic IDs extend their parent's (Decision 20/2020), so the tree is the ID prefix.
    pub fn covers(&self, agency: &str) -> bool {
        agency == self.agency || agency.strip_prefix(self.agency.as_str()).is_some_and(|r| r.starts_with('.'))
    }
}

/// Whether an officer holding `grants` must sign in with a second factor, given the agencies
/// that require one (for their subtree). Every grant inside such a subtree is bound by it; a
/// dossier-handling grant above it is too (a city-level leader acts on a ward's dossiers, so
/// the ward's rule applies), but not an administrator's or a monitor's above it — a ward does
/// not set the rules of the city's administrators.
pub fn second_factor_required(grants: &[RoleGrant], requiring: &[String]) -> bool {
    grants.iter().any(|g| {
        requiring.iter().any(|r| {
            let rule = RoleGrant { role: g.role, agency: r.clone() };
            rule.covers(&g.agency) || (g.role.handles_dossiers() && g.covers(r))
        })
    })
}

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password too short")]
    TooShort,
    #[error("password too long")]
    TooLong,
    #[error("password too common")]
    TooCommon,
    #[error("password contains the login")]
    ContainsLogin,
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

impl PasswordError {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::TooCommon => "password_too_common",
            Self::ContainsLogin => "password_contains_login",
        }
    }
    pub fn message(self, lang: &str) -> &'static str {
        match (self, lang == "en") {
            (Self::TooShort, true) => "The password must be at least 10 characters long.",
            (Self::TooShort, false) => "Mật khẩu phải dài ít nhất 10 ký tự.",
            (Self::TooLong, true) => "The password must be at most 128 characters long.",
            (Self::TooLong, false) => "Mật khẩu dài tối đa 128 ký tự.",
            (Self::TooCommon, true) => "This password is too common and easy to guess. Please choose another.",
            (Self::TooCommon, false) => "Mật khẩu này quá phổ biến, dễ bị đoán. Vui lòng chọn mật khẩu khác.",
            (Self::ContainsLogin, true) => "The password must not contain your ID number, tax code or user name.",
            (Self::ContainsLogin, false) => "Mật khẩu không được chứa số định danh, mã số thuế hoặc tên đăng nhập.",
        }
    }
}

/// Password policy after NIST SP 800-63B: length matters, composition rules do not,
/// and known-bad passwords are refused.
pub fn check_password(password: &str, login: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    if !login.is_empty() && lower.contains(&login.to_lowercase()) {
        return Err(PasswordError::ContainsLogin);
    }
    const COMMON: [&str; 16] = [
        "1234567890",
        "0123456789",
        "12345678910",
        "1111111111",
        "0000000000",
        "123456789a",
        "qwertyuiop",
        "password123",
        "matkhau123",
        "abc1234567",
        "a123456789",
        "1234567890a",
        "iloveyou123",
        "passw0rd12",
        "vietnam1234",
        "hanoi12345",
    ];
    if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| lower.starts_with(c)) {
        return Err(PasswordError::TooCommon);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_factor_binds_the_subtree_and_those_above_it() {
        let g = |role, agency: &str| RoleGrant { role, agency: agency.into() };
        let rule = vec!["H26.31".to_string()];
        assert!(second_factor_required(&[g(Role::Specialist, "H26.31")], &rule));
        assert!(second_factor_required(&[g(Role::Reception, "H26.31.02")], &rule), "inside the subtree");
        assert!(second_factor_required(&[g(Role::Leader, "H26")], &rule), "a city grant acts on the ward");
        assert!(!second_factor_required(&[g(Role::Admin, "H26")], &rule), "the city's administrators follow the city's rule");
        assert!(second_factor_required(&[g(Role::Admin, "H26.31")], &rule));
        assert!(!second_factor_required(&[g(Role::Specialist, "H26.32")], &rule), "a sibling");
        assert!(!second_factor_required(&[g(Role::Specialist, "H26.310")], &rule), "a prefix is not a parent");
        assert!(!second_factor_required(&[], &rule), "citizens hold no grant");
        assert!(!second_factor_required(&[g(Role::Specialist, "H26.31")], &[]));
    }

    #[test]
    fn grants_cover_subtree_only() {
        let g = RoleGrant { role: Role::Reception, agency: "H26.40".into() };
        assert!(g.covers("H26.40"));
        assert!(g.covers("H26.40.01"));
        assert!(!g.covers("H26.4"));
        assert!(!g.covers("H26.401"));
        assert!(!g.covers("H26"));
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("short", "x"), Err(PasswordError::TooShort));
        assert_eq!(check_password("1234567890", "x"), Err(PasswordError::TooCommon));
        assert_eq!(check_password("aaaaaaaaaaaa", "x"), Err(PasswordError::TooCommon));
        assert_eq!(check_password("x001203012345y", "001203012345"), Err(PasswordError::ContainsLogin));
        assert!(check_password("Hoa sen nở giữa hồ", "001203012345").is_ok());
        assert_eq!(check_password(&"a".repeat(129), "x"), Err(PasswordError::TooLong));
    }
}
