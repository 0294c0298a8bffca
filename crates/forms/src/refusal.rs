//! Form 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ, for a dossier out of
//! the agency's scope or ineligible, with the reasons.

use tl_pdf::{Document, FontStyle, Signature};

use crate::labels::{common, pick, pronoun, REFUSAL_EN, REFUSAL_VI};
use crate::render::{self, fill, labelled, named};
use crate::{Addressee, Form, Lang, Letterhead, Officer};

/// Form 03 data.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, number, place and date.
    pub letterhead: Letterhead,
    /// The applicant.
    pub addressee: Addressee,
    /// The procedure's name.
    pub procedure: String,
    /// The dossier code, if one was issued (online filings have one).
    pub dossier_code: Option<String>,
    /// The rule the decision rests on, e.g. "khoản 1 Điều 15 Nghị định
    /// 118/2025/NĐ-CP", if worth citing.
    pub legal_basis: Option<String>,
    /// Why the dossier is refused, one reason per entry.
    pub reasons: Vec<String>,
    /// The receiving officer (signs, and is the contact).
    pub officer: Officer,
    /// Public page where the notice can be checked.
    pub verify_url: Option<String>,
}

/// Form 03 as PDF bytes.
pub fn refusal(data: &Refusal) -> Vec<u8> {
    data.document().finish()
}

impl Form for Refusal {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &REFUSAL_VI, &REFUSAL_EN), common(self.lang));
        let you = pronoun(lang, self.addressee.kind);
        let agency = self.letterhead.agency.as_str();
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        render::title(&mut doc, l.title, &[]);

        labelled(&mut doc, c.addressee, &self.addressee.name);
        doc.spacer(4.0);
        let mut received = fill(&named(l.received, you, agency), &[&self.procedure]);
        if let Some(code) = &self.dossier_code {
            received.extend(fill(l.with_code, &[code]));
        }
        received.push((FontStyle::Regular, ".".to_owned()));
        render::runs(&mut doc, &received);
        let basis = self.legal_basis.as_deref().map(|b| l.basis.replace("{0}", b)).unwrap_or_default();
        render::runs(&mut doc, &fill(&named(l.reviewed, you, agency).replace("{basis}", &basis), &[]));
        for (i, reason) in self.reasons.iter().enumerate() {
            render::numbered(&mut doc, i + 1, &[(FontStyle::Regular, reason.clone())], &[]);
        }
        render::runs(&mut doc, &fill(&named(c.closing, you, agency), &[]));
        if !self.officer.phone.trim().is_empty() || !self.officer.email.trim().is_empty() {
            render::runs(&mut doc, &render::splice(l.contact, render::contact(lang, &self.officer)));
        }

        let signature = Signature { title: l.signer.to_owned(), note: c.sign_note.to_owned(), name: self.officer.name.clone() };
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[signature]);
        render::end(doc, lang)
    }
}
