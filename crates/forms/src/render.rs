//! Pieces every form shares: the national header, titles, labelled lines,
//! sentences with their filled-in values in bold, numbered items and the
//! closing row of QR code and signature.

use tl_pdf::{text_width, Block, Document, FontStyle, Line, Signature, CONTENT_WIDTH, MARGIN};

use crate::labels::{common, MONTHS_EN};
use crate::{Lang, Letterhead, Moment, Officer};

/// Body text size. DejaVu Sans is wider than the Times New Roman of paper
/// forms, so 11 pt sets about as many words per line as their 13 pt.
pub(crate) const TEXT: f32 = 11.0;
/// Size of the national header lines.
const HEADER: f32 = 10.0;
/// Size of a form's title.
const TITLE: f32 = 13.0;
/// Side of the verification QR code, quiet zone included: about 25 mm,
/// which phone cameras read at arm's length.
const QR: f32 = 72.0;
/// Size of the URL printed under the QR code.
const SMALL: f32 = 7.5;
/// Width of the header's left column (the agency); the right one takes the
/// rest, enough for the national name on one line.
const AGENCY_WIDTH: f32 = 233.0;

/// A new document; `title` goes to the PDF's Info dictionary.
pub(crate) fn start(title: &str, lang: Lang) -> Document {
    Document::new(title, lang.tag())
}

/// Adds page numbers when the document ran onto a second page; a
/// one-page form does not need "Page 1/1".
pub(crate) fn end(mut doc: Document, lang: Lang) -> Document {
    if doc.page_count() > 1 {
        doc.page_numbers(common(lang).page);
    }
    doc
}

/// The national header: agency on the left, the country's name and motto on
/// the right, the number under the agency level with the place and date
/// under the motto (Decree 30/2020 annex I).
pub(crate) fn letterhead(doc: &mut Document, lang: Lang, head: &Letterhead) {
    let c = common(lang);
    let mut left = Vec::new();
    if !head.superior.trim().is_empty() {
        left.push(Line::new(head.superior.to_uppercase()).size(HEADER).center());
    }
    left.push(Line::new(head.agency.to_uppercase()).bold().size(HEADER).center().rule_below(0.4));
    let right = vec![Line::new(c.republic).bold().size(HEADER).center(), Line::new(c.motto).bold().size(HEADER).center().rule_below(1.0)];
    let right_width = CONTENT_WIDTH - AGENCY_WIDTH;
    // Number and date sit on one baseline below the taller of the two.
    let above = Block::new(AGENCY_WIDTH, left.clone()).height().max(Block::new(right_width, right.clone()).height()) + 4.0;
    let mut left_block = Block::new(AGENCY_WIDTH, left);
    let mut right_block = Block::new(right_width, right);
    if let Some(number) = &head.number {
        let gap = above - left_block.height();
        left_block.lines.push(Line::new(format!("{}: {number}", c.number)).size(HEADER).center().space_before(gap));
    }
    let gap = above - right_block.height();
    right_block.lines.push(Line::new(place_date(lang, &head.place, &head.date)).size(HEADER).center().space_before(gap));
    doc.blocks(&[left_block, right_block]);
    doc.spacer(10.0);
}

/// "Hoàn Kiếm, ngày 26 tháng 11 năm 2026" / "Hoàn Kiếm, 26 November 2026".
pub(crate) fn place_date(lang: Lang, place: &str, date: &str) -> String {
    format!("{place}, {}", long_date(lang, date))
}

/// A `dd/mm/yyyy` date written out: "ngày 26 tháng 11 năm 2026" /
/// "26 November 2026". Anything else is printed as given.
pub(crate) fn long_date(lang: Lang, date: &str) -> String {
    let parts: Vec<&str> = date.trim().split('/').collect();
    let [d, m, y] = parts[..] else {
        return date.to_owned();
    };
    match lang {
        Lang::Vi => format!("ngày {d} tháng {m} năm {y}"),
        Lang::En => match m.parse::<usize>().ok().and_then(|m| MONTHS_EN.get(m.wrapping_sub(1))) {
            Some(month) => format!("{} {month} {y}", d.trim_start_matches('0')),
            None => date.to_owned(),
        },
    }
}

/// "08 giờ 30 phút, ngày 26/11/2026" / "08:30, 26/11/2026".
pub(crate) fn moment(lang: Lang, at: &Moment) -> String {
    match (lang, at.time.split_once(':')) {
        (Lang::Vi, Some((h, m))) => format!("{h} giờ {m} phút, ngày {}", at.date),
        (Lang::Vi, None) => format!("{}, ngày {}", at.time, at.date),
        (Lang::En, _) => format!("{}, {}", at.time, at.date),
    }
}

/// "08:30 26/11/2026", for table cells.
pub(crate) fn short_moment(at: &Moment) -> String {
    format!("{} {}", at.time, at.date).trim().to_owned()
}

/// The form's title, centred in bold, with optional lines under it.
pub(crate) fn title(doc: &mut Document, title: &str, below: &[(FontStyle, String)]) {
    doc.line(Line::new(title).bold().size(TITLE).center().space_before(6.0));
    for (style, text) in below {
        let line = Line::new(text).size(TEXT).center().space_before(1.0);
        doc.line(if *style == FontStyle::Bold { line.bold() } else { line });
    }
    doc.spacer(10.0);
}

/// Splits a template at `{0}`, `{1}`… into runs, the values in bold.
pub(crate) fn fill(template: &str, values: &[&str]) -> Vec<(FontStyle, String)> {
    let mut runs = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let Ok(index) = rest[open + 1..close].parse::<usize>() else {
            runs.push((FontStyle::Regular, rest[..=open].to_owned()));
            rest = &rest[open + 1..];
            continue;
        };
        if open > 0 {
            runs.push((FontStyle::Regular, rest[..open].to_owned()));
        }
        runs.push((FontStyle::Bold, values.get(index).copied().unwrap_or("").to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        runs.push((FontStyle::Regular, rest.to_owned()));
    }
    runs
}

/// Fills the plain placeholders: `{you}`, how the applicant is addressed,
/// and `{agency}`, the issuing agency as written in a sentence.
pub(crate) fn named(template: &str, you: &str, agency: &str) -> String {
    template.replace("{you}", you).replace("{agency}", agency)
}

/// Plain text of a filled template (for the PDF title and tests).
#[cfg(test)]
pub(crate) fn plain(runs: &[(FontStyle, String)]) -> String {
    runs.iter().map(|(_, t)| t.as_str()).collect()
}

/// A paragraph of runs at body size.
pub(crate) fn runs(doc: &mut Document, runs: &[(FontStyle, String)]) {
    let borrowed: Vec<(FontStyle, &str)> = runs.iter().map(|(s, t)| (*s, t.as_str())).collect();
    doc.rich(&borrowed, TEXT, 0.0, 0.0);
    doc.spacer(3.0);
}

/// A sentence from a template with its values in bold.
pub(crate) fn sentence(doc: &mut Document, template: &str, values: &[&str]) {
    runs(doc, &fill(template, values));
}

/// "Label: value", the value in bold.
pub(crate) fn labelled(doc: &mut Document, label: &str, value: &str) {
    doc.rich(&[(FontStyle::Regular, label), (FontStyle::Regular, " "), (FontStyle::Bold, value)], TEXT, 0.0, 0.0);
    doc.spacer(3.0);
}

/// A numbered item ("1. …") whose continuation lines align with its text,
/// and optional further lines ("Lý do: …") at that same indent.
pub(crate) fn numbered(doc: &mut Document, n: usize, text: &[(FontStyle, String)], more: &[Vec<(FontStyle, String)>]) {
    let marker = format!("{n}. ");
    let indent = 12.0;
    let hang = text_width(FontStyle::Regular, TEXT, &marker);
    let mut first: Vec<(FontStyle, &str)> = vec![(FontStyle::Regular, marker.as_str())];
    first.extend(text.iter().map(|(s, t)| (*s, t.as_str())));
    doc.rich(&first, TEXT, indent, hang);
    for line in more {
        let borrowed: Vec<(FontStyle, &str)> = line.iter().map(|(s, t)| (*s, t.as_str())).collect();
        doc.rich(&borrowed, TEXT, indent + hang, 0.0);
    }
    doc.spacer(3.0);
}

/// "Nguyễn Văn Bình, số điện thoại 024 3825 1234, email binh@…" as runs,
/// the name and the numbers in bold.
pub(crate) fn contact(lang: Lang, officer: &Officer) -> Vec<(FontStyle, String)> {
    let c = common(lang);
    let mut runs = vec![(FontStyle::Bold, officer.name.clone())];
    for (label, value) in [(c.phone, &officer.phone), (c.email, &officer.email)] {
        if !value.trim().is_empty() {
            runs.push((FontStyle::Regular, format!(", {label} ")));
            runs.push((FontStyle::Bold, value.clone()));
        }
    }
    runs
}

/// A template whose `{0}` stands for several runs of its own.
pub(crate) fn splice(template: &str, value: Vec<(FontStyle, String)>) -> Vec<(FontStyle, String)> {
    match template.split_once("{0}") {
        Some((before, after)) => {
            let mut runs = vec![(FontStyle::Regular, before.to_owned())];
            runs.extend(value);
            runs.push((FontStyle::Regular, after.to_owned()));
            runs
        }
        None => fill(template, &[]),
    }
}

/// The last row of a document: the verification QR code with its URL on
/// the left (where paper documents list recipients) and the signatures on
/// the right; either may be absent. Kept together on one page.
pub(crate) fn closing(doc: &mut Document, lang: Lang, verify_url: Option<&str>, signatures: &[Signature]) {
    // One signer keeps to the right half as on paper; two share the width
    // left of a narrow QR column.
    let left_width = match signatures.len() {
        0 | 1 => CONTENT_WIDTH * 0.42,
        _ if verify_url.is_some() => QR + 30.0,
        _ => 0.0,
    };
    let mut left = Block::new(left_width, Vec::new());
    if let Some(url) = verify_url {
        left.lines.push(Line::new(common(lang).verify).size(SMALL).space_before(QR + 2.0));
        left.lines.push(Line::new(url).size(SMALL));
    }
    let mut blocks = vec![left];
    let width = (CONTENT_WIDTH - left_width) / signatures.len().max(1) as f32;
    blocks.extend(signatures.iter().map(|s| s.block(width)));
    let height = blocks.iter().map(Block::height).fold(0.0, f32::max);
    doc.spacer(8.0);
    doc.keep_together(height);
    let top = doc.cursor();
    doc.blocks(&blocks);
    if let Some(url) = verify_url {
        // The square includes a quiet zone of 4 modules (of about 37 for a
        // URL): shift it left so the dark modules line up with the text.
        doc.qr_at(url, MARGIN - QR * 4.0 / 37.0, top, QR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_out() {
        assert_eq!(long_date(Lang::Vi, "05/02/2026"), "ngày 05 tháng 02 năm 2026");
        assert_eq!(long_date(Lang::En, "05/02/2026"), "5 February 2026");
        assert_eq!(long_date(Lang::En, "05/13/2026"), "05/13/2026");
        assert_eq!(long_date(Lang::Vi, "mai"), "mai");
        assert_eq!(moment(Lang::Vi, &Moment::new("08:05", "26/11/2026")), "08 giờ 05 phút, ngày 26/11/2026");
        assert_eq!(moment(Lang::En, &Moment::new("08:05", "26/11/2026")), "08:05, 26/11/2026");
    }

    #[test]
    fn templates_fill_in_bold() {
        let runs = fill("Ngày {0}, {1} đã tiếp nhận {x}", &["26/11/2026", "UBND"]);
        assert_eq!(plain(&runs), "Ngày 26/11/2026, UBND đã tiếp nhận {x}");
        assert_eq!(runs[1], (FontStyle::Bold, "26/11/2026".to_owned()));
        assert_eq!(plain(&fill("{2}", &["a"])), "");
    }
}
