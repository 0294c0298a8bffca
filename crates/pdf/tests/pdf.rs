//! End-to-end checks with poppler's command-line tools: the text must come
//! back out of the PDF exactly (ToUnicode works), the layout must paginate,
//! fonts must be embedded as subsets, and page 1 must render with ink on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use tl_pdf::{Document, FontStyle};

const TITLE: &str = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ";
const ROWS: [(&str, &str); 3] =
    [("Mã hồ sơ:", "H26.31-261126-0001"), ("Người nộp:", "Nguyễn Thị Thu Hằng"), ("Thủ tục:", "Đăng ký khai sinh")];
const STACKED: &str = "ỆỐỮ ẤẦẨẪẬ Ở Ự Ỹ Đ đ";
const PARAGRAPH_SENTENCE: &str = "Cơ quan tiếp nhận hồ sơ có trách nhiệm kiểm tra tính đầy đủ, \
    hợp lệ của hồ sơ, hướng dẫn người nộp bổ sung nếu thiếu và trả kết quả đúng hẹn; \
    trường hợp quá hạn, cơ quan phải gửi phiếu xin lỗi và hẹn lại ngày trả kết quả.";

/// A poppler tool, or `None` (test skipped) when it is not installed.
/// On CI a missing tool is a failure: CI installs poppler-utils.
fn tool(name: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{name} not found at {}; install poppler-utils", path.display());
    }
    eprintln!("SKIPPED: {name} not installed (apt-get install poppler-utils)");
    None
}

fn run(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect("run poppler tool");
    assert!(out.status.success(), "{} {args:?} failed: {}", tool.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("poppler prints UTF-8")
}

fn write_tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn receipt(paragraphs: usize) -> Vec<u8> {
    let mut doc = Document::new("Giấy tiếp nhận hồ sơ", "vi");
    doc.page_numbers("Trang");
    doc.centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", FontStyle::Bold, 12.0)
        .centered("Độc lập - Tự do - Hạnh phúc", FontStyle::Regular, 12.0)
        .rule()
        .spacer(8.0)
        .heading(TITLE);
    for (label, value) in ROWS {
        doc.key_value(label, value);
    }
    doc.spacer(6.0).centered(STACKED, FontStyle::Bold, 18.0).rule();
    let long = [PARAGRAPH_SENTENCE; 6].join(" ");
    for _ in 0..paragraphs {
        doc.paragraph(&long);
    }
    doc.finish()
}

#[test]
fn vietnamese_text_round_trips_across_two_pages() {
    let (Some(pdftotext), Some(pdfinfo), Some(pdffonts)) = (tool("pdftotext"), tool("pdfinfo"), tool("pdffonts")) else {
        return;
    };
    let file = write_tmp("receipt-2p.pdf", &receipt(4));
    let file = file.to_str().unwrap();

    let info = run(&pdfinfo, &[file]);
    assert!(info.lines().any(|l| squash(l) == "Pages: 2"), "{info}");
    assert!(info.contains("Thăng Long"), "producer missing: {info}");
    assert!(info.contains("Giấy tiếp nhận hồ sơ"), "title missing: {info}");

    let text = run(&pdftotext, &["-layout", file, "-"]);
    let flat = squash(&text);
    for needle in [TITLE, "Độc lập - Tự do - Hạnh phúc", STACKED, "Trang 1/2", "Trang 2/2"] {
        assert!(flat.contains(needle), "{needle:?} not in:\n{text}");
    }
    for (label, value) in ROWS {
        let row = format!("{label} {value}");
        assert!(flat.contains(&row), "{row:?} not in:\n{text}");
    }
    // Every word of the body in order, once the footers are taken out.
    let body = squash(&text.lines().filter(|l| !l.trim().starts_with("Trang ")).collect::<Vec<_>>().join("\n"));
    let long = squash(&[PARAGRAPH_SENTENCE; 6].join(" "));
    assert_eq!(body.matches(&long).count(), 4, "paragraph mangled:\n{text}");

    // Both faces embedded, both subset ("emb" and "sub" columns say yes).
    let fonts = run(&pdffonts, &[file]);
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVuSans")).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(cols[0].contains('+'), "no subset tag: {row}");
        assert_eq!(cols[1..].iter().filter(|c| **c == "yes").count(), 3, "{row}");
    }
}

#[test]
fn one_page_receipt_is_small_and_renders() {
    let bytes = receipt(1);
    eprintln!("one-page receipt: {} bytes", bytes.len());
    assert!(bytes.len() < 100_000, "{} bytes: fonts not subset?", bytes.len());
    let file = write_tmp("receipt-1p.pdf", &bytes);
    let file = file.to_str().unwrap();

    let Some(pdftoppm) = tool("pdftoppm") else {
        return;
    };
    if let Some(pdfinfo) = tool("pdfinfo") {
        assert!(run(&pdfinfo, &[file]).lines().any(|l| squash(l) == "Pages: 1"));
    }
    let png = file.replace(".pdf", "");
    run(&pdftoppm, &["-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", file, &png]);
    let size = std::fs::metadata(format!("{png}.png")).expect("PNG written").len();
    assert!(size > 8_000, "PNG is only {size} bytes: blank page?");

    // Count inked pixels in an uncompressed greyscale rendering, so that a
    // page whose text failed to draw cannot pass on PNG size alone.
    run(&pdftoppm, &["-r", "60", "-gray", "-f", "1", "-l", "1", "-singlefile", file, &png]);
    let pgm = std::fs::read(format!("{png}.pgm")).unwrap();
    // Header: "P5", width, height, maxval, each followed by one whitespace.
    let header: Vec<&[u8]> = pgm.splitn(5, |b| b.is_ascii_whitespace()).collect();
    assert_eq!(header[0], b"P5");
    let dim = |i: usize| -> usize { std::str::from_utf8(header[i]).unwrap().parse().unwrap() };
    let pixels = header[4];
    assert_eq!(pixels.len(), dim(1) * dim(2));
    let dark = pixels.iter().filter(|&&p| p < 128).count();
    assert!(dark > 5_000, "only {dark} dark pixels");
}

/// Decodes every QR code on page 1 with zbarimg (zbar-tools).
fn decode_qr(file: &str, stem: &str) -> Option<Vec<String>> {
    let (pdftoppm, zbarimg) = (tool("pdftoppm")?, {
        let path = Path::new("/usr/bin/zbarimg");
        if !path.exists() {
            assert!(std::env::var_os("CI").is_none(), "zbarimg not found; install zbar-tools");
            eprintln!("SKIPPED: zbarimg not installed (apt-get install zbar-tools)");
            return None;
        }
        path.to_owned()
    });
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join(stem);
    let png = png.to_str().unwrap();
    run(&pdftoppm, &["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", file, png]);
    let out = run(&zbarimg, &["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", &format!("{png}.png")]);
    Some(out.lines().map(str::to_owned).collect())
}

#[test]
fn qr_codes_decode_to_the_exact_text() {
    let url = "https://dichvucong.thanglong.example.vn/xac-thuc/H26.31-261126-0001?k=9fQ2-x_Z";
    let corner = "https://dichvucong.thanglong.example.vn/v/KQ-0001";
    let mut doc = Document::new("Trích lục khai sinh", "vi");
    doc.qr_at(corner, tl_pdf::PAGE_WIDTH - tl_pdf::MARGIN - 80.0, tl_pdf::PAGE_HEIGHT - tl_pdf::MARGIN, 80.0)
        .heading("TRÍCH LỤC KHAI SINH")
        .key_value("Họ, chữ đệm, tên:", "Nguyễn Thị Thu Hằng")
        .spacer(12.0)
        .qr(url, 90.0)
        .paragraph("Quét mã để kiểm tra kết quả điện tử.");
    let file = write_tmp("qr.pdf", &doc.finish());
    let Some(mut decoded) = decode_qr(file.to_str().unwrap(), "qr") else {
        return;
    };
    decoded.sort();
    let mut expected = vec![url.to_owned(), corner.to_owned()];
    expected.sort();
    assert_eq!(decoded, expected);
}
