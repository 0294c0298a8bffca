//! Form 05: Thông báo dừng giải quyết hồ sơ, when the applicant withdraws the
//! dossier before a decision.

use tl_pdf::{Document, Signature};

use crate::labels::{common, pick, pronoun, STOP_EN, STOP_VI};
use crate::render::{self, labelled, named, sentence};
use crate::{Addressee, Form, Lang, Letterhead, Signer};

/// Form 05 data.
#[derive(Clone, Debug)]
pub struct StopNotice {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, number, place and date (processing stops as of this date).
    pub letterhead: Letterhead,
    /// The applicant.
    pub addressee: Addressee,
    /// The procedure's name.
    pub procedure: String,
    /// The dossier code.
    pub dossier_code: String,
    /// Date the dossier was received, `dd/mm/yyyy`.
    pub received_date: String,
    /// Date of the applicant's request to withdraw, `dd/mm/yyyy`.
    pub withdrawal_date: String,
    /// The reason the applicant gave.
    pub reason: String,
    /// Who signs for the agency; an empty title prints "THỦ TRƯỞNG CƠ QUAN".
    pub signer: Signer,
    /// Public page where the notice can be checked.
    pub verify_url: Option<String>,
}

/// Form 05 as PDF bytes.
pub fn stop_notice(data: &StopNotice) -> Vec<u8> {
    data.document().finish()
}

impl Form for StopNotice {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &STOP_VI, &STOP_EN), common(self.lang));
        let you = pronoun(lang, self.addressee.kind);
        let agency = self.letterhead.agency.as_str();
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        render::title(&mut doc, l.title, &[]);

        labelled(&mut doc, c.addressee, &self.addressee.name);
        doc.spacer(4.0);
        sentence(&mut doc, &named(l.received, you, agency), &[&self.received_date, &self.procedure, &self.dossier_code]);
        sentence(&mut doc, &named(l.withdrawal, you, agency), &[&self.withdrawal_date]);
        labelled(&mut doc, c.reason, &self.reason);
        sentence(&mut doc, &named(l.stopped, you, agency), &[&self.letterhead.date]);
        sentence(&mut doc, &named(c.informed, you, agency), &[]);

        let title = if self.signer.title.trim().is_empty() { c.head_of_agency } else { &self.signer.title };
        let signature = Signature { title: title.to_owned(), note: c.seal_note.to_owned(), name: self.signer.name.clone() };
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[signature]);
        render::end(doc, lang)
    }
}
