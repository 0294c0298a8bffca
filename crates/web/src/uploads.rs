//! Attachments: streamed to the file store, hashed (SHA-256), checked by content (the bytes
//! must really be the PDF, JPEG or PNG they claim to be), bounded per file and per dossier, and
//! readable only by their owner. The browser posts multipart forms; the API posts the raw bytes.

use crate::error::{AppError, AppResult};
use crate::filing::{form_of, load_own, Pairs};
use crate::security::{new_token, same_secret};
use crate::web::{see_other, Visitor};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tl_core::form::{FieldKind, FormDef};
use tl_storage::{Dossier, StoredFile};
use tokio::io::AsyncWriteExt;

/// The file types a dossier component may be, recognised by their first bytes.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn field_spec<'a>(form: &'a FormDef, key: &str) -> AppResult<(&'a str, u32, &'a [String])> {
    form.fields()
        .find_map(|f| match &f.kind {
            FieldKind::File { component, max_files, accept, .. } if f.key == key => {
                Some((component.as_str(), *max_files, accept.as_slice()))
            }
            _ => None,
        })
        .ok_or_else(|| AppError::invalid("unknown_file_field", "Biểu mẫu không có mục tải tệp này.", "The form has no such upload."))
}

/// The file ids a draft holds for an upload field.
fn ids_of(d: &Dossier, key: &str) -> Vec<String> {
    d.answers
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// What is being uploaded, and to which field.
struct Upload<'a> {
    key: &'a str,
    /// The Content-Type the client claimed (checked against the content).
    declared: Option<&'a str>,
    name: &'a str,
}

/// A file streamed to a temporary place and checked; not yet part of any dossier.
struct Received {
    key: String,
    temp: std::path::PathBuf,
    file: tokio::fs::File,
    stored: StoredFile,
}

impl Received {
    async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

/// Streams one upload to a temporary file: hashed, size-bounded, content checked.
async fn receive<S, E>(
    st: &AppState,
    owner: i64,
    d: &Dossier,
    form: &FormDef,
    up: Upload<'_>,
    pending: usize,
    body: S,
) -> AppResult<Received>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let (component, max_files, accept) = field_spec(form, up.key)?;
    if ids_of(d, up.key).len() + pending >= max_files as usize {
        return Err(AppError::invalid(
            "too_many_files",
            format!("Mục này nhận tối đa {max_files} tệp."),
            format!("This item takes at most {max_files} files."),
        ));
    }
    let used = st.db.read().await?.dossier_files_size(d.id).await? as u64;
    let id = new_token("")[..22].to_owned();
    let room = (st.config.max_dossier_bytes as u64).saturating_sub(used);
    let Streamed { temp, file, size, sha256, content_type: real } = stream_in(st, &id, room, up.declared, accept, body).await?;
    let stored = StoredFile {
        id: id.clone(),
        owner_id: owner,
        dossier_id: Some(d.id),
        field: up.key.to_owned(),
        component: component.to_owned(),
        name: up.name.chars().filter(|c| !c.is_control()).take(200).collect::<String>(),
        content_type: real.to_owned(),
        size: size as i64,
        sha256,
        storage_key: id,
        // Scanned at the counter: the officer uploads for the person at the desk.
        digitised: d.channel == tl_core::catalog::Channel::InPerson && owner != d.applicant_id,
        created_at: Utc::now(),
    };
    Ok(Received { key: up.key.to_owned(), temp, file, stored })
}

/// An upload streamed to a temporary file of the store: its size, hash and real type.
pub(crate) struct Streamed {
    pub temp: std::path::PathBuf,
    pub file: tokio::fs::File,
    pub size: u64,
    pub sha256: String,
    pub content_type: &'static str,
}

/// Streams bytes to a temporary file: at most the per-file limit and `room` bytes (what the
/// dossier has left), hashed, and refused unless the content really is one of `accept` (and
/// matches the declared type, if any). Nothing is left behind on refusal.
pub(crate) async fn stream_in<S, E>(
    st: &AppState,
    id: &str,
    room: u64,
    declared: Option<&str>,
    accept: &[String],
    mut body: S,
) -> AppResult<Streamed>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let limit = st.config.max_file_bytes as u64;
    let (temp, mut file) = st.blobs.create_temp(id).await.map_err(|e| AppError::Internal(e.into()))?;
    let fail = |temp: std::path::PathBuf, e: AppError| async move {
        let _ = tokio::fs::remove_file(temp).await;
        Err(e)
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::with_capacity(8);
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return fail(
                temp,
                AppError::invalid(
                    "upload_interrupted",
                    "Việc tải tệp bị gián đoạn. Vui lòng thử lại.",
                    "The upload was interrupted. Please try again.",
                ),
            )
            .await;
        };
        size += chunk.len() as u64;
        if size > limit {
            return fail(
                temp,
                AppError::invalid(
                    "file_too_large",
                    format!("Tệp quá lớn: tối đa {} MB mỗi tệp.", limit >> 20),
                    format!("The file is too large: at most {} MB a file.", limit >> 20),
                ),
            )
            .await;
        }
        if size > room {
            let mb = st.config.max_dossier_bytes >> 20;
            return fail(
                temp,
                AppError::invalid(
                    "file_too_large",
                    format!("Hồ sơ đã đủ dung lượng: tối đa {mb} MB cho cả hồ sơ."),
                    format!("The dossier is full: at most {mb} MB in all."),
                ),
            )
            .await;
        }
        if head.len() < 8 {
            head.extend_from_slice(&chunk[..chunk.len().min(8 - head.len())]);
        }
        hasher.update(&chunk);
        if let Err(e) = file.write_all(&chunk).await {
            return fail(temp, AppError::Internal(e.into())).await;
        }
    }
    let real = sniff(&head);
    let lie = declared.is_some_and(|t| matches!(t, "application/pdf" | "image/jpeg" | "image/png") && Some(t) != real);
    let Some(real) = real.filter(|r| !lie && accept.iter().any(|a| a == r)) else {
        let kinds = accept
            .iter()
            .map(|a| a.trim_start_matches("application/").trim_start_matches("image/").to_uppercase())
            .collect::<Vec<_>>()
            .join(", ");
        let e = if size == 0 {
            AppError::invalid("empty_file", "Tệp rỗng.", "The file is empty.")
        } else {
            AppError::invalid(
                "wrong_file_type",
                format!("Nội dung tệp không phải {kinds} như yêu cầu (hoặc không khớp với loại tệp đã khai)."),
                format!("The file's content is not {kinds} as required (or does not match its declared type)."),
            )
        };
        return fail(temp, e).await;
    };
    Ok(Streamed { temp, file, size, sha256: hex::encode(hasher.finalize()), content_type: real })
}

/// Makes received files durable and saves the draft with them, in one transaction.
async fn attach(st: &AppState, d: &Dossier, revision: i64, answers: Value, received: Vec<Received>) -> AppResult<Dossier> {
    let mut answers = answers.as_object().cloned().unwrap_or_default();
    let mut rows = vec![];
    for r in received {
        let mut ids: Vec<Value> = answers.get(&r.key).and_then(Value::as_array).cloned().unwrap_or_default();
        ids.push(Value::String(r.stored.id.clone()));
        answers.insert(r.key.clone(), Value::Array(ids));
        st.blobs.commit(r.file, &r.temp, &r.stored.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
        rows.push(r.stored);
    }
    let mut w = st.db.begin().await?;
    for f in &rows {
        w.insert_file(f).await?;
    }
    match w.update_draft(d.id, revision, &Value::Object(answers), Utc::now()).await {
        Ok(saved) => {
            w.commit().await?;
            Ok(saved)
        }
        Err(e) => {
            drop(w);
            for f in &rows {
                let _ = st.blobs.delete(&f.storage_key).await;
            }
            Err(match e {
                tl_storage::StoreError::Conflict(_) => {
                    AppError::Conflict("hồ sơ đã thay đổi; vui lòng tải lại trang / the dossier has changed; reload the page".into())
                }
                other => other.into(),
            })
        }
    }
}

/// Removes an upload's row and bytes once the draft no longer refers to it.
pub async fn forget(st: &AppState, fid: &str, dossier_id: i64) -> AppResult<()> {
    let Some(f) = st.db.read().await?.get_file(fid).await?.filter(|f| f.dossier_id == Some(dossier_id)) else { return Ok(()) };
    let mut w = st.db.begin().await?;
    w.delete_file(&f.id).await?;
    w.commit().await?;
    if f.owns_blob() {
        let _ = st.blobs.delete(&f.storage_key).await;
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct StepQuery {
    pub step: Option<usize>,
}

/// The browser's upload: the whole step form posted as multipart (the "Tải lên" button's
/// formaction), so what was typed is saved with the file. A refused file re-renders the step
/// with the reason beside its field; nothing typed is lost.
pub async fn upload_form(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<StepQuery>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let d = load_own(&st, &v, &id).await?;
    if !crate::filing::editable(&d) {
        return Err(AppError::Conflict("hồ sơ đã nộp / the dossier was already filed".into()));
    }
    let (proc, form) = form_of(&st, &d).await?;
    let step = q.step.unwrap_or(0).min(form.steps.len().saturating_sub(1));
    let bad = |_| AppError::invalid("bad_multipart", "Dữ liệu tải lên không hợp lệ hoặc quá lớn.", "The upload is malformed or too large.");
    let mut pairs: Vec<(String, String)> = vec![];
    let mut received: Vec<Received> = vec![];
    let mut refused: Option<(String, AppError)> = None;
    let mut failure: Option<AppError> = None;
    loop {
        let part = match mp.next_field().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                failure = Some(bad(e));
                break;
            }
        };
        let name = part.name().unwrap_or("").to_owned();
        match name.strip_prefix("file:") {
            Some(key) => {
                let file_name = part.file_name().unwrap_or("").to_owned();
                if file_name.is_empty() || refused.is_some() {
                    continue; // no file chosen for this field: the part is empty
                }
                let declared = part.content_type().map(str::to_owned);
                let pending = received.iter().filter(|r| r.key == key).count();
                let up = Upload { key, declared: declared.as_deref(), name: &file_name };
                match receive(&st, me.id, &d, &form, up, pending, part).await {
                    Ok(r) => received.push(r),
                    Err(e @ AppError::Invalid { .. }) => refused = Some((key.to_owned(), e)),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            None => match part.text().await {
                Ok(t) => pairs.push((name, t)),
                Err(e) => {
                    failure = Some(bad(e));
                    break;
                }
            },
        }
    }
    let csrf_ok = pairs.iter().any(|(k, val)| k == "csrf" && same_secret(val, &v.csrf));
    if failure.is_some() || !csrf_ok {
        for r in received {
            r.discard().await;
        }
        return Err(failure.unwrap_or(AppError::Csrf));
    }
    let p = Pairs(pairs);
    let revision: i64 = p.get("revision").and_then(|r| r.parse().ok()).unwrap_or(d.revision);
    // The "Tải lên" button, or any other button of a step with upload fields (a file chosen
    // before "Tiếp tục" is uploaded too).
    let action = p.get("action").unwrap_or("next").to_owned();
    let upload_only = action.starts_with("upload:");
    let (answers, removed) = crate::filing::merge_step(&form, step, &d, &p, if upload_only { "upload" } else { &action });
    if upload_only && received.is_empty() && refused.is_none() {
        let key = action.trim_start_matches("upload:").to_owned();
        refused = Some((key, AppError::invalid("no_file", "Vui lòng chọn tệp để tải lên.", "Choose a file to upload.")));
    }
    let saved = attach(&st, &d, revision, answers, received).await?;
    if let Some(fid) = removed {
        forget(&st, &fid, saved.id).await?;
    }
    match refused {
        None if !upload_only => crate::filing::after_save(&st, &v, &saved, &proc, &form, step, &action).await,
        None => Ok(see_other(&format!("/dossiers/{}/edit?step={step}", d.id))),
        Some((key, e)) => {
            let message = e.detail(v.lang);
            let errors = vec![serde_json::json!({"field": key.replace(['[', ']', '.'], "_"), "path": key, "message": message})];
            crate::filing::render_step(&st, &v, &saved, &proc, &form, step, errors, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Deserialize)]
pub struct ApiUploadQuery {
    field: String,
    revision: i64,
    #[serde(default)]
    name: Option<String>,
}

/// Uploads one file to a draft's upload field: the raw bytes as the body, typed by Content-Type.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/files", tag = "dossiers", security(("bearer" = [])),
    params(("id" = i64, Path), ("field" = String, Query, description = "The form's upload field"), ("revision" = i64, Query), ("name" = Option<String>, Query, description = "The file's name")),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "PDF, JPEG or PNG bytes (checked by content)"),
    responses((status = 201, description = "`{id, sha256, size, content_type}`", body = Object), (status = 400, body = crate::api::Problem, content_type = "application/problem+json"), (status = 409, body = crate::api::Problem, content_type = "application/problem+json")))]
pub async fn upload_api(
    State(st): State<AppState>,
    c: crate::api::Caller,
    Path(id): Path<String>,
    Query(q): Query<ApiUploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let me = c.account_for(crate::oidc::protocol::API_DOSSIERS)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let d = st
        .db
        .read()
        .await?
        .get_dossier(id)
        .await?
        .filter(|d| d.applicant_id == me.id || d.acted_by_id == me.id)
        .ok_or(AppError::NotFound)?;
    if !crate::filing::editable(&d) {
        return Err(AppError::Conflict("hồ sơ đã nộp / the dossier was already filed".into()));
    }
    let (_, form) = form_of(&st, &d).await?;
    let declared =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|s| s.split(';').next().unwrap_or("").trim().to_owned());
    let name = q.name.clone().unwrap_or_else(|| "tep".into());
    let up = Upload { key: &q.field, declared: declared.as_deref(), name: &name };
    let r = receive(&st, me.id, &d, &form, up, 0, body.into_data_stream()).await?;
    let f = r.stored.clone();
    attach(&st, &d, q.revision, d.answers.clone(), vec![r]).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({"id": f.id, "sha256": f.sha256, "size": f.size, "content_type": f.content_type})),
    )
        .into_response())
}

/// Shows an upload to its owner (inline: the browser's PDF and image viewers).
pub async fn view(State(st): State<AppState>, v: Visitor, Path(fid): Path<String>) -> AppResult<Response> {
    let me = v.require_account()?;
    let f = st.db.read().await?.get_file(&fid).await?.ok_or(AppError::NotFound)?;
    // The uploader, and whoever may read the dossier it belongs to (the applicant of a counter
    // dossier, the officers who handle it). A person's own upload needs no dossier lookup: their
    // reads are not in the access log.
    let dossier = match f.dossier_id {
        Some(did) if f.owner_id != me.id || me.kind != tl_core::account::AccountKind::Citizen => {
            crate::filing::load_visible(&st, &v, &did.to_string()).await.ok()
        }
        _ => None,
    };
    if f.owner_id != me.id && dossier.is_none() {
        return Err(AppError::NotFound);
    }
    if let Some(d) = &dossier {
        crate::access::visitor_read(&st, &v, d, "file.download", Some(&f.id)).await;
    }
    let bytes = st.blobs.read(&f.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&f.content_type).map_err(|e| AppError::Internal(e.into()))?);
    let encoded: String = f
        .name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("inline; filename*=UTF-8''{encoded}")).map_err(|e| AppError::Internal(e.into()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// Every upload a draft refers to must exist, belong to it and to the right component.
pub async fn check_attachments(st: &AppState, d: &Dossier, form: &FormDef) -> AppResult<Vec<tl_core::form::AnswerError>> {
    let files = st.db.read().await?.list_dossier_files(d.id).await?;
    let mut out = vec![];
    for f in form.fields() {
        if let FieldKind::File { component, .. } = &f.kind {
            for id in ids_of(d, &f.key) {
                if !files.iter().any(|x| x.id == id && &x.component == component) {
                    out.push(tl_core::form::AnswerError {
                        path: f.key.clone(),
                        code: "unknown_file",
                        message_vi: "Tệp đính kèm không tồn tại hoặc không thuộc hồ sơ này; vui lòng tải lại.".into(),
                        message_en: "An attachment does not exist or does not belong to this dossier; upload it again.".into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Removes the bytes and rows of uploads older than the retention that no filed dossier holds.
pub async fn cleanup(st: &AppState) -> AppResult<usize> {
    let before = Utc::now() - st.config.upload_retention;
    let mut removed = 0;
    loop {
        let stale = st.db.read().await?.stale_files(before, 500).await?;
        if stale.is_empty() {
            return Ok(removed);
        }
        for f in stale {
            let mut w = st.db.begin().await?;
            if let Some(did) = f.dossier_id {
                // Take it out of the draft's answers too, so the draft stays consistent.
                if let Some(d) = w.get_dossier(did).await? {
                    let mut answers = d.answers.as_object().cloned().unwrap_or_default();
                    answers
                        .insert(f.field.clone(), Value::from(ids_of(&d, &f.field).into_iter().filter(|x| x != &f.id).collect::<Vec<_>>()));
                    let _ = w.update_draft(did, d.revision, &Value::Object(answers), Utc::now()).await;
                }
            }
            w.delete_file(&f.id).await?;
            w.commit().await?;
            if f.owns_blob() {
                st.blobs.delete(&f.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
            }
            removed += 1;
        }
    }
}
