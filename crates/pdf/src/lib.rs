//! Thăng Long's PDF writer: small A4 documents (acknowledgement receipts,
//! official forms) with Vietnamese text.
//!
//! The PDF syntax comes from `pdf-writer`, font subsetting from `subsetter`
//! and metrics from `ttf-parser`; this crate only does a simple flowing
//! layout. DejaVu Sans (regular and bold) is embedded as a subset CID font
//! (Type0 / CIDFontType2, Identity-H), so every glyph is addressed by a 2-byte
//! glyph ID and no text escaping or encoding tables are involved. A ToUnicode
//! CMap maps those glyph IDs back to Unicode so the text stays searchable,
//! copyable and readable by screen readers.
//!
//! Text is used as given: callers pass NFC. Vietnamese in NFC needs no
//! shaping (every letter, even "ệ" or "ữ", is one precomposed code point with
//! its own glyph), so a cmap lookup plus advance widths is enough.
//!
//! ```
//! let mut doc = tl_pdf::Document::new("Giấy tiếp nhận", "vi");
//! doc.heading("GIẤY TIẾP NHẬN HỒ SƠ");
//! doc.key_value("Mã hồ sơ:", "H26.31-261126-0001");
//! doc.page_numbers("Trang");
//! let bytes = doc.finish();
//! assert!(bytes.starts_with(b"%PDF-"));
//! ```

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

mod layout;
pub use layout::{wrap_cell, Align, Block, Line, Signature, Table};

mod qr;
mod sign;
pub use qr::QR_MAX_BYTES;
pub use sign::{SignPdfError, SignatureInfo, SIGNATURE_CAPACITY};

/// A4 width in points.
pub const PAGE_WIDTH: f32 = 595.28;
/// A4 height in points.
pub const PAGE_HEIGHT: f32 = 841.89;
/// Top, bottom and side margin in points (about 2 cm).
pub const MARGIN: f32 = 56.0;
/// Width available to text between the side margins.
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

/// Body text size in points.
const BODY_SIZE: f32 = 11.0;
/// Heading size in points.
const HEADING_SIZE: f32 = 14.0;
/// Footer (page number) size in points.
const FOOTER_SIZE: f32 = 9.0;
/// Line height as a multiple of the font size. Generous because Vietnamese
/// capitals carry stacked marks (Ệ, Ố) that rise well above the cap height.
const LINE_HEIGHT: f32 = 1.45;
/// Width of the label column in [`Document::key_value`].
const LABEL_WIDTH: f32 = 150.0;
/// Gap between the label and the value column.
const COLUMN_GAP: f32 = 10.0;

/// Which of the two embedded DejaVu Sans faces to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FontStyle {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl FontStyle {
    fn index(self) -> usize {
        match self {
            FontStyle::Regular => 0,
            FontStyle::Bold => 1,
        }
    }

    /// Resource name of the font on every page.
    fn resource(self) -> Name<'static> {
        match self {
            FontStyle::Regular => Name(b"F1"),
            FontStyle::Bold => Name(b"F2"),
        }
    }
}

/// One embedded font face, parsed once per process.
pub struct Font {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    base_name: &'static str,
}

static FONTS: [OnceLock<Font>; 2] = [OnceLock::new(), OnceLock::new()];

impl Font {
    /// The embedded face for `style`.
    pub fn get(style: FontStyle) -> &'static Font {
        FONTS[style.index()].get_or_init(|| {
            let (data, base_name): (&'static [u8], _) = match style {
                FontStyle::Regular => (include_bytes!("../fonts/DejaVuSans.ttf"), "DejaVuSans"),
                FontStyle::Bold => (include_bytes!("../fonts/DejaVuSans-Bold.ttf"), "DejaVuSans-Bold"),
            };
            // The fonts are compiled in, so a parse failure is a build defect
            // that every test would catch, not a runtime condition.
            let face = ttf_parser::Face::parse(data, 0).expect("bundled DejaVu font parses");
            Font { data, face, base_name }
        })
    }

    /// Glyph ID for `c`, or 0 (`.notdef`) when the font lacks it.
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance width of glyph `gid` in thousandths of an em (PDF glyph space).
    pub fn advance(&self, gid: u16) -> f32 {
        let units = self.face.glyph_hor_advance(ttf_parser::GlyphId(gid)).unwrap_or(0);
        self.to_thousandths(units as f32)
    }

    /// Width of `text` set at `size_pt`, in points.
    pub fn text_width(&self, size_pt: f32, text: &str) -> f32 {
        let em: f32 = text.chars().map(|c| self.advance(self.glyph(c))).sum();
        em * size_pt / 1000.0
    }

    fn to_thousandths(&self, units: f32) -> f32 {
        units * 1000.0 / f32::from(self.face.units_per_em())
    }
}

/// Width of `text` in `style` at `size_pt`, in points. It is exactly the
/// advance the PDF viewer will use, since both come from the same table.
pub fn text_width(style: FontStyle, size_pt: f32, text: &str) -> f32 {
    Font::get(style).text_width(size_pt, text)
}

/// Breaks `text` into lines no wider than `max_width` points.
///
/// Words are separated by whitespace; `'\n'` forces a break (an empty line
/// stays an empty line). A word wider than the whole column is split between
/// characters, so only a column narrower than one character can overflow.
pub fn wrap(style: FontStyle, size_pt: f32, text: &str, max_width: f32) -> Vec<String> {
    let font = Font::get(style);
    let fits = |s: &str| font.text_width(size_pt, s) <= max_width;
    let mut lines = Vec::new();
    for hard_line in text.split('\n') {
        let mut line = String::new();
        for word in hard_line.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // Over-long word (an ID, a URL): cut it wherever the column ends.
            for c in word.chars() {
                line.push(c);
                if !fits(&line) && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// Glyphs of one face used so far, and what text they stand for.
#[derive(Default)]
struct FontUse {
    /// Original glyph ID -> ID in the subset; handed to `subsetter`.
    remapper: GlyphRemapper,
    /// Subset glyph ID -> the character it was drawn for (ToUnicode).
    unicode: BTreeMap<u16, char>,
    used: bool,
}

/// A flowing A4 document. Blocks are appended top to bottom; a new page
/// starts whenever the next line does not fit above the bottom margin.
pub struct Document {
    title: String,
    lang: String,
    pages: Vec<Content>,
    /// Top of the next line, in PDF coordinates (origin bottom-left).
    y: f32,
    fonts: [FontUse; 2],
    page_label: Option<String>,
}

impl Document {
    /// A document with one empty page. `title` goes to the Info dictionary
    /// (and is shown by viewers instead of the file name); `lang` is a BCP 47
    /// tag such as `"vi"`, which screen readers use to pick a voice.
    pub fn new(title: &str, lang: &str) -> Self {
        Document {
            title: title.to_owned(),
            lang: lang.to_owned(),
            pages: vec![Content::new()],
            y: PAGE_HEIGHT - MARGIN,
            fonts: Default::default(),
            page_label: None,
        }
    }

    /// Adds a centred "`label` n/N" footer to every page, e.g. "Trang 1/2".
    pub fn page_numbers(&mut self, label: &str) -> &mut Self {
        self.page_label = Some(label.to_owned());
        self
    }

    /// A bold, centred title (wrapped if long).
    pub fn heading(&mut self, text: &str) -> &mut Self {
        self.centered(text, FontStyle::Bold, HEADING_SIZE);
        self.spacer(4.0)
    }

    /// Body text, wrapped to the page width and continued on new pages.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        for line in wrap(FontStyle::Regular, BODY_SIZE, text, CONTENT_WIDTH) {
            let baseline = self.next_line(BODY_SIZE);
            self.show(FontStyle::Regular, BODY_SIZE, MARGIN, baseline, &line);
        }
        self.spacer(BODY_SIZE * 0.5)
    }

    /// A form row: bold `label` in the left column, `value` wrapped in the
    /// right one.
    pub fn key_value(&mut self, label: &str, value: &str) -> &mut Self {
        let value_x = MARGIN + LABEL_WIDTH + COLUMN_GAP;
        let labels = wrap(FontStyle::Bold, BODY_SIZE, label, LABEL_WIDTH);
        let values = wrap(FontStyle::Regular, BODY_SIZE, value, PAGE_WIDTH - MARGIN - value_x);
        for i in 0..labels.len().max(values.len()) {
            let baseline = self.next_line(BODY_SIZE);
            if let Some(l) = labels.get(i) {
                self.show(FontStyle::Bold, BODY_SIZE, MARGIN, baseline, l);
            }
            if let Some(v) = values.get(i) {
                self.show(FontStyle::Regular, BODY_SIZE, value_x, baseline, v);
            }
        }
        self
    }

    /// Text centred between the margins, wrapped if it is too wide.
    pub fn centered(&mut self, text: &str, style: FontStyle, size_pt: f32) -> &mut Self {
        for line in wrap(style, size_pt, text, CONTENT_WIDTH) {
            let baseline = self.next_line(size_pt);
            let x = (PAGE_WIDTH - text_width(style, size_pt, &line)) / 2.0;
            self.show(style, size_pt, x, baseline, &line);
        }
        self
    }

    /// A thin horizontal line across the text column.
    pub fn rule(&mut self) -> &mut Self {
        let y = self.next_line(4.0) + 2.0;
        let page = self.page();
        page.save_state()
            .set_line_width(0.5)
            .set_stroke_gray(0.4)
            .move_to(MARGIN, y)
            .line_to(PAGE_WIDTH - MARGIN, y)
            .stroke()
            .restore_state();
        self.spacer(4.0)
    }

    /// Vertical space of `pt` points. Space at the bottom of a page is not
    /// carried over to the next one.
    pub fn spacer(&mut self, pt: f32) -> &mut Self {
        self.y -= pt;
        self
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Reserves one line of `size_pt` text, starting a page if needed, and
    /// returns its baseline.
    fn next_line(&mut self, size_pt: f32) -> f32 {
        let height = size_pt * LINE_HEIGHT;
        if self.y - height < MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
        let top = self.y;
        self.y -= height;
        // Put the baseline so that the ascender touches the line's top (both
        // DejaVu faces share the same vertical metrics).
        let font = Font::get(FontStyle::Regular);
        top - font.to_thousandths(f32::from(font.face.ascender())) * size_pt / 1000.0
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a document always has a page")
    }

    /// Draws one line of text on the current page.
    fn show(&mut self, style: FontStyle, size_pt: f32, x: f32, baseline: f32, text: &str) {
        let bytes = self.encode(style, text);
        Self::show_on(self.page(), style, size_pt, x, baseline, &bytes);
    }

    fn show_on(page: &mut Content, style: FontStyle, size: f32, x: f32, y: f32, glyphs: &[u8]) {
        page.begin_text().set_font(style.resource(), size).set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]).show(Str(glyphs)).end_text();
    }

    /// Turns text into 2-byte subset glyph IDs (Identity-H), recording each
    /// glyph for the subset and for ToUnicode.
    fn encode(&mut self, style: FontStyle, text: &str) -> Vec<u8> {
        let font = Font::get(style);
        let usage = &mut self.fonts[style.index()];
        usage.used = true;
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let original = font.glyph(c);
            let gid = usage.remapper.remap(original);
            // `.notdef` stands for every missing character, so it can't map
            // back to any one of them.
            if original != 0 {
                usage.unicode.entry(gid).or_insert(c);
            }
            out.extend_from_slice(&gid.to_be_bytes());
        }
        out
    }

    /// Writes footers, subsets the fonts and serialises the PDF.
    pub fn finish(self) -> Vec<u8> {
        self.write(None)
    }

    /// Serialises the document; with `signature`, adds the signature field
    /// and the placeholders that [`Document::finish_signed`] fills in.
    fn write(mut self, signature: Option<&SignatureInfo>) -> Vec<u8> {
        if let Some(label) = self.page_label.take() {
            let total = self.pages.len();
            for n in 0..total {
                let text = format!("{label} {}/{total}", n + 1);
                let x = (PAGE_WIDTH - text_width(FontStyle::Regular, FOOTER_SIZE, &text)) / 2.0;
                let glyphs = self.encode(FontStyle::Regular, &text);
                let page = &mut self.pages[n];
                // Page numbers are pagination, not content: marking them as an
                // artifact keeps them out of what assistive tools read aloud.
                page.begin_marked_content(Name(b"Artifact"));
                Self::show_on(page, FontStyle::Regular, FOOTER_SIZE, x, MARGIN / 2.0, &glyphs);
                page.end_marked_content();
            }
        }

        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog_id = alloc();
        let tree_id = alloc();
        let info_id = alloc();
        let font_ids: Vec<(FontStyle, Ref)> =
            [FontStyle::Regular, FontStyle::Bold].into_iter().filter(|s| self.fonts[s.index()].used).map(|s| (s, alloc())).collect();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();
        // (field and widget, signature dictionary)
        let signature_ids = signature.map(|_| (alloc(), alloc()));

        let mut pdf = Pdf::new();
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id).lang(TextStr(&self.lang));
        catalog.viewer_preferences().display_doc_title(true);
        if let Some((field_id, _)) = signature_ids {
            catalog.form().fields([field_id]).sig_flags(sign::sig_flags());
        }
        catalog.finish();
        pdf.document_info(info_id).title(TextStr(&self.title)).producer(TextStr("Thăng Long"));
        pdf.pages(tree_id).kids(page_ids.iter().map(|(page, _)| *page)).count(page_ids.len() as i32);

        for (n, (content, (page_id, content_id))) in self.pages.into_iter().zip(&page_ids).enumerate() {
            let mut page = pdf.page(*page_id);
            page.parent(tree_id).media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).contents(*content_id);
            if let (0, Some((field_id, _))) = (n, signature_ids) {
                page.annotations([field_id]);
            }
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            for (style, id) in &font_ids {
                fonts.pair(style.resource(), *id);
            }
            fonts.finish();
            resources.finish();
            page.finish();
            let data = deflate(&content.finish());
            pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
        }

        for (style, type0_id) in font_ids {
            let usage = &self.fonts[style.index()];
            write_font(&mut pdf, &mut alloc, type0_id, Font::get(style), usage);
        }
        if let (Some(info), Some((field_id, sig_id))) = (signature, signature_ids) {
            sign::write_signature(&mut pdf, info, field_id, sig_id, page_ids[0].0);
        }
        pdf.finish()
    }
}

/// Writes one face as Type0 -> CIDFontType2 -> descriptor -> subset
/// FontFile2, plus its ToUnicode CMap.
fn write_font(pdf: &mut Pdf, alloc: &mut impl FnMut() -> Ref, type0_id: Ref, font: &Font, usage: &FontUse) {
    let (cid_id, descriptor_id, cmap_id, file_id) = (alloc(), alloc(), alloc(), alloc());
    // The "ABCDEF+" prefix marks a subset (PDF 32000 9.6.4); deriving it from
    // the glyph set keeps output reproducible while telling subsets apart.
    let hash = usage.remapper.remapped_gids().fold(0xcbf2_9ce4_8422_2325_u64, |h, g| (h ^ u64::from(g)).wrapping_mul(0x0100_0000_01b3));
    let tag: String = (0..6).map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8)).collect();
    let name = format!("{tag}+{}", font.base_name);
    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(type0_id)
        .base_font(Name(name.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(name.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    // CIDs are the subset glyph IDs 0..n in remapping order.
    cid.widths().consecutive(0, usage.remapper.remapped_gids().map(|g| font.advance(g)));
    cid.finish();

    let face = &font.face;
    let scale = |v: i16| font.to_thousandths(f32::from(v));
    let bbox = face.global_bounding_box();
    let ascent = scale(face.ascender());
    let bold = face.weight().to_number() >= 600;
    pdf.font_descriptor(descriptor_id)
        .name(Name(name.as_bytes()))
        // Symbolic: the glyphs go beyond Adobe's standard Latin set (ấ, ự).
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(scale(bbox.x_min), scale(bbox.y_min), scale(bbox.x_max), scale(bbox.y_max)))
        .italic_angle(face.italic_angle())
        .ascent(ascent)
        .descent(scale(face.descender()))
        .cap_height(face.capital_height().map_or(ascent, scale))
        // Required but unused by modern viewers; a rough stem thickness.
        .stem_v(if bold { 140.0 } else { 80.0 })
        .font_file2(file_id);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (&gid, &c) in &usage.unicode {
        cmap.pair(gid, c);
    }
    let cmap = deflate(&cmap.finish());
    pdf.cmap(cmap_id, &cmap).filter(Filter::FlateDecode);

    // Subsetting only fails on malformed fonts, and ours are compiled in and
    // covered by tests. There is no full-font fallback: the content streams
    // already use the remapped glyph IDs, which only the subset honours.
    let subset = subsetter::subset(font.data, 0, &usage.remapper).expect("bundled DejaVu font subsets");
    let data = deflate(&subset);
    pdf.stream(file_id, &data).filter(Filter::FlateDecode).pair(Name(b"Length1"), subset.len() as i32);
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_grows_with_text() {
        let mut prev = 0.0;
        for text in ["", "Đ", "Đăng", "Đăng ký", "Đăng ký khai sinh"] {
            let w = text_width(FontStyle::Regular, 11.0, text);
            assert!(w > prev || text.is_empty(), "{text:?}: {w} <= {prev}");
            prev = w;
        }
        assert!(text_width(FontStyle::Bold, 11.0, "Hằng") > text_width(FontStyle::Regular, 11.0, "Hằng"));
        assert_eq!(text_width(FontStyle::Regular, 22.0, "ệ"), 2.0 * text_width(FontStyle::Regular, 11.0, "ệ"));
    }

    #[test]
    fn wrapped_lines_fit_the_column() {
        let text = "Cơ quan tiếp nhận hồ sơ có trách nhiệm kiểm tra tính đầy đủ, hợp lệ \
                    của hồ sơ; mã H26.31-261126-0001-H26.31-261126-0002-H26.31-261126-0003 \
                    được cấp cho Nguyễn Thị Thu Hằng.\n\nDòng mới.";
        for width in [40.0, 120.0, 200.0, CONTENT_WIDTH] {
            let lines = wrap(FontStyle::Regular, BODY_SIZE, text, width);
            assert!(lines.len() > 3);
            for line in &lines {
                let w = text_width(FontStyle::Regular, BODY_SIZE, line);
                assert!(w <= width, "{line:?} is {w} pt, column {width} pt");
            }
            // Wrapping drops only whitespace: no word is lost or reordered.
            let joined: String = lines.concat().split_whitespace().collect();
            let expected: String = text.split_whitespace().collect();
            assert_eq!(joined, expected);
        }
    }

    #[test]
    fn missing_glyphs_do_not_panic() {
        let font = Font::get(FontStyle::Regular);
        assert_eq!(font.glyph('\u{E000}'), 0);
        assert_ne!(font.glyph('ự'), 0);
        let mut doc = Document::new("x", "vi");
        doc.paragraph("\u{E000} 漢字 😀 \u{0} ự");
        assert!(doc.finish().starts_with(b"%PDF-"));
    }
}
