//! Contact details people type.

/// A Vietnamese phone number: 10 digits starting with 0, or +84 and 9 digits (spaces, dots and
/// dashes allowed between digits).
pub fn valid_phone(p: &str) -> bool {
    let digits: String = p.trim().chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let rest = digits.strip_prefix("+84").map(|r| format!("0{r}")).unwrap_or(digits);
    rest.len() == 10 && rest.starts_with('0') && rest.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible email address (the mailbox itself is proven only by a confirmation mail).
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails() {
        assert!(valid_phone("0912 345 678") && valid_phone("+84912345678") && !valid_phone("12345") && !valid_phone("091234567a"));
        assert!(
            valid_email("a@b.vn") && !valid_email("a@b") && !valid_email("a b@c.vn") && !valid_email("@b.vn") && !valid_email("a@b@c.vn")
        );
    }
}
