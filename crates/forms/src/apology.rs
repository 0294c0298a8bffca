//! Form 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả. Sent at the latest
//! one working day before the deadline, once per dossier, signed by the head
//! of the agency (Decree 118/2025).

use tl_pdf::{Document, Signature};

use crate::labels::{common, pick, pronoun, APOLOGY_EN, APOLOGY_VI};
use crate::render::{self, labelled, named, sentence};
use crate::{Addressee, Form, Lang, Letterhead, Signer};

/// Form 04 data.
#[derive(Clone, Debug)]
pub struct Apology {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, number, place and date.
    pub letterhead: Letterhead,
    /// The applicant.
    pub addressee: Addressee,
    /// Date the dossier was received, `dd/mm/yyyy`.
    pub received_date: String,
    /// The procedure's name.
    pub procedure: String,
    /// The dossier code.
    pub dossier_code: String,
    /// The return date on the receipt (Form 01), `dd/mm/yyyy`.
    pub original_return: String,
    /// Why the result is late.
    pub reason: String,
    /// The new return date, `dd/mm/yyyy`.
    pub new_return: String,
    /// Head of the agency; an empty title prints "THỦ TRƯỞNG CƠ QUAN".
    pub signer: Signer,
    /// Public page where the notice can be checked.
    pub verify_url: Option<String>,
}

/// Form 04 as PDF bytes.
pub fn apology(data: &Apology) -> Vec<u8> {
    data.document().finish()
}

impl Form for Apology {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &APOLOGY_VI, &APOLOGY_EN), common(self.lang));
        let you = pronoun(lang, self.addressee.kind);
        let agency = self.letterhead.agency.as_str();
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        render::title(&mut doc, l.title, &[]);

        labelled(&mut doc, c.addressee, &self.addressee.name);
        doc.spacer(4.0);
        sentence(&mut doc, &named(l.received, you, agency), &[&self.received_date, &self.addressee.name]);
        labelled(&mut doc, c.procedure, &self.procedure);
        labelled(&mut doc, c.dossier_code, &self.dossier_code);
        labelled(&mut doc, l.original, &self.original_return);
        sentence(&mut doc, &named(l.late, you, agency), &[]);
        labelled(&mut doc, c.reason, &self.reason);
        sentence(&mut doc, &named(l.apology, you, agency), &[&self.new_return]);
        sentence(&mut doc, &named(l.thanks, you, agency), &[]);

        let title = if self.signer.title.trim().is_empty() { c.head_of_agency } else { &self.signer.title };
        let signature = Signature { title: title.to_owned(), note: c.seal_note.to_owned(), name: self.signer.name.clone() };
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[signature]);
        render::end(doc, lang)
    }
}
