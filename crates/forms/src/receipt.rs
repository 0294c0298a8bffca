//! Form 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả, the receipt a complete
//! dossier gets at reception, with its code and the appointed return time.

use tl_pdf::{Align, Document, FontStyle, Signature, Table};

use crate::labels::{common, copy_form, pick, RECEIPT_EN, RECEIPT_VI};
use crate::render::{self, fill, labelled, sentence, TEXT};
use crate::{ApplicantKind, CopyForm, Form, Lang, Letterhead, Moment};

/// The applicant as identified at reception.
#[derive(Clone, Debug, Default)]
pub struct Applicant {
    /// Person or organisation.
    pub kind: ApplicantKind,
    /// Full name, or the organisation's name.
    pub name: String,
    /// Personal identification number (12 digits) or enterprise /
    /// organisation code.
    pub id_number: String,
    /// Address.
    pub address: String,
    /// Phone; empty if not given.
    pub phone: String,
    /// Email; empty if not given.
    pub email: String,
}

/// One component (thành phần) of the dossier.
#[derive(Clone, Debug)]
pub struct Component {
    /// Name of the paper, e.g. "Tờ khai đăng ký khai sinh".
    pub name: String,
    /// Original, certified copy, copy or e-signed.
    pub form: CopyForm,
    /// Number of copies, e.g. "01".
    pub count: String,
}

/// Form 01 data.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, receipt number, place and date.
    pub letterhead: Letterhead,
    /// The dossier code, e.g. "H26.31-261126-0001".
    pub dossier_code: String,
    /// Unit that received it, e.g. "Bộ phận Một cửa phường Hoàn Kiếm".
    pub receiving_unit: String,
    /// Whose dossier it is.
    pub applicant: Applicant,
    /// Person acting under an authorisation, if any (name and paper).
    pub authorised_person: Option<String>,
    /// What is requested: the procedure's name.
    pub procedure: String,
    /// The papers handed in.
    pub components: Vec<Component>,
    /// Number of dossier sets, e.g. "01".
    pub sets: String,
    /// Statutory time limit, e.g. "03 ngày làm việc".
    pub time_limit: String,
    /// When the complete dossier was received.
    pub received_at: Moment,
    /// Appointed return of the result.
    pub return_at: Moment,
    /// Where (or how) the result is collected.
    pub result_at: String,
    /// Register volume (Quyển số).
    pub register_volume: String,
    /// Serial in the register (Số thứ tự).
    pub register_serial: String,
    /// Who handed the dossier in (signs on the left).
    pub submitter: String,
    /// The officer who received it (signs on the right).
    pub receiver: String,
    /// Public page where the receipt can be checked.
    pub verify_url: Option<String>,
}

/// Form 01 as PDF bytes.
pub fn receipt(data: &Receipt) -> Vec<u8> {
    data.document().finish()
}

impl Form for Receipt {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &RECEIPT_VI, &RECEIPT_EN), common(self.lang));
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        render::title(&mut doc, l.title, &[(FontStyle::Bold, format!("{} {}", c.dossier_code, self.dossier_code))]);

        sentence(&mut doc, l.received_from, &[&self.receiving_unit]);
        let a = &self.applicant;
        let (name_label, id_label) = match a.kind {
            ApplicantKind::Person => (l.person, l.person_id),
            ApplicantKind::Organisation => (l.organisation, l.organisation_id),
        };
        labelled(&mut doc, name_label, &a.name);
        labelled(&mut doc, id_label, &a.id_number);
        labelled(&mut doc, l.address, &a.address);
        for (label, value) in [(l.phone, &a.phone), (l.email, &a.email)] {
            if !value.trim().is_empty() {
                labelled(&mut doc, label, value);
            }
        }
        if let Some(person) = &self.authorised_person {
            labelled(&mut doc, l.authorised, person);
        }
        labelled(&mut doc, c.procedure, &self.procedure);

        doc.spacer(2.0);
        render::runs(&mut doc, &fill(l.components, &[]));
        let table = Table::new()
            .font_size(TEXT - 1.0)
            .column(l.col_no, 7.0, Align::Center)
            .column(l.col_name, 52.0, Align::Left)
            .column(l.col_form, 28.0, Align::Left)
            .column(l.col_count, 11.0, Align::Center);
        let rows = self
            .components
            .iter()
            .enumerate()
            .map(|(i, part)| [(i + 1).to_string(), part.name.clone(), copy_form(lang, part.form).to_owned(), part.count.clone()]);
        doc.table(&table, rows);
        doc.spacer(6.0);

        sentence(&mut doc, l.sets, &[&self.sets]);
        sentence(&mut doc, l.time_limit, &[&self.time_limit]);
        sentence(&mut doc, l.received_at, &[&render::moment(lang, &self.received_at)]);
        sentence(&mut doc, l.return_at, &[&render::moment(lang, &self.return_at)]);
        sentence(&mut doc, l.result_at, &[&self.result_at]);
        sentence(&mut doc, l.register, &[&self.register_volume, &self.register_serial]);

        doc.spacer(6.0);
        let sign = |title: &str, name: &str| Signature { title: title.to_owned(), note: c.sign_note.to_owned(), name: name.to_owned() };
        let signatures = [sign(l.submitter, &self.submitter), sign(l.receiver, &self.receiver)];
        render::closing(&mut doc, lang, self.verify_url.as_deref(), &signatures);
        render::end(doc, lang)
    }
}
