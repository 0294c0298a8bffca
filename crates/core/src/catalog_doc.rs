//! The catalog file (`thanglong catalog import|export`): YAML or JSON, validated in full.
//! Every problem is reported at once with its line, so an administrator fixes a file in
//! one pass; a file with any problem is refused as a whole.

use crate::catalog::{AdminUnit, AdminUnitKind, Agency, Field, Procedure};
use crate::ids::{check_admin_unit_code, check_procedure_code, AgencyId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

pub const FORMAT: &str = "thanglong-catalog/1";
/// Largest catalog file accepted (a province has ~2,100 procedures; this leaves ample room).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
const MAX_DEPTH: usize = 32;

/// A whole catalog: what `export` writes and `import` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogDocument {
    pub format: String,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub admin_units: Vec<AdminUnit>,
    #[serde(default)]
    pub agencies: Vec<Agency>,
    #[serde(default)]
    pub procedures: Vec<Procedure>,
}

/// One problem in a catalog file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocError {
    /// 1-based line of the offending value (0 when unknown).
    pub line: usize,
    /// JSON pointer of the offending value, e.g. `/procedures/3/versions/0/field`.
    pub path: String,
    pub code: &'static str,
    pub message_vi: String,
    pub message_en: String,
}

impl DocError {
    pub fn message(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.message_en
        } else {
            &self.message_vi
        }
    }
}

/// What already exists in the database, so a file may refer to it.
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub fields: HashSet<String>,
    pub admin_units: HashMap<String, AdminUnitKind>,
    pub agencies: HashSet<String>,
}

/// The serialised form of a catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// JSON when the file name says so or the text starts like JSON, else YAML.
    pub fn guess(file_name: &str, text: &str) -> Self {
        if file_name.ends_with(".json") || text.trim_start().starts_with(['{', '[']) {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

/// Parses and validates a catalog file; all problems, sorted by line, or the document.
pub fn load(text: &str, format: Format, known: &Known) -> Result<CatalogDocument, Vec<DocError>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![err(
            0,
            "",
            "file_too_large",
            format!("Tệp quá lớn (tối đa {} MB).", MAX_FILE_BYTES >> 20),
            format!("The file is too large (at most {} MB).", MAX_FILE_BYTES >> 20),
        )]);
    }
    // JSON is checked by a strict JSON parser first; the YAML event parser then gives lines.
    if format == Format::Json {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            return Err(vec![err(e.line(), "", "syntax", format!("Lỗi cú pháp JSON: {e}"), format!("JSON syntax error: {e}"))]);
        }
    }
    let (value, lines) = match parse_marked(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![e]),
    };
    let mut errors = Vec::new();
    let Value::Object(top) = &value else {
        return Err(vec![err(
            1,
            "",
            "not_a_mapping",
            "Tệp danh mục phải là một đối tượng (mapping) ở cấp cao nhất.",
            "The catalog file must be a mapping at the top level.",
        )]);
    };
    match top.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        _ => errors.push(err(
            lines.line_of("/format"),
            "/format",
            "format",
            format!("Thiếu hoặc sai khóa `format`: phải là `{FORMAT}`."),
            format!("Missing or wrong `format`: it must be `{FORMAT}`."),
        )),
    }
    for k in top.keys() {
        if !matches!(k.as_str(), "format" | "fields" | "admin_units" | "agencies" | "procedures") {
            let p = format!("/{}", escape(k));
            errors.push(err(
                lines.line_of(&p),
                &p,
                "unknown_key",
                format!("Khóa không được hỗ trợ: `{k}`."),
                format!("Unsupported key: `{k}`."),
            ));
        }
    }
    let mut doc = CatalogDocument { format: FORMAT.into(), ..Default::default() };
    doc.fields = section(top, "fields", &lines, &mut errors);
    doc.admin_units = section(top, "admin_units", &lines, &mut errors);
    doc.agencies = section(top, "agencies", &lines, &mut errors);
    doc.procedures = section(top, "procedures", &lines, &mut errors);
    validate(&doc, known, &lines, &mut errors);
    if errors.is_empty() {
        Ok(doc)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Validates a document built in code (e.g. from a form): the same rules as [`load`], without lines.
pub fn check(doc: &CatalogDocument, known: &Known) -> Vec<DocError> {
    let mut errors = Vec::new();
    validate(doc, known, &Lines::default(), &mut errors);
    errors
}

/// Parses and validates one procedure version as edited in the administration pages:
/// the YAML/JSON text of a version without its `effective_from`, which the form gives apart.
/// Errors point at lines of `text`.
pub fn load_version(
    text: &str,
    effective_from: chrono::NaiveDate,
    known: &Known,
) -> Result<crate::catalog::ProcedureVersion, Vec<DocError>> {
    if text.len() > 1024 * 1024 {
        return Err(vec![err(0, "", "file_too_large", "Nội dung quá lớn (tối đa 1 MB).", "The text is too large (at most 1 MB).")]);
    }
    let (mut value, lines) = parse_marked(text).map_err(|e| vec![e])?;
    let Value::Object(map) = &mut value else {
        return Err(vec![err(1, "", "not_a_mapping", "Nội dung phải là một đối tượng (mapping).", "The text must be a mapping.")]);
    };
    if map.contains_key("effective_from") {
        return Err(vec![err(
            lines.line_of("/effective_from"),
            "/effective_from",
            "effective_from_in_text",
            "Ngày hiệu lực được nhập ở ô riêng, không ghi trong nội dung.",
            "The effective date goes in its own box, not in the text.",
        )]);
    }
    map.insert("effective_from".into(), Value::String(effective_from.to_string()));
    let version: crate::catalog::ProcedureVersion = match serde_path_to_error::deserialize(&value) {
        Ok(v) => v,
        Err(e) => {
            let path = pointer("", e.path());
            let inner = e.into_inner().to_string();
            return Err(vec![err(
                lines.line_of(&path),
                &path,
                "structure",
                format!("Sai cấu trúc tại {path}: {inner}"),
                format!("Wrong structure at {path}: {inner}"),
            )]);
        }
    };
    let mut errors = Vec::new();
    let fields: HashSet<&str> = known.fields.iter().map(String::as_str).collect();
    let agencies: HashSet<&str> = known.agencies.iter().map(String::as_str).collect();
    let mut push = |path: String, code: &'static str, vi: String, en: String| {
        errors.push(err(lines.line_of(&path), &path, code, vi, en));
    };
    check_version(&version, "", &fields, &agencies, &mut push);
    if errors.is_empty() {
        Ok(version)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// A version as editable text: YAML without `effective_from` (see [`load_version`]).
pub fn dump_version(v: &crate::catalog::ProcedureVersion) -> String {
    let mut value = serde_json::to_value(v).expect("version serialises");
    if let Value::Object(m) = &mut value {
        m.remove("effective_from");
    }
    let mut out = String::new();
    write_yaml(&value, 0, &mut out, false);
    out
}

/// Largest process text the administration editor accepts.
pub const MAX_PROCESS_BYTES: usize = 64 * 1024;

/// Parses and checks a process edited in the administration pages: the YAML/JSON text of a
/// version's `process:` value (same shape as in the catalog file), checked against the
/// `version` it will belong to (its time limit) and the agencies that exist. Every problem is
/// returned at once, with its line in `text`.
pub fn load_process(
    text: &str,
    version: &crate::catalog::ProcedureVersion,
    known: &Known,
) -> Result<crate::process::Process, Vec<DocError>> {
    if text.len() > MAX_PROCESS_BYTES {
        return Err(vec![err(
            0,
            "",
            "file_too_large",
            format!("Nội dung quy trình quá lớn (tối đa {} KB).", MAX_PROCESS_BYTES >> 10),
            format!("The process text is too large (at most {} KB).", MAX_PROCESS_BYTES >> 10),
        )]);
    }
    if text.trim().is_empty() {
        return Err(vec![err(1, "", "empty", "Chưa nhập quy trình.", "The process is empty.")]);
    }
    let (value, lines) = parse_marked(text).map_err(|e| vec![e])?;
    if !value.is_object() {
        return Err(vec![err(
            1,
            "",
            "not_a_mapping",
            "Quy trình phải là một đối tượng (mapping) có khóa `steps`.",
            "The process must be a mapping with a `steps` key.",
        )]);
    }
    let process: crate::process::Process = match serde_path_to_error::deserialize(&value) {
        Ok(p) => p,
        Err(e) => {
            let path = pointer("", e.path());
            let inner = e.into_inner().to_string();
            let at = if path.is_empty() { "/".to_owned() } else { path.clone() };
            return Err(vec![err(
                lines.line_of(&path),
                &path,
                "structure",
                format!("Sai cấu trúc tại {at}: {inner}"),
                format!("Wrong structure at {at}: {inner}"),
            )]);
        }
    };
    let limit = version.time_limit_for(crate::catalog::Channel::InPerson);
    let mut errors: Vec<DocError> = process
        .check(limit, &|a| known.agencies.contains(a))
        .into_iter()
        .map(|e| {
            let path = answer_pointer(&e.path);
            DocError { line: lines.line_of(&path), path, code: e.code, message_vi: e.message_vi, message_en: e.message_en }
        })
        .collect();
    if errors.is_empty() {
        Ok(process)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// A process as editable YAML (see [`load_process`]).
/// Keys are written in reading order (id, name, role, agency, budget, decisions), not sorted.
pub fn dump_process(p: &crate::process::Process) -> String {
    use std::fmt::Write;
    fn name(v: impl Serialize) -> String {
        match serde_json::to_value(v) {
            Ok(Value::String(s)) => s,
            _ => String::new(),
        }
    }
    let text = |out: &mut String, key: &str, t: &crate::catalog::I18nText, pad: &str| {
        let _ = writeln!(out, "{pad}{key}:\n{pad}  vi: {}", yaml_scalar(&t.vi));
        if let Some(en) = &t.en {
            let _ = writeln!(out, "{pad}  en: {}", yaml_scalar(en));
        }
    };
    let mut out = String::from("steps:\n");
    for s in &p.steps {
        let _ = writeln!(out, "  - id: {}", yaml_scalar(&s.id));
        text(&mut out, "name", &s.name, "    ");
        let _ = writeln!(out, "    role: {}", name(s.role));
        if let Some(a) = &s.agency {
            let _ = writeln!(out, "    agency: {}", yaml_scalar(a));
        }
        let _ = writeln!(out, "    budget: {{value: {}, unit: {}}}", s.budget.value, name(s.budget.unit));
        out.push_str("    decisions:\n");
        for d in &s.decisions {
            let _ = writeln!(out, "      - id: {}", yaml_scalar(&d.id));
            text(&mut out, "label", &d.label, "        ");
            let _ = writeln!(out, "        kind: {}", d.kind.as_str());
            if let Some(t) = &d.to {
                let _ = writeln!(out, "        to: {}", yaml_scalar(t));
            }
        }
    }
    out
}

/// `steps[0].decisions[1].to` (a form or process check path) → `/steps/0/decisions/1/to`.
fn answer_pointer(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    for part in path.split('.').filter(|p| !p.is_empty()) {
        for seg in part.split(['[', ']']).filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(&escape(seg));
        }
    }
    out
}

/// Writes a catalog as YAML or JSON.
pub fn dump(doc: &CatalogDocument, format: Format) -> String {
    let value = serde_json::to_value(doc).expect("catalog serialises");
    match format {
        Format::Json => serde_json::to_string_pretty(&value).expect("json") + "\n",
        Format::Yaml => {
            let mut out = String::from("# Thăng Long catalog — edit and load with `thanglong catalog import FILE`.\n");
            write_yaml(&value, 0, &mut out, false);
            out
        }
    }
}

fn err(line: usize, path: &str, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> DocError {
    DocError { line, path: path.into(), code, message_vi: vi.into(), message_en: en.into() }
}

/// The JSON pointer of a serde error's location, below `base`.
fn pointer(base: &str, path: &serde_path_to_error::Path) -> String {
    let mut out = base.to_owned();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("/{index}")),
            serde_path_to_error::Segment::Map { key } => {
                out.push('/');
                out.push_str(&escape(key));
            }
            _ => {}
        }
    }
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Lines of every value in the file, by JSON pointer.
#[derive(Debug, Default)]
struct Lines(HashMap<String, usize>);

impl Lines {
    /// The line of `path`, or of its nearest ancestor that has one.
    fn line_of(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(l) = self.0.get(p) {
                return *l;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.0.get("").copied().unwrap_or(1),
            }
        }
    }
}

fn section<T: DeserializeOwned>(top: &Map<String, Value>, key: &str, lines: &Lines, errors: &mut Vec<DocError>) -> Vec<T> {
    let base = format!("/{key}");
    let items = match top.get(key) {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(err(
                lines.line_of(&base),
                &base,
                "not_a_list",
                format!("`{key}` phải là một danh sách."),
                format!("`{key}` must be a list."),
            ));
            return vec![];
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match serde_path_to_error::deserialize::<_, T>(item) {
            Ok(v) => out.push(v),
            Err(e) => {
                let path = pointer(&format!("{base}/{i}"), e.path());
                let inner = e.into_inner().to_string();
                errors.push(err(
                    lines.line_of(&path),
                    &path,
                    "structure",
                    format!("Sai cấu trúc tại {path}: {inner}"),
                    format!("Wrong structure at {path}: {inner}"),
                ));
            }
        }
    }
    out
}

fn validate(doc: &CatalogDocument, known: &Known, lines: &Lines, errors: &mut Vec<DocError>) {
    let mut push = |path: String, code: &'static str, vi: String, en: String| {
        errors.push(err(lines.line_of(&path), &path, code, vi, en));
    };

    // Fields.
    let mut fields: HashSet<&str> = known.fields.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    for (i, f) in doc.fields.iter().enumerate() {
        let p = format!("/fields/{i}");
        let ok =
            !f.code.is_empty() && f.code.len() <= 64 && f.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            push(
                format!("{p}/code"),
                "field_code",
                format!("Mã lĩnh vực `{}` không hợp lệ (chữ thường không dấu, số, gạch ngang).", f.code),
                format!("Field code `{}` is invalid (lowercase ASCII letters, digits, dashes).", f.code),
            );
        }
        if !seen.insert(f.code.as_str()) {
            push(
                format!("{p}/code"),
                "duplicate",
                format!("Mã lĩnh vực `{}` bị trùng.", f.code),
                format!("Duplicate field code `{}`.", f.code),
            );
        }
        check_text(&format!("{p}/name"), &f.name.vi, 200, &mut push);
        fields.insert(&f.code);
    }

    // Administrative units.
    let mut units: HashMap<&str, AdminUnitKind> = known.admin_units.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    for u in &doc.admin_units {
        units.insert(&u.code, u.kind);
    }
    let mut seen = HashSet::new();
    for (i, u) in doc.admin_units.iter().enumerate() {
        let p = format!("/admin_units/{i}");
        if check_admin_unit_code(&u.code).is_err() || u.code.len() != u.kind.code_len() {
            push(
                format!("{p}/code"),
                "admin_unit_code",
                format!("Mã đơn vị hành chính `{}` phải gồm {} chữ số với loại `{}`.", u.code, u.kind.code_len(), u.kind.as_str()),
                format!("Administrative unit code `{}` must have {} digits for kind `{}`.", u.code, u.kind.code_len(), u.kind.as_str()),
            );
        }
        if !seen.insert(u.code.as_str()) {
            push(
                format!("{p}/code"),
                "duplicate",
                format!("Mã đơn vị hành chính `{}` bị trùng.", u.code),
                format!("Duplicate administrative unit code `{}`.", u.code),
            );
        }
        check_text(&format!("{p}/name"), &u.name.vi, 200, &mut push);
        let top_level = matches!(u.kind, AdminUnitKind::Province | AdminUnitKind::Municipality);
        match (&u.parent, top_level) {
            (Some(parent), _) if !units.contains_key(parent.as_str()) => push(
                format!("{p}/parent"),
                "unknown_parent",
                format!("Đơn vị cấp trên `{parent}` không tồn tại."),
                format!("Parent unit `{parent}` does not exist."),
            ),
            (Some(parent), false)
                if !matches!(
                    units.get(parent.as_str()),
                    Some(AdminUnitKind::Province | AdminUnitKind::Municipality | AdminUnitKind::District)
                ) =>
            {
                push(
                    format!("{p}/parent"),
                    "bad_parent",
                    format!("Đơn vị cấp trên `{parent}` không phải cấp tỉnh hoặc cấp huyện."),
                    format!("Parent unit `{parent}` is not a province or district."),
                )
            }
            (Some(_), true) => push(
                format!("{p}/parent"),
                "bad_parent",
                "Đơn vị cấp tỉnh không có đơn vị cấp trên.".into(),
                "A province-level unit has no parent.".into(),
            ),
            (None, false) => push(
                p.clone(),
                "missing_parent",
                "Đơn vị cấp xã/huyện phải có đơn vị cấp trên (`parent`).".into(),
                "A commune- or district-level unit needs a `parent`.".into(),
            ),
            _ => {}
        }
        if u.valid_to.is_some_and(|to| to <= u.valid_from) {
            push(
                format!("{p}/valid_to"),
                "bad_interval",
                "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.".into(),
                "`valid_to` must be after `valid_from`.".into(),
            );
        }
        if !u.successors.is_empty() && u.valid_to.is_none() {
            push(
                format!("{p}/successors"),
                "successors_without_end",
                "Chỉ đơn vị đã hết hiệu lực (`valid_to`) mới có đơn vị kế thừa.".into(),
                "Only a unit that has ended (`valid_to`) has successors.".into(),
            );
        }
        for (j, s) in u.successors.iter().enumerate() {
            if !units.contains_key(s.as_str()) {
                push(
                    format!("{p}/successors/{j}"),
                    "unknown_successor",
                    format!("Đơn vị kế thừa `{s}` không tồn tại."),
                    format!("Successor unit `{s}` does not exist."),
                );
            }
        }
    }

    // Agencies: a tree whose IDs extend their parent's; parents come first.
    let mut agencies: HashSet<&str> = known.agencies.iter().map(String::as_str).collect();
    for (i, a) in doc.agencies.iter().enumerate() {
        let p = format!("/agencies/{i}");
        let id = AgencyId::parse(&a.electronic_id);
        if let Err(e) = &id {
            push(
                format!("{p}/electronic_id"),
                e.code(),
                format!("`{}`: {}", a.electronic_id, e.message("vi")),
                format!("`{}`: {}", a.electronic_id, e.message("en")),
            );
        }
        if !agencies.insert(&a.electronic_id) && !known.agencies.contains(&a.electronic_id) {
            push(
                format!("{p}/electronic_id"),
                "duplicate",
                format!("Mã định danh `{}` bị trùng.", a.electronic_id),
                format!("Duplicate electronic ID `{}`.", a.electronic_id),
            );
        }
        check_text(&format!("{p}/name"), &a.name.vi, 300, &mut push);
        if let Some(parent) = &a.parent {
            let before = doc.agencies[..i].iter().any(|b| &b.electronic_id == parent) || known.agencies.contains(parent);
            if !before {
                push(
                    format!("{p}/parent"),
                    "unknown_parent",
                    format!("Cơ quan cấp trên `{parent}` không tồn tại hoặc chưa được khai báo trước cơ quan này."),
                    format!("Parent agency `{parent}` does not exist or is not listed before this agency."),
                );
            } else if let (Ok(id), Ok(pid)) = (&id, AgencyId::parse(parent)) {
                if !id.extends(&pid) {
                    push(
                        format!("{p}/electronic_id"),
                        "id_not_under_parent",
                        format!("Mã `{}` phải bắt đầu bằng mã cơ quan cấp trên `{parent}` và thêm đúng một nhóm.", a.electronic_id),
                        format!("ID `{}` must extend its parent's ID `{parent}` by exactly one group.", a.electronic_id),
                    );
                }
            }
        } else if a.electronic_id.contains('.') {
            push(
                format!("{p}/parent"),
                "missing_parent",
                "Cơ quan có mã nhiều cấp phải có cơ quan cấp trên (`parent`).".into(),
                "An agency with a multi-level ID needs a `parent`.".into(),
            );
        }
        if let Some(u) = &a.admin_unit {
            if !units.contains_key(u.as_str()) {
                push(
                    format!("{p}/admin_unit"),
                    "unknown_admin_unit",
                    format!("Đơn vị hành chính `{u}` không tồn tại."),
                    format!("Administrative unit `{u}` does not exist."),
                );
            }
        }
        if a.valid_to.is_some_and(|to| to <= a.valid_from) {
            push(
                format!("{p}/valid_to"),
                "bad_interval",
                "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.".into(),
                "`valid_to` must be after `valid_from`.".into(),
            );
        }
    }

    // Procedures.
    let mut seen = HashSet::new();
    for (i, pr) in doc.procedures.iter().enumerate() {
        let p = format!("/procedures/{i}");
        if check_procedure_code(&pr.code).is_err() {
            push(
                format!("{p}/code"),
                "procedure_code_format",
                format!("Mã thủ tục `{}` phải có dạng 1.001193.", pr.code),
                format!("Procedure code `{}` must look like 1.001193.", pr.code),
            );
        }
        if !seen.insert(pr.code.as_str()) {
            push(
                format!("{p}/code"),
                "duplicate",
                format!("Mã thủ tục `{}` bị trùng.", pr.code),
                format!("Duplicate procedure code `{}`.", pr.code),
            );
        }
        if pr.versions.is_empty() {
            push(
                format!("{p}/versions"),
                "no_versions",
                "Thủ tục phải có ít nhất một phiên bản.".into(),
                "A procedure needs at least one version.".into(),
            );
        }
        let mut dates = HashSet::new();
        for (j, v) in pr.versions.iter().enumerate() {
            let vp = format!("{p}/versions/{j}");
            if !dates.insert(v.effective_from) {
                push(
                    format!("{vp}/effective_from"),
                    "duplicate_version",
                    "Hai phiên bản có cùng ngày hiệu lực.".into(),
                    "Two versions have the same effective date.".into(),
                );
            }
            check_version(v, &vp, &fields, &agencies, &mut push);
        }
    }
}

/// Records one problem: JSON pointer, code, Vietnamese and English messages.
type Push<'a> = dyn FnMut(String, &'static str, String, String) + 'a;

fn check_text(path: &str, vi: &str, max: usize, push: &mut Push) {
    if vi.trim().is_empty() {
        push(
            format!("{path}/vi"),
            "empty_text",
            "Không được để trống tên tiếng Việt.".into(),
            "The Vietnamese text must not be empty.".into(),
        );
    } else if vi.chars().count() > max {
        push(
            format!("{path}/vi"),
            "text_too_long",
            format!("Văn bản dài quá {max} ký tự."),
            format!("The text is longer than {max} characters."),
        );
    }
}

fn check_version(v: &crate::catalog::ProcedureVersion, vp: &str, fields: &HashSet<&str>, agencies: &HashSet<&str>, push: &mut Push) {
    check_text(&format!("{vp}/name"), &v.name.vi, 500, push);
    check_text(&format!("{vp}/result"), &v.result.vi, 500, push);
    if !fields.contains(v.field.as_str()) {
        push(
            format!("{vp}/field"),
            "unknown_field",
            format!("Lĩnh vực `{}` không tồn tại.", v.field),
            format!("Field `{}` does not exist.", v.field),
        );
    }
    if v.agencies.is_empty() {
        push(
            format!("{vp}/agencies"),
            "no_agency",
            "Phải có ít nhất một cơ quan thực hiện.".into(),
            "At least one handling agency is required.".into(),
        );
    }
    for (k, a) in v.agencies.iter().enumerate() {
        if !agencies.contains(a.as_str()) {
            push(
                format!("{vp}/agencies/{k}"),
                "unknown_agency",
                format!("Cơ quan `{a}` không tồn tại."),
                format!("Agency `{a}` does not exist."),
            );
        }
    }
    if v.applicants.is_empty() {
        push(format!("{vp}/applicants"), "no_applicant", "Phải nêu đối tượng thực hiện.".into(), "Who may file must be given.".into());
    }
    if v.result_delivery.is_empty() {
        push(
            format!("{vp}/result_delivery"),
            "no_delivery",
            "Phải nêu cách thức trả kết quả.".into(),
            "How the result is returned must be given.".into(),
        );
    }
    if v.time_limits.is_empty() {
        push(format!("{vp}/time_limits"), "no_time_limit", "Phải có thời hạn giải quyết.".into(), "A time limit is required.".into());
    }
    let mut channels = HashSet::new();
    for (k, t) in v.time_limits.iter().enumerate() {
        let tp = format!("{vp}/time_limits/{k}");
        if !channels.insert(t.channel) {
            push(tp.clone(), "duplicate_time_limit", "Mỗi kênh chỉ có một thời hạn.".into(), "Each channel has one time limit.".into());
        }
        if t.unit == crate::catalog::TimeUnit::SameDay && t.value != 0 {
            push(
                format!("{tp}/value"),
                "same_day_value",
                "Thời hạn `same_day` phải có `value: 0`.".into(),
                "A `same_day` limit must have `value: 0`.".into(),
            );
        }
        if t.unit != crate::catalog::TimeUnit::SameDay && !(1..=3650).contains(&t.value) {
            push(
                format!("{tp}/value"),
                "time_value",
                "Thời hạn phải từ 1 đến 3650.".into(),
                "A time limit must be between 1 and 3650.".into(),
            );
        }
        if let Some(c) = &t.cutoff {
            if chrono::NaiveTime::parse_from_str(c, "%H:%M").is_err() {
                push(
                    format!("{tp}/cutoff"),
                    "cutoff_format",
                    format!("Giờ tiếp nhận cuối `{c}` phải có dạng HH:MM."),
                    format!("Cut-off `{c}` must be HH:MM."),
                );
            }
        }
    }
    if let Some(form) = &v.form {
        let components: Vec<&str> = v.components.iter().map(|c| c.key.as_str()).collect();
        for e in form.check(&components) {
            push(
                format!("{vp}/form"),
                e.code,
                format!("Biểu mẫu, trường `{}`: {}", e.path, e.message_vi),
                format!("Form, field `{}`: {}", e.path, e.message_en),
            );
        }
    }
    if let Some(t) = &v.result_template {
        let keys: HashSet<String> =
            v.form.iter().flat_map(|f| f.steps.iter().flat_map(|s| s.fields.iter().map(|f| f.key.clone()))).collect();
        let named = t.fields.iter().map(|f| f.answer.clone()).chain(t.placeholders());
        for k in named {
            if !keys.contains(&k) {
                push(
                    format!("{vp}/result_template"),
                    "unknown_answer",
                    format!("Mẫu kết quả dùng câu trả lời `{k}` mà biểu mẫu không có."),
                    format!("The result template uses answer `{k}`, which the form does not have."),
                );
            }
        }
        check_text(&format!("{vp}/result_template/title"), &t.title.vi, 200, push);
    }
    if let Some(process) = &v.process {
        let limit = v.time_limit_for(crate::catalog::Channel::InPerson);
        for e in process.check(limit, &|a| agencies.contains(a)) {
            push(
                format!("{vp}/process"),
                e.code,
                format!("Quy trình, `{}`: {}", e.path, e.message_vi),
                format!("Process, `{}`: {}", e.path, e.message_en),
            );
        }
    }
    let mut keys = HashSet::new();
    for (k, c) in v.components.iter().enumerate() {
        let cp = format!("{vp}/components/{k}");
        let key_ok =
            !c.key.is_empty() && c.key.len() <= 64 && c.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !key_ok {
            push(
                format!("{cp}/key"),
                "component_key",
                format!("Khóa thành phần `{}` không hợp lệ.", c.key),
                format!("Component key `{}` is invalid.", c.key),
            );
        }
        if !keys.insert(c.key.as_str()) {
            push(
                format!("{cp}/key"),
                "duplicate",
                format!("Khóa thành phần `{}` bị trùng.", c.key),
                format!("Duplicate component key `{}`.", c.key),
            );
        }
        check_text(&format!("{cp}/name"), &c.name.vi, 500, push);
        if !(1..=100).contains(&c.copies) {
            push(format!("{cp}/copies"), "copies", "Số bản phải từ 1 đến 100.".into(), "Copies must be between 1 and 100.".into());
        }
    }
}

// ---- YAML/JSON → JSON value, with the line of every value ----

enum Frame {
    Map { obj: Map<String, Value>, key: Option<String>, path: String },
    Seq { arr: Vec<Value>, path: String },
}

struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    lines: Lines,
    error: Option<DocError>,
    documents: usize,
}

impl Builder {
    fn child_path(&self) -> String {
        match self.stack.last() {
            Some(Frame::Map { key: Some(k), path, .. }) => format!("{path}/{}", escape(k)),
            Some(Frame::Seq { arr, path }) => format!("{path}/{}", arr.len()),
            _ => String::new(),
        }
    }

    fn fail(&mut self, mark: Marker, code: &'static str, vi: &str, en: &str) {
        if self.error.is_none() {
            self.error = Some(err(mark.line(), "", code, vi, en));
        }
    }

    fn put(&mut self, v: Value) {
        match self.stack.last_mut() {
            Some(Frame::Map { obj, key, .. }) => {
                if let Some(k) = key.take() {
                    obj.insert(k, v);
                }
            }
            Some(Frame::Seq { arr, .. }) => arr.push(v),
            None => self.root = Some(v),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        // In a mapping without a pending key, a scalar is the key.
        if let (Some(Frame::Map { key: key @ None, obj, .. }), Event::Scalar(s, ..)) = (self.stack.last_mut(), &ev) {
            if obj.contains_key(s) {
                let s = s.clone();
                self.fail(mark, "duplicate_key", &format!("Khóa `{s}` xuất hiện hai lần."), &format!("Key `{s}` appears twice."));
                return;
            }
            *key = Some(s.clone());
            return;
        }
        if let (Some(Frame::Map { key: None, .. }), Event::MappingStart(..) | Event::SequenceStart(..)) = (self.stack.last(), &ev) {
            self.fail(mark, "complex_key", "Khóa phải là một giá trị đơn.", "Keys must be plain scalars.");
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        mark,
                        "multiple_documents",
                        "Tệp chỉ được chứa một tài liệu YAML.",
                        "The file must hold a single YAML document.",
                    );
                }
            }
            Event::Alias(_) => self.fail(mark, "alias", "Không hỗ trợ bí danh YAML (*alias).", "YAML aliases (*alias) are not supported."),
            Event::Scalar(s, style, _, tag) => {
                let path = self.child_path();
                self.lines.0.insert(path, mark.line());
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let v = if style == TScalarStyle::Plain && !is_str_tag { resolve_plain(&s) } else { Value::String(s) };
                self.put(v);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(mark, "too_deep", "Cấu trúc lồng nhau quá sâu.", "The structure is nested too deeply.");
                    return;
                }
                let path = self.child_path();
                self.lines.0.insert(path.clone(), mark.line());
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map { obj: Map::new(), key: None, path }
                } else {
                    Frame::Seq { arr: Vec::new(), path }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let v = match self.stack.pop() {
                    Some(Frame::Map { obj, .. }) => Value::Object(obj),
                    Some(Frame::Seq { arr, .. }) => Value::Array(arr),
                    None => return,
                };
                self.put(v);
            }
            _ => {}
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = s.trim_start_matches('+').parse::<u64>() {
            return Value::from(n);
        }
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float {
        if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(s.to_owned())
}

fn parse_marked(text: &str) -> Result<(Value, Lines), DocError> {
    let mut b = Builder { stack: vec![], root: None, lines: Lines::default(), error: None, documents: 0 };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut b, true) {
        let m = e.marker();
        return Err(err(
            m.line(),
            "",
            "syntax",
            format!("Lỗi cú pháp ở dòng {}, cột {}: {}", m.line(), m.col() + 1, e.info()),
            format!("Syntax error at line {}, column {}: {}", m.line(), m.col() + 1, e.info()),
        ));
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    match b.root {
        Some(v) => Ok((v, b.lines)),
        None => Err(err(1, "", "empty", "Tệp rỗng.", "The file is empty.")),
    }
}

// ---- A small YAML writer for export (block style, strings quoted when needed) ----

fn write_yaml(v: &Value, indent: usize, out: &mut String, in_seq: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, val)) in m.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&yaml_scalar(k));
                out.push(':');
                write_nested(val, indent, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, val) in a.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match val {
                    Value::Object(m) if !m.is_empty() => write_yaml(val, indent + 2, out, true),
                    Value::Array(a) if !a.is_empty() => write_yaml(val, indent + 2, out, true),
                    _ => {
                        out.push_str(&scalar_text(val));
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            out.push_str(&scalar_text(v));
            out.push('\n');
        }
    }
}

fn write_nested(val: &Value, indent: usize, out: &mut String) {
    match val {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_yaml(val, indent + 2, out, false);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_yaml(val, indent + 2, out, false);
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar_text(val));
            out.push('\n');
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain_safe = !s.is_empty()
        && resolve_plain(s) == Value::String(s.to_owned())
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains('\n')
        && !s.ends_with(':');
    if plain_safe {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("string")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"format: thanglong-catalog/1
fields:
  - code: ho-tich
    name: {vi: "Hộ tịch", en: "Civil status"}
admin_units:
  - code: "01"
    name: {vi: "Thành phố Hà Nội"}
    kind: municipality
    valid_from: 2008-08-01
  - code: "00004"
    name: {vi: "Phường Ba Đình"}
    kind: ward
    parent: "01"
    valid_from: 2025-07-01
agencies:
  - electronic_id: H26
    name: {vi: "UBND Thành phố Hà Nội"}
    level: province
    admin_unit: "01"
    valid_from: 2025-07-01
  - electronic_id: H26.50
    name: {vi: "UBND phường Ba Đình"}
    level: commune
    parent: H26
    admin_unit: "00004"
    valid_from: 2025-07-01
procedures:
  - code: "1.001193"
    versions:
      - effective_from: 2025-07-01
        name: {vi: "Đăng ký khai sinh", en: "Birth registration"}
        field: ho-tich
        level: full_online
        agencies: [H26.50]
        applicants: [citizen]
        time_limits:
          - {value: 0, unit: same_day, cutoff: "15:00"}
        fees:
          - name: {vi: "Lệ phí đăng ký khai sinh"}
            kind: charge
            basis: exempt
        components:
          - key: to-khai
            name: {vi: "Tờ khai đăng ký khai sinh"}
            form: declaration
        result: {vi: "Giấy khai sinh"}
        result_delivery: [online, post]
"#;

    #[test]
    fn loads_a_good_file_and_round_trips() {
        let doc = load(GOOD, Format::Yaml, &Known::default()).expect("valid");
        assert_eq!(doc.procedures[0].versions[0].name.vi, "Đăng ký khai sinh");
        assert_eq!(doc.admin_units[1].code, "00004");
        for f in [Format::Yaml, Format::Json] {
            let text = dump(&doc, f);
            let again = load(&text, f, &Known::default()).unwrap_or_else(|e| panic!("{f:?}: {e:?}\n{text}"));
            assert_eq!(again, doc);
        }
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let bad = GOOD
            .replace("field: ho-tich", "field: ho-tik")
            .replace("agencies: [H26.50]", "agencies: [H26.50, H99.01]")
            .replace("electronic_id: H26.50", "electronic_id: H27.50")
            .replace("agencies: [H26.50, H99.01]", "agencies: [H27.50, H99.01]")
            .replace("basis: exempt", "basis: fixed");
        let errs = load(&bad, Format::Yaml, &Known::default()).unwrap_err();
        let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.code)).collect();
        // The fixed fee without an amount stops that procedure's structure check; the agency
        // error is found independently.
        assert!(got.contains(&(21, "id_not_under_parent")), "{got:?}");
        assert!(got.contains(&(39, "structure")), "{got:?}");
        assert!(errs.windows(2).all(|w| w[0].line <= w[1].line));
    }

    #[test]
    fn a_result_template_may_only_name_the_forms_answers() {
        let with = |answer: &str| {
            GOOD.replace(
                "        result_delivery: [online, post]\n",
                &format!(
                    "        result_delivery: [online, post]\n        result_template:\n          title: {{vi: \"Trích lục\"}}\n          fields:\n            - {{label: {{vi: \"Tên\"}}, answer: {answer}}}\n"
                ),
            )
        };
        // GOOD has no form: any named answer is unknown.
        let errs = load(&with("child_name"), Format::Yaml, &Known::default()).unwrap_err();
        assert!(errs.iter().any(|e| e.code == "unknown_answer" && e.message_vi.contains("child_name")), "{errs:?}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let bad = GOOD.replace("field: ho-tich", "field: ho-tik").replace("[H26.50]", "[H26.50, H99.01]");
        let errs = load(&bad, Format::Yaml, &Known::default()).unwrap_err();
        let got: Vec<(usize, &str, &str)> = errs.iter().map(|e| (e.line, e.code, e.path.as_str())).collect();
        assert_eq!(
            got,
            vec![(32, "unknown_field", "/procedures/0/versions/0/field"), (34, "unknown_agency", "/procedures/0/versions/0/agencies/1"),]
        );
        assert!(errs[0].message_vi.contains("Lĩnh vực `ho-tik` không tồn tại"));
    }

    #[test]
    fn syntax_and_shape_errors() {
        let e = load("format: [\n", Format::Yaml, &Known::default()).unwrap_err();
        assert_eq!(e[0].code, "syntax");
        let e = load("{\"format\": 1,\n \"x\": }", Format::Json, &Known::default()).unwrap_err();
        assert_eq!((e[0].code, e[0].line), ("syntax", 2));
        let e = load("- 1\n- 2\n", Format::Yaml, &Known::default()).unwrap_err();
        assert_eq!(e[0].code, "not_a_mapping");
        let e = load("a: &x 1\nb: *x\n", Format::Yaml, &Known::default()).unwrap_err();
        assert_eq!(e[0].code, "alias");
        let e = load("format: a\nformat: b\n", Format::Yaml, &Known::default()).unwrap_err();
        assert_eq!((e[0].code, e[0].line), ("duplicate_key", 2));
        let deep = "a: ".to_owned() + &"[".repeat(100) + &"]".repeat(100);
        let e = load(&deep, Format::Yaml, &Known::default()).unwrap_err();
        assert_eq!(e[0].code, "too_deep");
    }

    #[test]
    fn refers_to_known_rows() {
        let extra = "format: thanglong-catalog/1\nagencies:\n  - electronic_id: H26.51\n    name: {vi: \"UBND phường Ngọc Hà\"}\n    level: commune\n    parent: H26\n    valid_from: 2025-07-01\n";
        let mut known = Known::default();
        assert!(load(extra, Format::Yaml, &known).is_err());
        known.agencies.insert("H26".into());
        assert!(load(extra, Format::Yaml, &known).is_ok());
    }

    #[test]
    fn edits_one_version_with_lines_in_the_edited_text() {
        let doc = load(GOOD, Format::Yaml, &Known::default()).unwrap();
        let v = &doc.procedures[0].versions[0];
        let text = dump_version(v);
        assert!(!text.contains("effective_from"));
        let mut known = Known::default();
        known.fields.insert("ho-tich".into());
        known.agencies.insert("H26.50".into());
        let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let again = load_version(&text, day, &known).expect("round trip");
        assert_eq!(again.effective_from, day);
        assert_eq!(again.name, v.name);
        let broken = text.replace("field: ho-tich", "field: nope");
        let line = broken.lines().position(|l| l.contains("field: nope")).unwrap() + 1;
        let errs = load_version(&broken, day, &known).unwrap_err();
        assert_eq!((errs[0].line, errs[0].code), (line, "unknown_field"));
        let errs = load_version("name: [", day, &known).unwrap_err();
        assert_eq!(errs[0].code, "syntax");
    }

    #[test]
    fn every_seed_version_survives_the_editor_round_trip() {
        let seed = include_str!("../../thanglong/seed/catalog.yaml");
        let doc = load(seed, Format::Yaml, &Known::default()).expect("seed is valid");
        let known = Known {
            fields: doc.fields.iter().map(|f| f.code.clone()).collect(),
            admin_units: doc.admin_units.iter().map(|u| (u.code.clone(), u.kind)).collect(),
            agencies: doc.agencies.iter().map(|a| a.electronic_id.clone()).collect(),
        };
        let mut forms = 0;
        for p in &doc.procedures {
            for v in &p.versions {
                let text = dump_version(v);
                let again =
                    load_version(&text, v.effective_from, &known).unwrap_or_else(|e| panic!("{} {}: {e:?}", p.code, v.effective_from));
                assert_eq!(&again, v, "{}", p.code);
                let process = load_process(&dump_process(&v.process()), v, &known).unwrap_or_else(|e| panic!("{}: {e:?}", p.code));
                assert_eq!(process, *v.process(), "{}", p.code);
                forms += usize::from(v.form.is_some());
            }
        }
        assert!(forms >= 7, "the six filing procedures have forms ({forms})");
    }

    #[test]
    fn a_process_is_edited_as_yaml_with_every_problem_on_its_line() {
        let doc = load(GOOD, Format::Yaml, &Known::default()).unwrap();
        let v = &doc.procedures[0].versions[0];
        let known = Known { agencies: ["H26.50".to_owned()].into(), ..Default::default() };
        // The standard process, dumped and read back, is valid for the same-day limit.
        let text = dump_process(&v.process());
        assert_eq!(load_process(&text, v, &known).expect("round trip"), *v.process());
        assert!(text.starts_with("steps:\n  - id: review\n    name:\n      vi: "), "{text}");
        // Several problems at once, each with its line.
        let bad = text.replacen("value: 5", "value: 9", 1).replacen("to: review", "to: return", 1).replacen(
            "role: reception",
            "role: reception\n    agency: H99.01",
            1,
        );
        let errs = load_process(&bad, v, &known).unwrap_err();
        let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.code, e.path.as_str())).collect();
        assert!(got.contains(&("budget_exceeded", "/steps")), "{got:?}");
        assert!(got.contains(&("send_back_forward", "/steps/1/decisions/1/to")), "{got:?}");
        assert!(got.contains(&("unknown_agency", "/steps/2/agency")), "{got:?}");
        let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let agency = errs.iter().find(|e| e.code == "unknown_agency").unwrap();
        assert_eq!(agency.line, line_of("agency: H99.01"));
        assert!(agency.message_vi.contains("Không có cơ quan `H99.01`"), "{}", agency.message_vi);
        // Shape, syntax and size.
        let e = load_process(&text.replacen("role: specialist", "role: specialist\n    colour: red", 1), v, &known).unwrap_err();
        assert_eq!((e[0].code, e[0].line), ("structure", line_of("role: specialist") + 1));
        assert!(e[0].message_en.contains("unknown field `colour`"), "{}", e[0].message_en);
        assert_eq!(load_process("steps: [", v, &known).unwrap_err()[0].code, "syntax");
        assert_eq!(load_process("- 1", v, &known).unwrap_err()[0].code, "not_a_mapping");
        assert_eq!(load_process("  \n", v, &known).unwrap_err()[0].code, "empty");
        let huge = format!("steps: []\n#{}\n", "x".repeat(MAX_PROCESS_BYTES));
        assert_eq!(load_process(&huge, v, &known).unwrap_err()[0].code, "file_too_large");
        assert_eq!(answer_pointer("steps[0].decisions[12].to"), "/steps/0/decisions/12/to");
        assert_eq!(answer_pointer("steps"), "/steps");
    }

    #[test]
    fn yaml_scalars_quote_when_needed() {
        for s in ["01", "true", "null", "1.5", "a: b", "- x", "", " x", "H26.50", "Đăng ký", "x #y", "3e5"] {
            let q = yaml_scalar(s);
            let (v, _) = parse_marked(&format!("k: {q}\n")).unwrap();
            assert_eq!(v["k"], Value::String(s.into()), "{s} → {q}");
        }
    }
}
