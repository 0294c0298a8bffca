//! Layout for official forms: styled single lines, side-by-side blocks (the
//! national header of an administrative document, signature blocks),
//! mixed-style paragraphs with hanging indents, and ruled tables whose rows
//! wrap and break across pages under a repeated header row.
//!
//! Everything still flows top to bottom on A4 portrait pages like the rest of
//! [`Document`]; a block or table row that does not fit moves to a new page.

use pdf_writer::Content;

use crate::{text_width, Document, Font, FontStyle, BODY_SIZE, CONTENT_WIDTH, LINE_HEIGHT, MARGIN, PAGE_HEIGHT, PAGE_WIDTH};

/// Line height of table cells as a multiple of the font size: tighter than
/// body text so dense registers stay readable without wasting paper.
const CELL_LINE_HEIGHT: f32 = 1.3;
/// Inner padding of a table cell, in points.
const CELL_PAD_X: f32 = 3.0;
const CELL_PAD_Y: f32 = 2.5;
/// Width of table borders and rules, in points.
const STROKE: f32 = 0.6;
/// Grey of the table header background (1.0 is white): light enough to
/// print well on office printers and photocopies.
const HEADER_FILL: f32 = 0.9;

/// Horizontal alignment of a line within its column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// One styled line of text; it wraps when longer than its column.
#[derive(Clone, Debug)]
pub struct Line {
    /// The text; `'\n'` forces a break.
    pub text: String,
    /// Regular or bold.
    pub style: FontStyle,
    /// Font size in points.
    pub size: f32,
    /// Alignment within the column.
    pub align: Align,
    /// Extra space above the line, in points.
    pub space_before: f32,
    /// Draws a short rule under the line, this fraction of the text's width
    /// (the rule under an agency name or the national motto).
    pub rule_below: Option<f32>,
}

impl Line {
    /// Regular body-size text, flush left.
    pub fn new(text: impl Into<String>) -> Self {
        Line { text: text.into(), style: FontStyle::Regular, size: BODY_SIZE, align: Align::Left, space_before: 0.0, rule_below: None }
    }

    /// In bold.
    pub fn bold(mut self) -> Self {
        self.style = FontStyle::Bold;
        self
    }

    /// At `size_pt` points.
    pub fn size(mut self, size_pt: f32) -> Self {
        self.size = size_pt;
        self
    }

    /// Centred in its column.
    pub fn center(mut self) -> Self {
        self.align = Align::Center;
        self
    }

    /// Flush right in its column.
    pub fn right(mut self) -> Self {
        self.align = Align::Right;
        self
    }

    /// With `pt` points of space above.
    pub fn space_before(mut self, pt: f32) -> Self {
        self.space_before = pt;
        self
    }

    /// With a centred rule underneath, `fraction` of the text's width.
    pub fn rule_below(mut self, fraction: f32) -> Self {
        self.rule_below = Some(fraction);
        self
    }
}

/// A column of lines laid out beside other blocks by [`Document::blocks`].
#[derive(Clone, Debug)]
pub struct Block {
    /// Width of the column in points.
    pub width: f32,
    /// Its lines, top to bottom.
    pub lines: Vec<Line>,
}

impl Block {
    /// A column `width` points wide.
    pub fn new(width: f32, lines: Vec<Line>) -> Self {
        Block { width, lines }
    }

    /// Height in points once wrapped, e.g. to line up the last lines of two
    /// blocks side by side.
    pub fn height(&self) -> f32 {
        place(self).1
    }
}

/// A signature block: what the signer signs as, a note in brackets, room for
/// the signature (and seal) and the signer's name.
#[derive(Clone, Debug)]
pub struct Signature {
    /// Capacity, in capitals, e.g. "NGƯỜI TIẾP NHẬN HỒ SƠ"; `'\n'` separates
    /// lines such as "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH".
    pub title: String,
    /// Usually "(Ký và ghi rõ họ tên)"; may be empty.
    pub note: String,
    /// The signer's full name; may be empty for a blank to sign by hand.
    pub name: String,
}

impl Signature {
    /// The block [`Document::signatures`] draws, `width` points wide, for
    /// placing beside other blocks with [`Document::blocks`].
    pub fn block(&self, width: f32) -> Block {
        let mut lines: Vec<Line> = self.title.lines().map(|t| Line::new(t).bold().center()).collect();
        if !self.note.is_empty() {
            lines.push(Line::new(&self.note).size(BODY_SIZE - 1.5).center());
        }
        lines.push(Line::new(&self.name).bold().center().space_before(SIGNATURE_SPACE));
        Block::new(width, lines)
    }
}

/// Space left for a handwritten signature and seal.
const SIGNATURE_SPACE: f32 = 58.0;

/// One column of a [`Table`].
#[derive(Clone, Debug)]
struct Column {
    /// Header text (bold, centred; wraps).
    header: String,
    /// Relative width; the table's width is shared out in proportion.
    weight: f32,
    /// Alignment of the cells below the header.
    align: Align,
}

/// A ruled table: a bold header row repeated on every page, then rows whose
/// cells wrap within their column.
#[derive(Clone, Debug)]
pub struct Table {
    columns: Vec<Column>,
    width: f32,
    size: f32,
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    /// An empty table as wide as the text column, at 10 pt.
    pub fn new() -> Self {
        Table { columns: Vec::new(), width: CONTENT_WIDTH, size: 10.0 }
    }

    /// Total width in points; the table is centred on the page, so it may be
    /// wider than the text column (e.g. a dense register).
    pub fn width(mut self, width_pt: f32) -> Self {
        self.width = width_pt.min(PAGE_WIDTH - 2.0 * CELL_PAD_X);
        self
    }

    /// Font size of header and cells.
    pub fn font_size(mut self, size_pt: f32) -> Self {
        self.size = size_pt;
        self
    }

    /// Appends a column.
    pub fn column(mut self, header: &str, weight: f32, align: Align) -> Self {
        self.columns.push(Column { header: header.to_owned(), weight, align });
        self
    }

    /// Left edge of each column and its width, in points.
    fn geometry(&self) -> Vec<(f32, f32)> {
        let total: f32 = self.columns.iter().map(|c| c.weight.max(0.0)).sum::<f32>().max(f32::EPSILON);
        let mut x = (PAGE_WIDTH - self.width) / 2.0;
        self.columns
            .iter()
            .map(|c| {
                let w = self.width * c.weight.max(0.0) / total;
                let col = (x, w);
                x += w;
                col
            })
            .collect()
    }
}

/// Breaks `text` into lines no wider than `max_width`, like [`crate::wrap`],
/// but a word too long for the column (a dossier code, a URL) is first cut
/// after a '-', '/', '.' or ',' so codes break where a reader expects; only a
/// piece still too long is cut between characters.
pub fn wrap_cell(style: FontStyle, size_pt: f32, text: &str, max_width: f32) -> Vec<String> {
    let font = Font::get(style);
    let width = |s: &str| font.text_width(size_pt, s);
    let space = width(" ");
    let mut lines = Vec::new();
    for hard_line in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0.0;
        for word in hard_line.split_whitespace() {
            let word_w = width(word);
            let gap = if line.is_empty() { 0.0 } else { space };
            if line_w + gap + word_w <= max_width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_w += gap + word_w;
                continue;
            }
            if word_w <= max_width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line.push_str(word);
                line_w = word_w;
                continue;
            }
            // The word alone overflows: fill the current line with its pieces.
            let mut first = true;
            for piece in split_at_punctuation(word) {
                let piece_w = width(piece);
                let gap = if first && !line.is_empty() { space } else { 0.0 };
                if line_w + gap + piece_w <= max_width {
                    if gap > 0.0 {
                        line.push(' ');
                    }
                    line.push_str(piece);
                    line_w += gap + piece_w;
                } else {
                    if !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    for c in piece.chars() {
                        let c_w = width(c.encode_utf8(&mut [0; 4]));
                        if line_w + c_w > max_width && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            line_w = 0.0;
                        }
                        line.push(c);
                        line_w += c_w;
                    }
                }
                first = false;
            }
        }
        lines.push(line);
    }
    lines
}

/// Splits a word after each '-', '/', '.' or ',' (kept on the left piece).
fn split_at_punctuation(word: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in word.char_indices() {
        if matches!(c, '-' | '/' | '.' | ',') {
            let end = i + c.len_utf8();
            pieces.push(&word[start..end]);
            start = end;
        }
    }
    if start < word.len() {
        pieces.push(&word[start..]);
    }
    pieces
}

/// Distance from the top of a line box to the baseline at `size_pt`.
fn ascent(size_pt: f32) -> f32 {
    let font = Font::get(FontStyle::Regular);
    font.to_thousandths(f32::from(font.face.ascender())) * size_pt / 1000.0
}

/// A line of a block after wrapping, ready to draw.
struct Placed {
    text: String,
    style: FontStyle,
    size: f32,
    /// Offset of the line box's top below the block's top.
    top: f32,
    align: Align,
    rule: Option<f32>,
}

/// Wraps a block's lines and stacks them; returns them and the block height.
fn place(block: &Block) -> (Vec<Placed>, f32) {
    let mut placed = Vec::new();
    let mut y = 0.0;
    for line in &block.lines {
        y += line.space_before;
        let pieces = wrap_cell(line.style, line.size, &line.text, block.width);
        let last = pieces.len() - 1;
        for (i, text) in pieces.into_iter().enumerate() {
            let rule = if i == last { line.rule_below } else { None };
            placed.push(Placed { text, style: line.style, size: line.size, top: y, align: line.align, rule });
            y += line.size * LINE_HEIGHT;
        }
        if line.rule_below.is_some() {
            // Room for the rule itself below the descenders.
            y += 4.0;
        }
    }
    (placed, y)
}

/// A word of a mixed-style paragraph and whether a space precedes it.
struct Word<'a> {
    style: FontStyle,
    text: &'a str,
    space_before: bool,
}

impl Document {
    /// Starts a new page; the flow continues at its top.
    pub fn new_page(&mut self) -> &mut Self {
        self.pages.push(Content::new());
        self.y = PAGE_HEIGHT - MARGIN;
        self
    }

    /// The flow position: top of the next line, in points from the bottom of
    /// the page (for drawing beside a block about to be laid out).
    pub fn cursor(&self) -> f32 {
        self.y
    }

    /// Vertical space left on the current page above the bottom margin.
    pub fn remaining(&self) -> f32 {
        self.y - MARGIN
    }

    /// Makes sure `height` points fit on the current page, starting a new one
    /// if not (unless this page is still empty, where nothing would be won).
    pub fn keep_together(&mut self, height: f32) -> &mut Self {
        if self.remaining() < height && self.y < PAGE_HEIGHT - MARGIN {
            self.new_page();
        }
        self
    }

    /// Reserves `height` points of the flow (on a new page if needed) and
    /// returns the top of the reserved area, for drawing at fixed positions
    /// such as [`Document::qr_at`].
    pub fn reserve(&mut self, height: f32) -> f32 {
        self.keep_together(height);
        let top = self.y;
        self.y -= height;
        top
    }

    /// One styled line (wrapped if long) across the text column.
    pub fn line(&mut self, line: Line) -> &mut Self {
        self.blocks(&[Block::new(CONTENT_WIDTH, vec![line])])
    }

    /// Blocks side by side from the left margin, each `width` points wide and
    /// drawn top-aligned; the flow continues below the tallest. A group that
    /// does not fit on the rest of the page moves to the next one whole, so a
    /// header or a signature is never split.
    pub fn blocks(&mut self, blocks: &[Block]) -> &mut Self {
        let laid: Vec<(Vec<Placed>, f32)> = blocks.iter().map(place).collect();
        let height = laid.iter().map(|(_, h)| *h).fold(0.0, f32::max);
        let top = self.reserve(height);
        let mut x = MARGIN;
        for (block, (lines, _)) in blocks.iter().zip(&laid) {
            for line in lines {
                let w = text_width(line.style, line.size, &line.text);
                let left = match line.align {
                    Align::Left => x,
                    Align::Center => x + (block.width - w) / 2.0,
                    Align::Right => x + block.width - w,
                };
                let baseline = top - line.top - ascent(line.size);
                self.show(line.style, line.size, left, baseline, &line.text);
                if let Some(fraction) = line.rule {
                    let rule_w = w * fraction;
                    let centre = left + w / 2.0;
                    let y = baseline - line.size * 0.5;
                    self.hline(centre - rule_w / 2.0, centre + rule_w / 2.0, y);
                }
            }
            x += block.width;
        }
        self
    }

    /// Signature blocks side by side, sharing the text column equally; each
    /// is the bold title, the note, room to sign and the bold name.
    pub fn signatures(&mut self, signatures: &[Signature]) -> &mut Self {
        if signatures.is_empty() {
            return self;
        }
        let width = CONTENT_WIDTH / signatures.len() as f32;
        let blocks: Vec<Block> = signatures.iter().map(|s| s.block(width)).collect();
        self.blocks(&blocks)
    }

    /// A paragraph of mixed regular and bold runs at `size_pt`, indented
    /// `indent` points from the left margin; lines after the first are
    /// indented `hanging` points more (for numbered items: "1. " then text).
    /// Runs join without a space unless the text has one.
    pub fn rich(&mut self, runs: &[(FontStyle, &str)], size_pt: f32, indent: f32, hanging: f32) -> &mut Self {
        let mut words = Vec::new();
        let mut pending_space = false;
        for &(style, text) in runs {
            let mut rest = text;
            loop {
                let trimmed = rest.trim_start();
                pending_space |= trimmed.len() != rest.len();
                if trimmed.is_empty() {
                    break;
                }
                let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
                words.push(Word { style, text: &trimmed[..end], space_before: pending_space });
                pending_space = false;
                rest = &trimmed[end..];
            }
        }

        // Greedy filling; a word too long for a whole line is cut with
        // `wrap_cell` and its pieces go on lines of their own.
        let mut lines: Vec<Vec<(FontStyle, String, f32)>> = vec![Vec::new()];
        let mut line_w = 0.0;
        let avail = |first: bool| CONTENT_WIDTH - indent - if first { 0.0 } else { hanging };
        let limit = avail(false).min(avail(true));
        for word in words {
            let pieces = if text_width(word.style, size_pt, word.text) > limit {
                wrap_cell(word.style, size_pt, word.text, limit)
            } else {
                vec![word.text.to_owned()]
            };
            for (i, piece) in pieces.into_iter().enumerate() {
                let w = text_width(word.style, size_pt, &piece);
                let first_line = lines.len() == 1;
                let current = lines.last_mut().expect("at least one line");
                // The gap takes the width of a space in the word's own face,
                // which is how it is drawn inside a run of that face.
                let gap = if current.is_empty() || !word.space_before || i > 0 { 0.0 } else { text_width(word.style, size_pt, " ") };
                if current.is_empty() || (i == 0 && line_w + gap + w <= avail(first_line)) {
                    current.push((word.style, piece, gap));
                    line_w += gap + w;
                } else {
                    lines.push(vec![(word.style, piece, 0.0)]);
                    line_w = w;
                }
            }
        }

        for (n, line) in lines.iter().enumerate() {
            let baseline = self.next_line(size_pt);
            let mut x = MARGIN + indent + if n == 0 { 0.0 } else { hanging };
            // Consecutive words of one style go out as one string.
            let mut run = String::new();
            let mut run_style = FontStyle::Regular;
            let mut run_x = x;
            for (style, text, gap) in line {
                if *style != run_style && !run.is_empty() {
                    self.show(run_style, size_pt, run_x, baseline, &run);
                    run.clear();
                }
                if run.is_empty() {
                    run_style = *style;
                    run_x = x + gap;
                } else if *gap > 0.0 {
                    run.push(' ');
                }
                run.push_str(text);
                x += gap + text_width(*style, size_pt, text);
            }
            if !run.is_empty() {
                self.show(run_style, size_pt, run_x, baseline, &run);
            }
        }
        self
    }

    /// Draws `table` with `rows` of cells (missing cells are blank). A row
    /// that does not fit on the rest of the page moves to the next one; a
    /// row taller than a whole page is split between lines. The header row
    /// is repeated at the top of every page the table continues on.
    pub fn table<R, S>(&mut self, table: &Table, rows: impl IntoIterator<Item = R>) -> &mut Self
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let size = table.size;
        let line_h = size * CELL_LINE_HEIGHT;
        let geometry = table.geometry();
        let inner = |w: f32| (w - 2.0 * CELL_PAD_X).max(1.0);
        let header: Vec<Vec<String>> =
            table.columns.iter().zip(&geometry).map(|(c, &(_, w))| wrap_cell(FontStyle::Bold, size, &c.header, inner(w))).collect();
        let header_h = header.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 2.0 * CELL_PAD_Y;
        let page_room = PAGE_HEIGHT - 2.0 * MARGIN - header_h;

        let mut header_drawn = false;
        for row in rows {
            let row = row.as_ref();
            let mut cells: Vec<Vec<String>> = geometry
                .iter()
                .enumerate()
                .map(|(i, &(_, w))| {
                    let text = row.get(i).map_or("", |s| s.as_ref());
                    wrap_cell(FontStyle::Regular, size, text, inner(w))
                })
                .collect();
            if !header_drawn {
                // The header never stays alone at the bottom of a page.
                let first_h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 2.0 * CELL_PAD_Y;
                self.keep_together(header_h + first_h.min(page_room));
                self.table_header(table, &geometry, &header, header_h);
                header_drawn = true;
            }
            loop {
                let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
                let row_h = lines as f32 * line_h + 2.0 * CELL_PAD_Y;
                if row_h <= self.remaining() {
                    self.table_row(table, &geometry, &cells, lines, row_h);
                    break;
                }
                let fit = ((self.remaining() - 2.0 * CELL_PAD_Y) / line_h).floor().max(0.0) as usize;
                if row_h <= page_room || fit == 0 {
                    self.new_page();
                    self.table_header(table, &geometry, &header, header_h);
                    continue;
                }
                // Taller than a page: draw what fits, continue on the next.
                let tail: Vec<Vec<String>> = cells.iter_mut().map(|c| if c.len() > fit { c.split_off(fit) } else { Vec::new() }).collect();
                self.table_row(table, &geometry, &cells, fit, fit as f32 * line_h + 2.0 * CELL_PAD_Y);
                cells = tail;
                self.new_page();
                self.table_header(table, &geometry, &header, header_h);
            }
        }
        if !header_drawn {
            self.keep_together(header_h);
            self.table_header(table, &geometry, &header, header_h);
        }
        self
    }

    fn table_header(&mut self, table: &Table, geometry: &[(f32, f32)], header: &[Vec<String>], height: f32) {
        let size = table.size;
        let line_h = size * CELL_LINE_HEIGHT;
        let top = self.y;
        let (left, right) = table_edges(geometry);
        self.page().save_state().set_fill_gray(HEADER_FILL).rect(left, top - height, right - left, height).fill_nonzero().restore_state();
        for (lines, &(x, w)) in header.iter().zip(geometry) {
            // Centred vertically too: header cells differ in line count.
            let offset = (height - 2.0 * CELL_PAD_Y - lines.len() as f32 * line_h) / 2.0;
            for (i, text) in lines.iter().enumerate() {
                let tw = text_width(FontStyle::Bold, size, text);
                let baseline = top - CELL_PAD_Y - offset - i as f32 * line_h - cell_ascent(size);
                self.show(FontStyle::Bold, size, x + (w - tw) / 2.0, baseline, text);
            }
        }
        self.cell_borders(geometry, top, height);
        self.y -= height;
    }

    fn table_row(&mut self, table: &Table, geometry: &[(f32, f32)], cells: &[Vec<String>], lines: usize, height: f32) {
        let size = table.size;
        let line_h = size * CELL_LINE_HEIGHT;
        let top = self.y;
        for ((cell, &(x, w)), column) in cells.iter().zip(geometry).zip(&table.columns) {
            for (i, text) in cell.iter().take(lines).enumerate() {
                let tw = text_width(FontStyle::Regular, size, text);
                let left = match column.align {
                    Align::Left => x + CELL_PAD_X,
                    Align::Center => x + (w - tw) / 2.0,
                    Align::Right => x + w - CELL_PAD_X - tw,
                };
                let baseline = top - CELL_PAD_Y - i as f32 * line_h - cell_ascent(size);
                self.show(FontStyle::Regular, size, left, baseline, text);
            }
        }
        self.cell_borders(geometry, top, height);
        self.y -= height;
    }

    /// The outline of a row and the lines between its cells.
    fn cell_borders(&mut self, geometry: &[(f32, f32)], top: f32, height: f32) {
        let (left, right) = table_edges(geometry);
        let page = self.page();
        page.save_state().set_line_width(STROKE).set_stroke_gray(0.0);
        page.rect(left, top - height, right - left, height);
        for &(x, _) in geometry.iter().skip(1) {
            page.move_to(x, top).line_to(x, top - height);
        }
        page.stroke().restore_state();
    }

    /// A thin black horizontal line from `x1` to `x2` at height `y`.
    fn hline(&mut self, x1: f32, x2: f32, y: f32) {
        self.page().save_state().set_line_width(STROKE).set_stroke_gray(0.0).move_to(x1, y).line_to(x2, y).stroke().restore_state();
    }
}

/// Baseline offset inside a table line box: the line box is tighter than in
/// body text, so the glyph box is centred in the extra leading.
fn cell_ascent(size_pt: f32) -> f32 {
    let font = Font::get(FontStyle::Regular);
    let glyph_box = font.to_thousandths(f32::from(font.face.ascender()) - f32::from(font.face.descender())) / 1000.0;
    ascent(size_pt) + size_pt * (CELL_LINE_HEIGHT - glyph_box) / 2.0
}

fn table_edges(geometry: &[(f32, f32)]) -> (f32, f32) {
    let left = geometry.first().map_or(MARGIN, |c| c.0);
    let right = geometry.last().map_or(PAGE_WIDTH - MARGIN, |c| c.0 + c.1);
    (left, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_break_after_punctuation() {
        let code = "H26.31.05-261126-0001";
        let w = text_width(FontStyle::Regular, 7.0, "H26.31.05-261126-") + 0.5;
        let lines = wrap_cell(FontStyle::Regular, 7.0, code, w);
        assert_eq!(lines, ["H26.31.05-261126-", "0001"]);
        for width in [10.0, 25.0, 40.0, 80.0] {
            let lines = wrap_cell(FontStyle::Regular, 7.0, &format!("Mã {code} của hồ sơ"), width);
            for line in &lines {
                assert!(text_width(FontStyle::Regular, 7.0, line) <= width, "{line:?} wider than {width}");
            }
            let joined: String = lines.concat().split_whitespace().collect();
            assert_eq!(joined, format!("Mã{code}củahồsơ"));
        }
    }

    #[test]
    fn blank_cells_keep_one_line() {
        assert_eq!(wrap_cell(FontStyle::Regular, 9.0, "", 50.0), [""]);
        assert_eq!(wrap_cell(FontStyle::Regular, 9.0, "a\nb", 50.0), ["a", "b"]);
    }

    #[test]
    fn tall_rows_split_and_short_rows_move() {
        let table = Table::new().column("A", 1.0, Align::Left).column("B", 3.0, Align::Left);
        let long = "Nội dung rất dài của một ô trong bảng. ".repeat(400);
        let mut doc = Document::new("x", "vi");
        doc.table(&table, [["1".to_owned(), long]]);
        assert!(doc.page_count() >= 3, "{} pages", doc.page_count());

        let mut doc = Document::new("x", "vi");
        doc.spacer(PAGE_HEIGHT - 2.0 * MARGIN - 60.0);
        doc.table(&table, [["1", "hai\nba\nbốn"]]);
        assert_eq!(doc.page_count(), 2, "header and row move together");
    }

    #[test]
    fn blocks_that_do_not_fit_move_whole() {
        let mut doc = Document::new("x", "vi");
        doc.spacer(PAGE_HEIGHT - 2.0 * MARGIN - 40.0);
        let sig = Signature {
            title: "NGƯỜI NỘP HỒ SƠ".into(), note: "(Ký và ghi rõ họ tên)".into(), name: "Nguyễn Văn A".into()
        };
        doc.signatures(&[sig.clone(), sig]);
        assert_eq!(doc.page_count(), 2);
    }
}
