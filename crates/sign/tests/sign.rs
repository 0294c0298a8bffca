//! Signed electronic results end to end: a test CA issues an officer's
//! certificate, tl-pdf writes a result with a QR code and signs it, and the
//! file is checked by our verifier, by poppler's `pdfsig` and by
//! `openssl cms`. Tampering, foreign CAs, appended bytes and garbage input
//! must each give the right answer, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset, Months, TimeZone, Utc};
use tl_pdf::{Document, FontStyle, SignatureInfo};
use tl_sign::{
    open_key, seal_key, sign_cms_detached, verify_cms_detached, verify_pdf, Ca, CmsProfile, DistinguishedNameParts, Officer,
    SignerCredential, SigningTimeSource, TrustAnchors, VerifyError,
};

const VERIFY_URL: &str = "https://dichvucong.thanglong.example.vn/xac-thuc/KQ-H26.31-261126-0001";

fn ict() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap()
}

/// A CA and an officer whose certificate is valid around `now`.
fn setup(now: DateTime<Utc>) -> (Ca, SignerCredential) {
    let mut subject = DistinguishedNameParts::new("Thăng Long Test CA (thử nghiệm)");
    subject.organisation = Some("Trung tâm Chuyển đổi số Thăng Long".into());
    let ca = Ca::generate(&subject, now - Duration::days(30), 10).unwrap();
    let officer = Officer {
        name: "Nguyễn Văn An".into(),
        organisation: "UBND phường Hoàn Kiếm".into(),
        personal_id: "001085012345".into(),
        email: Some("an.nv@hoankiem.example.vn".into()),
    };
    let cred = ca.issue(&officer, now - Duration::days(1), now + Months::new(24)).unwrap();
    (ca, cred)
}

fn result_pdf() -> Document {
    let mut doc = Document::new("Trích lục khai sinh", "vi");
    doc.qr_at(VERIFY_URL, tl_pdf::PAGE_WIDTH - tl_pdf::MARGIN - 90.0, tl_pdf::PAGE_HEIGHT - tl_pdf::MARGIN, 90.0)
        .centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", FontStyle::Bold, 11.0)
        .centered("Độc lập - Tự do - Hạnh phúc", FontStyle::Regular, 11.0)
        .spacer(40.0)
        .heading("TRÍCH LỤC KHAI SINH (BẢN SAO)")
        .key_value("Họ, chữ đệm, tên:", "Nguyễn Thị Thu Hằng")
        .key_value("Ngày sinh:", "26/11/2026")
        .key_value("Nơi sinh:", "Bệnh viện Phụ sản Hà Nội")
        .spacer(10.0)
        .paragraph("Văn bản này được ký số bởi cơ quan có thẩm quyền. Quét mã QR để kiểm tra.");
    doc
}

fn sign_pdf(cred: &SignerCredential, signing_time: DateTime<FixedOffset>) -> Vec<u8> {
    let info = SignatureInfo {
        name: "Nguyễn Văn An".into(),
        reason: "Cấp bản sao trích lục khai sinh".into(),
        location: "Hoàn Kiếm, Hà Nội".into(),
        contact: Some("an.nv@hoankiem.example.vn".into()),
        signing_time,
    };
    result_pdf().finish_signed(&info, |covered| sign_cms_detached(cred, covered, &CmsProfile::Pades)).unwrap()
}

fn anchors(ca: &Ca) -> TrustAnchors {
    TrustAnchors::from_der([ca.cert_der()]).unwrap()
}

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 2, 30, 0).unwrap()
}

/// `[0, a, b, c]` read the simple way, to cross-check the verifier.
fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let at = pdf.windows(12).rposition(|w| w == b"/ByteRange [").unwrap() + 12;
    let end = at + pdf[at..].iter().position(|&b| b == b']').unwrap();
    let nums: Vec<usize> = std::str::from_utf8(&pdf[at..end]).unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();
    nums.try_into().unwrap()
}

#[test]
fn signed_result_verifies_and_reports_the_signer() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let pdf = sign_pdf(&cred, now.with_timezone(&ict()));
    let v = verify_pdf(&pdf, &anchors(&ca)).unwrap();
    assert_eq!(v.signer.common_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(v.signer.organisation.as_deref(), Some("UBND phường Hoàn Kiếm"));
    assert_eq!(v.signer.subject_serial_number.as_deref(), Some("001085012345"));
    assert_eq!(v.signer.email.as_deref(), Some("an.nv@hoankiem.example.vn"));
    assert_eq!(v.signer.issuer_common_name.as_deref(), Some("Thăng Long Test CA (thử nghiệm)"));
    assert_eq!(v.signing_time.to_rfc3339(), "2026-11-26T09:30:00+07:00");
    assert_eq!(v.signing_time_source, SigningTimeSource::PdfDictionary);
    assert!(v.covers_whole_file);
    assert_eq!(v.signed_len, pdf.len());
    assert_eq!(v.signer.certificate_sha256_hex.len(), 64);
    assert!(!v.signer.certificate_serial_hex.is_empty() && !v.signer.certificate_serial_hex.starts_with('0'));
    // Another officer's certificate from the same CA has its own serial and fingerprint.
    let officer = Officer {
        name: "Trần Thị Bình".into(),
        organisation: "UBND phường Hoàn Kiếm".into(),
        personal_id: "001190000001".into(),
        email: None,
    };
    let cred2 = ca.issue(&officer, now - Duration::days(1), now + Months::new(12)).unwrap();
    let v2 = verify_pdf(&sign_pdf(&cred2, now.fixed_offset()), &anchors(&ca)).unwrap();
    assert_eq!(v2.signer.common_name.as_deref(), Some("Trần Thị Bình"));
    assert_eq!(v2.signer.email, None);
    assert_ne!(v2.signer.certificate_serial_hex, v.signer.certificate_serial_hex);
    assert_ne!(v2.signer.certificate_sha256_hex, v.signer.certificate_sha256_hex);
}

#[test]
fn any_change_to_the_signed_bytes_is_detected() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let pdf = sign_pdf(&cred, now.with_timezone(&ict()));
    let [_, a, b, _] = byte_range(&pdf);
    let m_date = pdf.windows(6).position(|w| w == b"(D:202").unwrap() + 5;
    // The header, a content stream, the claimed time, the trailer.
    for at in [10, a / 2, m_date, b + 20, pdf.len() - 3] {
        let mut changed = pdf.clone();
        changed[at] ^= 0x01;
        assert_eq!(verify_pdf(&changed, &anchors(&ca)), Err(VerifyError::DigestMismatch), "byte {at}");
    }
}

#[test]
fn a_signature_from_another_ca_is_untrusted() {
    let now = fixed_now();
    let (ca, _) = setup(now);
    let (_, stranger) = setup(now);
    let pdf = sign_pdf(&stranger, now.fixed_offset());
    assert_eq!(verify_pdf(&pdf, &anchors(&ca)), Err(VerifyError::UntrustedSigner));
    // Trusting both CAs accepts it.
    let (other_ca, cred) = setup(now);
    let both = TrustAnchors::from_der([ca.cert_der(), other_ca.cert_der()]).unwrap();
    assert!(verify_pdf(&sign_pdf(&cred, now.fixed_offset()), &both).is_ok());
}

#[test]
fn certificates_are_judged_at_the_signing_time() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let late = sign_pdf(&cred, (now + Months::new(25)).fixed_offset());
    assert!(matches!(verify_pdf(&late, &anchors(&ca)), Err(VerifyError::Expired { .. })));
    let early = sign_pdf(&cred, (now - Duration::days(2)).fixed_offset());
    assert!(matches!(verify_pdf(&early, &anchors(&ca)), Err(VerifyError::NotYetValid { .. })));
}

#[test]
fn appended_bytes_are_reported_not_hidden() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let mut pdf = sign_pdf(&cred, now.fixed_offset());
    let signed_len = pdf.len();
    pdf.extend_from_slice(b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n");
    let v = verify_pdf(&pdf, &anchors(&ca)).unwrap();
    assert!(!v.covers_whole_file);
    assert_eq!(v.signed_len, signed_len);
}

#[test]
fn unsigned_and_hostile_files_give_errors_not_panics() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let trust = anchors(&ca);
    let unsigned = result_pdf().finish();
    assert_eq!(verify_pdf(&unsigned, &trust), Err(VerifyError::NoSignature));
    assert_eq!(verify_pdf(b"", &trust), Err(VerifyError::NoSignature));

    let hostile: &[&[u8]] = &[
        b"/ByteRange",
        b"/ByteRange [",
        b"/ByteRange [0 1 2 3]",
        b"/ByteRange [0 99999999999999999999999 1 1]",
        b"/ByteRange [0 18446744073709551615 1 1]",
        b"/ByteRange [0 5 999999999999999 999999999999999]",
        b"/ByteRange [-1 5 6 1]",
        b"/ByteRange [0 0 0 0]",
        b"/ByteRange [0 30 32 0] /Contents <>",
        b"/Contents <3000> /ByteRange [0 10 16 27] xxxxxxxxxxx",
        b"/ByteRange [0 38 44 0] /Contents <3082>  /Contents <30820>",
        b"/ByteRange [0 37 41 0] /Contents <30>",
    ];
    for input in hostile {
        let r = verify_pdf(input, &trust);
        assert!(matches!(r, Err(VerifyError::Malformed(_))), "{}: {r:?}", String::from_utf8_lossy(input));
    }

    let pdf = sign_pdf(&cred, now.fixed_offset());
    let [_, a, b, _] = byte_range(&pdf);
    // Cut anywhere: an error, never a panic, never a pass.
    for len in (0..pdf.len()).step_by(997).chain([a, a + 1, b - 1, b, pdf.len() - 1]) {
        assert!(verify_pdf(&pdf[..len], &trust).is_err(), "truncated at {len}");
    }
    // Damage the CMS itself. Its unsigned parts (the digest algorithm list,
    // the embedded CA certificate) may change without effect, as in any CMS
    // verifier, but what is reported can't: a pass must report the same.
    let original = verify_pdf(&pdf, &trust).unwrap();
    let cms_hex_len = pdf[a..b].iter().rposition(|&d| d != b'0' && d != b'>').unwrap();
    // Every 9th digit (odd, so high and low nibbles both get hit): the
    // verifier's generic ECDSA code runs unoptimised in tests.
    for at in (a + 1..a + cms_hex_len + 1).step_by(9) {
        let mut bad = pdf.clone();
        bad[at] = if bad[at] == b'F' { b'0' } else { b'F' };
        if let Ok(v) = verify_pdf(&bad, &trust) {
            assert_eq!(v, original, "flip at {at} changed the report");
        }
    }
}

#[test]
fn cades_profile_carries_its_own_signing_time() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let sig = sign_cms_detached(&cred, b"payload", &CmsProfile::Cades { signing_time: now }).unwrap();
    let v = verify_cms_detached(&sig, b"payload", None, &anchors(&ca)).unwrap();
    assert_eq!(v.signing_time_source, SigningTimeSource::CmsAttribute);
    assert_eq!(v.signing_time, now.fixed_offset());
    assert_eq!(verify_cms_detached(&sig, b"payloaD", None, &anchors(&ca)), Err(VerifyError::DigestMismatch));
    // The PAdES form has no time of its own: the caller must supply one.
    let pades = sign_cms_detached(&cred, b"payload", &CmsProfile::Pades).unwrap();
    assert!(matches!(verify_cms_detached(&pades, b"payload", None, &anchors(&ca)), Err(VerifyError::Malformed(_))));
    assert!(verify_cms_detached(&pades, b"payload", Some(now.fixed_offset()), &anchors(&ca)).is_ok());
}

#[test]
fn a_sealed_key_still_signs_after_opening() {
    let now = fixed_now();
    let (ca, cred) = setup(now);
    let kek = [0x5a; 32];
    let sealed = seal_key(&cred.key_pkcs8_der, &kek);
    assert!(!sealed.windows(8).any(|w| cred.key_pkcs8_der.windows(8).any(|k| k == w)), "key visible in sealed form");
    assert!(open_key(&sealed, &[0x5b; 32]).is_err());
    let reopened = SignerCredential { key_pkcs8_der: open_key(&sealed, &kek).unwrap(), ..cred.clone() };
    assert!(verify_pdf(&sign_pdf(&reopened, now.fixed_offset()), &anchors(&ca)).is_ok());
    assert!(!format!("{reopened:?}").contains(&format!("{:?}", &reopened.key_pkcs8_der[..8])));
}

mod mutations {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn fixture() -> &'static (Vec<u8>, TrustAnchors) {
        static F: OnceLock<(Vec<u8>, TrustAnchors)> = OnceLock::new();
        F.get_or_init(|| {
            let (ca, cred) = setup(fixed_now());
            (sign_pdf(&cred, fixed_now().fixed_offset()), anchors(&ca))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Random overwrites, insertions and cuts never panic; changes to
        /// the signed bytes or the signature never pass.
        #[test]
        fn mutated_files_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6)) {
            let (pdf, trust) = fixture();
            let mut bytes = pdf.clone();
            for (at, value, kind) in &edits {
                if bytes.is_empty() { break; }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = *value,
                    1 => bytes.insert(i, *value),
                    _ => bytes.truncate(i),
                }
            }
            let result = verify_pdf(&bytes, trust);
            if bytes != *pdf {
                // Only a change in the zero padding of the signature, or bytes
                // appended at the end, may still verify.
                if let Ok(v) = &result {
                    prop_assert!(bytes.starts_with(&pdf[..byte_range(pdf)[1]]));
                    prop_assert!(!v.covers_whole_file || bytes.len() == pdf.len());
                }
            }
        }
    }
}

// ---- Independent tools -------------------------------------------------

/// An installed tool, or `None` (test skipped) when it is missing; on CI a
/// missing tool is a failure.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "{name} not found; install {package}");
    eprintln!("SKIPPED: {name} not installed (apt-get install {package})");
    None
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Signed with the real clock, since the tools judge certificates against it.
fn signed_now() -> (Ca, Vec<u8>) {
    let now = Utc::now();
    let (ca, cred) = setup(now);
    (ca, sign_pdf(&cred, now.with_timezone(&ict())))
}

#[test]
fn poppler_pdfsig_accepts_the_signature() {
    let Some(pdfsig) = tool("pdfsig", "poppler-utils") else { return };
    let (ca, pdf) = signed_now();
    let file = tmp("signed-result.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = Command::new(&pdfsig).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("pdfsig:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Signature Validation: Signature is Valid."), "{text}");
    assert!(text.contains("Total document signed"), "{text}");
    assert!(text.contains("Signer Certificate Common Name: Nguyễn Văn An"), "{text}");
    assert!(text.contains("Signature Type: ETSI.CAdES.detached"), "{text}");

    // With the test CA in an NSS database, NSS also validates the chain
    // (validity, key usage, extended key usage).
    if let Some(certutil) = tool("certutil", "libnss3-tools") {
        let db = tmp("nssdb");
        let _ = std::fs::remove_dir_all(&db);
        std::fs::create_dir_all(&db).unwrap();
        let db_arg = format!("sql:{}", db.display());
        let ca_file = tmp("pdfsig-ca.pem");
        std::fs::write(&ca_file, ca.to_pem().unwrap().0).unwrap();
        let run = |args: &[&str]| assert!(Command::new(&certutil).args(args).status().unwrap().success(), "certutil {args:?}");
        run(&["-N", "-d", &db_arg, "--empty-password"]);
        run(&["-A", "-d", &db_arg, "-n", "thanglong-test-ca", "-t", "C,C,C", "-i", ca_file.to_str().unwrap()]);
        let out = Command::new(&pdfsig).args(["-nssdir", &db_arg]).arg(&file).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("pdfsig with the test CA trusted:\n{text}");
        assert!(text.contains("Signature Validation: Signature is Valid."), "{text}");
        assert!(text.contains("Certificate Validation: Certificate is Trusted."), "{text}");
    }

    // The same tool notices tampering.
    let [_, a, _, _] = byte_range(&pdf);
    let mut changed = pdf.clone();
    changed[a / 2] ^= 1;
    let file = tmp("signed-result-changed.pdf");
    std::fs::write(&file, &changed).unwrap();
    let out = Command::new(tool("pdfsig", "poppler-utils").unwrap()).arg(&file).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Signature is Valid"));
}

#[test]
fn openssl_cms_verifies_the_signature_and_chain() {
    let Some(openssl) = tool("openssl", "openssl") else { return };
    let (ca, pdf) = signed_now();
    let [_, a, b, c] = byte_range(&pdf);
    let covered = [&pdf[..a], &pdf[b..b + c]].concat();
    let hex = std::str::from_utf8(&pdf[a + 1..b - 1]).unwrap().trim_end_matches('0');
    let hex = if hex.len() % 2 == 1 { format!("{hex}0") } else { hex.to_owned() };
    let der: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let (ca_pem, _) = ca.to_pem().unwrap();
    let (sig, content, ca_file) = (tmp("sig.der"), tmp("covered.bin"), tmp("ca.pem"));
    std::fs::write(&sig, der).unwrap();
    std::fs::write(&content, covered).unwrap();
    std::fs::write(&ca_file, ca_pem).unwrap();
    let verify = |content: &Path| {
        Command::new(&openssl)
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out", "/dev/null", "-in"])
            .arg(&sig)
            .arg("-content")
            .arg(content)
            .arg("-CAfile")
            .arg(&ca_file)
            .output()
            .unwrap()
    };
    let out = verify(&content);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("openssl cms -verify: {stderr}");
    assert!(out.status.success() && stderr.contains("Verification successful"), "{stderr}");

    let print = Command::new(&openssl).args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"]).arg(&sig).output().unwrap();
    let printed = String::from_utf8_lossy(&print.stdout);
    for attr in ["(1.2.840.113549.1.9.3)", "(1.2.840.113549.1.9.4)", "(1.2.840.113549.1.9.16.2.47)"] {
        assert!(printed.contains(attr), "{attr} missing:\n{printed}");
    }
    assert!(!printed.contains("(1.2.840.113549.1.9.5)"), "PAdES forbids signing-time:\n{printed}");

    let mut changed = std::fs::read(&content).unwrap();
    changed[100] ^= 1;
    let changed_file = tmp("covered-changed.bin");
    std::fs::write(&changed_file, changed).unwrap();
    assert!(!verify(&changed_file).status.success());
}

#[test]
fn signed_page_renders_with_a_readable_qr_code() {
    let (Some(pdftoppm), Some(zbarimg)) = (tool("pdftoppm", "poppler-utils"), tool("zbarimg", "zbar-tools")) else { return };
    let (_, pdf) = signed_now();
    let file = tmp("signed-qr.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let stem = tmp("signed-qr");
    let status =
        Command::new(pdftoppm).args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]).arg(&file).arg(&stem).status().unwrap();
    assert!(status.success());
    let out = Command::new(zbarimg).args(["--quiet", "--raw"]).arg(stem.with_extension("png")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), VERIFY_URL);
}
