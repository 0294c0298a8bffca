//! The papers of the one-stop shop (bộ phận một cửa) as A4 PDFs.
//!
//! Decree 118/2025 and Circular 03/2025/TT-VPCP keep the forms of Circular
//! 01/2018/TT-VPCP; this crate numbers them as the rest of Thăng Long does
//! (DOMAIN.md §3):
//!
//! | form | function | data |
//! |---|---|---|
//! | 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả | [`receipt`] | [`Receipt`] |
//! | 02 Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ | [`supplement_request`] | [`SupplementRequest`] |
//! | 03 Phiếu từ chối tiếp nhận giải quyết hồ sơ | [`refusal`] | [`Refusal`] |
//! | 04 Phiếu xin lỗi và hẹn lại ngày trả kết quả | [`apology`] | [`Apology`] |
//! | 05 Thông báo dừng giải quyết hồ sơ | [`stop_notice`] | [`StopNotice`] |
//! | 06 Phiếu kiểm soát quá trình giải quyết hồ sơ | [`control_sheet`] | [`ControlSheet`] |
//! | 07 Sổ theo dõi hồ sơ | [`register`] | [`Register`] |
//! | kết quả điện tử (the electronic result) | [`e_result`] | [`EResult`] |
//!
//! The data are plain structs of strings the caller has already formatted:
//! dates as `dd/mm/yyyy`, times as `hh:mm`, names with their diacritics (NFC).
//! Nothing here reads a clock or a database. Each struct carries a [`Lang`]:
//! Vietnamese is the legal document, English a translation for foreigners.
//! Every document can carry a verification URL, drawn as a QR code with the
//! URL in small print beneath.
//!
//! To sign a document instead of just serialising it, take its
//! [`tl_pdf::Document`] from [`Form::document`].

#![deny(missing_docs)]

mod apology;
mod control;
mod labels;
mod receipt;
mod refusal;
mod register;
mod render;
mod result;
mod stop;
mod supplement;

pub use apology::{apology, Apology};
pub use control::{control_sheet, ControlSheet, Handoff};
pub use receipt::{receipt, Applicant, Component, Receipt};
pub use refusal::{refusal, Refusal};
pub use register::{register, Register, RegisterRow};
pub use result::{e_result, EResult, Field};
pub use stop::{stop_notice, StopNotice};
pub use supplement::{supplement_request, SupplementItem, SupplementRequest};

/// Language of a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Vietnamese: the legally binding text.
    #[default]
    Vi,
    /// English: a translation for foreign applicants.
    En,
}

impl Lang {
    /// Parses a BCP 47 tag by its primary subtag: "vi", "en", "en-GB"…
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The tag written into the PDF for screen readers.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// The issuing agency, the document's number, place and date: the national
/// header every administrative document starts with (Decree 30/2020 annex I).
#[derive(Clone, Debug, Default)]
pub struct Letterhead {
    /// Superior agency, e.g. "Ủy ban nhân dân thành phố Hà Nội"; empty when
    /// there is none. Printed in capitals.
    pub superior: String,
    /// Issuing agency or unit, e.g. "Ủy ban nhân dân phường Hoàn Kiếm".
    /// Printed in capitals and bold; used as written inside sentences.
    pub agency: String,
    /// The document's number and symbol, e.g. "125/GTN-UBND", printed after
    /// "Số:"; `None` for documents without one (the register).
    pub number: Option<String>,
    /// Place name for the date line, e.g. "Hoàn Kiếm".
    pub place: String,
    /// Date of the document, `dd/mm/yyyy`.
    pub date: String,
}

/// A moment written as officials do: time `hh:mm` and date `dd/mm/yyyy`,
/// rendered "08 giờ 30 phút, ngày 26/11/2026".
#[derive(Clone, Debug, Default)]
pub struct Moment {
    /// `hh:mm`, 24-hour clock.
    pub time: String,
    /// `dd/mm/yyyy`.
    pub date: String,
}

impl Moment {
    /// A moment from its time and date strings.
    pub fn new(time: &str, date: &str) -> Self {
        Moment { time: time.to_owned(), date: date.to_owned() }
    }
}

/// Whether the addressee or applicant is a person or an organisation: it
/// decides how the text addresses them and which ID is asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApplicantKind {
    /// A citizen or foreigner (ID: personal identification number).
    #[default]
    Person,
    /// A business or other organisation (ID: enterprise or organisation code).
    Organisation,
}

/// Who a notice is addressed to.
#[derive(Clone, Debug, Default)]
pub struct Addressee {
    /// Full name, e.g. "Nguyễn Thị Thu Hằng" or "Công ty TNHH Sông Hồng".
    pub name: String,
    /// Person or organisation.
    pub kind: ApplicantKind,
}

/// A one-stop shop officer named on a notice, with contact details for
/// questions.
#[derive(Clone, Debug, Default)]
pub struct Officer {
    /// Full name.
    pub name: String,
    /// Office phone; empty if not given.
    pub phone: String,
    /// Office email; empty if not given.
    pub email: String,
}

/// Who signs for the agency.
#[derive(Clone, Debug, Default)]
pub struct Signer {
    /// Capacity in capitals, lines separated by `'\n'`, e.g.
    /// "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH". Empty: the form's default (for Form 04
    /// "THỦ TRƯỞNG CƠ QUAN").
    pub title: String,
    /// Full name.
    pub name: String,
}

/// How a component of the dossier was submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyForm {
    /// Bản chính.
    Original,
    /// Bản sao chứng thực (certified copy).
    CertifiedCopy,
    /// Bản sao (plain copy, checked against the original).
    Copy,
    /// Bản điện tử có chữ ký số (electronic, digitally signed).
    Electronic,
}

/// Result of a step against its time budget (Form 06, Form 07).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeliness {
    /// Trước hạn.
    Early,
    /// Đúng hạn.
    OnTime,
    /// Quá hạn.
    Late,
}

/// A document of this crate, as a [`tl_pdf::Document`] ready to be finished
/// (or signed).
pub trait Form {
    /// Lays the document out.
    fn document(&self) -> tl_pdf::Document;
}
