//! Each form rendered with realistic data, then read back with poppler:
//! the legal title, the national header and the filled-in values (codes,
//! dates, names with their diacritics) must come out of the PDF as text; the
//! register must paginate with its header on every page.
//!
//! Set `TL_FORMS_OUT=dir` to keep the PDFs and page-1 PNGs for a look.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tl_forms::*;

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

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("TL_FORMS_OUT").map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the PDF and, when `TL_FORMS_OUT` is set, a PNG of page 1.
fn save(name: &str, bytes: &[u8]) -> PathBuf {
    assert!(bytes.starts_with(b"%PDF-"));
    let path = out_dir().join(format!("{name}.pdf"));
    std::fs::write(&path, bytes).unwrap();
    if std::env::var_os("TL_FORMS_OUT").is_some() {
        if let Some(pdftoppm) = tool("pdftoppm") {
            let png = out_dir().join(name);
            run(&pdftoppm, &["-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", path.to_str().unwrap(), png.to_str().unwrap()]);
        }
    }
    path
}

/// Text of the PDF (optionally one page) with whitespace runs squashed, so
/// assertions don't depend on column positions.
fn text(path: &Path, page: Option<usize>) -> Option<String> {
    let pdftotext = tool("pdftotext")?;
    let mut args = vec!["-layout".to_owned()];
    if let Some(n) = page {
        args.extend(["-f".to_owned(), n.to_string(), "-l".to_owned(), n.to_string()]);
    }
    args.extend([path.to_str().unwrap().to_owned(), "-".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Some(squash(&run(&pdftotext, &args)))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pages(path: &Path) -> Option<usize> {
    let info = run(&tool("pdfinfo")?, &[path.to_str().unwrap()]);
    let line = info.lines().find(|l| l.starts_with("Pages:"))?;
    line["Pages:".len()..].trim().parse().ok()
}

fn assert_has(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
}

/// `expected` is in the PDF, though maybe broken over lines (a URL in a
/// narrow column). Read in content order (`-raw`): in the layout view the
/// column's lines interleave with those of the signatures beside it.
fn assert_has_wrapped(path: &Path, expected: &str) {
    let Some(pdftotext) = tool("pdftotext") else { return };
    let text = run(&pdftotext, &["-raw", path.to_str().unwrap(), "-"]);
    let unspaced: String = text.split_whitespace().collect();
    let wanted: String = expected.split_whitespace().collect();
    assert!(unspaced.contains(&wanted), "missing {expected:?} in:\n{text}");
}

/// The national header, in Vietnamese.
const HEADER_VI: [&str; 4] = [
    "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
    "ỦY BAN NHÂN DÂN PHƯỜNG HOÀN KIẾM",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
];

fn letterhead(number: Option<&str>) -> Letterhead {
    Letterhead {
        superior: "Ủy ban nhân dân thành phố Hà Nội".into(),
        agency: "Ủy ban nhân dân phường Hoàn Kiếm".into(),
        number: number.map(str::to_owned),
        place: "Hoàn Kiếm".into(),
        date: "26/11/2026".into(),
    }
}

const URL: &str = "https://dichvucong.hanoi.gov.vn/xac-thuc/H26.31-261126-0001";

fn receipt_data(lang: Lang) -> Receipt {
    Receipt {
        lang,
        letterhead: letterhead(Some("0001/GTN-BPMC")),
        dossier_code: "H26.31-261126-0001".into(),
        receiving_unit: "Bộ phận Một cửa phường Hoàn Kiếm".into(),
        applicant: Applicant {
            kind: ApplicantKind::Person,
            name: "Nguyễn Thị Thu Hằng".into(),
            id_number: "001186012345".into(),
            address: "Số 12 phố Hàng Bạc, phường Hoàn Kiếm, thành phố Hà Nội".into(),
            phone: "0912 345 678".into(),
            email: "hang.nguyen@example.vn".into(),
        },
        authorised_person: Some("Trần Văn Đức (giấy ủy quyền số 15/2026/UQ ngày 20/11/2026)".into()),
        procedure: "Đăng ký khai sinh (1.001193)".into(),
        components: vec![
            Component { name: "Tờ khai đăng ký khai sinh".into(), form: CopyForm::Original, count: "01".into() },
            Component {
                name: "Giấy chứng sinh do Bệnh viện Phụ sản Hà Nội cấp".into(), form: CopyForm::Original, count: "01".into()
            },
            Component {
                name: "Giấy chứng nhận kết hôn của cha, mẹ".into(), form: CopyForm::CertifiedCopy, count: "01".into()
            },
            Component { name: "Văn bản ủy quyền".into(), form: CopyForm::Electronic, count: "01".into() },
        ],
        sets: "01".into(),
        time_limit: "Trong ngày làm việc".into(),
        received_at: Moment::new("09:15", "26/11/2026"),
        return_at: Moment::new("16:30", "26/11/2026"),
        result_at: "Bộ phận Một cửa phường Hoàn Kiếm, số 126 phố Hàng Trống".into(),
        register_volume: "03".into(),
        register_serial: "0975".into(),
        submitter: "Trần Văn Đức".into(),
        receiver: "Lê Minh Châu".into(),
        verify_url: Some(URL.into()),
    }
}

#[test]
fn form_01_receipt() {
    let path = save("form01", &receipt(&receipt_data(Lang::Vi)));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "Số: 0001/GTN-BPMC",
            "Hoàn Kiếm, ngày 26 tháng 11 năm 2026",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            "Mã hồ sơ: H26.31-261126-0001",
            "Bộ phận Một cửa phường Hoàn Kiếm tiếp nhận hồ sơ của:",
            "Ông/bà: Nguyễn Thị Thu Hằng",
            "Số định danh cá nhân: 001186012345",
            "Số điện thoại: 0912 345 678",
            "Email: hang.nguyen@example.vn",
            "Người được ủy quyền: Trần Văn Đức",
            "Nội dung yêu cầu giải quyết: Đăng ký khai sinh (1.001193)",
            "Tờ khai đăng ký khai sinh",
            "Bản sao chứng thực",
            "Bản điện tử có chữ ký số",
            "Thời gian giải quyết hồ sơ theo quy định là: Trong ngày làm việc",
            "4. Thời gian nhận hồ sơ: 09 giờ 15 phút, ngày 26/11/2026",
            "5. Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 30 phút, ngày 26/11/2026",
            "Vào Sổ theo dõi hồ sơ, Quyển số: 03, Số thứ tự: 0975",
            "NGƯỜI NỘP HỒ SƠ",
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            "Lê Minh Châu",
        ],
    );
    assert_has_wrapped(&path, URL);
    assert_eq!(pages(&path), Some(1), "Form 01 fits on one page");
}

#[test]
fn form_01_in_english_for_foreigners() {
    let mut data = receipt_data(Lang::En);
    data.applicant.name = "John Smith".into();
    let path = save("form01-en", &receipt(&data));
    let Some(t) = text(&path, None) else { return };
    assert_has(
        &t,
        &[
            "SOCIALIST REPUBLIC OF VIET NAM",
            "Independence - Freedom - Happiness",
            "No.: 0001/GTN-BPMC",
            "Hoàn Kiếm, 26 November 2026",
            "DOSSIER RECEIPT AND APPOINTMENT FOR THE RESULT",
            "Name: John Smith",
            "Certified copy",
            "4. Received at: 09:15, 26/11/2026",
            "RECEIVED BY",
        ],
    );
    assert!(!t.contains("GIẤY TIẾP NHẬN"));
}

#[test]
fn form_02_supplement_request_lists_everything() {
    let data = SupplementRequest {
        lang: Lang::Vi,
        letterhead: letterhead(Some("0002/PYCBS-BPMC")),
        addressee: Addressee { name: "Nguyễn Thị Thu Hằng".into(), kind: ApplicantKind::Person },
        dossier_code: "H26.31-261126-0002".into(),
        procedure: "Đăng ký kết hôn".into(),
        received_date: "25/11/2026".into(),
        items: vec![
            SupplementItem {
                what: "Giấy xác nhận tình trạng hôn nhân của bên nam".into(),
                reason: "Giấy đã nộp được cấp quá 06 tháng, không còn giá trị sử dụng.".into(),
            },
            SupplementItem {
                what: "Tờ khai đăng ký kết hôn có đủ chữ ký của hai bên".into(),
                reason: "Tờ khai đã nộp thiếu chữ ký của bên nữ.".into(),
            },
            SupplementItem {
                what: "Bản sao hộ chiếu của bên nam (người nước ngoài)".into(),
                reason: "Thành phần bắt buộc theo quy định.".into(),
            },
        ],
        guidance: Some("Nộp bổ sung trực tuyến trên Cổng Dịch vụ công hoặc tại Bộ phận Một cửa.".into()),
        deadline: Some("10/12/2026".into()),
        officer: Officer { name: "Lê Minh Châu".into(), phone: "024 3825 1234".into(), email: "motcua.hoankiem@hanoi.gov.vn".into() },
        verify_url: Some(URL.into()),
    };
    let path = save("form02", &supplement_request(&data));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "Kính gửi: Nguyễn Thị Thu Hằng",
            "Ngày 25/11/2026, Ủy ban nhân dân phường Hoàn Kiếm đã tiếp nhận hồ sơ của Ông/Bà",
            "H26.31-261126-0002",
            "1. Giấy xác nhận tình trạng hôn nhân của bên nam",
            "Lý do: Giấy đã nộp được cấp quá 06 tháng",
            "2. Tờ khai đăng ký kết hôn",
            "3. Bản sao hộ chiếu của bên nam",
            "Thời hạn bổ sung, hoàn thiện hồ sơ: 10/12/2026.",
            "024 3825 1234",
            "NGƯỜI HƯỚNG DẪN",
        ],
    );
}

#[test]
fn form_03_refusal_gives_reasons() {
    let data = Refusal {
        lang: Lang::Vi,
        letterhead: letterhead(Some("0003/PTC-BPMC")),
        addressee: Addressee { name: "Công ty TNHH Thương mại Sông Hồng".into(), kind: ApplicantKind::Organisation },
        procedure: "Cấp giấy phép xây dựng công trình".into(),
        dossier_code: None,
        legal_basis: Some("Điều 103 Luật Xây dựng".into()),
        reasons: vec![
            "Công trình cấp II thuộc thẩm quyền cấp phép của Sở Xây dựng, không thuộc thẩm quyền của Ủy ban nhân dân phường.".into(),
            "Hồ sơ không có văn bản thẩm định thiết kế xây dựng.".into(),
        ],
        officer: Officer { name: "Phạm Quốc Việt".into(), phone: "024 3825 1234".into(), email: String::new() },
        verify_url: None,
    };
    let path = save("form03", &refusal(&data));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            "Kính gửi: Công ty TNHH Thương mại Sông Hồng",
            "hồ sơ của Quý cơ quan, tổ chức",
            "quy định tại Điều 103 Luật Xây dựng",
            "1. Công trình cấp II thuộc thẩm quyền",
            "2. Hồ sơ không có văn bản thẩm định",
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            "Phạm Quốc Việt",
        ],
    );
    assert!(!t.contains("Mã hồ sơ"), "no code was issued");
}

#[test]
fn form_04_apology() {
    let data = Apology {
        lang: Lang::Vi,
        letterhead: letterhead(Some("0004/PXL-UBND")),
        addressee: Addressee { name: "Ông Đặng Hữu Phước".into(), kind: ApplicantKind::Person },
        received_date: "18/11/2026".into(),
        procedure: "Xác nhận tình trạng hôn nhân".into(),
        dossier_code: "H26.31-261118-0042".into(),
        original_return: "23/11/2026".into(),
        reason: "Cần xác minh thông tin cư trú tại địa phương nơi cư trú trước đây.".into(),
        new_return: "27/11/2026".into(),
        signer: Signer { title: String::new(), name: "Vũ Thị Ngọc Ánh".into() },
        verify_url: Some(URL.into()),
    };
    let path = save("form04", &apology(&data));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "Kính gửi: Ông Đặng Hữu Phước",
            "Ngày 18/11/2026",
            "Mã hồ sơ: H26.31-261118-0042",
            "Ngày hẹn trả kết quả: 23/11/2026",
            "Lý do: Cần xác minh",
            "xin lỗi Ông/Bà và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào ngày 27/11/2026",
            "THỦ TRƯỞNG CƠ QUAN",
            "Vũ Thị Ngọc Ánh",
        ],
    );
}

#[test]
fn form_05_stop_notice() {
    let data = StopNotice {
        lang: Lang::Vi,
        letterhead: letterhead(Some("0005/TB-UBND")),
        addressee: Addressee { name: "Bà Hoàng Thị Yến".into(), kind: ApplicantKind::Person },
        procedure: "Đăng ký thường trú".into(),
        dossier_code: "H26.31-261120-0113".into(),
        received_date: "20/11/2026".into(),
        withdrawal_date: "24/11/2026".into(),
        reason: "Gia đình thay đổi nơi cư trú.".into(),
        signer: Signer { title: "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH".into(), name: "Đỗ Mạnh Hùng".into() },
        verify_url: Some(URL.into()),
    };
    let path = save("form05", &stop_notice(&data));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
            "Kính gửi: Bà Hoàng Thị Yến",
            "H26.31-261120-0113",
            "Ngày 24/11/2026",
            "Lý do: Gia đình thay đổi nơi cư trú.",
            "dừng giải quyết hồ sơ nêu trên kể từ ngày 26/11/2026",
            "KT. CHỦ TỊCH",
            "PHÓ CHỦ TỊCH",
            "Đỗ Mạnh Hùng",
        ],
    );
}

fn handoffs(n: usize) -> Vec<Handoff> {
    let units = ["Bộ phận Một cửa", "Công chức Tư pháp - Hộ tịch", "Lãnh đạo Ủy ban nhân dân phường", "Văn thư"];
    let people = ["Lê Minh Châu", "Nguyễn Hữu Thắng", "Đỗ Mạnh Hùng", "Trịnh Thu Trang"];
    let results = [Some(Timeliness::Early), Some(Timeliness::OnTime), Some(Timeliness::Late), None];
    (0..n)
        .map(|i| Handoff {
            from_unit: units[i % 4].into(),
            to_unit: units[(i + 1) % 4].into(),
            at: Moment::new(&format!("{:02}:{:02}", 8 + i % 9, (i * 7) % 60), &format!("{:02}/11/2026", 1 + i % 28)),
            giver: people[i % 4].into(),
            receiver: people[(i + 1) % 4].into(),
            result: results[i % 4],
            note: if i % 5 == 2 { "Yêu cầu bổ sung lần 1, chờ công dân nộp bổ sung".into() } else { String::new() },
        })
        .collect()
}

fn control_data(n: usize) -> ControlSheet {
    ControlSheet {
        lang: Lang::Vi,
        letterhead: letterhead(Some("0006/PKS-BPMC")),
        dossier_code: "H26.31-261126-0001".into(),
        receipt_number: Some("0001/GTN-BPMC".into()),
        procedure: "Đăng ký khai sinh (1.001193)".into(),
        applicant: "Nguyễn Thị Thu Hằng".into(),
        received_at: Moment::new("09:15", "26/11/2026"),
        return_at: Moment::new("16:30", "26/11/2026"),
        lead_agency: "Ủy ban nhân dân phường Hoàn Kiếm".into(),
        cooperating: String::new(),
        handoffs: handoffs(n),
        verify_url: Some(URL.into()),
    }
}

#[test]
fn form_06_control_sheet() {
    let path = save("form06", &control_sheet(&control_data(4)));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            "Mã hồ sơ: H26.31-261126-0001",
            "(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số: 0001/GTN-BPMC)",
            "Thời gian nhận hồ sơ: 09 giờ 15 phút, ngày 26/11/2026",
            "TÊN CƠ QUAN/BỘ PHẬN",
            "THỜI GIAN",
            "NGƯỜI",
            "GHI CHÚ",
            "1. Giao: Bộ phận Một cửa",
            "Nhận: Công chức Tư pháp",
            "08:00",
            "01/11/2026",
            "Trước hạn",
            "Đúng hạn",
            "Quá hạn",
        ],
    );
    // Names wrap inside their narrow columns but stay whole and in order.
    assert_has_wrapped(&path, "Nguyễn Hữu Thắng");
    assert_has_wrapped(&path, "Nhận: Công chức Tư pháp - Hộ tịch");
}

#[test]
fn form_06_many_handoffs_paginate_with_the_header_repeated() {
    let path = save("form06-long", &control_sheet(&control_data(60)));
    let Some(n) = pages(&path) else { return };
    assert!(n > 1, "{n} pages");
    let page2 = text(&path, Some(2)).unwrap();
    assert_has(&page2, &["TÊN CƠ QUAN/BỘ PHẬN", "THỜI GIAN", "GHI CHÚ", "Trang 2/"]);
    let last = text(&path, Some(n)).unwrap();
    assert_has(&last, &["60. Giao:"]);
}

fn register_data(rows: usize) -> Register {
    let procedures = ["Đăng ký khai sinh", "Chứng thực bản sao từ bản chính", "Đăng ký thường trú", "Xác nhận tình trạng hôn nhân"];
    let names = ["Nguyễn Thị Thu Hằng", "Trần Văn Đức", "Phạm Ngọc Ánh", "Lý Quang Vĩnh"];
    let statuses = [Some(Timeliness::Early), Some(Timeliness::OnTime), Some(Timeliness::Late), None];
    Register {
        lang: Lang::Vi,
        letterhead: letterhead(None),
        service_point: "Bộ phận Một cửa phường Hoàn Kiếm".into(),
        from: "01/11/2026".into(),
        to: "30/11/2026".into(),
        volume: Some("03".into()),
        rows: (1..=rows)
            .map(|i| {
                let day = 1 + (i - 1) * 30 / rows.max(1);
                RegisterRow {
                    serial: i.to_string(),
                    dossier_code: format!("H26.31-2611{day:02}-{i:04}"),
                    procedure: procedures[i % 4].into(),
                    sets: "01".into(),
                    applicant_name: names[i % 4].into(),
                    applicant_address: format!("Số {} phố Hàng Bạc, Hoàn Kiếm", i % 97 + 1),
                    applicant_phone: format!("0912 {:03} {:03}", i % 1000, (i * 7) % 1000),
                    lead_agency: "UBND phường Hoàn Kiếm".into(),
                    received_date: format!("{day:02}/11/2026"),
                    return_date: format!("{:02}/11/2026", (day + 3).min(30)),
                    transfer_date: format!("{day:02}/11/2026"),
                    result_date: format!("{:02}/11/2026", (day + 2).min(30)),
                    returned_date: if i % 4 == 3 { String::new() } else { format!("{:02}/11/2026", (day + 3).min(30)) },
                    status: statuses[i % 4],
                    note: if i % 10 == 0 { "Trả kết quả qua bưu chính công ích".into() } else { String::new() },
                }
            })
            .collect(),
        verify_url: Some(URL.into()),
    }
}

#[test]
fn form_07_register_of_2000_dossiers() {
    let data = register_data(2000);
    let started = Instant::now();
    let bytes = register(&data);
    let elapsed = started.elapsed();
    eprintln!("register of 2,000 rows: {elapsed:?}, {} KiB", bytes.len() / 1024);
    // Generous for a debug build; the release build takes a fraction of this.
    assert!(elapsed.as_secs_f32() < if cfg!(debug_assertions) { 20.0 } else { 1.0 }, "{elapsed:?}");
    let path = save("form07", &bytes);
    let Some(n) = pages(&path) else { return };
    assert!(n > 10, "{n} pages");

    let page1 = text(&path, Some(1)).unwrap();
    assert_has(&page1, &HEADER_VI);
    assert_has(
        &page1,
        &["SỔ THEO DÕI HỒ SƠ", "Bộ phận Một cửa phường Hoàn Kiếm", "Từ ngày 01/11/2026 đến ngày 30/11/2026", "Quyển số: 03"],
    );
    assert_has(&page1, &["H26.31-261101-0001", "Nguyễn Thị Thu Hằng", "Trước hạn", &format!("Trang 1/{n}")]);
    let page2 = text(&path, Some(2)).unwrap();
    assert_has(&page2, &["STT", "Mã hồ sơ", "Tên TTHC", "Cơ quan", "Trạng", "Ghi chú", &format!("Trang 2/{n}")]);
    // The last row ends the table (the QR code may have moved to a page of
    // its own after it).
    let tail = text(&path, Some(n - 1)).unwrap() + &text(&path, Some(n)).unwrap();
    assert_has(&tail, &["H26.31-261130-2000", &format!("Trang {n}/{n}")]);
    assert!(!tail.contains("H26.31-261130-2001"));
}

#[test]
fn long_cells_wrap_inside_narrow_columns() {
    let mut data = register_data(3);
    let long = "Hồ sơ chuyển Phòng Quản lý đô thị xin ý kiến về chỉ giới đường đỏ, chờ văn bản trả lời";
    data.rows[1].note = long.into();
    data.rows[2].dossier_code = "H26.31.05.13.22-261126-AB0003".into();
    let path = save("form07-wrap", &register(&data));
    let Some(pdftotext) = tool("pdftotext") else { return };
    let raw = run(&pdftotext, &["-layout", path.to_str().unwrap(), "-"]);
    // Ghi chú is the narrowest column: the note comes out on several lines,
    // every word intact and in order.
    let note_lines = raw.lines().filter(|l| ["Hồ sơ", "chuyển", "Phòng", "chỉ giới", "văn bản"].iter().any(|w| l.contains(w))).count();
    assert!(note_lines >= 4, "note not wrapped:\n{raw}");
    let joined = squash(&raw);
    for word in long.split_whitespace() {
        assert!(joined.contains(word), "{word:?} lost");
    }
    // A long code breaks after a dash, not in the middle of a number.
    assert!(raw.contains("H26.31.05.13.22-"), "{raw}");
    assert!(raw.contains("AB0003"), "{raw}");
    // Nothing is drawn beyond the page: poppler sees no text past the edge.
    let bbox = run(&pdftotext, &["-bbox", path.to_str().unwrap(), "-"]);
    for line in bbox.lines().filter(|l| l.contains("<word ")) {
        let x_max: f32 = attr(line, "xMax");
        assert!(x_max <= 595.28 - 20.0, "word beyond the table: {line}");
    }
}

fn attr(line: &str, name: &str) -> f32 {
    let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + line[start..].find('"').unwrap();
    line[start..end].parse().unwrap()
}

fn e_result_data(lang: Lang) -> EResult {
    EResult {
        lang,
        letterhead: letterhead(Some("125/TLKS-BS")),
        title: "TRÍCH LỤC KHAI SINH".into(),
        subtitle: "(Bản chính)".into(),
        fields: vec![
            Field::new("Họ, chữ đệm, tên:", "NGUYỄN HOÀNG BẢO NGỌC"),
            Field::new("Ngày, tháng, năm sinh:", "14/11/2026"),
            Field::new("Ghi bằng chữ:", "Ngày mười bốn, tháng mười một, năm hai nghìn không trăm hai mươi sáu"),
            Field::new("Giới tính:", "Nữ"),
            Field::new("Dân tộc:", "Kinh"),
            Field::new("Quốc tịch:", "Việt Nam"),
            Field::new("Nơi sinh:", "Bệnh viện Phụ sản Hà Nội, thành phố Hà Nội"),
            Field::new("Quê quán:", "Xã Đông Ngạc, thành phố Hà Nội"),
            Field::new("Số định danh cá nhân:", "001326012345"),
            Field::new("Họ, chữ đệm, tên người mẹ:", "NGUYỄN THỊ THU HẰNG"),
            Field::new("Họ, chữ đệm, tên người cha:", "TRẦN VĂN ĐỨC"),
            Field::new("Nơi đăng ký khai sinh:", "Ủy ban nhân dân phường Hoàn Kiếm, thành phố Hà Nội"),
        ],
        body: vec!["Trích lục này được cấp từ Cơ sở dữ liệu hộ tịch điện tử theo yêu cầu của người đăng ký.".into()],
        signer: Signer { title: "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH".into(), name: "Đỗ Mạnh Hùng".into() },
        verify_url: Some(URL.into()),
    }
}

#[test]
fn electronic_result() {
    let path = save("eresult", &e_result(&e_result_data(Lang::Vi)));
    let Some(t) = text(&path, None) else { return };
    assert_has(&t, &HEADER_VI);
    assert_has(
        &t,
        &[
            "Số: 125/TLKS-BS",
            "TRÍCH LỤC KHAI SINH",
            "Họ, chữ đệm, tên: NGUYỄN HOÀNG BẢO NGỌC",
            "Ngày, tháng, năm sinh: 14/11/2026",
            "Số định danh cá nhân: 001326012345",
            "Trích lục này được cấp từ Cơ sở dữ liệu hộ tịch",
            "TM. ỦY BAN NHÂN DÂN",
            "PHÓ CHỦ TỊCH",
            "Đỗ Mạnh Hùng",
            "Văn bản điện tử này đã được ký số",
        ],
    );
    assert_has_wrapped(&path, URL);
    assert_eq!(pages(&path), Some(1));
}

/// The QR code decodes to the verification URL (needs zbarimg).
#[test]
fn verification_qr_decodes_to_the_url() {
    let path = save("eresult-qr", &e_result(&e_result_data(Lang::En)));
    let (Some(pdftoppm), zbarimg) = (tool("pdftoppm"), Path::new("/usr/bin/zbarimg")) else { return };
    if !zbarimg.exists() {
        assert!(std::env::var_os("CI").is_none(), "zbarimg not found; install zbar-tools");
        eprintln!("SKIPPED: zbarimg not installed (apt-get install zbar-tools)");
        return;
    }
    let png = out_dir().join("eresult-qr-150");
    run(&pdftoppm, &["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", path.to_str().unwrap(), png.to_str().unwrap()]);
    let decoded = run(zbarimg, &["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", &format!("{}.png", png.display())]);
    assert_eq!(decoded.trim(), URL);
}
