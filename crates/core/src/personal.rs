//! The citizen's data store (kho dữ liệu cá nhân): the vocabulary of data items, the people a
//! store describes, where each value came from, what may be deleted, and how a pre-filled
//! answer compares with what was finally filed.
//!
//! Decree 45/2020/NĐ-CP gives every citizen and organisation an electronic data store on the
//! public service portal, holding the results of their procedures and the data they gave, so
//! that it is not asked for again; Decree 118/2025/NĐ-CP forbids asking again for documents
//! already held electronically; Decree 13/2023/NĐ-CP (personal data protection) lets the data
//! subject see, correct and delete their data, except where a law requires it to be kept.
//!
//! Pure: no I/O, no clock.

use crate::catalog::I18nText;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a person in a store is to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The store's owner (bản thân).
    #[serde(rename = "self")]
    Own,
    Child,
    Mother,
    Father,
    Spouse,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 6] = [Relation::Own, Relation::Child, Relation::Mother, Relation::Father, Relation::Spouse, Relation::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "self",
            Self::Child => "child",
            Self::Mother => "mother",
            Self::Father => "father",
            Self::Spouse => "spouse",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        let en = lang == "en";
        match self {
            Self::Own if en => "Yourself",
            Self::Own => "Bản thân",
            Self::Child if en => "Child",
            Self::Child => "Con",
            Self::Mother if en => "Mother",
            Self::Mother => "Mẹ",
            Self::Father if en => "Father",
            Self::Father => "Cha",
            Self::Spouse if en => "Spouse",
            Self::Spouse => "Vợ/chồng",
            Self::Other if en => "Other relative",
            Self::Other => "Người thân khác",
        }
    }
}

/// A kind of data item a store may hold about a person.
pub struct ItemKind {
    pub key: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
}

/// The items forms can be pre-filled with. Values are kept as the form stores them (dates as
/// YYYY-MM-DD, addresses as the address object), so a pre-filled answer is a valid answer.
pub const ITEMS: &[ItemKind] = &[
    ItemKind { key: "full_name", vi: "Họ, chữ đệm và tên", en: "Full name" },
    ItemKind { key: "birth_date", vi: "Ngày, tháng, năm sinh", en: "Date of birth" },
    ItemKind { key: "gender", vi: "Giới tính", en: "Sex" },
    ItemKind { key: "ethnicity", vi: "Dân tộc", en: "Ethnicity" },
    ItemKind { key: "nationality", vi: "Quốc tịch", en: "Nationality" },
    ItemKind { key: "personal_id", vi: "Số định danh cá nhân", en: "Personal ID number" },
    ItemKind { key: "phone", vi: "Số điện thoại", en: "Phone number" },
    ItemKind { key: "email", vi: "Thư điện tử", en: "Email" },
    ItemKind { key: "residence", vi: "Nơi cư trú", en: "Place of residence" },
    ItemKind { key: "hometown", vi: "Quê quán", en: "Home town" },
    ItemKind { key: "birth_place", vi: "Nơi sinh", en: "Place of birth" },
];

pub fn item_kind(key: &str) -> Option<&'static ItemKind> {
    ITEMS.iter().find(|i| i.key == key)
}

/// A role a form is about (the child being registered, the person registering a residence),
/// filled from one person of the store. `self` is always there: the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRole {
    pub key: String,
    pub label: I18nText,
    /// The relation a person new to the store gets when the accepted dossier adds them (the
    /// child of a birth registration); None: the role only reads existing people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adds: Option<Relation>,
}

/// Where a form field's value lives in a store: `role.item` (`self.phone`, `child.full_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRef<'a> {
    pub role: &'a str,
    pub item: &'a str,
}

impl<'a> DataRef<'a> {
    pub fn parse(s: &'a str) -> Option<Self> {
        let (role, item) = s.split_once('.')?;
        (!role.is_empty() && item_kind(item).is_some()).then_some(Self { role, item })
    }
}

/// Where a stored value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Typed in by the owner on their data page: theirs to correct or delete.
    SelfDeclared,
    /// An answer of a dossier an agency accepted (verified by that agency).
    Dossier,
    /// Written on a result an agency issued.
    Result,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfDeclared => "self_declared",
            Self::Dossier => "dossier",
            Self::Result => "result",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::SelfDeclared, Self::Dossier, Self::Result].into_iter().find(|x| x.as_str() == s)
    }

    /// Verified by an agency (not only declared by the citizen).
    pub fn verified(self) -> bool {
        self != Self::SelfDeclared
    }

    /// A stronger source replaces a weaker one; a self-declared correction never overwrites what
    /// an agency verified (it is kept beside it until the citizen deletes it).
    pub fn rank(self) -> u8 {
        match self {
            Self::SelfDeclared => 0,
            Self::Dossier => 1,
            Self::Result => 2,
        }
    }
}

/// Why a stored item or document cannot be deleted, in both languages; None: it can.
pub fn deletion_refused(source: Source, is_result_document: bool) -> Option<(&'static str, &'static str)> {
    if is_result_document {
        // Decree 45/2020/NĐ-CP: the results of procedures are kept in the citizen's store by the
        // issuing agency; the citizen cannot remove an issued result (a revoked one is marked).
        return Some((
            "Kết quả giải quyết thủ tục hành chính do cơ quan có thẩm quyền cấp được lưu giữ trong Kho dữ liệu theo Nghị định 45/2020/NĐ-CP; không thể xóa.",
            "Results issued by an authority are kept in the data store under Decree 45/2020/NĐ-CP; they cannot be deleted.",
        ));
    }
    match source {
        Source::SelfDeclared | Source::Dossier => None,
        // What an issued result states is part of the civil status record (Law on Civil Status
        // 2014): it changes only by a procedure (correction of civil status), not by deletion.
        Source::Result => Some((
            "Thông tin ghi trên kết quả do cơ quan có thẩm quyền cấp (ví dụ: trích lục hộ tịch) phải được lưu giữ; muốn sửa, hãy làm thủ tục thay đổi, cải chính hộ tịch.",
            "Information stated on a result issued by an authority (e.g. a civil status extract) must be kept; to change it, file a civil status correction.",
        )),
    }
}

/// How a filed answer relates to what the store offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Filed as pre-filled from the store.
    Prefilled,
    /// Pre-filled, then changed by the applicant.
    Changed,
    /// Typed in (nothing was pre-filled).
    Typed,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prefilled => "prefilled",
            Self::Changed => "changed",
            Self::Typed => "typed",
        }
    }

    /// Compares the filed answer with the pre-filled value. Text differing only in surrounding
    /// spaces is the same answer.
    pub fn of(prefilled: Option<&Value>, filed: Option<&Value>) -> Option<Self> {
        fn norm(v: &Value) -> Value {
            match v {
                Value::String(s) => Value::String(s.trim().to_owned()),
                other => other.clone(),
            }
        }
        match (prefilled, filed) {
            (_, None | Some(Value::Null)) => None,
            (None, Some(_)) => Some(Self::Typed),
            (Some(p), Some(f)) if norm(p) == norm(f) => Some(Self::Prefilled),
            (Some(_), Some(_)) => Some(Self::Changed),
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        let en = lang == "en";
        match self {
            Self::Prefilled if en => "pre-filled from the data store",
            Self::Prefilled => "điền sẵn từ Kho dữ liệu",
            Self::Changed if en => "pre-filled, changed by the applicant",
            Self::Changed => "điền sẵn, người nộp đã sửa",
            Self::Typed if en => "typed by the applicant",
            Self::Typed => "người nộp tự nhập",
        }
    }
}

/// The lawful bases of processing (Decree 13/2023/NĐ-CP art. 17): consent, or without it a
/// legal obligation or a public task named on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    Consent,
    LegalObligation,
    PublicTask,
}

impl LawfulBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::LegalObligation => "legal_obligation",
            Self::PublicTask => "public_task",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Consent, Self::LegalObligation, Self::PublicTask].into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        let en = lang == "en";
        match self {
            Self::Consent if en => "your consent",
            Self::Consent => "sự đồng ý của bạn",
            Self::LegalObligation if en => "a legal obligation",
            Self::LegalObligation => "nghĩa vụ theo quy định của pháp luật",
            Self::PublicTask if en => "a public task",
            Self::PublicTask => "nhiệm vụ của cơ quan nhà nước",
        }
    }
}

/// A consent decision on a data agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Refused,
    Revoked,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Refused => "refused",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Granted, Self::Refused, Self::Revoked].into_iter().find(|x| x.as_str() == s)
    }
}

/// The hash of one consent revision, chained to the previous revision of the same citizen and
/// agreement: changing or removing a revision breaks every later hash.
pub fn consent_hash(
    prev: &str,
    account_id: i64,
    agreement: &str,
    agreement_version: i64,
    revision: i64,
    state: ConsentState,
    at: &str,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    // Length-prefixed fields: no two different records encode alike.
    for part in [prev, &account_id.to_string(), agreement, &agreement_version.to_string(), &revision.to_string(), state.as_str(), at] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_references_name_a_role_and_a_known_item() {
        assert_eq!(DataRef::parse("child.full_name"), Some(DataRef { role: "child", item: "full_name" }));
        assert_eq!(DataRef::parse("self.shoe_size"), None);
        assert_eq!(DataRef::parse("full_name"), None);
        assert_eq!(DataRef::parse(".full_name"), None);
    }

    #[test]
    fn the_origin_of_a_filed_answer_compares_it_with_what_was_prefilled() {
        assert_eq!(Origin::of(Some(&json!("Lê Minh An")), Some(&json!(" Lê Minh An "))), Some(Origin::Prefilled));
        assert_eq!(Origin::of(Some(&json!("Lê Minh An")), Some(&json!("Lê Minh Anh"))), Some(Origin::Changed));
        assert_eq!(Origin::of(None, Some(&json!("0912345678"))), Some(Origin::Typed));
        assert_eq!(Origin::of(Some(&json!("x")), None), None);
    }

    #[test]
    fn issued_results_and_what_they_state_cannot_be_deleted_self_declared_data_can() {
        assert!(deletion_refused(Source::SelfDeclared, false).is_none());
        assert!(deletion_refused(Source::Dossier, false).is_none());
        assert!(deletion_refused(Source::Result, false).unwrap().0.contains("cải chính hộ tịch"));
        assert!(deletion_refused(Source::SelfDeclared, true).unwrap().0.contains("45/2020"));
    }

    #[test]
    fn consent_hashes_chain_and_change_with_any_field() {
        let a = consent_hash("", 7, "prefill", 1, 1, ConsentState::Granted, "2026-12-04T10:00:00Z");
        let b = consent_hash(&a, 7, "prefill", 1, 2, ConsentState::Revoked, "2026-12-05T10:00:00Z");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(b, consent_hash("0", 7, "prefill", 1, 2, ConsentState::Revoked, "2026-12-05T10:00:00Z"));
        assert_ne!(a, consent_hash("", 7, "prefill", 1, 1, ConsentState::Refused, "2026-12-04T10:00:00Z"));
        assert_ne!(a, consent_hash("", 8, "prefill", 1, 1, ConsentState::Granted, "2026-12-04T10:00:00Z"));
    }
}
