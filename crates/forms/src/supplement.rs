//! Form 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ. It must list everything
//! missing at once: asking piecemeal is not allowed (Decree 118/2025).

use tl_pdf::{Document, FontStyle, Signature};

use crate::labels::{common, pick, pronoun, SUPPLEMENT_EN, SUPPLEMENT_VI};
use crate::render::{self, labelled, named, sentence};
use crate::{Addressee, Form, Lang, Letterhead, Officer};

/// One thing to supplement or complete.
#[derive(Clone, Debug)]
pub struct SupplementItem {
    /// What is missing or must be corrected.
    pub what: String,
    /// Why, with the rule it follows from where useful.
    pub reason: String,
}

/// Form 02 data.
#[derive(Clone, Debug)]
pub struct SupplementRequest {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, number, place and date.
    pub letterhead: Letterhead,
    /// The applicant.
    pub addressee: Addressee,
    /// The dossier code.
    pub dossier_code: String,
    /// The procedure's name.
    pub procedure: String,
    /// Date the dossier was received, `dd/mm/yyyy`.
    pub received_date: String,
    /// Everything to supplement or complete, in one list.
    pub items: Vec<SupplementItem>,
    /// How to do it (where to file, what format), if worth saying.
    pub guidance: Option<String>,
    /// Deadline to supplement, if the procedure sets one.
    pub deadline: Option<String>,
    /// The officer who guides the applicant (signs, and is the contact).
    pub officer: Officer,
    /// Public page where the notice can be checked.
    pub verify_url: Option<String>,
}

/// Form 02 as PDF bytes.
pub fn supplement_request(data: &SupplementRequest) -> Vec<u8> {
    data.document().finish()
}

impl Form for SupplementRequest {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &SUPPLEMENT_VI, &SUPPLEMENT_EN), common(self.lang));
        let you = pronoun(lang, self.addressee.kind);
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        render::title(&mut doc, l.title, &[]);

        labelled(&mut doc, c.addressee, &self.addressee.name);
        doc.spacer(4.0);
        let agency = &self.letterhead.agency;
        sentence(&mut doc, &named(l.received, you, agency), &[&self.received_date, &self.procedure, &self.dossier_code]);
        sentence(&mut doc, &named(l.intro, you, agency), &[]);
        for (i, item) in self.items.iter().enumerate() {
            let what = [(FontStyle::Bold, item.what.clone())];
            let reason = vec![(FontStyle::Regular, format!("{} ", c.reason)), (FontStyle::Regular, item.reason.clone())];
            render::numbered(&mut doc, i + 1, &what, &[reason]);
        }
        if let Some(guidance) = &self.guidance {
            render::runs(&mut doc, &[(FontStyle::Regular, format!("{} ", l.guidance)), (FontStyle::Regular, guidance.clone())]);
        }
        if let Some(deadline) = &self.deadline {
            sentence(&mut doc, l.deadline, &[deadline]);
        }
        render::runs(&mut doc, &render::splice(&named(l.contact, you, agency), render::contact(lang, &self.officer)));

        let signature = Signature { title: l.signer.to_owned(), note: c.sign_note.to_owned(), name: self.officer.name.clone() };
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[signature]);
        render::end(doc, lang)
    }
}
