//! Languages: Vietnamese first, English second. Interface strings live in `i18n/*.toml`.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

const VI: &str = include_str!("../i18n/vi.toml");
const EN: &str = include_str!("../i18n/en.toml");

fn parse(src: &str) -> HashMap<String, String> {
    // Flat `key = "value"` lines; a tiny parser keeps the toml crate out of this crate.
    let mut out = HashMap::new();
    for (n, line) in src.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("i18n line {}: missing =", n + 1));
        let v: String = serde_json::from_str(v.trim()).unwrap_or_else(|e| panic!("i18n line {}: {e}", n + 1));
        out.insert(k.trim().to_owned(), v);
    }
    out
}

pub fn messages(lang: Lang) -> &'static HashMap<String, String> {
    static VI_MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    static EN_MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    match lang {
        Lang::Vi => VI_MAP.get_or_init(|| parse(VI)),
        Lang::En => EN_MAP.get_or_init(|| parse(EN)),
    }
}

/// The message `key` in `lang`; the key itself when missing (tests keep the catalogs complete).
pub fn t(lang: Lang, key: &str) -> &str {
    messages(lang).get(key).map_or(key, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_have_the_same_keys() {
        let vi = messages(Lang::Vi);
        let en = messages(Lang::En);
        let mut missing: Vec<_> = vi.keys().filter(|k| !en.contains_key(*k)).collect();
        missing.extend(en.keys().filter(|k| !vi.contains_key(*k)));
        assert!(missing.is_empty(), "keys missing in one language: {missing:?}");
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let vi = messages(Lang::Vi);
        let mut unknown = vec![];
        for (name, src) in crate::templates::SOURCES {
            for part in src.split("t(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                if !vi.contains_key(key) {
                    unknown.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(unknown.is_empty(), "unknown message keys: {unknown:?}");
    }
}
