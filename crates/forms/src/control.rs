//! Form 06: Phiếu kiểm soát quá trình giải quyết hồ sơ, the process control
//! sheet: one row per hand-off of the dossier between units, with the
//! giver, the receiver and whether the step kept its time budget.

use tl_pdf::{Align, Document, FontStyle, Table};

use crate::labels::{common, pick, timeliness, CONTROL_EN, CONTROL_VI};
use crate::render::{self, labelled, TEXT};
use crate::{Form, Lang, Letterhead, Moment, Timeliness};

/// One hand-off of the dossier.
#[derive(Clone, Debug)]
pub struct Handoff {
    /// Unit handing the dossier over, e.g. "Bộ phận Một cửa".
    pub from_unit: String,
    /// Unit taking it, e.g. "Công chức Tư pháp - Hộ tịch".
    pub to_unit: String,
    /// When it changed hands.
    pub at: Moment,
    /// Person handing over.
    pub giver: String,
    /// Person receiving.
    pub receiver: String,
    /// How the giving unit did against its budget; `None` while pending.
    pub result: Option<Timeliness>,
    /// Remarks, e.g. "Yêu cầu bổ sung lần 1".
    pub note: String,
}

/// Form 06 data.
#[derive(Clone, Debug)]
pub struct ControlSheet {
    /// Language of the document.
    pub lang: Lang,
    /// Agency, number, place and date.
    pub letterhead: Letterhead,
    /// The dossier code.
    pub dossier_code: String,
    /// Number of the receipt (Form 01) the sheet goes with, if any.
    pub receipt_number: Option<String>,
    /// The procedure's name.
    pub procedure: String,
    /// The applicant's name.
    pub applicant: String,
    /// When the dossier was received.
    pub received_at: Moment,
    /// Appointed return of the result.
    pub return_at: Moment,
    /// Agency (unit) in charge; empty to leave out.
    pub lead_agency: String,
    /// Cooperating agencies (multi-agency procedures); empty to leave out.
    pub cooperating: String,
    /// The hand-offs, in order.
    pub handoffs: Vec<Handoff>,
    /// Public page where the sheet can be checked.
    pub verify_url: Option<String>,
}

/// Form 06 as PDF bytes.
pub fn control_sheet(data: &ControlSheet) -> Vec<u8> {
    data.document().finish()
}

impl Form for ControlSheet {
    fn document(&self) -> Document {
        let (lang, l, c) = (self.lang, pick(self.lang, &CONTROL_VI, &CONTROL_EN), common(self.lang));
        let mut doc = render::start(l.title, lang);
        render::letterhead(&mut doc, lang, &self.letterhead);
        let mut below = vec![(FontStyle::Bold, format!("{} {}", c.dossier_code, self.dossier_code))];
        if let Some(number) = &self.receipt_number {
            below.push((FontStyle::Regular, l.attached.replace("{0}", number)));
        }
        render::title(&mut doc, l.title, &below);

        labelled(&mut doc, l.procedure, &self.procedure);
        labelled(&mut doc, l.applicant, &self.applicant);
        labelled(&mut doc, l.received_at, &render::moment(lang, &self.received_at));
        labelled(&mut doc, l.return_at, &render::moment(lang, &self.return_at));
        if !self.lead_agency.trim().is_empty() {
            labelled(&mut doc, l.lead, &self.lead_agency);
        }
        if !self.cooperating.trim().is_empty() {
            labelled(&mut doc, l.cooperating, &self.cooperating);
        }
        doc.spacer(6.0);

        let table = Table::new()
            .font_size(TEXT - 2.0)
            .column(l.col_unit, 28.0, Align::Left)
            .column(l.col_time, 14.0, Align::Center)
            .column(l.col_giver, 14.0, Align::Left)
            .column(l.col_receiver, 14.0, Align::Left)
            .column(l.col_result, 14.0, Align::Center)
            .column(l.col_note, 16.0, Align::Left);
        let rows = self.handoffs.iter().enumerate().map(|(i, h)| {
            [
                format!("{}. {} {}\n{} {}", i + 1, l.give, h.from_unit, l.take, h.to_unit),
                render::short_moment(&h.at),
                h.giver.clone(),
                h.receiver.clone(),
                h.result.map(|r| timeliness(lang, r)).unwrap_or("").to_owned(),
                h.note.clone(),
            ]
        });
        doc.table(&table, rows);

        render::closing(&mut doc, lang, self.verify_url.as_deref(), &[]);
        render::end(doc, lang)
    }
}
