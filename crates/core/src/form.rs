//! Form definitions (biểu mẫu điện tử) and their validation.
//!
//! A procedure version carries a [`FormDef`]: steps of fields with Vietnamese and English
//! labels, help, conditions and dossier-component uploads. It is the UI description, and the
//! JSON Schema of the data ([`FormDef::json_schema`]) is derived from it, so the two never
//! drift. The server validates every answer ([`FormDef::validate`]); the browser only hints.

use crate::catalog::I18nText;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    pub steps: Vec<FormStep>,
    /// The people the form is about besides the applicant (`self`), each filled from one
    /// person of the applicant's data store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<crate::personal::PersonRole>,
}

/// One screen of the form (a phone shows one step at a time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormStep {
    pub key: String,
    pub title: I18nText,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub key: String,
    pub label: I18nText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<I18nText>,
    #[serde(default)]
    pub required: bool,
    /// Shown (and validated) only when another answer has a given value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    /// Required when another answer has a given value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<Condition>,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// The data item this answer is pre-filled from and offered back to: `role.item`
    /// (`self.phone`, `child.full_name`; see [`crate::personal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// `field` (a key at the same level) equals `equals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub equals: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub label: I18nText,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    Text {
        #[serde(default = "text_max")]
        max_length: u32,
    },
    LongText {
        #[serde(default = "long_text_max")]
        max_length: u32,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// Đồng (VND): a whole number, never negative.
    Money {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// Stored as YYYY-MM-DD; people type dd/mm/yyyy.
    Date {
        #[serde(default)]
        not_future: bool,
    },
    Select {
        options: Vec<Choice>,
    },
    Radio {
        options: Vec<Choice>,
    },
    Checkboxes {
        options: Vec<Choice>,
        #[serde(default)]
        min_selected: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_selected: Option<u32>,
    },
    PersonalId,
    TaxCode,
    Phone,
    Email,
    /// Province and commune codes from the administrative units, plus the street.
    Address,
    /// A repeatable group (e.g. family members).
    Group {
        fields: Vec<FieldDef>,
        #[serde(default)]
        min_items: u32,
        #[serde(default = "group_max")]
        max_items: u32,
    },
    /// Uploaded files for a dossier component (thành phần hồ sơ).
    File {
        component: String,
        #[serde(default = "one")]
        max_files: u32,
        #[serde(default = "default_accept")]
        accept: Vec<String>,
        /// Documents of the data store that satisfy this component instead of an upload:
        /// their kinds (a component key, or `result:<procedure code>` for an issued result).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reuse: Vec<String>,
    },
}

fn text_max() -> u32 {
    200
}
fn long_text_max() -> u32 {
    4000
}
fn group_max() -> u32 {
    20
}
fn one() -> u32 {
    1
}
fn default_accept() -> Vec<String> {
    vec!["application/pdf".into(), "image/jpeg".into(), "image/png".into()]
}

/// One problem with an answer: where (`members[1].name`), a stable code, both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerError {
    pub path: String,
    pub code: &'static str,
    pub message_vi: String,
    pub message_en: String,
}

/// What validation needs from outside: today, and the administrative units that exist.
pub struct ValidationContext<'a> {
    pub today: chrono::NaiveDate,
    /// Codes of the administrative units in force; None skips the check.
    pub admin_units: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
}

fn err(path: &str, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> AnswerError {
    AnswerError { path: path.into(), code, message_vi: vi.into(), message_en: en.into() }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn holds(c: &Option<Condition>, answers: &Map<String, Value>) -> bool {
    c.as_ref().is_none_or(|c| answers.get(&c.field) == Some(&c.equals))
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

impl FormDef {
    /// Every field, depth first (group members included).
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        fn walk<'a>(f: &'a FieldDef, out: &mut Vec<&'a FieldDef>) {
            out.push(f);
            if let FieldKind::Group { fields, .. } = &f.kind {
                for g in fields {
                    walk(g, out);
                }
            }
        }
        let mut out = vec![];
        for s in &self.steps {
            for f in &s.fields {
                walk(f, &mut out);
            }
        }
        out.into_iter()
    }

    /// Checks the definition itself: unique keys, conditions that refer to fields at the same
    /// level, options present, sensible bounds, files bound to existing components.
    pub fn check(&self, components: &[&str]) -> Vec<AnswerError> {
        let mut out = vec![];
        if self.steps.is_empty() {
            out.push(err("steps", "no_steps", "Biểu mẫu phải có ít nhất một bước.", "A form needs at least one step."));
        }
        let mut step_keys = std::collections::HashSet::new();
        let top: Vec<&FieldDef> = self.steps.iter().flat_map(|s| s.fields.iter()).collect();
        for s in &self.steps {
            if !step_keys.insert(&s.key) {
                out.push(err(&s.key, "duplicate_step", format!("Bước `{}` bị trùng.", s.key), format!("Duplicate step `{}`.", s.key)));
            }
        }
        check_level(&top, "", components, &mut out);
        // Pre-fill mappings name a declared person and a known item (the law's vocabulary).
        let mut roles = std::collections::HashSet::from(["self"]);
        for p in &self.persons {
            if p.key == "self" || !roles.insert(p.key.as_str()) || p.label.vi.trim().is_empty() {
                out.push(err(
                    &p.key,
                    "bad_person",
                    format!("Vai trò người `{}` bị trùng, trùng «self» hoặc thiếu nhãn.", p.key),
                    format!("The person role `{}` is duplicated, is “self” or has no label.", p.key),
                ));
            }
        }
        for f in self.fields() {
            let Some(d) = &f.data else { continue };
            match crate::personal::DataRef::parse(d) {
                Some(r) if roles.contains(r.role) => {}
                _ => out.push(err(
                    &f.key,
                    "bad_data_ref",
                    format!("Liên kết dữ liệu `{d}` phải có dạng vai_trò.mục (vai trò đã khai báo, mục đã biết)."),
                    format!("The data link `{d}` must be role.item (a declared role, a known item)."),
                )),
            }
        }
        out
    }

    /// Validates answers; returns them cleaned (hidden fields dropped, text trimmed) or every problem.
    pub fn validate(&self, answers: &Value, ctx: &ValidationContext) -> Result<Value, Vec<AnswerError>> {
        let top: Vec<&FieldDef> = self.steps.iter().flat_map(|s| s.fields.iter()).collect();
        let mut errors = vec![];
        let clean = validate_object(&top, answers, "", ctx, &mut errors);
        if errors.is_empty() {
            Ok(clean)
        } else {
            Err(errors)
        }
    }

    /// The JSON Schema (2020-12) of valid answers, for API clients and GovStack eForms.
    pub fn json_schema(&self) -> Value {
        let top: Vec<&FieldDef> = self.steps.iter().flat_map(|s| s.fields.iter()).collect();
        let mut s = object_schema(&top);
        if let Value::Object(m) = &mut s {
            m.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        }
        s
    }
}

fn check_level(fields: &[&FieldDef], prefix: &str, components: &[&str], out: &mut Vec<AnswerError>) {
    let keys: std::collections::HashSet<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    for f in fields {
        let path = join(prefix, &f.key);
        let ok_key =
            !f.key.is_empty() && f.key.len() <= 64 && f.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok_key {
            out.push(err(
                &path,
                "field_key",
                format!("Khóa trường `{}` chỉ gồm chữ thường, số, gạch dưới.", f.key),
                format!("Field key `{}` must be lowercase letters, digits, underscores.", f.key),
            ));
        }
        if !seen.insert(f.key.as_str()) {
            out.push(err(&path, "duplicate_field", format!("Trường `{}` bị trùng.", f.key), format!("Duplicate field `{}`.", f.key)));
        }
        if f.label.vi.trim().is_empty() {
            out.push(err(&path, "empty_label", "Trường phải có nhãn tiếng Việt.", "A field needs a Vietnamese label."));
        }
        for c in [&f.show_if, &f.required_if].into_iter().flatten() {
            if !keys.contains(c.field.as_str()) || c.field == f.key {
                out.push(err(
                    &path,
                    "bad_condition",
                    format!("Điều kiện tham chiếu trường không có: `{}`.", c.field),
                    format!("The condition refers to a missing field `{}`.", c.field),
                ));
            }
        }
        match &f.kind {
            FieldKind::Select { options } | FieldKind::Radio { options } | FieldKind::Checkboxes { options, .. } if options.is_empty() => {
                out.push(err(&path, "no_options", "Trường lựa chọn phải có ít nhất một phương án.", "A choice field needs options."));
            }
            FieldKind::Checkboxes { options, min_selected, max_selected }
                if max_selected.is_some_and(|m| m < *min_selected) || *min_selected as usize > options.len() =>
            {
                out.push(err(
                    &path,
                    "bad_bounds",
                    "Số lựa chọn tối thiểu/tối đa không hợp lệ.",
                    "The min/max selections are inconsistent.",
                ));
            }
            FieldKind::Number { min: Some(a), max: Some(b) } if a > b => {
                out.push(err(&path, "bad_bounds", "Giá trị nhỏ nhất lớn hơn giá trị lớn nhất.", "The minimum is above the maximum."));
            }
            FieldKind::Text { max_length } | FieldKind::LongText { max_length } if *max_length == 0 || *max_length > 100_000 => {
                out.push(err(&path, "bad_bounds", "Độ dài tối đa phải từ 1 đến 100000.", "The maximum length must be 1–100000."));
            }
            FieldKind::Group { fields, min_items, max_items } => {
                if min_items > max_items || *max_items == 0 || *max_items > 500 {
                    out.push(err(&path, "bad_bounds", "Số mục tối thiểu/tối đa không hợp lệ.", "The min/max items are inconsistent."));
                }
                if fields.is_empty() {
                    out.push(err(&path, "empty_group", "Nhóm phải có ít nhất một trường.", "A group needs fields."));
                }
                let inner: Vec<&FieldDef> = fields.iter().collect();
                check_level(&inner, &path, components, out);
            }
            FieldKind::File { component, max_files, accept, .. } => {
                if !components.contains(&component.as_str()) {
                    out.push(err(
                        &path,
                        "unknown_component",
                        format!("Thành phần hồ sơ `{component}` không có trong thủ tục."),
                        format!("Component `{component}` is not in the procedure."),
                    ));
                }
                if *max_files == 0 || *max_files > 50 {
                    out.push(err(&path, "bad_bounds", "Số tệp tối đa phải từ 1 đến 50.", "The maximum number of files must be 1–50."));
                }
                if accept.is_empty() || accept.iter().any(|a| !matches!(a.as_str(), "application/pdf" | "image/jpeg" | "image/png")) {
                    out.push(err(
                        &path,
                        "bad_accept",
                        "Chỉ nhận application/pdf, image/jpeg, image/png.",
                        "Only application/pdf, image/jpeg and image/png are accepted.",
                    ));
                }
            }
            _ => {}
        }
    }
}

fn validate_object(fields: &[&FieldDef], value: &Value, prefix: &str, ctx: &ValidationContext, errors: &mut Vec<AnswerError>) -> Value {
    let Value::Object(map) = value else {
        errors.push(err(prefix, "not_an_object", "Dữ liệu phải là một đối tượng.", "The answers must be an object."));
        return Value::Null;
    };
    for k in map.keys() {
        if !fields.iter().any(|f| &f.key == k) {
            errors.push(err(
                &join(prefix, k),
                "unknown_field",
                format!("Trường không có trong biểu mẫu: `{k}`."),
                format!("The form has no field `{k}`."),
            ));
        }
    }
    let mut clean = Map::new();
    for f in fields {
        let path = join(prefix, &f.key);
        if !holds(&f.show_if, map) {
            continue;
        }
        let v = map.get(&f.key);
        let required = f.required || (f.required_if.is_some() && holds(&f.required_if, map));
        if is_blank(v) {
            if required {
                // "Choose" a choice, "upload" a file, "enter" the rest.
                let en_label = lower_first(f.label.en.as_deref().unwrap_or(&f.label.vi));
                let (vi, en) = match f.kind {
                    FieldKind::Select { .. } | FieldKind::Radio { .. } | FieldKind::Checkboxes { .. } | FieldKind::Address => {
                        ("Vui lòng chọn", "Choose")
                    }
                    FieldKind::File { .. } => ("Vui lòng tải lên", "Upload"),
                    FieldKind::Group { .. } => ("Vui lòng thêm", "Add"),
                    _ => ("Vui lòng nhập", "Enter"),
                };
                errors.push(err(&path, "required", format!("{vi} {}.", lower_first(&f.label.vi)), format!("{en} {en_label}.")));
            }
            continue;
        }
        if let Some(c) = validate_value(f, v.expect("not blank"), &path, ctx, errors) {
            clean.insert(f.key.clone(), c);
        }
    }
    Value::Object(clean)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn wrong_type(path: &str, vi: &str, en: &str) -> AnswerError {
    err(path, "wrong_type", vi.to_owned(), en.to_owned())
}

fn validate_value(f: &FieldDef, v: &Value, path: &str, ctx: &ValidationContext, errors: &mut Vec<AnswerError>) -> Option<Value> {
    let before = errors.len();
    let out = match &f.kind {
        FieldKind::Text { max_length } | FieldKind::LongText { max_length } => {
            let multiline = matches!(f.kind, FieldKind::LongText { .. });
            match v.as_str() {
                None => {
                    errors.push(wrong_type(path, "Giá trị phải là văn bản.", "The value must be text."));
                    None
                }
                Some(s) => {
                    let s = s.trim();
                    if s.chars().count() > *max_length as usize {
                        errors.push(err(
                            path,
                            "too_long",
                            format!("Dài tối đa {max_length} ký tự."),
                            format!("At most {max_length} characters."),
                        ));
                    }
                    if s.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) {
                        errors.push(err(
                            path,
                            "control_chars",
                            "Văn bản chứa ký tự không hợp lệ.",
                            "The text contains invalid characters.",
                        ));
                    }
                    Some(Value::String(s.to_owned()))
                }
            }
        }
        FieldKind::Number { min, max } => match v.as_i64() {
            None => {
                errors.push(wrong_type(path, "Giá trị phải là số nguyên.", "The value must be a whole number."));
                None
            }
            Some(n) => {
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    errors.push(err(
                        path,
                        "out_of_range",
                        format!(
                            "Giá trị phải trong khoảng {}–{}.",
                            min.map_or("…".into(), |x| x.to_string()),
                            max.map_or("…".into(), |x| x.to_string())
                        ),
                        format!(
                            "The value must be within {}–{}.",
                            min.map_or("…".into(), |x| x.to_string()),
                            max.map_or("…".into(), |x| x.to_string())
                        ),
                    ));
                }
                Some(v.clone())
            }
        },
        FieldKind::Money { max } => match v.as_i64() {
            Some(n) if n >= 0 => {
                if max.is_some_and(|m| n > m) {
                    errors.push(err(
                        path,
                        "out_of_range",
                        format!("Số tiền tối đa {}.", crate::fmt::vnd(max.unwrap_or(0) as u64)),
                        format!("At most {}.", crate::fmt::vnd(max.unwrap_or(0) as u64)),
                    ));
                }
                Some(v.clone())
            }
            _ => {
                errors.push(wrong_type(
                    path,
                    "Số tiền phải là số đồng nguyên, không âm.",
                    "The amount must be a whole, non-negative number of đồng.",
                ));
                None
            }
        },
        FieldKind::Date { not_future } => match v.as_str().and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
            None => {
                errors.push(wrong_type(
                    path,
                    "Ngày phải có dạng ngày/tháng/năm, ví dụ 05/09/1990.",
                    "The date must be dd/mm/yyyy, for example 05/09/1990.",
                ));
                None
            }
            Some(d) => {
                if *not_future && d > ctx.today {
                    errors.push(err(path, "future_date", "Ngày không được ở tương lai.", "The date cannot be in the future."));
                }
                Some(v.clone())
            }
        },
        FieldKind::Select { options } | FieldKind::Radio { options } => match v.as_str() {
            Some(s) if options.iter().any(|o| o.value == s) => Some(v.clone()),
            _ => {
                errors.push(err(path, "not_an_option", "Vui lòng chọn một phương án trong danh sách.", "Choose one of the options."));
                None
            }
        },
        FieldKind::Checkboxes { options, min_selected, max_selected } => match v.as_array() {
            Some(items) => {
                let mut seen = std::collections::HashSet::new();
                let ok = items.iter().all(|i| i.as_str().is_some_and(|s| options.iter().any(|o| o.value == s) && seen.insert(s)));
                if !ok {
                    errors.push(err(
                        path,
                        "not_an_option",
                        "Các lựa chọn phải nằm trong danh sách và không trùng.",
                        "Choices must come from the list, once each.",
                    ));
                } else if (items.len() as u32) < *min_selected || max_selected.is_some_and(|m| items.len() as u32 > m) {
                    errors.push(err(path, "count", "Số lựa chọn không đúng yêu cầu.", "The number of choices is not allowed."));
                }
                Some(v.clone())
            }
            None => {
                errors.push(wrong_type(path, "Giá trị phải là danh sách lựa chọn.", "The value must be a list of choices."));
                None
            }
        },
        FieldKind::PersonalId => match v.as_str().map(|s| crate::ids::PersonalId::parse(s, chrono::Datelike::year(&ctx.today))) {
            Some(Ok(id)) => Some(Value::String(id.as_str().to_owned())),
            Some(Err(e)) => {
                errors.push(err(path, e.code(), e.message("vi"), e.message("en")));
                None
            }
            None => {
                errors.push(wrong_type(path, "Giá trị phải là văn bản.", "The value must be text."));
                None
            }
        },
        FieldKind::TaxCode => match v.as_str().map(crate::ids::TaxCode::parse) {
            Some(Ok(t)) => Some(Value::String(t.as_str().to_owned())),
            Some(Err(e)) => {
                errors.push(err(path, e.code(), e.message("vi"), e.message("en")));
                None
            }
            None => {
                errors.push(wrong_type(path, "Giá trị phải là văn bản.", "The value must be text."));
                None
            }
        },
        FieldKind::Phone => match v.as_str().filter(|s| crate::contact::valid_phone(s)) {
            Some(s) => Some(Value::String(s.trim().to_owned())),
            None => {
                errors.push(err(
                    path,
                    "phone",
                    "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.",
                    "The phone number must have 10 digits and start with 0.",
                ));
                None
            }
        },
        FieldKind::Email => match v.as_str().filter(|s| crate::contact::valid_email(s.trim())) {
            Some(s) => Some(Value::String(s.trim().to_owned())),
            None => {
                errors.push(err(
                    path,
                    "email",
                    "Địa chỉ thư điện tử không hợp lệ, ví dụ: ten@example.vn.",
                    "The email address is not valid, for example: name@example.vn.",
                ));
                None
            }
        },
        FieldKind::Address => validate_address(v, path, ctx, errors),
        FieldKind::Group { fields, min_items, max_items } => match v.as_array() {
            Some(items) => {
                if (items.len() as u32) < *min_items || items.len() as u32 > *max_items {
                    errors.push(err(
                        path,
                        "count",
                        format!("Cần từ {min_items} đến {max_items} mục."),
                        format!("Between {min_items} and {max_items} items are needed."),
                    ));
                }
                let inner: Vec<&FieldDef> = fields.iter().collect();
                let cleaned: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .take(*max_items as usize)
                    .map(|(i, item)| validate_object(&inner, item, &format!("{path}[{i}]"), ctx, errors))
                    .collect();
                Some(Value::Array(cleaned))
            }
            None => {
                errors.push(wrong_type(path, "Giá trị phải là danh sách.", "The value must be a list."));
                None
            }
        },
        FieldKind::File { max_files, .. } => match v.as_array() {
            Some(ids)
                if ids.iter().all(|i| {
                    i.as_str().is_some_and(|s| {
                        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    })
                }) =>
            {
                if ids.len() as u32 > *max_files {
                    errors.push(err(path, "count", format!("Tối đa {max_files} tệp."), format!("At most {max_files} files.")));
                }
                Some(v.clone())
            }
            _ => {
                errors.push(wrong_type(path, "Tệp đính kèm không hợp lệ.", "The attachment reference is invalid."));
                None
            }
        },
    };
    if errors.len() > before {
        None
    } else {
        out
    }
}

fn validate_address(v: &Value, path: &str, ctx: &ValidationContext, errors: &mut Vec<AnswerError>) -> Option<Value> {
    let Some(m) = v.as_object() else {
        errors.push(wrong_type(path, "Địa chỉ không hợp lệ.", "The address is invalid."));
        return None;
    };
    if m.keys().any(|k| !matches!(k.as_str(), "province" | "commune" | "street")) {
        errors.push(err(
            path,
            "unknown_field",
            "Địa chỉ chỉ gồm tỉnh/thành phố, xã/phường và số nhà, đường.",
            "An address has only province, commune and street.",
        ));
        return None;
    }
    let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim).unwrap_or("");
    let before = errors.len();
    for (k, vi, en) in [
        ("province", "Vui lòng chọn tỉnh/thành phố.", "Choose the province."),
        ("commune", "Vui lòng chọn xã/phường.", "Choose the commune or ward."),
        ("street", "Vui lòng nhập số nhà, đường/thôn/xóm.", "Enter the street address."),
    ] {
        let s = get(k);
        if s.is_empty() {
            errors.push(err(&format!("{path}.{k}"), "required", vi, en));
        } else if k != "street" && (ctx.admin_units.is_some_and(|exists| !exists(s)) || crate::ids::check_admin_unit_code(s).is_err()) {
            errors.push(err(
                &format!("{path}.{k}"),
                "unknown_admin_unit",
                "Đơn vị hành chính không tồn tại.",
                "No such administrative unit.",
            ));
        }
    }
    if get("street").chars().count() > 200 {
        errors.push(err(&format!("{path}.street"), "too_long", "Dài tối đa 200 ký tự.", "At most 200 characters."));
    }
    (errors.len() == before).then(|| json!({"province": get("province"), "commune": get("commune"), "street": get("street")}))
}

fn field_schema(f: &FieldDef) -> Value {
    let options = |o: &[Choice]| Value::Array(o.iter().map(|c| Value::String(c.value.clone())).collect());
    let mut s = match &f.kind {
        FieldKind::Text { max_length } | FieldKind::LongText { max_length } => json!({"type": "string", "maxLength": max_length}),
        FieldKind::Number { min, max } => {
            let mut s = json!({"type": "integer"});
            if let Some(m) = min {
                s["minimum"] = json!(m);
            }
            if let Some(m) = max {
                s["maximum"] = json!(m);
            }
            s
        }
        FieldKind::Money { max } => {
            let mut s = json!({"type": "integer", "minimum": 0});
            if let Some(m) = max {
                s["maximum"] = json!(m);
            }
            s
        }
        FieldKind::Date { .. } => json!({"type": "string", "format": "date"}),
        FieldKind::Select { options: o } | FieldKind::Radio { options: o } => json!({"type": "string", "enum": options(o)}),
        FieldKind::Checkboxes { options: o, min_selected, max_selected } => {
            let mut s =
                json!({"type": "array", "items": {"type": "string", "enum": options(o)}, "uniqueItems": true, "minItems": min_selected});
            if let Some(m) = max_selected {
                s["maxItems"] = json!(m);
            }
            s
        }
        FieldKind::PersonalId => json!({"type": "string", "format": "vn-personal-id"}),
        FieldKind::TaxCode => json!({"type": "string", "format": "vn-tax-code"}),
        FieldKind::Phone => json!({"type": "string", "format": "vn-phone"}),
        FieldKind::Email => json!({"type": "string", "format": "email"}),
        FieldKind::Address => json!({
            "type": "object", "additionalProperties": false, "required": ["province", "commune", "street"],
            "properties": {"province": {"type": "string"}, "commune": {"type": "string"}, "street": {"type": "string", "maxLength": 200}}
        }),
        FieldKind::Group { fields, min_items, max_items } => {
            let inner: Vec<&FieldDef> = fields.iter().collect();
            json!({"type": "array", "items": object_schema(&inner), "minItems": min_items, "maxItems": max_items})
        }
        FieldKind::File { max_files, .. } => {
            json!({"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "maxItems": max_files})
        }
    };
    s["title"] = json!(f.label.vi);
    if let Some(h) = &f.help {
        s["description"] = json!(h.vi);
    }
    s
}

/// An object of fields: unknown properties refused; `required` and conditions as `if`/`then`.
/// A blank answer (null, "" or []) counts as absent, as in [`FormDef::validate`].
fn object_schema(fields: &[&FieldDef]) -> Value {
    let mut props = Map::new();
    let mut all_of = vec![];
    let cond = |c: &Condition| json!({"required": [c.field], "properties": {c.field.clone(): {"const": c.equals}}});
    for f in fields {
        // A blank answer (null, "", []) is always allowed by the value schema; `present` below
        // is what makes a field required.
        let value = json!({"anyOf": [{"type": "null"}, {"const": ""}, {"const": []}, field_schema(f)]});
        let present = json!({"required": [f.key], "properties": {f.key.clone(): {"not": {"anyOf": [{"type": "null"}, {"const": ""}, {"const": []}]}}}});
        match &f.show_if {
            None => {
                props.insert(f.key.clone(), value);
            }
            // A hidden field is ignored whatever it holds: its schema applies only when shown.
            Some(s) => {
                props.insert(f.key.clone(), Value::Bool(true));
                all_of.push(json!({"if": cond(s), "then": {"properties": {f.key.clone(): value}}}));
            }
        }
        match (&f.show_if, f.required, &f.required_if) {
            (None, true, _) => all_of.push(present.clone()),
            (Some(s), true, _) => all_of.push(json!({"if": cond(s), "then": present.clone()})),
            (None, false, Some(r)) => all_of.push(json!({"if": cond(r), "then": present.clone()})),
            (Some(s), false, Some(r)) => all_of.push(json!({"if": {"allOf": [cond(s), cond(r)]}, "then": present.clone()})),
            _ => {}
        }
    }
    let mut s = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !all_of.is_empty() {
        s["allOf"] = Value::Array(all_of);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ValidationContext<'static> {
        ValidationContext { today: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(), admin_units: None }
    }

    fn field(key: &str, kind: FieldKind, required: bool) -> FieldDef {
        FieldDef {
            key: key.into(),
            label: I18nText::new(format!("Trường {key}"), format!("Field {key}")),
            help: None,
            required,
            show_if: None,
            required_if: None,
            kind,
            data: None,
        }
    }

    fn birth_form() -> FormDef {
        let mut father = field("father_name", FieldKind::Text { max_length: 100 }, false);
        father.required_if = Some(Condition { field: "father_known".into(), equals: json!("yes") });
        FormDef {
            steps: vec![
                FormStep {
                    key: "child".into(),
                    title: I18nText::new("Người được khai sinh", "The child"),
                    fields: vec![
                        field("child_name", FieldKind::Text { max_length: 100 }, true),
                        field("birth_date", FieldKind::Date { not_future: true }, true),
                        field(
                            "gender",
                            FieldKind::Radio {
                                options: vec![
                                    Choice { value: "male".into(), label: I18nText::new("Nam", "Male") },
                                    Choice { value: "female".into(), label: I18nText::new("Nữ", "Female") },
                                ],
                            },
                            true,
                        ),
                    ],
                },
                FormStep {
                    key: "parents".into(),
                    title: I18nText::new("Cha mẹ", "Parents"),
                    fields: vec![
                        field("mother_id", FieldKind::PersonalId, true),
                        field(
                            "father_known",
                            FieldKind::Select {
                                options: vec![
                                    Choice { value: "yes".into(), label: I18nText::new("Có", "Yes") },
                                    Choice { value: "no".into(), label: I18nText::new("Không", "No") },
                                ],
                            },
                            true,
                        ),
                        father,
                        field("address", FieldKind::Address, true),
                        field(
                            "siblings",
                            FieldKind::Group {
                                fields: vec![field("name", FieldKind::Text { max_length: 100 }, true)],
                                min_items: 0,
                                max_items: 5,
                            },
                            false,
                        ),
                        field(
                            "birth_certificate",
                            FieldKind::File { component: "giay-chung-sinh".into(), max_files: 2, accept: default_accept(), reuse: vec![] },
                            true,
                        ),
                    ],
                },
            ],
            persons: vec![],
        }
    }

    fn good() -> Value {
        json!({
            "child_name": "  Lê Minh An ", "birth_date": "2026-11-20", "gender": "male",
            "mother_id": "001303012345", "father_known": "no",
            "address": {"province": "01", "commune": "00004", "street": "12 Phan Đình Phùng"},
            "siblings": [{"name": "Lê Minh Châu"}], "birth_certificate": ["f_abc123"]
        })
    }

    #[test]
    fn accepts_a_complete_form_and_cleans_it() {
        let f = birth_form();
        assert!(f.check(&["giay-chung-sinh"]).is_empty(), "{:?}", f.check(&["giay-chung-sinh"]));
        let clean = f.validate(&good(), &ctx()).unwrap();
        assert_eq!(clean["child_name"], "Lê Minh An");
    }

    #[test]
    fn reports_every_problem_with_its_path_in_vietnamese() {
        let f = birth_form();
        let mut bad = good();
        bad["birth_date"] = json!("2027-01-01");
        bad["mother_id"] = json!("123");
        bad["father_known"] = json!("yes");
        bad["siblings"] = json!([{"name": ""}]);
        bad["address"]["commune"] = json!("");
        bad["nickname"] = json!("x");
        let errs = f.validate(&bad, &ctx()).unwrap_err();
        let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.path.as_str(), e.code)).collect();
        for want in [
            ("birth_date", "future_date"),
            ("mother_id", "personal_id_format"),
            ("father_name", "required"),
            ("siblings[0].name", "required"),
            ("address.commune", "required"),
            ("nickname", "unknown_field"),
        ] {
            assert!(got.contains(&want), "{want:?} missing from {got:?}");
        }
        let father = errs.iter().find(|e| e.path == "father_name").unwrap();
        assert_eq!(father.message_vi, "Vui lòng nhập trường father_name.");
    }

    #[test]
    fn definitions_are_checked() {
        let mut f = birth_form();
        f.steps[1].fields[2].required_if = Some(Condition { field: "nope".into(), equals: json!(1) });
        f.steps[0].fields.push(field("child_name", FieldKind::Select { options: vec![] }, false));
        let codes: Vec<&str> = f.check(&[]).iter().map(|e| e.code).collect();
        for c in ["bad_condition", "duplicate_field", "no_options", "unknown_component"] {
            assert!(codes.contains(&c), "{c} missing: {codes:?}");
        }
        // Unknown kinds and keys are refused when the definition is read.
        let raw = json!({"steps": [{"key": "a", "title": {"vi": "A"}, "fields": [{"key": "x", "label": {"vi": "X"}, "type": {"kind": "slider"}}]}]});
        assert!(serde_json::from_value::<FormDef>(raw).is_err());
    }

    mod differential {
        //! Random forms and random answers: our validator never panics and accepts exactly
        //! what the derived JSON Schema allows, as judged by the `jsonschema` crate.
        use super::*;
        use proptest::prelude::*;

        fn choices() -> Vec<Choice> {
            ["a", "b", "c"].iter().map(|v| Choice { value: (*v).into(), label: I18nText::new(*v, *v) }).collect()
        }

        fn kind(depth: u32) -> BoxedStrategy<FieldKind> {
            let leaf = prop_oneof![
                (1u32..8).prop_map(|m| FieldKind::Text { max_length: m }),
                (1u32..8).prop_map(|m| FieldKind::LongText { max_length: m }),
                (proptest::option::of(-5i64..5), proptest::option::of(0i64..10)).prop_map(|(min, max)| {
                    let max = match (min, max) {
                        (Some(a), Some(b)) if b < a => Some(a),
                        (_, b) => b,
                    };
                    FieldKind::Number { min, max }
                }),
                proptest::option::of(0i64..10).prop_map(|max| FieldKind::Money { max }),
                Just(FieldKind::Select { options: choices() }),
                Just(FieldKind::Radio { options: choices() }),
                (0u32..3, proptest::option::of(1u32..4)).prop_map(|(min, max)| FieldKind::Checkboxes {
                    options: choices(),
                    min_selected: min,
                    max_selected: max.map(|m| m.max(min)),
                }),
            ];
            if depth == 0 {
                leaf.boxed()
            } else {
                prop_oneof![
                    3 => leaf,
                    1 => (fields(depth - 1), 0u32..2, 1u32..4).prop_map(|(fields, min, max)| FieldKind::Group { fields, min_items: min, max_items: max.max(min) }),
                ]
                .boxed()
            }
        }

        fn fields(depth: u32) -> BoxedStrategy<Vec<FieldDef>> {
            proptest::collection::vec((kind(depth), any::<bool>(), 0u8..4, 0u8..4), 1..5)
                .prop_map(|specs| {
                    let mut out: Vec<FieldDef> = specs
                        .iter()
                        .enumerate()
                        .map(|(i, (k, req, _, _))| FieldDef {
                            key: format!("f{i}"),
                            label: I18nText::new(format!("Trường {i}"), format!("Field {i}")),
                            help: None,
                            required: *req,
                            show_if: None,
                            required_if: None,
                            kind: k.clone(),
                            data: None,
                        })
                        .collect();
                    // Conditions point at an earlier select/radio field, when there is one.
                    for (i, (_, _, show, req_if)) in specs.iter().enumerate() {
                        let target = out[..i]
                            .iter()
                            .find(|f| matches!(f.kind, FieldKind::Select { .. } | FieldKind::Radio { .. }))
                            .map(|f| f.key.clone());
                        if let Some(t) = target {
                            let value = ["a", "b", "c", "a"][usize::from(*show)];
                            if *show > 1 {
                                out[i].show_if = Some(Condition { field: t.clone(), equals: json!(value) });
                            }
                            if *req_if > 1 {
                                out[i].required_if =
                                    Some(Condition { field: t, equals: json!(["b", "c", "a", "b"][usize::from(*req_if)]) });
                            }
                        }
                    }
                    out
                })
                .boxed()
        }

        /// An answer for one field: mostly valid, often just past a boundary, sometimes junk or absent.
        fn answer(f: &FieldDef) -> BoxedStrategy<Option<Value>> {
            let junk = prop_oneof![Just(json!(true)), Just(json!("zz")), Just(json!(7)), Just(json!({"x": 1}))];
            let blank = prop_oneof![Just(None), Just(Some(Value::Null)), Just(Some(json!("")))];
            let shaped: BoxedStrategy<Value> = match &f.kind {
                FieldKind::Text { max_length } | FieldKind::LongText { max_length } => {
                    let m = *max_length as usize;
                    proptest::collection::vec(prop_oneof![Just('a'), Just('b'), Just('đ')], 1..=m + 1)
                        .prop_map(|c| Value::String(c.into_iter().collect()))
                        .boxed()
                }
                FieldKind::Number { min, max } => (min.unwrap_or(-6) - 1..=max.unwrap_or(12) + 1).prop_map(|n| json!(n)).boxed(),
                FieldKind::Money { max } => (-1..=max.unwrap_or(12) + 1).prop_map(|n| json!(n)).boxed(),
                FieldKind::Select { .. } | FieldKind::Radio { .. } => {
                    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")].prop_map(|v| json!(v)).boxed()
                }
                FieldKind::Checkboxes { .. } => {
                    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")], 0..5).prop_map(|v| json!(v)).boxed()
                }
                FieldKind::Group { fields, min_items, max_items } => {
                    let lo = min_items.saturating_sub(1) as usize;
                    proptest::collection::vec(object_for(fields), lo..=*max_items as usize + 1).prop_map(Value::Array).boxed()
                }
                _ => Just(json!("x")).boxed(),
            };
            prop_oneof![
                6 => shaped.prop_map(Some),
                2 => blank,
                1 => junk.prop_map(Some),
            ]
            .boxed()
        }

        /// Answers for a level of fields, now and then with a key the form does not have.
        fn object_for(fields: &[FieldDef]) -> BoxedStrategy<Value> {
            let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
            let per_field: Vec<BoxedStrategy<Option<Value>>> = fields.iter().map(answer).collect();
            (per_field, proptest::bool::weighted(0.1))
                .prop_map(move |(values, extra)| {
                    let mut m = Map::new();
                    for (k, v) in keys.iter().zip(values) {
                        if let Some(v) = v {
                            m.insert(k.clone(), v);
                        }
                    }
                    if extra {
                        m.insert("unknown".into(), json!("x"));
                    }
                    Value::Object(m)
                })
                .boxed()
        }

        fn form_and_answers() -> impl Strategy<Value = (FormDef, Value)> {
            fields(1).prop_flat_map(|fs| {
                let answers = object_for(&fs);
                (
                    Just(FormDef {
                        steps: vec![FormStep { key: "s".into(), title: I18nText::new("Bước", "Step"), fields: fs }],
                        persons: vec![],
                    }),
                    answers,
                )
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
            #[test]
            fn validator_agrees_with_json_schema((form, answers) in form_and_answers()) {
                prop_assume!(form.check(&[]).is_empty());
                let schema = form.json_schema();
                let reference = jsonschema::draft202012::new(&schema).expect("derived schema compiles");
                let ours = form.validate(&answers, &ctx());
                prop_assert_eq!(
                    ours.is_ok(),
                    reference.is_valid(&answers),
                    "form: {}\nanswers: {}\nours: {:?}\nschema: {}",
                    serde_json::to_string(&form).unwrap(), answers, ours.err(), schema
                );
            }
        }
    }
}
