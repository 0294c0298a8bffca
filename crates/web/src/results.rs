//! Electronic results (Decree 118/2025 art. 22): when the approving officer decides, the result
//! document is laid out from the procedure (its title, the dossier's answers), carries a QR code
//! to its public verification page, and is signed (PAdES B-B, ETSI.CAdES.detached) with the
//! officer's key — an X.509 certificate issued by the platform's certification authority. The
//! signed file is kept in the file store and its record commits with the decision.
//!
//! Keys at rest are sealed (AES-256-GCM) with the key-encryption key of the configuration. When no
//! CA whose key opens with that key exists, a test CA is generated ("Thăng Long Test CA"), for
//! demos; a province imports its own with `thanglong ca import`.
//!
//! The public page `/verify/{id}` (the QR target) and `/verify` (upload a file) tell whether a
//! document is genuine: the signature checks against our CAs, covers the whole file, and the file
//! is one we issued and did not revoke.

use crate::error::{AppError, AppResult};
use crate::filing::load_visible;
use crate::web::{render, render_status, Visitor};
use crate::workflow::Actor;
use crate::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tl_core::form::{FieldKind, FormDef};
use tl_sign::{Ca, DistinguishedNameParts, Officer, SignerCredential, TrustAnchors};
use tl_storage::{Dossier, IssuedResult, ProcedureDetail, SigningCredential};

const TEST_CA_NAME: &str = "Thăng Long Test CA";

fn sign_err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("signing: {e}"))
}

/// The CA that issues officers' certificates now: the newest unretired one whose key opens with
/// the configured key; a new test CA when there is none.
async fn active_ca(st: &AppState, now: DateTime<Utc>) -> AppResult<(i64, Ca)> {
    let kek = &st.signing_kek;
    let cas = st.db.read().await?.list_signing_cas().await?;
    for c in cas.iter().filter(|c| c.retired_at.is_none()) {
        let Some(sealed) = &c.sealed_key else { continue };
        let Ok(key_pem) = tl_sign::open_key(sealed, kek) else { continue };
        let Ok(key_pem) = std::str::from_utf8(&key_pem) else { continue };
        if let Ok(ca) = Ca::from_pem(&tl_sign::cert_pem(&c.cert_der), key_pem) {
            return Ok((c.id, ca));
        }
    }
    tracing::warn!("no certification authority whose key opens with the configured key: generating a test CA (not for real documents)");
    let mut dn = DistinguishedNameParts::new(TEST_CA_NAME);
    dn.organisation = Some("Thăng Long — môi trường thử nghiệm".into());
    let ca = Ca::generate(&dn, now - chrono::Duration::days(1), 20).map_err(sign_err)?;
    let (_, key_pem) = ca.to_pem().map_err(sign_err)?;
    let sealed = tl_sign::seal_key(key_pem.as_bytes(), kek);
    let mut w = st.db.begin().await?;
    let id = w.add_signing_ca(ca.cert_der(), Some(&sealed), now).await?;
    w.retire_signing_cas(id, now).await?;
    w.commit().await?;
    Ok((id, ca))
}

/// Every CA we have had: results they signed still verify.
pub async fn trust_anchors(st: &AppState) -> AppResult<TrustAnchors> {
    let cas = st.db.read().await?.list_signing_cas().await?;
    TrustAnchors::from_der(cas.iter().map(|c| c.cert_der.clone())).map_err(sign_err)
}

/// The officer's signing credential, issued (valid two years) when they have none usable.
async fn credential(st: &AppState, account: &tl_storage::Account, agency: &str, now: DateTime<Utc>) -> AppResult<SignerCredential> {
    let (ca_id, ca) = active_ca(st, now).await?;
    let current = st.db.read().await?.current_credential(account.id).await?;
    if let Some(c) = current.filter(|c| c.ca_id == ca_id && c.not_after > now + chrono::Duration::days(1)) {
        if let Ok(key) = tl_sign::open_key(&c.sealed_key, &st.signing_kek) {
            return Ok(SignerCredential { cert_der: c.cert_der, key_pkcs8_der: key, chain_der: vec![ca.cert_der().to_vec()] });
        }
    }
    let officer = Officer {
        name: account.display_name.chars().take(64).collect(),
        organisation: agency.chars().take(64).collect(),
        // Officers sign in with a login, not their personal ID number: the account number
        // tells two officers of the same name apart.
        personal_id: if account.login.len() == 12 && account.login.bytes().all(|b| b.is_ascii_digit()) {
            account.login.clone()
        } else {
            format!("{:012}", account.id)
        },
        email: account.email.clone().filter(|e| e.is_ascii() && e.contains('@')),
    };
    let not_after = now + chrono::Duration::days(730);
    let cred = ca.issue(&officer, now - chrono::Duration::minutes(5), not_after).map_err(sign_err)?;
    let mut w = st.db.begin().await?;
    w.add_credential(&SigningCredential {
        id: 0,
        account_id: account.id,
        ca_id,
        cert_der: cred.cert_der.clone(),
        sealed_key: tl_sign::seal_key(&cred.key_pkcs8_der, &st.signing_kek),
        not_after,
        created_at: now,
    })
    .await?;
    w.commit().await?;
    Ok(cred)
}

/// Signs a laid-out document with the officer's key (issuing them a certificate if needed).
pub async fn sign_pdf(
    st: &AppState,
    account: &tl_storage::Account,
    agency: &str,
    doc: tl_pdf::Document,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let cred = credential(st, account, agency, now).await?;
    let info = tl_pdf::SignatureInfo {
        name: account.display_name.clone(),
        reason: reason.to_owned(),
        location: agency.to_owned(),
        contact: account.email.clone(),
        signing_time: tl_core::time::to_local(now),
    };
    doc.finish_signed(&info, |covered| tl_sign::sign_cms_detached(&cred, covered, &tl_sign::CmsProfile::Pades))
        .map_err(|e| sign_err(format!("{e:?}")))
}

/// The answers as "label: value" lines, in form order (uploads and repeated groups left out).
pub fn answer_fields(form: &FormDef, answers: &Value, lang: &str) -> Vec<(String, String)> {
    answer_texts(form, answers, lang).into_iter().map(|(_, label, text)| (label, text)).collect()
}

/// Each answer as (key, label, text as a person reads it).
fn answer_texts(form: &FormDef, answers: &Value, lang: &str) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for step in &form.steps {
        for f in &step.fields {
            let Some(v) = answers.get(&f.key) else { continue };
            let text = match (&f.kind, v) {
                (FieldKind::Select { options } | FieldKind::Radio { options }, Value::String(s)) => {
                    options.iter().find(|o| &o.value == s).map_or_else(|| s.clone(), |o| o.label.get(lang).to_owned())
                }
                (FieldKind::Date { .. }, Value::String(s)) => {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or_else(|_| s.clone(), tl_core::fmt::date)
                }
                (FieldKind::Money { .. }, Value::Number(n)) => n.as_u64().map_or_else(|| n.to_string(), tl_core::fmt::vnd),
                (FieldKind::File { .. }, _) => continue,
                (_, Value::String(s)) => s.clone(),
                (_, Value::Number(n)) => n.to_string(),
                (_, Value::Bool(b)) => (if *b { "Có" } else { "Không" }).to_owned(),
                (_, Value::Object(o)) => o.values().filter_map(|x| x.as_str()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
                _ => continue,
            };
            if !text.trim().is_empty() {
                out.push((f.key.clone(), f.label.get(lang).to_owned(), text));
            }
        }
    }
    out
}

fn random_id() -> String {
    crate::new_token("").chars().filter(char::is_ascii_alphanumeric).take(20).collect()
}

/// Lays out, signs and stores the result of `d` (or, for a refusal, the letter with the
/// reasons). The returned record is inserted by the caller in the decision's transaction.
pub async fn issue(
    st: &AppState,
    who: &Actor,
    d: &Dossier,
    proc: &ProcedureDetail,
    refusal: Option<&[String]>,
    now: DateTime<Utc>,
) -> AppResult<IssuedResult> {
    let agencies = st.db.read().await?.list_agencies().await?;
    let agency = agencies.iter().find(|a| a.id == d.agency_id).ok_or(AppError::NotFound)?;
    let superior = agency.parent_id.and_then(|p| agencies.iter().find(|a| a.id == p)).map(|a| a.name.vi.clone()).unwrap_or_default();
    let applicant = st.db.read().await?.get_account(d.applicant_id).await?.ok_or(AppError::NotFound)?;
    let id = random_id();
    let code = d.code.clone().unwrap_or_default();
    let local = tl_core::time::to_local(now);
    let number = format!("{}/{}", code.rsplit('-').next().unwrap_or("0"), if refusal.is_some() { "TB-TC" } else { "KQ" });
    let template = proc.version.result_template.as_ref().filter(|_| refusal.is_none());
    let title = match (refusal, template) {
        (Some(_), _) => "THÔNG BÁO TỪ CHỐI GIẢI QUYẾT HỒ SƠ".to_owned(),
        (None, Some(t)) => t.title.vi.to_uppercase(),
        (None, None) => proc.version.result.vi.to_uppercase(),
    };
    let mut fields = vec![
        tl_forms::Field::new("Mã hồ sơ:", &code),
        tl_forms::Field::new("Thủ tục:", &proc.version.name.vi),
        tl_forms::Field::new("Người yêu cầu:", &applicant.display_name),
    ];
    let mut body = vec![];
    match refusal {
        Some(reasons) => {
            body.push(format!("{} thông báo không giải quyết hồ sơ nêu trên vì các lý do sau:", agency.name.vi));
            body.extend(reasons.iter().enumerate().map(|(i, r)| format!("{}. {r}", i + 1)));
        }
        None => {
            let texts = proc.version.form.as_ref().map(|f| answer_texts(f, &d.answers, "vi")).unwrap_or_default();
            match template {
                // The procedure's own layout: its labels, its paragraphs with the answers in.
                Some(t) => {
                    let text_of = |k: &str| texts.iter().find(|(key, _, _)| key == k).map(|(_, _, t)| t.clone()).unwrap_or_default();
                    fields.extend(t.fields.iter().map(|f| tl_forms::Field::new(&format!("{}:", f.label.vi), &text_of(&f.answer))));
                    for p in &t.body {
                        let mut line = p.vi.clone();
                        for k in t.placeholders() {
                            line = line.replace(&format!("{{{k}}}"), &text_of(&k));
                        }
                        body.push(line);
                    }
                }
                None => fields.extend(texts.into_iter().map(|(_, l, v)| tl_forms::Field::new(&format!("{l}:"), &v))),
            }
        }
    }
    let signer_title = proc.version.authority.as_ref().map(|a| a.vi.to_uppercase()).unwrap_or_default();
    let doc = tl_forms::EResult {
        lang: tl_forms::Lang::Vi,
        letterhead: tl_forms::Letterhead {
            superior,
            agency: agency.name.vi.clone(),
            number: Some(number.clone()),
            place: "Hà Nội".into(),
            date: local.format("%d/%m/%Y").to_string(),
        },
        title: title.clone(),
        subtitle: template.and_then(|t| t.subtitle.as_ref()).map(|s| s.vi.clone()).unwrap_or_default(),
        fields,
        body,
        signer: tl_forms::Signer { title: signer_title, name: who.account.display_name.clone() },
        verify_url: Some(format!("{}/verify/{id}", st.config.public_url.trim_end_matches('/'))),
    };
    use tl_forms::Form;
    let bytes = sign_pdf(st, &who.account, &agency.name.vi, doc.document(), &format!("Ký số kết quả giải quyết hồ sơ {code}"), now).await?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let key = format!("results/{id}.pdf");
    let (temp, mut file) = st.blobs.create_temp(&id).await.map_err(|e| AppError::Internal(e.into()))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await.map_err(|e| AppError::Internal(e.into()))?;
    st.blobs.commit(file, &temp, &key).await.map_err(|e| AppError::Internal(e.into()))?;
    let serial = tl_sign::verify_pdf(&bytes, &trust_anchors(st).await?)
        .map_err(|e| sign_err(format!("our own signature does not verify: {e}")))?
        .signer
        .certificate_serial_hex;
    Ok(IssuedResult {
        id,
        dossier_id: d.id,
        kind: if refusal.is_some() { "refusal" } else { "result" }.into(),
        number,
        title,
        storage_key: key,
        size: bytes.len() as i64,
        sha256,
        signer_id: who.account.id,
        signer_name: who.account.display_name.clone(),
        agency_name: agency.name.vi.clone(),
        cert_serial: serial,
        signed_at: now,
        revoked_at: None,
        revoked_reason: None,
    })
}

/// GET /results/{id}.pdf — the signed file, for those who may read the dossier.
pub async fn download(State(st): State<AppState>, v: Visitor, Path(file): Path<String>) -> AppResult<Response> {
    let id = file.strip_suffix(".pdf").ok_or(AppError::NotFound)?;
    let r = st.db.read().await?.get_result(id).await?.ok_or(AppError::NotFound)?;
    let d = load_visible(&st, &v, &r.dossier_id.to_string()).await?;
    crate::access::visitor_read(&st, &v, &d, "result.download", Some(&r.number)).await;
    let bytes = st.blobs.read(&r.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"ket-qua-{}.pdf\"", r.number.replace(['/', '"'], "-"))),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The verdict on a file, for the verification page.
async fn verdict(st: &AppState, bytes: &[u8], expected: Option<&IssuedResult>, lang: &str) -> AppResult<Value> {
    let sha = hex::encode(Sha256::digest(bytes));
    let anchors = trust_anchors(st).await?;
    let record = match expected {
        Some(r) => Some(r.clone()),
        None => st.db.read().await?.find_result_by_sha256(&sha).await?,
    };
    let en = lang == "en";
    let checked = tl_sign::verify_pdf(bytes, &anchors);
    let (genuine, reason) = match (&checked, &record) {
        (Err(e), _) => (false, verify_reason(e.code(), en)),
        (Ok(v), _) if !v.covers_whole_file => {
            (false, if en { "Content was added after signing." } else { "Tài liệu đã bị thêm nội dung sau khi ký." }.to_owned())
        }
        (Ok(_), None) => (
            false,
            if en {
                "The signature is valid, but this file is not in our register of issued results."
            } else {
                "Chữ ký hợp lệ nhưng tệp này không có trong sổ kết quả đã cấp."
            }
            .to_owned(),
        ),
        (Ok(_), Some(r)) if r.sha256 != sha => {
            (false, if en { "This file differs from the one issued." } else { "Tệp này khác với bản đã cấp." }.to_owned())
        }
        (Ok(_), Some(r)) if r.revoked_at.is_some() => (
            false,
            format!(
                "{} {}",
                if en { "The result was revoked:" } else { "Kết quả đã bị thu hồi:" },
                r.revoked_reason.clone().unwrap_or_default()
            ),
        ),
        (Ok(_), Some(_)) => (true, String::new()),
    };
    let signer = checked.as_ref().ok().map(|v| {
        json!({
            "name": v.signer.common_name, "organisation": v.signer.organisation, "issuer": v.signer.issuer_common_name,
            "serial": v.signer.certificate_serial_hex, "fingerprint": v.signer.certificate_sha256_hex,
            "signed_at": v.signing_time.with_timezone(&Utc),
        })
    });
    let test_ca = checked.as_ref().ok().and_then(|v| v.signer.issuer_common_name.clone()).is_some_and(|cn| cn.starts_with(TEST_CA_NAME));
    Ok(json!({
        "genuine": genuine, "reason": reason, "signer": signer, "sha256": sha, "test_ca": test_ca,
        "record": record.map(|r| json!({"id": r.id, "title": r.title, "number": r.number, "agency": r.agency_name, "signed_at": r.signed_at, "revoked_at": r.revoked_at})),
    }))
}

fn verify_reason(code: &str, en: bool) -> String {
    let (vi, e) = match code {
        "no_signature" => ("Tệp không có chữ ký số.", "The file carries no digital signature."),
        "digest_mismatch" => ("Nội dung tài liệu đã bị sửa đổi sau khi ký.", "The document was changed after it was signed."),
        "bad_signature" | "signing_certificate_mismatch" => ("Chữ ký số không hợp lệ.", "The digital signature is not valid."),
        "untrusted_signer" => {
            ("Chữ ký không do cơ quan nhà nước trên hệ thống này cấp.", "The signature was not made under our authorities.")
        }
        "expired" | "not_yet_valid" => {
            ("Chứng thư số không còn hiệu lực tại thời điểm ký.", "The certificate was not valid at the signing time.")
        }
        _ => ("Tệp không đọc được hoặc không phải PDF đã ký.", "The file cannot be read or is not a signed PDF."),
    };
    if en { e } else { vi }.to_owned()
}

/// GET /verify/{id} — the QR code's target: is this issued result genuine?
pub async fn verify_issued(State(st): State<AppState>, v: Visitor, Path(id): Path<String>) -> AppResult<Response> {
    if id.len() > 40 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound);
    }
    let r = st.db.read().await?.get_result(&id).await?.ok_or(AppError::NotFound)?;
    let bytes = st.blobs.read(&r.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
    let verdict = verdict(&st, &bytes, Some(&r), v.lang.code()).await?;
    render(&st, &v, "verify.html", minijinja::context! { verdict => verdict, issued => true })
}

/// GET /verify — the form to check a file.
pub async fn verify_form(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    render(&st, &v, "verify.html", minijinja::context! {})
}

/// POST /verify — check an uploaded file (multipart field `file`, at most 20 MB).
pub async fn verify_upload(State(st): State<AppState>, v: Visitor, mut mp: Multipart) -> AppResult<Response> {
    let mut bytes = None;
    let mut csrf_ok = false;
    while let Some(field) =
        mp.next_field().await.map_err(|_| AppError::invalid("bad_upload", "Tệp tải lên bị lỗi.", "The upload is broken."))?
    {
        if field.name() == Some("file") {
            let b = field.bytes().await.map_err(|_| {
                AppError::invalid(
                    "too_large",
                    "Tệp quá lớn (tối đa 20 MB) hoặc bị lỗi.",
                    "The file is too large (20 MB at most) or broken.",
                )
            })?;
            bytes = Some(b);
        } else if field.name() == Some("csrf") {
            let token = field.text().await.unwrap_or_default();
            csrf_ok = crate::security::same_secret(&token, &v.csrf);
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    let bytes = bytes
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::invalid("file_required", "Chọn tệp PDF kết quả cần kiểm tra.", "Choose the PDF result to check."))?;
    let verdict = verdict(&st, &bytes, None, v.lang.code()).await?;
    render_status(&st, &v, "verify.html", minijinja::context! { verdict => verdict }, StatusCode::OK)
}

/// POST /results/{id}/revoke — a leader of the issuing agency (or above) withdraws a result
/// issued in error, with the reason; the verification page says so from then on.
pub async fn revoke(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    crate::web::CsrfForm(f): crate::web::CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let r = st.db.read().await?.get_result(&id).await?.ok_or(AppError::NotFound)?;
    let d = load_visible(&st, &v, &r.dossier_id.to_string()).await?;
    let leader = me.kind == tl_core::account::AccountKind::Officer
        && v.roles.iter().any(|g| g.role == tl_core::account::Role::Leader && g.covers(&d.agency_electronic_id));
    if !leader {
        return Err(AppError::Forbidden);
    }
    let reason = f.get("reason").map(|s| s.trim()).unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(
            "reason_required",
            "Nêu lý do thu hồi kết quả (tối đa 500 ký tự).",
            "State why the result is revoked (500 characters at most).",
        ));
    }
    let mut w = st.db.begin().await?;
    if !w.revoke_result(&r.id, reason, Utc::now()).await? {
        return Err(AppError::invalid("already_revoked", "Kết quả này đã bị thu hồi.", "This result was already revoked."));
    }
    w.append_audit(&crate::auth::audit(&v, None, "result.revoke", "result", &r.id, json!({"reason": reason, "dossier": d.id}))).await?;
    w.commit().await?;
    Ok(crate::web::see_other(&format!("/dossiers/{}?acted=1", d.id)))
}
