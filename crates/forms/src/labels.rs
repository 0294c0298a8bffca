//! Every fixed wording of the forms, Vietnamese (the legal text) and English
//! (a courtesy translation for foreigners), in one place so a change of the
//! law's wording is one edit. `{0}`, `{1}`… mark values filled in (in bold);
//! `{you}` (how the applicant is addressed), `{agency}` and `{basis}` are
//! filled in as plain text.

use crate::{ApplicantKind, CopyForm, Lang, Timeliness};

/// Wording shared by all documents.
pub(crate) struct Common {
    pub republic: &'static str,
    pub motto: &'static str,
    pub number: &'static str,
    pub page: &'static str,
    pub addressee: &'static str,
    pub dossier_code: &'static str,
    pub procedure: &'static str,
    pub sign_note: &'static str,
    pub seal_note: &'static str,
    pub head_of_agency: &'static str,
    /// Under the verification QR code.
    pub verify: &'static str,
    /// "Phone: {0}" / "Email: {0}" in contact lines.
    pub phone: &'static str,
    pub email: &'static str,
    pub reason: &'static str,
    pub closing: &'static str,
    /// Closing of a notice that asks nothing more of the applicant.
    pub informed: &'static str,
}

pub(crate) const COMMON_VI: Common = Common {
    republic: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    motto: "Độc lập - Tự do - Hạnh phúc",
    number: "Số",
    page: "Trang",
    addressee: "Kính gửi:",
    dossier_code: "Mã hồ sơ:",
    procedure: "Nội dung yêu cầu giải quyết:",
    sign_note: "(Ký và ghi rõ họ tên)",
    seal_note: "(Ký, ghi rõ họ tên và đóng dấu)",
    head_of_agency: "THỦ TRƯỞNG CƠ QUAN",
    verify: "Kiểm tra văn bản tại:",
    phone: "số điện thoại",
    email: "email",
    reason: "Lý do:",
    closing: "Xin thông báo để {you} biết và thực hiện./.",
    informed: "Xin thông báo để {you} được biết./.",
};

pub(crate) const COMMON_EN: Common = Common {
    republic: "SOCIALIST REPUBLIC OF VIET NAM",
    motto: "Independence - Freedom - Happiness",
    number: "No.",
    page: "Page",
    addressee: "To:",
    dossier_code: "Dossier code:",
    procedure: "Request:",
    sign_note: "(Signature and full name)",
    seal_note: "(Signature, full name and seal)",
    head_of_agency: "HEAD OF AGENCY",
    verify: "Verify this document at:",
    phone: "phone",
    email: "email",
    reason: "Reason:",
    closing: "This notice is sent to {you} for information and action.",
    informed: "This notice is sent to {you} for information.",
};

/// Form 01.
pub(crate) struct Receipt {
    pub title: &'static str,
    pub received_from: &'static str,
    pub person: &'static str,
    pub organisation: &'static str,
    pub person_id: &'static str,
    pub organisation_id: &'static str,
    pub address: &'static str,
    pub phone: &'static str,
    pub email: &'static str,
    pub authorised: &'static str,
    pub components: &'static str,
    pub col_no: &'static str,
    pub col_name: &'static str,
    pub col_form: &'static str,
    pub col_count: &'static str,
    pub sets: &'static str,
    pub time_limit: &'static str,
    pub received_at: &'static str,
    pub return_at: &'static str,
    pub result_at: &'static str,
    pub register: &'static str,
    pub submitter: &'static str,
    pub receiver: &'static str,
}

pub(crate) const RECEIPT_VI: Receipt = Receipt {
    title: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    received_from: "{0} tiếp nhận hồ sơ của:",
    person: "Ông/bà:",
    organisation: "Tổ chức:",
    person_id: "Số định danh cá nhân:",
    organisation_id: "Mã số doanh nghiệp/mã định danh tổ chức:",
    address: "Địa chỉ:",
    phone: "Số điện thoại:",
    email: "Email:",
    authorised: "Người được ủy quyền:",
    components: "1. Thành phần hồ sơ nộp gồm:",
    col_no: "STT",
    col_name: "Tên giấy tờ",
    col_form: "Hình thức",
    col_count: "Số lượng",
    sets: "2. Số lượng hồ sơ: {0} (bộ)",
    time_limit: "3. Thời gian giải quyết hồ sơ theo quy định là: {0}",
    received_at: "4. Thời gian nhận hồ sơ: {0}",
    return_at: "5. Thời gian trả kết quả giải quyết hồ sơ: {0}",
    result_at: "6. Đăng ký nhận kết quả tại: {0}",
    register: "Vào Sổ theo dõi hồ sơ, Quyển số: {0}, Số thứ tự: {1}",
    submitter: "NGƯỜI NỘP HỒ SƠ",
    receiver: "NGƯỜI TIẾP NHẬN HỒ SƠ",
};

pub(crate) const RECEIPT_EN: Receipt = Receipt {
    title: "DOSSIER RECEIPT AND APPOINTMENT FOR THE RESULT",
    received_from: "{0} has received the dossier of:",
    person: "Name:",
    organisation: "Organisation:",
    person_id: "Personal ID number:",
    organisation_id: "Enterprise/organisation ID number:",
    address: "Address:",
    phone: "Phone:",
    email: "Email:",
    authorised: "Authorised person:",
    components: "1. Documents submitted:",
    col_no: "No.",
    col_name: "Document",
    col_form: "Form",
    col_count: "Count",
    sets: "2. Number of dossier sets: {0}",
    time_limit: "3. Statutory processing time: {0}",
    received_at: "4. Received at: {0}",
    return_at: "5. Result to be returned at: {0}",
    result_at: "6. Result to be collected at: {0}",
    register: "Entered in the dossier register, volume: {0}, serial: {1}",
    submitter: "SUBMITTED BY",
    receiver: "RECEIVED BY",
};

/// Form 02.
pub(crate) struct Supplement {
    pub title: &'static str,
    pub received: &'static str,
    pub intro: &'static str,
    pub guidance: &'static str,
    pub deadline: &'static str,
    pub contact: &'static str,
    pub signer: &'static str,
}

pub(crate) const SUPPLEMENT_VI: Supplement = Supplement {
    title: "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    received: "Ngày {0}, {agency} đã tiếp nhận hồ sơ của {you} đề nghị giải quyết thủ tục hành chính: {1}; mã hồ sơ: {2}.",
    intro: "Sau khi xem xét, đối chiếu với quy định, đề nghị {you} bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
    guidance: "Hướng dẫn:",
    deadline: "Thời hạn bổ sung, hoàn thiện hồ sơ: {0}.",
    contact: "Trong quá trình bổ sung, hoàn thiện hồ sơ, nếu có vướng mắc, {you} liên hệ với {0} để được hướng dẫn.",
    signer: "NGƯỜI HƯỚNG DẪN",
};

pub(crate) const SUPPLEMENT_EN: Supplement = Supplement {
    title: "REQUEST TO SUPPLEMENT AND COMPLETE THE DOSSIER",
    received: "On {0}, {agency} received the dossier of {you} for the administrative procedure: {1}; dossier code: {2}.",
    intro: "Having reviewed it against the regulations, we ask {you} to supplement and complete the dossier as follows:",
    guidance: "Guidance:",
    deadline: "Deadline to supplement the dossier: {0}.",
    contact: "If you have any difficulty completing the dossier, please contact {0}.",
    signer: "GUIDED BY",
};

/// Form 03.
pub(crate) struct Refusal {
    pub title: &'static str,
    pub received: &'static str,
    pub with_code: &'static str,
    pub reviewed: &'static str,
    pub basis: &'static str,
    pub contact: &'static str,
    pub signer: &'static str,
}

pub(crate) const REFUSAL_VI: Refusal = Refusal {
    title: "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    received: "{agency} tiếp nhận hồ sơ của {you} đề nghị giải quyết thủ tục hành chính: {0}",
    with_code: "; mã hồ sơ: {0}",
    reviewed:
        "Sau khi xem xét, đối chiếu với quy định{basis}, {agency} thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
    basis: " tại {0}",
    contact: "Mọi vướng mắc xin liên hệ {0}.",
    signer: "NGƯỜI TIẾP NHẬN HỒ SƠ",
};

pub(crate) const REFUSAL_EN: Refusal = Refusal {
    title: "REFUSAL TO ACCEPT THE DOSSIER FOR PROCESSING",
    received: "{agency} has received the dossier of {you} for the administrative procedure: {0}",
    with_code: "; dossier code: {0}",
    reviewed:
        "Having reviewed it against the regulations{basis}, {agency} cannot accept this dossier for processing, for the following reasons:",
    basis: " in {0}",
    contact: "For any question, please contact {0}.",
    signer: "RECEIVING OFFICER",
};

/// Form 04.
pub(crate) struct Apology {
    pub title: &'static str,
    pub received: &'static str,
    pub original: &'static str,
    pub late: &'static str,
    pub apology: &'static str,
    pub thanks: &'static str,
}

pub(crate) const APOLOGY_VI: Apology = Apology {
    title: "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    received: "Ngày {0}, {agency} tiếp nhận giải quyết hồ sơ của {1}.",
    original: "Ngày hẹn trả kết quả:",
    late: "Tuy nhiên đến nay, {agency} chưa trả kết quả giải quyết hồ sơ của {you} đúng thời hạn ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
    apology: "Sự chậm trễ này đã gây phiền hà cho {you}. {agency} xin lỗi {you} và sẽ trả kết quả giải quyết hồ sơ cho {you} vào ngày {0}.",
    thanks: "Xin trân trọng cảm ơn sự hợp tác của {you}./.",
};

pub(crate) const APOLOGY_EN: Apology = Apology {
    title: "APOLOGY AND NEW DATE FOR THE RESULT",
    received: "On {0}, {agency} received the dossier of {1} for processing.",
    original: "Appointed return date:",
    late: "However, {agency} has not yet returned the result to {you} by the date set in the dossier receipt.",
    apology: "We regret the inconvenience this delay has caused {you}. {agency} apologises and will return the result on {0}.",
    thanks: "Thank you for your understanding./.",
};

/// Form 05.
pub(crate) struct Stop {
    pub title: &'static str,
    pub received: &'static str,
    pub withdrawal: &'static str,
    pub stopped: &'static str,
}

pub(crate) const STOP_VI: Stop = Stop {
    title: "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
    received: "Ngày {0}, {agency} đã tiếp nhận hồ sơ của {you} đề nghị giải quyết thủ tục hành chính: {1}; mã hồ sơ: {2}.",
    withdrawal: "Ngày {0}, {agency} nhận được đề nghị của {you} về việc dừng giải quyết hồ sơ nêu trên.",
    stopped: "Theo đề nghị của {you}, {agency} dừng giải quyết hồ sơ nêu trên kể từ ngày {0}.",
};

pub(crate) const STOP_EN: Stop = Stop {
    title: "NOTICE OF STOPPING THE PROCESSING OF A DOSSIER",
    received: "On {0}, {agency} received the dossier of {you} for the administrative procedure: {1}; dossier code: {2}.",
    withdrawal: "On {0}, {agency} received the request of {you} to stop processing this dossier.",
    stopped: "At the request of {you}, {agency} stops processing this dossier as of {0}.",
};

/// Form 06.
pub(crate) struct Control {
    pub title: &'static str,
    pub attached: &'static str,
    pub procedure: &'static str,
    pub applicant: &'static str,
    pub received_at: &'static str,
    pub return_at: &'static str,
    pub lead: &'static str,
    pub cooperating: &'static str,
    pub col_unit: &'static str,
    pub col_time: &'static str,
    pub col_giver: &'static str,
    pub col_receiver: &'static str,
    pub col_result: &'static str,
    pub col_note: &'static str,
    pub give: &'static str,
    pub take: &'static str,
}

pub(crate) const CONTROL_VI: Control = Control {
    title: "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
    attached: "(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số: {0})",
    procedure: "Tên thủ tục hành chính:",
    applicant: "Người nộp hồ sơ:",
    received_at: "Thời gian nhận hồ sơ:",
    return_at: "Thời gian hẹn trả kết quả:",
    lead: "Cơ quan (bộ phận) giải quyết hồ sơ:",
    cooperating: "Cơ quan phối hợp giải quyết hồ sơ:",
    col_unit: "TÊN CƠ QUAN/BỘ PHẬN",
    col_time: "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    col_giver: "NGƯỜI GIAO",
    col_receiver: "NGƯỜI NHẬN",
    col_result: "KẾT QUẢ GIẢI QUYẾT (trước/đúng/quá hạn)",
    col_note: "GHI CHÚ",
    give: "Giao:",
    take: "Nhận:",
};

pub(crate) const CONTROL_EN: Control = Control {
    title: "DOSSIER PROCESSING CONTROL SHEET",
    attached: "(Attached to dossier receipt No. {0})",
    procedure: "Administrative procedure:",
    applicant: "Applicant:",
    received_at: "Received at:",
    return_at: "Appointed return at:",
    lead: "Handling agency (unit):",
    cooperating: "Cooperating agencies:",
    col_unit: "AGENCY/UNIT",
    col_time: "HAND-OFF TIME",
    col_giver: "HANDED OVER BY",
    col_receiver: "RECEIVED BY",
    col_result: "RESULT (early/on time/late)",
    col_note: "NOTES",
    give: "From:",
    take: "To:",
};

/// Form 07.
pub(crate) struct Register {
    pub title: &'static str,
    pub period: &'static str,
    pub volume: &'static str,
    pub columns: [&'static str; 12],
}

pub(crate) const REGISTER_VI: Register = Register {
    title: "SỔ THEO DÕI HỒ SƠ",
    period: "Từ ngày {0} đến ngày {1}",
    volume: "Quyển số: {0}",
    columns: [
        "STT",
        "Mã hồ sơ",
        "Tên TTHC",
        "Số lượng hồ sơ (bộ)",
        "Tên người nộp / địa chỉ / số điện thoại",
        "Cơ quan chủ trì giải quyết",
        "Ngày nhận hồ sơ",
        "Ngày hẹn trả kết quả",
        "Ngày chuyển hồ sơ",
        "Ngày có kết quả / trả kết quả",
        "Trạng thái",
        "Ghi chú",
    ],
};

pub(crate) const REGISTER_EN: Register = Register {
    title: "DOSSIER REGISTER",
    period: "From {0} to {1}",
    volume: "Volume: {0}",
    columns: [
        "No.",
        "Dossier code",
        "Procedure",
        "Sets",
        "Applicant / address / phone",
        "Lead agency",
        "Received",
        "Appointed return",
        "Transferred",
        "Result / returned",
        "Status",
        "Notes",
    ],
};

/// The electronic result.
pub(crate) struct EResult {
    pub signed: &'static str,
    pub signed_verify: &'static str,
}

pub(crate) const ERESULT_VI: EResult = EResult {
    signed: "Văn bản điện tử này đã được ký số và có giá trị pháp lý như văn bản giấy.",
    signed_verify:
        "Văn bản điện tử này đã được ký số và có giá trị pháp lý như văn bản giấy; có thể kiểm tra tính xác thực tại {0} hoặc quét mã QR.",
};

pub(crate) const ERESULT_EN: EResult = EResult {
    signed: "This electronic document is digitally signed and has the same legal value as paper.",
    signed_verify:
        "This electronic document is digitally signed and has the same legal value as paper; verify it at {0} or by scanning the QR code.",
};

/// Picks the Vietnamese or English table.
pub(crate) fn pick<T>(lang: Lang, vi: &'static T, en: &'static T) -> &'static T {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

pub(crate) fn common(lang: Lang) -> &'static Common {
    pick(lang, &COMMON_VI, &COMMON_EN)
}

/// How the text refers to the applicant in the third person ("ông/bà").
pub(crate) fn pronoun(lang: Lang, kind: ApplicantKind) -> &'static str {
    match (lang, kind) {
        (Lang::Vi, ApplicantKind::Person) => "Ông/Bà",
        (Lang::Vi, ApplicantKind::Organisation) => "Quý cơ quan, tổ chức",
        (Lang::En, _) => "you",
    }
}

pub(crate) fn copy_form(lang: Lang, form: CopyForm) -> &'static str {
    match (lang, form) {
        (Lang::Vi, CopyForm::Original) => "Bản chính",
        (Lang::Vi, CopyForm::CertifiedCopy) => "Bản sao chứng thực",
        (Lang::Vi, CopyForm::Copy) => "Bản sao",
        (Lang::Vi, CopyForm::Electronic) => "Bản điện tử có chữ ký số",
        (Lang::En, CopyForm::Original) => "Original",
        (Lang::En, CopyForm::CertifiedCopy) => "Certified copy",
        (Lang::En, CopyForm::Copy) => "Copy",
        (Lang::En, CopyForm::Electronic) => "Digitally signed electronic copy",
    }
}

pub(crate) fn timeliness(lang: Lang, t: Timeliness) -> &'static str {
    match (lang, t) {
        (Lang::Vi, Timeliness::Early) => "Trước hạn",
        (Lang::Vi, Timeliness::OnTime) => "Đúng hạn",
        (Lang::Vi, Timeliness::Late) => "Quá hạn",
        (Lang::En, Timeliness::Early) => "Early",
        (Lang::En, Timeliness::OnTime) => "On time",
        (Lang::En, Timeliness::Late) => "Late",
    }
}

/// English month names for dates written out in full.
pub(crate) const MONTHS_EN: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
