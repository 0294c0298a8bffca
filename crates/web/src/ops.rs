//! Operations: liveness, readiness, Prometheus metrics.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The process is alive (no dependency is checked).
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can serve: the database and the file store answer within two seconds.
pub async fn readyz(State(st): State<AppState>) -> Response {
    let backend = st.db.backend().as_str();
    let files = if st.blobs.is_s3() { "s3" } else { "filesystem" };
    match tokio::time::timeout(Duration::from_secs(2), st.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return unavailable(backend, &e.to_string()),
        Err(_) => return unavailable(backend, "timeout"),
    }
    match tokio::time::timeout(Duration::from_secs(2), st.blobs.check()).await {
        Ok(Ok(())) => axum::Json(serde_json::json!({"status": "ready", "database": backend, "files": files})).into_response(),
        Ok(Err(e)) => unavailable(backend, &format!("file store: {e}")),
        Err(_) => unavailable(backend, "file store timeout"),
    }
}

fn unavailable(backend: &str, why: &str) -> Response {
    tracing::warn!(backend, why, "readiness probe failed");
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "unavailable", "database": backend}))).into_response()
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    let up = matches!(tokio::time::timeout(Duration::from_secs(1), st.db.ping()).await, Ok(Ok(())));
    let mut text = st.metrics.render(up);
    // The access log: entries that never reach the database are reads a citizen cannot see.
    let a = st.access.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    for (name, help, v) in [
        ("thanglong_access_log_recorded_total", "Reads of personal data recorded for the access log.", load(&a.recorded)),
        ("thanglong_access_log_written_total", "Access-log entries committed.", load(&a.written)),
        ("thanglong_access_log_batches_total", "Access-log batches committed.", load(&a.batches)),
        ("thanglong_access_log_dropped_total", "Access-log entries the database refused (should stay 0).", load(&a.dropped)),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
