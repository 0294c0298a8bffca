//! Sign-in through an upstream identity provider (nhà cung cấp định danh), above all the national
//! one (VNeID): what the verified claims of an ID token must say before they vouch for a person,
//! and which account they open. No I/O: the web layer verifies the token's signature, `iss`,
//! `aud`, `exp` and `nonce`, then hands the claims here.

use crate::account::AccountKind;
use crate::contact::{valid_email, valid_phone};
use crate::ids::{IdError, PersonalId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which claim carries what. Providers differ: the national IdP's personal ID number is not a
/// standard OpenID Connect claim (OIDC Core §5.1 lists none), so its name is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    /// The 12-digit personal ID number (số định danh cá nhân); required.
    pub personal_id: String,
    pub name: String,
    /// `YYYY-MM-DD` (OIDC Core §5.1 `birthdate`).
    pub birth_date: String,
    pub phone: String,
    pub email: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            personal_id: "personal_id".into(),
            name: "name".into(),
            birth_date: "birthdate".into(),
            phone: "phone_number".into(),
            email: "email".into(),
        }
    }
}

/// A person as the identity provider vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPerson {
    /// The provider's stable identifier of the person (`sub`, OIDC Core §2: unique per issuer,
    /// never reassigned); with the provider it is the key of the link.
    pub subject: String,
    pub personal_id: PersonalId,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    /// Only well-formed contacts are kept; a malformed one is dropped, not fatal.
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Why claims do not vouch for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the token has no usable subject")]
    Subject,
    #[error("no personal ID number in the claims")]
    MissingPersonalId,
    #[error("personal ID number refused: {0}")]
    PersonalId(IdError),
    #[error("no name in the claims")]
    MissingName,
    #[error("birth date claim is malformed")]
    BirthDate,
}

impl ClaimError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Subject => "federated_subject",
            Self::MissingPersonalId => "federated_no_personal_id",
            Self::PersonalId(_) => "federated_personal_id_invalid",
            Self::MissingName => "federated_no_name",
            Self::BirthDate => "federated_birth_date",
        }
    }

    pub fn message(&self, lang: &str) -> String {
        let en = lang == "en";
        match self {
            Self::Subject if en => "The identity provider did not say who you are.".into(),
            Self::Subject => "Hệ thống định danh không cho biết bạn là ai.".into(),
            Self::MissingPersonalId if en => {
                "The identity provider did not send your personal ID number, so we cannot open your account. You can allow sharing it and try again, or sign in with your password.".into()
            }
            Self::MissingPersonalId => "Hệ thống định danh không gửi số định danh cá nhân của bạn nên không thể mở tài khoản. Bạn có thể đồng ý chia sẻ thông tin này rồi thử lại, hoặc đăng nhập bằng mật khẩu.".into(),
            Self::PersonalId(e) if en => format!("The personal ID number sent by the identity provider was refused: {}", e.message("en")),
            Self::PersonalId(e) => format!("Số định danh cá nhân do hệ thống định danh gửi không được chấp nhận: {}", e.message("vi")),
            Self::MissingName if en => "The identity provider did not send your full name.".into(),
            Self::MissingName => "Hệ thống định danh không gửi họ và tên của bạn.".into(),
            Self::BirthDate if en => "The date of birth sent by the identity provider is not a valid date.".into(),
            Self::BirthDate => "Ngày sinh do hệ thống định danh gửi không phải ngày hợp lệ.".into(),
        }
    }
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    claims.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Reads a person from the (already verified) claims. `current_year` bounds birth years.
pub fn person_from_claims(claims: &Map<String, Value>, names: &ClaimNames, current_year: i32) -> Result<VerifiedPerson, ClaimError> {
    let subject = text(claims, "sub").filter(|s| s.len() <= 255).ok_or(ClaimError::Subject)?.to_owned();
    // A number may come as a JSON string (as it should: leading zeros) or, carelessly, a number.
    let raw_id = match claims.get(&names.personal_id) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => format!("{:0>12}", n.to_string()),
        _ => return Err(ClaimError::MissingPersonalId),
    };
    let personal_id = PersonalId::parse(&raw_id, current_year).map_err(ClaimError::PersonalId)?;
    let name = text(claims, &names.name).ok_or(ClaimError::MissingName)?;
    if name.chars().count() > 200 {
        return Err(ClaimError::MissingName);
    }
    let birth_date = match text(claims, &names.birth_date) {
        None => None,
        // OIDC Core §5.1: YYYY-MM-DD; "0000" for an undisclosed year is of no use to us.
        Some(s) => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ClaimError::BirthDate)?),
    };
    if let Some(d) = birth_date {
        personal_id.check_against(d, None).map_err(ClaimError::PersonalId)?;
    }
    let phone = text(claims, &names.phone).filter(|p| valid_phone(p)).map(normalise_phone);
    let email = text(claims, &names.email).filter(|e| valid_email(e)).map(str::to_owned);
    Ok(VerifiedPerson { subject, personal_id, name: name.to_owned(), birth_date, phone, email })
}

/// `+84 912 345 678` → `0912345678` (E.164, as OIDC Core §5.1 recommends, to the local form
/// the rest of the platform uses).
fn normalise_phone(p: &str) -> String {
    let digits: String = p.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
    match digits.strip_prefix("+84") {
        Some(rest) => format!("0{rest}"),
        None => digits,
    }
}

/// What the platform knows of an account, as far as linking cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub id: i64,
    pub kind: AccountKind,
    pub login: String,
    pub active: bool,
}

/// What a verified sign-in does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    /// The (provider, subject) pair is linked already: sign in.
    SignIn(i64),
    /// First sign-in of a person whose account exists (made at sign-up or at the counter):
    /// link it and sign in. Verification by the provider is what lets us trust the match.
    Link(i64),
    /// No account yet: create a citizen account without a password, then link it.
    Create,
    Refuse(LinkRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("the account is disabled")]
    Disabled,
    /// The account holding this personal ID number is not a citizen's (it cannot be).
    #[error("the personal ID number belongs to an account that is not a citizen's")]
    NotCitizen,
    /// The subject is linked to an account of another personal ID number: the provider's
    /// record changed, or something is wrong; a person decides, not the code.
    #[error("the linked account has another personal ID number")]
    Mismatch,
}

impl LinkRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Disabled => "federated_account_disabled",
            Self::NotCitizen => "federated_not_citizen",
            Self::Mismatch => "federated_mismatch",
        }
    }

    pub fn message(self, lang: &str) -> &'static str {
        match (self, lang == "en") {
            (Self::Disabled, true) => "This account has been disabled. Please contact the administrator.",
            (Self::Disabled, false) => "Tài khoản này đã bị vô hiệu hóa. Vui lòng liên hệ quản trị viên.",
            (Self::NotCitizen, true) => "This personal ID number is used by an account that is not a citizen's account. Please contact the administrator.",
            (Self::NotCitizen, false) => "Số định danh cá nhân này đang gắn với một tài khoản không phải tài khoản công dân. Vui lòng liên hệ quản trị viên.",
            (Self::Mismatch, true) => "Your electronic identity is linked to an account with another personal ID number. Please contact the administrator.",
            (Self::Mismatch, false) => "Tài khoản định danh điện tử của bạn đang liên kết với một tài khoản có số định danh cá nhân khác. Vui lòng liên hệ quản trị viên.",
        }
    }
}

/// The linking rule. `by_subject`: the account already linked to this provider's subject;
/// `by_personal_id`: the account whose login is the verified personal ID number.
pub fn decide(by_subject: Option<&AccountFacts>, by_personal_id: Option<&AccountFacts>, person: &VerifiedPerson) -> LinkDecision {
    if let Some(a) = by_subject {
        if a.kind != AccountKind::Citizen || a.login != person.personal_id.as_str() {
            return LinkDecision::Refuse(LinkRefusal::Mismatch);
        }
        if !a.active {
            return LinkDecision::Refuse(LinkRefusal::Disabled);
        }
        return LinkDecision::SignIn(a.id);
    }
    match by_personal_id {
        Some(a) if a.kind != AccountKind::Citizen => LinkDecision::Refuse(LinkRefusal::NotCitizen),
        Some(a) if !a.active => LinkDecision::Refuse(LinkRefusal::Disabled),
        Some(a) => LinkDecision::Link(a.id),
        None => LinkDecision::Create,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn names() -> ClaimNames {
        ClaimNames { personal_id: "cccd".into(), ..ClaimNames::default() }
    }

    #[test]
    fn reads_a_person_from_national_idp_claims() {
        let c = claims(json!({
            "sub": "vneid-7f3a", "cccd": "001303012345", "name": "Lê Thị Hoa", "birthdate": "2003-02-01",
            "phone_number": "+84 912 345 678", "email": "hoa@example.vn"
        }));
        let p = person_from_claims(&c, &names(), 2026).unwrap();
        assert_eq!(p.subject, "vneid-7f3a");
        assert_eq!(p.personal_id.as_str(), "001303012345");
        assert_eq!(p.name, "Lê Thị Hoa");
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(2003, 2, 1));
        assert_eq!(p.phone.as_deref(), Some("0912345678"));
        assert_eq!(p.email.as_deref(), Some("hoa@example.vn"));
    }

    #[test]
    fn refuses_what_does_not_vouch_for_a_person() {
        let ok = json!({"sub": "s", "cccd": "001303012345", "name": "Lê Thị Hoa"});
        let with = |k: &str, v: Value| {
            let mut c = claims(ok.clone());
            c.insert(k.into(), v);
            c
        };
        let without = |k: &str| {
            let mut c = claims(ok.clone());
            c.remove(k);
            c
        };
        assert!(person_from_claims(&claims(ok.clone()), &names(), 2026).is_ok());
        assert_eq!(person_from_claims(&without("sub"), &names(), 2026), Err(ClaimError::Subject));
        assert_eq!(person_from_claims(&without("cccd"), &names(), 2026), Err(ClaimError::MissingPersonalId));
        assert_eq!(person_from_claims(&without("name"), &names(), 2026), Err(ClaimError::MissingName));
        assert_eq!(
            person_from_claims(&with("cccd", json!("00130301234")), &names(), 2026),
            Err(ClaimError::PersonalId(IdError::PersonalIdFormat))
        );
        assert_eq!(
            person_from_claims(&with("cccd", json!("003303012345")), &names(), 2026),
            Err(ClaimError::PersonalId(IdError::PersonalIdProvince))
        );
        // The number says 2003; the birth date another year.
        assert_eq!(
            person_from_claims(&with("birthdate", json!("1990-02-01")), &names(), 2026),
            Err(ClaimError::PersonalId(IdError::PersonalIdMismatch))
        );
        assert_eq!(person_from_claims(&with("birthdate", json!("01/02/2003")), &names(), 2026), Err(ClaimError::BirthDate));
        // Malformed contacts are dropped, not fatal.
        let p = person_from_claims(&with("phone_number", json!("12")), &names(), 2026).unwrap();
        assert_eq!(p.phone, None);
        // Every message is in both languages, Vietnamese with its diacritics.
        assert!(ClaimError::MissingPersonalId.message("vi").contains("số định danh cá nhân"));
        assert!(ClaimError::PersonalId(IdError::PersonalIdFormat).message("en").contains("12 digits"));
    }

    #[test]
    fn linking_rules() {
        let person =
            person_from_claims(&claims(json!({"sub": "s", "cccd": "001303012345", "name": "Lê Thị Hoa"})), &names(), 2026).unwrap();
        let citizen = AccountFacts { id: 7, kind: AccountKind::Citizen, login: "001303012345".into(), active: true };
        // Same subject again: sign in.
        assert_eq!(decide(Some(&citizen), Some(&citizen), &person), LinkDecision::SignIn(7));
        // First time, an account with that number exists (sign-up or counter): link it.
        assert_eq!(decide(None, Some(&citizen), &person), LinkDecision::Link(7));
        // First time, nobody: create.
        assert_eq!(decide(None, None, &person), LinkDecision::Create);
        // Disabled accounts stay closed, whichever way they are found.
        let disabled = AccountFacts { active: false, ..citizen.clone() };
        assert_eq!(decide(Some(&disabled), None, &person), LinkDecision::Refuse(LinkRefusal::Disabled));
        assert_eq!(decide(None, Some(&disabled), &person), LinkDecision::Refuse(LinkRefusal::Disabled));
        // An officer whose user name happens to be the number is never taken over.
        let officer = AccountFacts { kind: AccountKind::Officer, ..citizen.clone() };
        assert_eq!(decide(None, Some(&officer), &person), LinkDecision::Refuse(LinkRefusal::NotCitizen));
        // The subject's account has another number: refuse.
        let other = AccountFacts { login: "001203012345".into(), ..citizen };
        assert_eq!(decide(Some(&other), None, &person), LinkDecision::Refuse(LinkRefusal::Mismatch));
    }
}
