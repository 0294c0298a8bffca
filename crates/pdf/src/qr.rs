//! QR codes drawn as vector graphics, e.g. the link to the public page where
//! anyone can check an electronic result (kết quả điện tử).
//!
//! The symbol is encoded by `qrcodegen` at error-correction level M (15 % of
//! the symbol may be damaged or covered by a stamp and it still decodes). It is
//! drawn as filled rectangles, one per horizontal run of dark modules, all in a
//! single path: one fill of the union leaves no hairline seams between modules
//! at any zoom, which separately filled squares would.

use pdf_writer::Content;
use qrcodegen::{QrCode, QrCodeEcc};

use crate::{Document, MARGIN, PAGE_HEIGHT};

/// Longest text, in UTF-8 bytes, that [`Document::qr`] and [`Document::qr_at`]
/// always accept: the byte-mode capacity of a version 40 symbol at level M.
/// Longer text panics, so callers passing text they don't control should
/// check its length first.
pub const QR_MAX_BYTES: usize = 2331;

/// Light modules required around the symbol by ISO/IEC 18004 (the quiet zone);
/// without them scanners may not find the finder patterns.
const QUIET_ZONE: i32 = 4;

impl Document {
    /// Draws a QR code of `text` in the flow, its left edge on the left margin
    /// and its top at the current position, then moves below it. A new page is
    /// started when the code does not fit above the bottom margin.
    ///
    /// `size_pt` is the side of the whole square *including* the quiet zone,
    /// so nothing else should be drawn inside it; the dark modules start
    /// `4 * size_pt / (modules + 8)` in from each edge. A short URL gives a
    /// version 3 or 4 symbol (29 to 33 modules): at 90 pt a module is then
    /// about 0.7 mm, which phone cameras read easily.
    ///
    /// # Panics
    /// If `text` is longer than [`QR_MAX_BYTES`] bytes.
    pub fn qr(&mut self, text: &str, size_pt: f32) -> &mut Self {
        if self.y - size_pt < MARGIN && self.y < PAGE_HEIGHT - MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
        let top = self.y;
        self.y -= size_pt;
        self.qr_at(text, MARGIN, top, size_pt)
    }

    /// Draws a QR code of `text` on the current page with the top-left corner
    /// of its square (quiet zone included) at (`x`, `y_top`) in PDF points from
    /// the bottom-left of the page, e.g. `(PAGE_WIDTH - MARGIN - 80.0,
    /// PAGE_HEIGHT - MARGIN, 80.0)` for the top-right corner. The flow position
    /// is left alone, so this suits codes placed beside other content.
    ///
    /// # Panics
    /// If `text` is longer than [`QR_MAX_BYTES`] bytes.
    pub fn qr_at(&mut self, text: &str, x: f32, y_top: f32, size_pt: f32) -> &mut Self {
        let code =
            QrCode::encode_text(text, QrCodeEcc::Medium).unwrap_or_else(|_| panic!("QR text of {} bytes exceeds QR_MAX_BYTES", text.len()));
        draw(self.page(), &code, x, y_top, size_pt);
        self
    }
}

fn draw(page: &mut Content, code: &QrCode, x: f32, y_top: f32, size_pt: f32) {
    let n = code.size();
    let side = n + 2 * QUIET_ZONE;
    let module = size_pt / side as f32;
    page.save_state();
    // Work in module units with the origin at the square's bottom-left, so
    // the stream holds small integers instead of long decimals.
    page.transform([module, 0.0, 0.0, module, x, y_top - size_pt]);
    // An explicit light square keeps the quiet zone light over a tinted
    // background or a rule drawn under it.
    page.set_fill_gray(1.0).rect(0.0, 0.0, side as f32, side as f32).fill_nonzero();
    page.set_fill_gray(0.0);
    for row in 0..n {
        // Module rows count from the top; PDF y grows upwards.
        let y = (side - QUIET_ZONE - 1 - row) as f32;
        let mut col = 0;
        while col < n {
            if !code.get_module(col, row) {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && code.get_module(col, row) {
                col += 1;
            }
            page.rect((QUIET_ZONE + start) as f32, y, (col - start) as f32, 1.0);
        }
    }
    page.fill_nonzero();
    page.restore_state();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_allowed_text_fits_and_one_more_byte_does_not() {
        // Byte mode is the worst case: 'é' keeps the text out of the denser
        // numeric and alphanumeric modes.
        let text = "é".repeat(QR_MAX_BYTES / 2) + "a";
        assert_eq!(text.len(), QR_MAX_BYTES);
        assert!(QrCode::encode_text(&text, QrCodeEcc::Medium).is_ok());
        assert!(QrCode::encode_text(&(text + "a"), QrCodeEcc::Medium).is_err());
    }

    #[test]
    fn flow_code_moves_down_and_breaks_pages() {
        let mut doc = Document::new("x", "vi");
        let before = doc.y;
        doc.qr("https://dichvucong.example.vn/v/ABC", 100.0);
        assert_eq!(doc.y, before - 100.0);
        for _ in 0..8 {
            doc.qr("https://dichvucong.example.vn/v/ABC", 100.0);
        }
        assert_eq!(doc.page_count(), 2);
        assert!(doc.y >= MARGIN);
    }
}
