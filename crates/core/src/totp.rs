//! Time-based one-time passwords (TOTP, RFC 6238 over HOTP, RFC 4226): the officers' second
//! factor, as every authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP…)
//! computes it — HMAC-SHA1, 6 digits, 30-second steps. Pure: the caller gives the time.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step (RFC 6238 §5.2 recommends 30).
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret: 160 bits, the HMAC-SHA1 block-size recommendation of RFC 4226 §4.
pub const SECRET_LEN: usize = 20;
/// Steps accepted either side of now, for clocks that drift and codes typed slowly
/// (RFC 6238 §5.2: "at most one time step").
pub const WINDOW: i64 = 1;

/// Why a code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpError {
    /// Not six digits.
    Malformed,
    /// Six digits, but not the code of any step in the window.
    Wrong,
    /// The code of a step already used: a code works once (RFC 6238 §5.2).
    Replayed,
}

impl TotpError {
    pub fn message(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Malformed, "en") => "Enter the 6 digits your authenticator app shows.",
            (Self::Malformed, _) => "Vui lòng nhập 6 chữ số đang hiện trên ứng dụng xác thực.",
            (Self::Wrong, "en") => "That code is not correct. Check that your phone's clock is right and enter the current code.",
            (Self::Wrong, _) => "Mã không đúng. Vui lòng kiểm tra giờ trên điện thoại và nhập mã đang hiện.",
            (Self::Replayed, "en") => "That code has been used already. Wait for the next code and enter it.",
            (Self::Replayed, _) => "Mã này đã được dùng. Vui lòng chờ mã tiếp theo và nhập lại.",
        }
    }
}

/// The step a Unix time falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The HOTP value of `counter` (RFC 4226 §5.3: dynamic truncation), as a number below 10^digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    bin % 10u32.pow(digits)
}

/// The six-digit code of a step, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:06}", hotp(secret, step.max(0) as u64, DIGITS))
}

/// What people type, as six digits: spaces and dashes ignored ("123 456").
pub fn parse_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Checks a typed code at `unix_secs`; `last_step` is the step of the last code accepted for
/// this secret. Returns the step the code belongs to (to be stored as the new `last_step`).
/// Every step of the window is compared, in constant time, whatever matched first.
pub fn verify(secret: &[u8], typed: &str, unix_secs: i64, last_step: Option<i64>) -> Result<i64, TotpError> {
    let code = parse_code(typed).ok_or(TotpError::Malformed)?;
    let now = step_of(unix_secs);
    let mut found = None;
    for step in now - WINDOW..=now + WINDOW {
        let expected = code_at(secret, step);
        let same = expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    let step = found.ok_or(TotpError::Wrong)?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(TotpError::Replayed);
    }
    Ok(step)
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Reads a base32 secret as people copy it (spaces, lower case, padding allowed).
pub fn from_base32(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
    data_encoding::BASE32_NOPAD.decode(clean.as_bytes()).ok()
}

/// The `otpauth://` URI an authenticator app scans from the QR code (the de-facto "Key Uri
/// Format": issuer and account label, secret in base32, the parameters spelled out).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// Recovery codes are 10 base32 characters shown as `xxxxx-xxxxx`; what people type is
/// normalised (case, spaces, dashes, the look-alikes 0/O, 1/I/L, 8/B) before hashing.
pub fn normalise_recovery_code(typed: &str) -> Option<String> {
    let s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' | 'L' => 'I',
            '8' => 'B',
            c => c,
        })
        .collect();
    (s.len() == 10 && s.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))).then_some(s)
}

/// Formats 50 random bits (from 7 bytes) as a recovery code.
pub fn recovery_code(random: [u8; 7]) -> String {
    let s = data_encoding::BASE32_NOPAD.encode(&random);
    // Base32 has no 0, 1 or 8: nothing to confuse when reading it off paper.
    format!("{}-{}", &s[..5], &s[5..10]).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        // (time, 8-digit TOTP) from RFC 6238 Appendix B, SHA1 rows.
        for (t, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(RFC_SECRET, step_of(t) as u64, 8), expected, "t={t}");
            assert_eq!(code_at(RFC_SECRET, step_of(t)), format!("{:06}", expected % 1_000_000), "t={t}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, e) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *e, "counter {counter}");
        }
    }

    #[test]
    fn a_code_works_in_its_window_once() {
        let t = 1_700_000_000;
        let code = code_at(RFC_SECRET, step_of(t));
        assert_eq!(verify(RFC_SECRET, &code, t, None), Ok(step_of(t)));
        // Typed a little late or with a clock a step off.
        assert_eq!(verify(RFC_SECRET, &code, t + STEP_SECS, None), Ok(step_of(t)));
        assert_eq!(verify(RFC_SECRET, &code, t - STEP_SECS, None), Ok(step_of(t)));
        // Two steps away: refused.
        assert_eq!(verify(RFC_SECRET, &code, t + 2 * STEP_SECS, None), Err(TotpError::Wrong));
        // Used once: the same code, or an older one, is refused.
        assert_eq!(verify(RFC_SECRET, &code, t, Some(step_of(t))), Err(TotpError::Replayed));
        let older = code_at(RFC_SECRET, step_of(t) - 1);
        assert_eq!(verify(RFC_SECRET, &older, t, Some(step_of(t))), Err(TotpError::Replayed));
        // The next step's code still works after it.
        let next = code_at(RFC_SECRET, step_of(t) + 1);
        assert_eq!(verify(RFC_SECRET, &next, t + STEP_SECS, Some(step_of(t))), Ok(step_of(t) + 1));
        // Spaces are fine; letters and wrong lengths are not.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(RFC_SECRET, &spaced, t, None), Ok(step_of(t)));
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert_eq!(verify(RFC_SECRET, bad, t, None), Err(TotpError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_secret() {
        assert_eq!(from_base32("gezd gnbv GY3T QOJQ GEZDGNBVGY3TQOJQ").as_deref(), Some(RFC_SECRET));
        assert_eq!(from_base32("not base32!"), None);
        let uri = otpauth_uri("Thăng Long", "can.bo@h26", RFC_SECRET);
        assert_eq!(
            uri,
            "otpauth://totp/Th%C4%83ng%20Long:can.bo%40h26?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Th%C4%83ng%20Long&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_read_back_whatever_the_case_and_dashes() {
        let code = recovery_code([1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(code.len(), 11);
        let n = normalise_recovery_code(&code).unwrap();
        assert_eq!(normalise_recovery_code(&code.to_uppercase()).as_deref(), Some(n.as_str()));
        assert_eq!(normalise_recovery_code(&code.replace('-', " ")).as_deref(), Some(n.as_str()));
        assert_eq!(normalise_recovery_code("abc"), None);
        assert_eq!(normalise_recovery_code("aaaaa-aaaa9"), None);
    }

    proptest! {
        #[test]
        fn the_current_code_always_verifies_and_never_twice(secret in proptest::collection::vec(any::<u8>(), 10..64), t in 0i64..4_000_000_000) {
            let code = code_at(&secret, step_of(t));
            let step = verify(&secret, &code, t, None).unwrap();
            prop_assert!((step - step_of(t)).abs() <= WINDOW);
            prop_assert_eq!(verify(&secret, &code, t, Some(step)), Err(TotpError::Replayed));
            prop_assert_eq!(code.len(), 6);
        }
    }
}
