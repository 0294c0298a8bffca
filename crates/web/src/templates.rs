//! Server-rendered pages (minijinja), compiled into the binary.

use crate::i18n::{self, Lang};
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, State};

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        pub const SOURCES: &[(&str, &str)] = &[$(($name, include_str!(concat!("../templates/", $name)))),*];
    };
}

sources!(
    "base.html",
    "macros.html",
    "error.html",
    "index.html",
    "search.html",
    "procedure.html",
    "fields.html",
    "agencies.html",
    "agency.html",
    "signin.html",
    "signup.html",
    "federated.html",
    "federated_error.html",
    "account.html",
    "security.html",
    "delegation.html",
    "data_store.html",
    "consents.html",
    "second_factor.html",
    "totp_setup.html",
    "recovery_codes.html",
    "lookup.html",
    "counter.html",
    "office/queue.html",
    "office/inbox.html",
    "verify.html",
    "filing/fields.html",
    "filing/step.html",
    "filing/review.html",
    "filing/answers.html",
    "filing/mine.html",
    "filing/show.html",
    "admin/index.html",
    "admin/agencies.html",
    "admin/agency_form.html",
    "admin/units.html",
    "admin/calendar.html",
    "admin/unit_form.html",
    "admin/procedures.html",
    "admin/procedure_form.html",
    "admin/process.html",
    "admin/accounts.html",
    "admin/account_form.html",
    "admin/account.html",
    "admin/audit.html",
    "admin/oidc_clients.html",
    "admin/oidc_client_form.html",
    "admin/oidc_client_secret.html",
    "oidc/consent.html",
    "oidc/continue.html",
    "oidc/logout.html",
    "oidc/logged_out.html",
    "oidc/apps.html",
    "access_log.html",
);

fn lang_of(state: &State) -> Lang {
    state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::parse)).unwrap_or_default()
}

/// `t("key")`: the interface string in the page's language.
fn t(state: &State, key: &str) -> String {
    i18n::t(lang_of(state), key).to_owned()
}

/// `obj|tr`: the `vi`/`en` text of an I18nText value in the page's language.
fn tr(state: &State, v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let vi = v.get_attr("vi")?;
    let en = v.get_attr("en")?;
    let pick = if lang_of(state) == Lang::En && en.as_str().is_some_and(|s| !s.is_empty()) { en } else { vi };
    Ok(pick.as_str().unwrap_or_default().to_owned())
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// `obj|trh`: like `tr`, as HTML; Vietnamese shown on an English page is marked `lang="vi"`
/// so screen readers pronounce it right. Not for attributes or `<option>`.
fn trh(state: &State, v: Value) -> Result<Value, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(Value::from(""));
    }
    let en = v.get_attr("en")?;
    let vi = v.get_attr("vi")?;
    let english_page = lang_of(state) == Lang::En;
    Ok(match (english_page, en.as_str().filter(|s| !s.is_empty())) {
        (true, Some(e)) => Value::from(e.to_owned()),
        (true, None) => Value::from_safe_string(format!("<span lang=\"vi\">{}</span>", escape_html(vi.as_str().unwrap_or_default()))),
        (false, _) => Value::from(vi.as_str().unwrap_or_default().to_owned()),
    })
}

/// `text|vi`: a Vietnamese-only string (legal titles, template names), marked on English pages.
fn vi(state: &State, v: Value) -> Value {
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| if v.is_none() || v.is_undefined() { String::new() } else { v.to_string() });
    if lang_of(state) == Lang::En {
        Value::from_safe_string(format!("<span lang=\"vi\">{}</span>", escape_html(&s)))
    } else {
        Value::from(s)
    }
}

/// `n|vnd`: 200000 → "200.000 ₫".
fn vnd(v: Value) -> Result<String, Error> {
    let n = i64::try_from(v).map_err(|_| Error::new(ErrorKind::InvalidOperation, "vnd expects a number"))?;
    Ok(tl_core::fmt::vnd(n.max(0) as u64))
}

/// `"2026-02-07"|date`: → "07/02/2026".
fn date(v: Value) -> String {
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    match chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d") {
        Ok(d) => tl_core::fmt::date(d),
        Err(_) => s,
    }
}

/// An RFC 3339 instant → "hh:mm dd/mm/yyyy" in Vietnam's time.
fn datetime(v: Value) -> String {
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    match chrono::DateTime::parse_from_rfc3339(&s) {
        Ok(t) => tl_core::fmt::datetime(t.with_timezone(&chrono::Utc)),
        Err(_) => s,
    }
}

/// `n|thousands`: 12345 → "12.345".
fn thousands(v: Value) -> String {
    i64::try_from(v).map(|n| tl_core::fmt::group_thousands(n.max(0) as u64)).unwrap_or_default()
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, src) in SOURCES {
        env.add_template(name, src).unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_function("t", t);
    env.add_filter("tr", tr);
    env.add_filter("trh", trh);
    env.add_filter("vi", vi);
    env.add_filter("vnd", vnd);
    env.add_filter("date", date);
    env.add_filter("datetime", datetime);
    env.add_filter("thousands", thousands);
    env
}

#[cfg(test)]
mod tests {
    /// A page's title block is text for the browser tab and screen readers' first words: a
    /// misplaced section there once made the tab read a whole panel (three pages had it).
    #[test]
    fn title_blocks_hold_text_only() {
        for (name, src) in super::SOURCES {
            if let Some(i) = src.find("{% block title %}") {
                let rest = &src[i..];
                let end = rest.find("{% endblock %}").unwrap_or_else(|| panic!("{name}: title block not closed"));
                let title = &rest[..end];
                assert!(!title.contains('<') && !title.contains('\n'), "{name}: the title block holds markup: {title}");
            }
        }
    }
}
