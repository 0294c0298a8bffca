//! Errors of the web layer: each has a stable machine code, an HTTP status and a message in
//! Vietnamese and English. Pages render them as HTML; the API answers RFC 9457 problem+json.
//! A 500 logs its cause chain with the request id and shows the user neither.

use crate::i18n::Lang;
use axum::http::StatusCode;
use tl_storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Input the user can fix; the message says how.
    #[error("invalid input: {code}")]
    Invalid { code: &'static str, vi: String, en: String },
    #[error("payload too large")]
    TooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("authentication required")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    /// Refused for a reason the caller can read (no consent, a purpose not theirs…).
    #[error("denied: {code}")]
    Denied { code: &'static str, vi: String, en: String },
    /// An OAuth access token without the scope an API call needs (RFC 6750 §3.1).
    #[error("insufficient scope: {0}")]
    InsufficientScope(&'static str),
    #[error("csrf check failed")]
    Csrf,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Invalid { code, vi: vi.into(), en: en.into() }
    }

    pub fn denied(code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Denied { code, vi: vi.into(), en: en.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf | Self::InsufficientScope(_) | Self::Denied { .. } => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine code (the `code` member of problem+json).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Invalid { code, .. } => code,
            Self::TooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::Denied { code, .. } => code,
            Self::Csrf => "csrf_failed",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn title(&self, lang: Lang) -> &'static str {
        let en = lang == Lang::En;
        match self {
            Self::NotFound if en => "Page not found",
            Self::NotFound => "Không tìm thấy trang",
            Self::Invalid { .. } if en => "Please check what you entered",
            Self::Invalid { .. } => "Vui lòng kiểm tra thông tin đã nhập",
            Self::TooLarge if en => "The request is too large",
            Self::TooLarge => "Dữ liệu gửi lên quá lớn",
            Self::UnsupportedMediaType if en => "Unsupported content type",
            Self::UnsupportedMediaType => "Định dạng dữ liệu không được hỗ trợ",
            Self::Unauthenticated if en => "Please sign in",
            Self::Unauthenticated => "Vui lòng đăng nhập",
            Self::Forbidden if en => "You do not have permission",
            Self::Forbidden => "Bạn không có quyền truy cập",
            Self::Denied { .. } if en => "Not allowed",
            Self::Denied { .. } => "Không được phép",
            Self::InsufficientScope(_) if en => "The access token does not allow this",
            Self::InsufficientScope(_) => "Mã truy cập không cho phép thao tác này",
            Self::Csrf if en => "The form has expired",
            Self::Csrf => "Biểu mẫu đã hết hạn",
            Self::Conflict(_) if en => "This conflicts with existing data",
            Self::Conflict(_) => "Dữ liệu bị trùng hoặc xung đột",
            Self::TooManyRequests { .. } if en => "Too many attempts",
            Self::TooManyRequests { .. } => "Quá nhiều lần thử",
            Self::Unavailable(_) if en => "The service is temporarily unavailable",
            Self::Unavailable(_) => "Hệ thống tạm thời gián đoạn",
            Self::Internal(_) if en => "Something went wrong",
            Self::Internal(_) => "Đã có lỗi xảy ra",
        }
    }

    pub fn detail(&self, lang: Lang) -> String {
        let en = lang == Lang::En;
        match self {
            Self::Invalid { vi, en: e, .. } | Self::Denied { vi, en: e, .. } => {
                if en {
                    e.clone()
                } else {
                    vi.clone()
                }
            }
            Self::NotFound if en => "The page or item you asked for does not exist or has been removed.".into(),
            Self::NotFound => "Trang hoặc nội dung bạn yêu cầu không tồn tại hoặc đã bị gỡ bỏ.".into(),
            Self::TooLarge if en => "What you sent is larger than allowed. Please send less data.".into(),
            Self::TooLarge => "Dữ liệu bạn gửi vượt quá dung lượng cho phép. Vui lòng gửi ít dữ liệu hơn.".into(),
            Self::UnsupportedMediaType if en => "Send the data as a form or as JSON.".into(),
            Self::UnsupportedMediaType => "Vui lòng gửi dữ liệu dạng biểu mẫu hoặc JSON.".into(),
            Self::Unauthenticated if en => "Sign in to continue, or send a valid API token.".into(),
            Self::Unauthenticated => "Vui lòng đăng nhập để tiếp tục, hoặc gửi mã truy cập API hợp lệ.".into(),
            Self::Forbidden if en => "Your account is not allowed to do this. Ask your administrator if you need access.".into(),
            Self::Forbidden => {
                "Tài khoản của bạn không được phép thực hiện thao tác này. Liên hệ quản trị viên nếu bạn cần quyền truy cập.".into()
            }
            Self::InsufficientScope(scope) if en => {
                format!("This call needs the scope “{scope}”, which the access token was not issued with. Ask the administrator to grant it to your application, then request a new token.")
            }
            Self::InsufficientScope(scope) => format!(
                "Thao tác này cần phạm vi «{scope}», nhưng mã truy cập không được cấp phạm vi đó. Đề nghị quản trị viên cấp phạm vi cho ứng dụng của bạn rồi xin mã truy cập mới."
            ),
            Self::Csrf if en => "For your safety the form could not be accepted. Go back, reload the page and try again.".into(),
            Self::Csrf => "Để bảo đảm an toàn, biểu mẫu không được chấp nhận. Vui lòng quay lại, tải lại trang và thử lại.".into(),
            Self::Conflict(m) if en => format!("The change was not saved: {m}"),
            Self::Conflict(m) => format!("Thay đổi chưa được lưu: {m}"),
            Self::TooManyRequests { retry_after_secs } if en => {
                format!("Please wait {} minute(s) and try again.", retry_after_secs.div_ceil(60))
            }
            Self::TooManyRequests { retry_after_secs } => format!("Vui lòng chờ {} phút rồi thử lại.", retry_after_secs.div_ceil(60)),
            Self::Unavailable(_) if en => "Please try again in a few minutes. Nothing you sent has been lost or half-saved.".into(),
            Self::Unavailable(_) => "Vui lòng thử lại sau ít phút. Dữ liệu bạn gửi không bị mất hay lưu dở dang.".into(),
            Self::Internal(_) if en => {
                "Please try again later. If the problem continues, contact support and quote the request code below.".into()
            }
            Self::Internal(_) => {
                "Vui lòng thử lại sau. Nếu lỗi vẫn tiếp diễn, hãy liên hệ bộ phận hỗ trợ và cung cấp mã yêu cầu bên dưới.".into()
            }
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<tl_core::ids::IdError> for AppError {
    fn from(e: tl_core::ids::IdError) -> Self {
        Self::invalid(e.code(), e.message("vi"), e.message("en"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
