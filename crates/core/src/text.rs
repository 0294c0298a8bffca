//! Vietnamese text folding for search: case, diacritics and đ/Đ are ignored,
//! so "ĐĂNG KÝ KẾT HÔN", "dang ky ket hon" and "Đăng ký kết hôn" are the same.

use unicode_normalization::UnicodeNormalization;

/// Longest search text we accept, in characters (a longer one is a user error, not a crash).
pub const MAX_QUERY_CHARS: usize = 200;
/// Most search terms we use from one query.
pub const MAX_QUERY_TERMS: usize = 12;

/// Folds text for search: NFD, combining marks dropped, đ→d, lowercase,
/// every run of non-alphanumeric characters turned into one space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            // Other letters with strokes that NFD does not decompose.
            'ø' | 'Ø' => 'o',
            'ł' | 'Ł' => 'l',
            c => c,
        };
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                out.push(l);
            }
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The search terms of a query: folded words, at most [`MAX_QUERY_TERMS`], each
/// made only of alphanumeric characters (safe to put in an FTS5 or tsquery expression).
pub fn terms(query: &str) -> Vec<String> {
    fold(query).split(' ').filter(|t| !t.is_empty()).take(MAX_QUERY_TERMS).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("ĐĂNG KÝ KẾT HÔN"), "dang ky ket hon");
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
        assert_eq!(fold("Giấy phép xây dựng"), "giay phep xay dung");
        assert_eq!(fold("  Cư trú —  thường   trú! "), "cu tru thuong tru");
        assert_eq!(fold("Phường Ngọc Hà"), "phuong ngoc ha");
        // Precomposed and decomposed input fold alike.
        assert_eq!(fold("Ho\u{0302}\u{0300}"), fold("Hồ"));
    }

    #[test]
    fn other_scripts_survive() {
        assert_eq!(fold("出生登记"), "出生登记");
        assert_eq!(terms("khai sinh 出生"), vec!["khai", "sinh", "出生"]);
    }

    #[test]
    fn terms_are_bounded_and_safe() {
        let q = "a ".repeat(100);
        assert_eq!(terms(&q).len(), MAX_QUERY_TERMS);
        assert_eq!(terms(r#"" OR 1=1 -- ' NEAR(*)"#), vec!["or", "1", "1", "near"]);
        assert!(terms("!!! ...").is_empty());
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,60}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
        }

        #[test]
        fn terms_are_alphanumeric(s in "\\PC{0,80}") {
            for t in terms(&s) {
                prop_assert!(!t.is_empty());
                prop_assert!(t.chars().all(char::is_alphanumeric), "{:?}", t);
            }
        }
    }
}
