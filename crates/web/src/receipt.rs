//! The filing acknowledgement as a PDF (giấy xác nhận nộp hồ sơ): what the citizen keeps or
//! prints after filing — the dossier code, what was filed, where, when, with which files (and
//! their SHA-256, so a file can later be shown to be the one filed). Vietnamese text with its
//! diacritics, fonts embedded (see `tl-pdf`); in English for visitors who chose English.

use crate::error::{AppError, AppResult};
use crate::filing::{form_of, load_visible};
use crate::i18n::Lang;
use crate::web::Visitor;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tl_core::dossier::DossierStatus;

pub async fn pdf(State(st): State<AppState>, v: Visitor, Path(id): Path<String>) -> AppResult<Response> {
    let d = load_visible(&st, &v, &id).await?;
    if d.status == DossierStatus::Draft {
        return Err(AppError::NotFound);
    }
    crate::access::visitor_read(&st, &v, &d, "dossier.receipt", None).await;
    let (proc, _) = form_of(&st, &d).await?;
    let mut r = st.db.read().await?;
    let files = r.list_dossier_files(d.id).await?;
    let applicant = r.get_account(d.applicant_id).await?.ok_or(AppError::NotFound)?;
    let acted_by = if d.acted_by_id != d.applicant_id { r.get_account(d.acted_by_id).await? } else { None };
    drop(r);
    let en = v.lang == Lang::En;
    let l = v.lang.code();
    let code = d.code.clone().unwrap_or_default();
    let t = |vi: &'static str, e: &'static str| if en { e } else { vi };
    let mut doc = tl_pdf::Document::new(&format!("{} {code}", t("Xác nhận nộp hồ sơ", "Filing acknowledgement")), l);
    doc.page_numbers(t("Trang", "Page"));
    doc.centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", tl_pdf::FontStyle::Bold, 11.0)
        .centered("Độc lập - Tự do - Hạnh phúc", tl_pdf::FontStyle::Regular, 11.0)
        .rule()
        .spacer(6.0)
        .heading(t("GIẤY XÁC NHẬN NỘP HỒ SƠ", "FILING ACKNOWLEDGEMENT"))
        .spacer(6.0);
    doc.key_value(t("Mã hồ sơ", "Dossier code"), &code)
        .key_value(t("Thủ tục", "Procedure"), &format!("{} ({})", proc.version.name.get(l), proc.code))
        .key_value(t("Người nộp", "Applicant"), &applicant.display_name);
    if let Some(a) = &acted_by {
        doc.key_value(t("Người thực hiện", "Filed by"), &a.display_name);
    }
    if let Some(a) = proc.agencies.iter().find(|a| a.id == d.agency_id) {
        doc.key_value(t("Cơ quan tiếp nhận", "Receiving agency"), &format!("{} ({})", a.name.get(l), a.electronic_id));
    }
    doc.key_value(t("Hình thức nộp", "Channel"), d.channel.label(l));
    if let Some(at) = d.submitted_at {
        doc.key_value(t("Thời điểm nộp", "Filed at"), &format!("{} {}", tl_core::fmt::datetime(at), t("(giờ Việt Nam)", "(Vietnam time)")));
    }
    doc.key_value(t("Trạng thái", "Status"), d.status.label(l));
    if let Some(tl) = proc.version.time_limit_for(d.channel) {
        doc.key_value(
            t("Thời hạn giải quyết", "Time limit"),
            &format!("{} {}", tl.unit.label(l, tl.value), t("kể từ khi hồ sơ được tiếp nhận", "from reception")),
        );
    }
    doc.spacer(6.0);
    if files.is_empty() {
        doc.key_value(t("Tệp đính kèm", "Attachments"), t("Không có", "None"));
    } else {
        for (i, f) in files.iter().enumerate() {
            let label = if i == 0 { t("Tệp đính kèm", "Attachments") } else { "" };
            let scanned =
                if f.digitised { t(" — bản số hóa tại bộ phận một cửa", " — scanned at the counter") } else { "" };
            doc.key_value(label, &format!("{} ({} KB){scanned}\nSHA-256: {}", f.name, (f.size + 1023) / 1024, f.sha256));
        }
    }
    let closing = if d.channel == tl_core::catalog::Channel::Online {
        t(
            "Bộ phận một cửa kiểm tra hồ sơ nộp trực tuyến trong thời hạn 08 giờ làm việc; nếu hồ sơ chưa đầy đủ, \
             bạn được hướng dẫn bổ sung một lần đầy đủ. Ngày hẹn trả kết quả được tính từ khi hồ sơ được tiếp nhận. \
             Tra cứu tình trạng hồ sơ bằng mã hồ sơ ở trên tại mục \"Tra cứu hồ sơ\" của Cổng dịch vụ công.",
            "The one-stop office checks an online dossier within 8 working hours; if anything is missing you are told \
             everything to add at once. The return date counts from reception. Track the dossier with the code above \
             under \"Track a dossier\" on the public service portal.",
        )
    } else {
        t(
            "Hồ sơ được nộp trực tiếp tại bộ phận một cửa; các giấy tờ giấy đã được quét thành bản số hóa. \
             Ngày hẹn trả kết quả được ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả khi hồ sơ được tiếp nhận. \
             Tra cứu tình trạng hồ sơ bằng mã hồ sơ ở trên tại mục \"Tra cứu hồ sơ\" của Cổng dịch vụ công.",
            "The dossier was handed in at the one-stop counter; the paper documents were scanned. The return date is \
             written on the reception receipt when the dossier is received. Track the dossier with the code above \
             under \"Track a dossier\" on the public service portal.",
        )
    };
    doc.spacer(10.0).rule().paragraph(closing);
    let bytes = doc.finish();
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("inline; filename=\"xac-nhan-{code}.pdf\"")).map_err(|e| AppError::Internal(e.into()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}
