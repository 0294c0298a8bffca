//! The electronic result (kết quả điện tử): every result is also issued
//! electronically (Decree 118/2025 art. 22), and a digitally signed one has
//! the legal value of paper (Decree 45/2020 art. 14). Each procedure gives
//! its own title and fields, e.g. "TRÍCH LỤC KHAI SINH".

use tl_pdf::{Document, Signature};

use crate::labels::{common, pick, ERESULT_EN, ERESULT_VI};
use crate::render::{self, fill, labelled, TEXT};
use crate::{Form, Lang, Letterhead, Signer};

/// One labelled value of a result, e.g. ("Họ, chữ đệm, tên:", "NGUYỄN AN").
#[derive(Clone, Debug)]
pub struct Field {
    /// Label, with its colon.
    pub label: String,
    /// Value.
    pub value: String,
}

impl Field {
    /// A field from its label and value.
    pub fn new(label: &str, value: &str) -> Self {
        Field { label: label.to_owned(), value: value.to_owned() }
    }
}

/// Electronic result data.
#[derive(Clone, Debug)]
pub struct EResult {
    /// Language of the document.
    pub lang: Lang,
    /// Issuing agency, the result's number, place and date of signing.
    pub letterhead: Letterhead,
    /// Title in capitals, e.g. "TRÍCH LỤC KHAI SINH".
    pub title: String,
    /// Line under the title, e.g. "(Bản chính)"; empty to leave out.
    pub subtitle: String,
    /// The result's content as labelled values.
    pub fields: Vec<Field>,
    /// Further paragraphs (a decision's articles, remarks).
    pub body: Vec<String>,
    /// Who signs; title lines like "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ
    /// CHỦ TỊCH". An empty title prints "THỦ TRƯỞNG CƠ QUAN".
    pub signer: Signer,
    /// Public page where the result can be verified.
    pub verify_url: Option<String>,
}

/// The electronic result as PDF bytes (unsigned: sign the
/// [`Form::document`] to issue it).
pub fn e_result(data: &EResult) -> Vec<u8> {
    data.document().finish()
}

impl Form for EResult {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &ERESULT_VI, &ERESULT_EN), common(self.lang));
        let mut doc = render::start(&self.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        let below: Vec<_> =
            Some(self.subtitle.trim()).filter(|s| !s.is_empty()).map(|s| (tl_pdf::FontStyle::Regular, s.to_owned())).into_iter().collect();
        render::title(&mut doc, &self.title, &below);

        for field in &self.fields {
            labelled(&mut doc, &field.label, &field.value);
        }
        for paragraph in &self.body {
            doc.spacer(2.0);
            doc.rich(&[(tl_pdf::FontStyle::Regular, paragraph)], TEXT, 0.0, 0.0);
        }

        let title = if self.signer.title.trim().is_empty() { c.head_of_agency } else { &self.signer.title };
        let signature = Signature { title: title.to_owned(), note: String::new(), name: self.signer.name.clone() };
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[signature]);

        doc.spacer(10.0);
        let notice = match &self.verify_url {
            Some(url) => fill(l.signed_verify, &[url]),
            None => fill(l.signed, &[]),
        };
        let notice: Vec<(tl_pdf::FontStyle, &str)> = notice.iter().map(|(s, t)| (*s, t.as_str())).collect();
        doc.rich(&notice, TEXT - 2.0, 0.0, 0.0);
        render::end(doc, lang)
    }
}
