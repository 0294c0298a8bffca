//! Signed output: the document gets an invisible signature field whose value
//! is a PAdES signature dictionary (ETSI EN 319 142-1, SubFilter
//! `ETSI.CAdES.detached`).
//!
//! The file is written once with fixed-size placeholders for `/ByteRange` and
//! `/Contents`; the byte range is then patched in place, the covered bytes
//! (everything except the `/Contents` hex string) go to the caller's signer,
//! and its CMS SignedData is written into the placeholder. Patching in place
//! keeps every xref offset valid, so no second serialisation is needed.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use pdf_writer::types::{AnnotationFlags, FieldType, SigFlags};
use pdf_writer::{Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::Document;

/// Bytes reserved for the DER signature (CMS SignedData) in `/Contents`; the
/// file holds twice as many hex digits. A P-256 signature with its
/// certificate and the CA's takes about 2 KiB; the rest leaves room for
/// RSA-4096 chains of three certificates or a later timestamp token.
pub const SIGNATURE_CAPACITY: usize = 16 * 1024;

/// Placeholder byte range: `i32::MAX` is the widest number pdf-writer
/// writes, so any real offset (a PDF under 2 GiB) fits in its place.
const BYTE_RANGE_PLACEHOLDER: [i32; 4] = [0, i32::MAX, i32::MAX, i32::MAX];

/// What the signature dictionary says about the signing, shown by PDF
/// viewers in their signature panel.
#[derive(Clone, Debug)]
pub struct SignatureInfo {
    /// Signer's name (`/Name`), e.g. the officer's full name.
    pub name: String,
    /// Why the document is signed (`/Reason`), e.g. "Cấp bản sao trích lục".
    pub reason: String,
    /// Where it is signed (`/Location`), e.g. the agency's town.
    pub location: String,
    /// How to reach the signer (`/ContactInfo`), e.g. an office e-mail.
    pub contact: Option<String>,
    /// Claimed signing time (`/M`), with the signer's UTC offset (+07:00 in
    /// Việt Nam). PAdES takes the signing time from here rather than from a
    /// CMS signing-time attribute; the byte range covers it, so it is signed.
    pub signing_time: DateTime<FixedOffset>,
}

/// Why [`Document::finish_signed`] failed.
#[derive(Debug)]
pub enum SignPdfError<E> {
    /// The signer closure failed.
    Signer(E),
    /// The signature does not fit in [`SIGNATURE_CAPACITY`] bytes.
    SignatureTooLarge {
        /// Length of the signature the signer returned.
        len: usize,
    },
}

impl<E: fmt::Display> fmt::Display for SignPdfError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignPdfError::Signer(e) => write!(f, "signing failed: {e}"),
            SignPdfError::SignatureTooLarge { len } => {
                write!(f, "signature of {len} bytes exceeds the {SIGNATURE_CAPACITY}-byte placeholder")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SignPdfError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignPdfError::Signer(e) => Some(e),
            SignPdfError::SignatureTooLarge { .. } => None,
        }
    }
}

impl Document {
    /// Like [`Document::finish`], but signs the file.
    ///
    /// `sign` receives the bytes covered by the signature — the whole file
    /// except the `/Contents` hex string, both parts concatenated, exactly
    /// what a verifier hashes — and returns a DER-encoded detached CMS
    /// SignedData (e.g. from `tl_sign::sign_cms_detached` with the PAdES
    /// profile). The signature is invisible: its widget is a zero-size
    /// rectangle on page 1, as PAdES allows; viewers list it in their
    /// signature panel.
    pub fn finish_signed<E>(
        self,
        info: &SignatureInfo,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, SignPdfError<E>> {
        let mut bytes = self.write(Some(info));
        let (range_at, range_len) = find_once(&bytes, &byte_range_placeholder()).expect("byte range placeholder written once");
        let (contents_at, contents_len) = find_once(&bytes, &contents_placeholder()).expect("contents placeholder written once");
        // The byte range covers everything but the hex string, delimiters
        // included (ISO 32000-1 12.8.1).
        let gap_start = contents_at + b"/Contents ".len();
        let gap_end = contents_at + contents_len;
        let range = [0, gap_start, gap_end, bytes.len() - gap_end];

        let mut text = format!("/ByteRange [{} {} {} {}", range[0], range[1], range[2], range[3]).into_bytes();
        // Pad with spaces (PDF whitespace) so that no offset moves.
        assert!(text.len() < range_len, "byte range fits its placeholder for files under 2 GiB");
        text.resize(range_len - 1, b' ');
        text.push(b']');
        bytes[range_at..range_at + range_len].copy_from_slice(&text);

        let covered = [&bytes[..gap_start], &bytes[gap_end..]].concat();
        let signature = sign(&covered).map_err(SignPdfError::Signer)?;
        if signature.len() > SIGNATURE_CAPACITY {
            return Err(SignPdfError::SignatureTooLarge { len: signature.len() });
        }
        // Hex digits after the DER value are zero padding, which CMS parsers
        // skip because the DER length says where the value ends.
        let hex = bytes[gap_start + 1..gap_end - 1].iter_mut();
        let digits = signature.iter().flat_map(|b| [b >> 4, b & 0xf]).map(|n| b"0123456789ABCDEF"[usize::from(n)]);
        for (slot, digit) in hex.zip(digits.chain(std::iter::repeat(b'0'))) {
            *slot = digit;
        }
        Ok(bytes)
    }
}

/// Writes the signature field (merged with its widget) and the signature
/// dictionary with its placeholders.
pub(crate) fn write_signature(pdf: &mut Pdf, info: &SignatureInfo, field_id: Ref, sig_id: Ref, page_id: Ref) {
    let mut field = pdf.form_field(field_id);
    field.field_type(FieldType::Signature).partial_name(TextStr("Signature1"));
    field.pair(Name(b"V"), sig_id);
    let mut widget = field.into_annotation();
    // Print and locked: the (empty) appearance is part of the signed page.
    widget.rect(Rect::new(0.0, 0.0, 0.0, 0.0)).flags(AnnotationFlags::PRINT | AnnotationFlags::LOCKED).page(page_id);
    widget.finish();

    let mut sig = pdf.indirect(sig_id).dict();
    sig.pair(Name(b"Type"), Name(b"Sig"))
        .pair(Name(b"Filter"), Name(b"Adobe.PPKLite"))
        .pair(Name(b"SubFilter"), Name(b"ETSI.CAdES.detached"));
    sig.insert(Name(b"ByteRange")).array().items(BYTE_RANGE_PLACEHOLDER);
    // Non-ASCII filler makes pdf-writer choose a hex string, which is what
    // /Contents must be when /ByteRange is present.
    sig.pair(Name(b"Contents"), Str(&[0xFF; SIGNATURE_CAPACITY]));
    sig.pair(Name(b"M"), pdf_date(info.signing_time))
        .pair(Name(b"Name"), TextStr(&info.name))
        .pair(Name(b"Reason"), TextStr(&info.reason))
        .pair(Name(b"Location"), TextStr(&info.location));
    if let Some(contact) = &info.contact {
        sig.pair(Name(b"ContactInfo"), TextStr(contact));
    }
    sig.finish();
}

/// Document-level signature flags: signatures exist, and the file must only
/// be changed by appending (an in-place save would break the signature).
pub(crate) fn sig_flags() -> SigFlags {
    SigFlags::SIGNATURES_EXIST | SigFlags::APPEND_ONLY
}

fn pdf_date(t: DateTime<FixedOffset>) -> Date {
    let offset = t.offset().local_minus_utc();
    // pdf-writer takes a signed hour and unsigned minutes: -03:30 is (-3, 30).
    let (hours, minutes) = (offset / 3600, (offset.abs() % 3600) / 60);
    Date::new(t.year().clamp(0, 9999) as u16)
        .month(t.month() as u8)
        .day(t.day() as u8)
        .hour(t.hour() as u8)
        .minute(t.minute() as u8)
        .second(t.second().min(59) as u8)
        .utc_offset_hour(hours as i8)
        .utc_offset_minute(minutes as u8)
}

fn byte_range_placeholder() -> Vec<u8> {
    let [a, b, c, d] = BYTE_RANGE_PLACEHOLDER;
    format!("/ByteRange [{a} {b} {c} {d}]").into_bytes()
}

fn contents_placeholder() -> Vec<u8> {
    let mut needle = b"/Contents <".to_vec();
    needle.extend(std::iter::repeat_n(b"FF", SIGNATURE_CAPACITY).flatten());
    needle.push(b'>');
    needle
}

/// Offset and length of the only occurrence of `needle`. Our own output
/// always has exactly one: anything else is a bug, not an input error.
fn find_once(haystack: &[u8], needle: &[u8]) -> Option<(usize, usize)> {
    let mut found = haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some((first, needle.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn info() -> SignatureInfo {
        let ict = FixedOffset::east_opt(7 * 3600).unwrap();
        SignatureInfo {
            name: "Nguyễn Văn An".into(),
            reason: "Cấp trích lục khai sinh".into(),
            location: "Hà Nội".into(),
            contact: None,
            signing_time: ict.with_ymd_and_hms(2026, 11, 26, 9, 30, 5).unwrap(),
        }
    }

    fn parse_range(pdf: &[u8]) -> [usize; 4] {
        let at = pdf.windows(11).position(|w| w == b"/ByteRange ").unwrap();
        let text =
            std::str::from_utf8(&pdf[at + 12..]).unwrap_or_else(|e| std::str::from_utf8(&pdf[at + 12..at + 12 + e.valid_up_to()]).unwrap());
        let inner = &text[..text.find(']').unwrap()];
        let v: Vec<usize> = inner.split_whitespace().map(|n| n.parse().unwrap()).collect();
        [v[0], v[1], v[2], v[3]]
    }

    #[test]
    fn signer_sees_everything_but_the_contents_and_its_output_lands_there() {
        let mut doc = Document::new("Trích lục", "vi");
        doc.paragraph("Nội dung");
        let mut seen = Vec::new();
        let pdf = doc
            .finish_signed(&info(), |covered| {
                seen = covered.to_vec();
                Ok::<_, std::convert::Infallible>(vec![0x30, 0x03, 0x02, 0x01, 0x07])
            })
            .unwrap();
        let [start, len1, off2, len2] = parse_range(&pdf);
        assert_eq!((start, off2 + len2), (0, pdf.len()));
        assert_eq!(seen, [&pdf[..len1], &pdf[off2..]].concat());
        let gap = &pdf[len1..off2];
        assert_eq!(gap.len(), 2 * SIGNATURE_CAPACITY + 2);
        assert!(gap.starts_with(b"<3003020107000") && gap.ends_with(b"00>"));
        let text = String::from_utf8_lossy(&pdf);
        for needle in ["/SubFilter /ETSI.CAdES.detached", "/SigFlags 3", "/FT /Sig", "/M (D:20261126093005+07'00)", "/Annots ["] {
            assert!(text.contains(needle), "{needle} missing");
        }
    }

    #[test]
    fn oversized_signature_and_signer_errors_are_reported() {
        let err = Document::new("x", "vi").finish_signed(&info(), |_| Ok::<_, ()>(vec![0; SIGNATURE_CAPACITY + 1])).unwrap_err();
        assert!(matches!(err, SignPdfError::SignatureTooLarge { len } if len == SIGNATURE_CAPACITY + 1));
        let err = Document::new("x", "vi").finish_signed(&info(), |_| Err::<Vec<u8>, _>("no key")).unwrap_err();
        assert!(matches!(err, SignPdfError::Signer("no key")));
    }

    #[test]
    fn negative_offsets_keep_their_minutes() {
        let t = FixedOffset::west_opt(3 * 3600 + 1800).unwrap().with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let mut chunk = pdf_writer::Chunk::new();
        chunk.indirect(Ref::new(1)).primitive(pdf_date(t));
        assert!(String::from_utf8_lossy(chunk.as_bytes()).contains("(D:20260102030405-03'30)"));
    }
}
