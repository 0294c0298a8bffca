//! Form 07: Sổ theo dõi hồ sơ, the register of every dossier a service point
//! received in a period. Thousands of rows: dense, on portrait A4 with narrow
//! side margins, the header row repeated on every page.

use tl_pdf::{Align, Document, FontStyle, Table, PAGE_WIDTH};

use crate::labels::{pick, timeliness, REGISTER_EN, REGISTER_VI};
use crate::render::{self, fill};
use crate::{Form, Lang, Letterhead, Timeliness};

/// Table font size: twelve columns on a portrait page.
const SIZE: f32 = 6.5;
/// Side margin of the table (7 mm, inside what office printers can print),
/// narrower than the text's so that dates and codes fit on one line.
const SIDE: f32 = 20.0;

/// One dossier in the register.
#[derive(Clone, Debug, Default)]
pub struct RegisterRow {
    /// Serial number in the register (STT).
    pub serial: String,
    /// The dossier code.
    pub dossier_code: String,
    /// The procedure's name.
    pub procedure: String,
    /// Number of dossier sets.
    pub sets: String,
    /// Applicant's name.
    pub applicant_name: String,
    /// Applicant's address.
    pub applicant_address: String,
    /// Applicant's phone.
    pub applicant_phone: String,
    /// Agency in charge of the decision.
    pub lead_agency: String,
    /// Date received, `dd/mm/yyyy`.
    pub received_date: String,
    /// Appointed return date.
    pub return_date: String,
    /// Date transferred to the handling agency; empty if not yet.
    pub transfer_date: String,
    /// Date the result was ready; empty if not yet.
    pub result_date: String,
    /// Date the result was returned; empty if not yet.
    pub returned_date: String,
    /// Early, on time or late; `None` while in progress.
    pub status: Option<Timeliness>,
    /// Remarks.
    pub note: String,
}

/// Form 07 data.
#[derive(Clone, Debug)]
pub struct Register {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, place and date of printing (no number: `None`).
    pub letterhead: Letterhead,
    /// The service point, e.g. "Bộ phận Một cửa phường Hoàn Kiếm".
    pub service_point: String,
    /// First day of the period, `dd/mm/yyyy`.
    pub from: String,
    /// Last day of the period, `dd/mm/yyyy`.
    pub to: String,
    /// Volume (Quyển số), if the register is kept in volumes.
    pub volume: Option<String>,
    /// The dossiers, in register order.
    pub rows: Vec<RegisterRow>,
    /// Public page where this extract can be checked.
    pub verify_url: Option<String>,
}

/// Form 07 as PDF bytes.
pub fn register(data: &Register) -> Vec<u8> {
    data.document().finish()
}

impl Form for Register {
    fn document(&self) -> Document {
        let (lang, l) = (self.lang, pick(self.lang, &REGISTER_VI, &REGISTER_EN));
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        let mut below = vec![(FontStyle::Bold, self.service_point.clone())];
        below.push((FontStyle::Regular, fill(l.period, &[&self.from, &self.to]).into_iter().map(|(_, t)| t).collect()));
        if let Some(volume) = &self.volume {
            below.push((FontStyle::Regular, l.volume.replace("{0}", volume)));
        }
        render::title(&mut doc, l.title, &below);

        // Widths in points (555 in all) that fit the usual content on one
        // line: a 4-digit serial, a ward agency's dossier code, a dd/mm/yyyy
        // date, "Trước hạn".
        let weights = [23.0, 76.0, 54.0, 28.0, 78.0, 46.0, 44.0, 44.0, 44.0, 44.0, 39.0, 35.0];
        let aligns = [
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Center,
            Align::Center,
            Align::Center,
            Align::Center,
            Align::Center,
            Align::Left,
        ];
        let mut table = Table::new().width(PAGE_WIDTH - 2.0 * SIDE).font_size(SIZE);
        for ((header, weight), align) in l.columns.iter().zip(weights).zip(aligns) {
            table = table.column(header, weight, align);
        }
        let rows = self.rows.iter().map(|r| {
            let applicant = [&r.applicant_name, &r.applicant_address, &r.applicant_phone]
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n");
            let result = [&r.result_date, &r.returned_date]
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n");
            [
                r.serial.clone(),
                r.dossier_code.clone(),
                r.procedure.clone(),
                r.sets.clone(),
                applicant,
                r.lead_agency.clone(),
                r.received_date.clone(),
                r.return_date.clone(),
                r.transfer_date.clone(),
                result,
                r.status.map(|s| timeliness(lang, s)).unwrap_or("").to_owned(),
                r.note.clone(),
            ]
        });
        doc.table(&table, rows);

        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[]);
        render::end(doc, lang)
    }
}
