//! Offline verification of a PDF's last signature, or of a detached CMS
//! signature, against trusted roots.
//!
//! Input is untrusted: every offset is checked, numbers are bounded, work is
//! linear in the input, and nothing panics; every failure is a
//! [`VerifyError`].

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::time::Validity;
use x509_cert::Certificate;

use crate::ca::is_ca;
use crate::cades::SigningCertificateV2;
use crate::names::{self, to_chrono};
use crate::{oid, Error};

/// Largest `/Contents` we decode, in hex digits. Ours take 32 KiB; a CMS
/// with long chains and revocation data stays well under this.
const MAX_CONTENTS_HEX: usize = 1 << 20;
/// Intermediate CAs allowed between the signer and a trusted root.
const MAX_INTERMEDIATES: usize = 4;
/// How far back from `/Contents` the signature dictionary may start.
const MAX_DICT_LEN: usize = 64 * 1024;

/// Why a signature is not accepted. [`VerifyError::code`] gives a stable
/// machine code for each.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The file has no signature (no `/ByteRange`).
    #[error("the document is not signed")]
    NoSignature,
    /// The signature or its byte range can't be parsed or is inconsistent.
    #[error("the signature is malformed: {0}")]
    Malformed(&'static str),
    /// The signature uses an algorithm this verifier does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signed bytes were changed after signing.
    #[error("the document was changed after it was signed")]
    DigestMismatch,
    /// The signature value does not verify with the signer's public key.
    #[error("the signature value is invalid")]
    BadSignature,
    /// The signing-certificate attribute names another certificate.
    #[error("the signature is bound to a different certificate")]
    SigningCertificateMismatch,
    /// No chain from the signer's certificate to a trusted root.
    #[error("the signer's certificate was not issued by a trusted authority")]
    UntrustedSigner,
    /// The signer's certificate is not meant for signing documents.
    #[error("the signer's certificate does not allow document signing")]
    NotForSigning,
    /// A certificate in the chain was not yet valid at the signing time.
    #[error("a certificate was not yet valid at the signing time ({at}); valid from {not_before}")]
    NotYetValid {
        /// The signing time.
        at: DateTime<Utc>,
        /// Start of the certificate's validity.
        not_before: DateTime<Utc>,
    },
    /// A certificate in the chain had expired at the signing time.
    #[error("a certificate had expired at the signing time ({at}); valid until {not_after}")]
    Expired {
        /// The signing time.
        at: DateTime<Utc>,
        /// End of the certificate's validity.
        not_after: DateTime<Utc>,
    },
}

impl VerifyError {
    /// Stable machine code, for the verification page and the API.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::NoSignature => "no_signature",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            VerifyError::DigestMismatch => "digest_mismatch",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::SigningCertificateMismatch => "signing_certificate_mismatch",
            VerifyError::UntrustedSigner => "untrusted_signer",
            VerifyError::NotForSigning => "not_for_signing",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::Expired { .. } => "expired",
        }
    }
}

/// Root certificates a signature must chain to. Parse them once at start-up.
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    roots: Vec<Certificate>,
}

impl TrustAnchors {
    /// Roots from DER certificates. Each must be a CA certificate.
    pub fn from_der<I, B>(certs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let roots = certs
            .into_iter()
            .map(|der| Certificate::from_der(der.as_ref()).map_err(Error::decode("trust anchor")))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(roots)
    }

    /// Roots from one or more concatenated PEM certificates.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::new(Certificate::load_pem_chain(pem.as_bytes()).map_err(Error::decode("trust anchor PEM"))?)
    }

    fn new(roots: Vec<Certificate>) -> Result<Self, Error> {
        if roots.iter().any(|c| !is_ca(c)) {
            return Err(Error::NotACa);
        }
        Ok(TrustAnchors { roots })
    }
}

/// Who signed, as their certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerSummary {
    /// Subject CN: the officer's name.
    pub common_name: Option<String>,
    /// Subject O: the agency.
    pub organisation: Option<String>,
    /// Subject serialNumber attribute: the personal ID number.
    pub subject_serial_number: Option<String>,
    /// First rfc822Name in subjectAltName.
    pub email: Option<String>,
    /// CN of the certificate's issuer.
    pub issuer_common_name: Option<String>,
    /// Certificate serial number, lowercase hex without leading zeros.
    pub certificate_serial_hex: String,
    /// SHA-256 fingerprint of the certificate (DER), lowercase hex.
    pub certificate_sha256_hex: String,
    /// Start of the certificate's validity.
    pub not_before: DateTime<Utc>,
    /// End of the certificate's validity; a signature stays valid after it
    /// (it is judged at the signing time) but a viewer may want to show it.
    pub not_after: DateTime<Utc>,
}

/// Where the signing time came from. Both are claims of the signer, not a
/// trusted timestamp (that would be PAdES B-T).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningTimeSource {
    /// The CMS signing-time signed attribute.
    CmsAttribute,
    /// The `/M` entry of the PDF signature dictionary (inside the byte range).
    PdfDictionary,
}

/// A valid detached CMS signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmsVerification {
    /// The signer.
    pub signer: SignerSummary,
    /// The claimed signing time at which the chain was checked.
    pub signing_time: DateTime<FixedOffset>,
    /// Where `signing_time` came from.
    pub signing_time_source: SigningTimeSource,
}

/// A valid PDF signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfVerification {
    /// The signer.
    pub signer: SignerSummary,
    /// The claimed signing time, with the signer's UTC offset when the PDF
    /// gave one.
    pub signing_time: DateTime<FixedOffset>,
    /// Where `signing_time` came from.
    pub signing_time_source: SigningTimeSource,
    /// True when the signature covers the file to its last byte. False when
    /// bytes were appended after signing (an incremental update: added
    /// annotations, another signature, or changed content); the signed
    /// revision is intact, but what a viewer shows may differ from it.
    pub covers_whole_file: bool,
    /// Length of the signed revision in bytes (the end of the byte range).
    pub signed_len: usize,
}

/// Verifies the last signature in `pdf`: finds its `/ByteRange` and
/// `/Contents`, checks that the range covers everything but the signature
/// from the start of the file, recomputes the digest, checks the signature
/// over the signed attributes and the certificate chain at the signing time.
pub fn verify_pdf(pdf: &[u8], anchors: &TrustAnchors) -> Result<PdfVerification, VerifyError> {
    let sig = locate(pdf)?;
    let covered = [&pdf[..sig.range[1]], &pdf[sig.range[2]..sig.range[2] + sig.range[3]]];
    let claimed = pdf_signing_time(pdf, &sig);
    let checked = verify_cms(&sig.cms, &covered, claimed, anchors)?;
    let signed_len = sig.range[2] + sig.range[3];
    Ok(PdfVerification {
        signer: checked.signer,
        signing_time: checked.signing_time,
        signing_time_source: checked.signing_time_source,
        covers_whole_file: signed_len == pdf.len(),
        signed_len,
    })
}

/// Verifies a detached CMS signature (DER, trailing zero padding allowed)
/// over `content`. `claimed_time` is used when the CMS has no signing-time
/// attribute; without either, the signature is [`VerifyError::Malformed`].
pub fn verify_cms_detached(
    cms: &[u8],
    content: &[u8],
    claimed_time: Option<DateTime<FixedOffset>>,
    anchors: &TrustAnchors,
) -> Result<CmsVerification, VerifyError> {
    verify_cms(trim_der(cms)?, &[content], claimed_time, anchors)
}

/// The signature found in a PDF.
struct Located {
    /// `[0, a, b, c]`: bytes `0..a` and `b..b+c` are signed.
    range: [usize; 4],
    /// The DER CMS, padding removed.
    cms: Vec<u8>,
}

fn locate(pdf: &[u8]) -> Result<Located, VerifyError> {
    let key_at = rfind(pdf, b"/ByteRange").ok_or(VerifyError::NoSignature)?;
    let mut p = Parser { bytes: pdf, pos: key_at + b"/ByteRange".len() };
    p.skip_ws();
    p.expect(b'[').ok_or(VerifyError::Malformed("/ByteRange is not an array"))?;
    let mut range = [0usize; 4];
    for n in &mut range {
        p.skip_ws();
        *n = p.number().ok_or(VerifyError::Malformed("/ByteRange holds something other than four offsets"))?;
    }
    p.skip_ws();
    p.expect(b']').ok_or(VerifyError::Malformed("/ByteRange holds something other than four offsets"))?;

    let [start, len1, off2, len2] = range;
    let end = off2.checked_add(len2).ok_or(VerifyError::Malformed("/ByteRange overflows"))?;
    // PAdES wants the whole revision signed but the signature: from byte 0,
    // one gap, up to the end of the revision (ETSI EN 319 142-1 5.4.2).
    if start != 0 || len1 == 0 || off2 <= len1 + 1 || end > pdf.len() {
        return Err(VerifyError::Malformed("/ByteRange does not describe the file"));
    }
    // The dictionary we read must itself be signed, not added afterwards.
    if !(p.pos <= len1 || (key_at >= off2 && p.pos <= end)) {
        return Err(VerifyError::Malformed("/ByteRange lies outside the signed bytes"));
    }
    let gap = &pdf[len1..off2];
    if gap[0] != b'<' || gap[gap.len() - 1] != b'>' {
        return Err(VerifyError::Malformed("the unsigned gap is not a hex string"));
    }
    if !trim_end_ws(&pdf[..len1]).ends_with(b"/Contents") {
        return Err(VerifyError::Malformed("the unsigned gap is not the /Contents value"));
    }
    let hex = &gap[1..gap.len() - 1];
    if hex.len() > MAX_CONTENTS_HEX {
        return Err(VerifyError::Malformed("/Contents is too large"));
    }
    let cms = decode_hex(hex).ok_or(VerifyError::Malformed("/Contents is not hex"))?;
    let cms = trim_der(&cms)?.to_vec();
    Ok(Located { range, cms })
}

/// The DER value at the start of `bytes`; what follows must be zero padding.
fn trim_der(bytes: &[u8]) -> Result<&[u8], VerifyError> {
    const ERR: VerifyError = VerifyError::Malformed("the signature is not DER");
    if bytes.len() < 2 || bytes[0] != 0x30 {
        return Err(ERR);
    }
    let (header, len) = match bytes[1] {
        n @ 0..=0x7f => (2, usize::from(n)),
        n @ 0x81..=0x84 => {
            let count = usize::from(n & 0x7f);
            let digits = bytes.get(2..2 + count).ok_or(ERR)?;
            (2 + count, digits.iter().fold(0usize, |acc, &d| (acc << 8) | usize::from(d)))
        }
        _ => return Err(ERR),
    };
    let total = header.checked_add(len).ok_or(ERR)?;
    let (value, padding) = (bytes.get(..total).ok_or(ERR)?, &bytes[total..]);
    if padding.iter().any(|&b| b != 0) {
        return Err(VerifyError::Malformed("data after the signature"));
    }
    Ok(value)
}

fn verify_cms(
    der: &[u8],
    content: &[&[u8]],
    claimed_time: Option<DateTime<FixedOffset>>,
    anchors: &TrustAnchors,
) -> Result<CmsVerification, VerifyError> {
    let info = ContentInfo::from_der(der).map_err(|_| VerifyError::Malformed("not a CMS ContentInfo"))?;
    if info.content_type != oid::SIGNED_DATA {
        return Err(VerifyError::Malformed("not a CMS SignedData"));
    }
    let sd: SignedData = info.content.decode_as().map_err(|_| VerifyError::Malformed("not a CMS SignedData"))?;
    if sd.encap_content_info.econtent.is_some() {
        return Err(VerifyError::Malformed("the signature is not detached"));
    }
    let [si] = sd.signer_infos.0.as_slice() else {
        return Err(VerifyError::Malformed("expected exactly one signer"));
    };
    let certs: Vec<&Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let attrs = si.signed_attrs.as_ref().ok_or(VerifyError::Malformed("no signed attributes"))?;

    // RFC 5652 11.1: content-type must be present and match eContentType.
    let content_type: ObjectIdentifier = single_attr(si, oid::CONTENT_TYPE)?.ok_or(VerifyError::Malformed("no content-type attribute"))?;
    if content_type != sd.encap_content_info.econtent_type {
        return Err(VerifyError::Malformed("content-type attribute differs from the content type"));
    }
    let digest_alg = DigestAlg::of(&si.digest_alg.oid)?;
    let expected: OctetString = single_attr(si, oid::MESSAGE_DIGEST)?.ok_or(VerifyError::Malformed("no message-digest attribute"))?;
    if expected.as_bytes() != digest_alg.digest(content) {
        return Err(VerifyError::DigestMismatch);
    }

    let signer = find_signer(&si.sid, &certs)?;
    let signed_attrs_der = attrs.to_der().map_err(|_| VerifyError::Malformed("signed attributes"))?;
    let hash = match si.signature_algorithm.oid {
        // Some signers name only the key type; the hash is then the digest algorithm.
        o if o == oid::EC_PUBLIC_KEY => digest_alg,
        o => DigestAlg::of_ecdsa(&o)?,
    };
    verify_ecdsa(&signer.tbs_certificate.subject_public_key_info, hash, &signed_attrs_der, si.signature.as_bytes())?;

    if let Some(ess) = single_attr::<SigningCertificateV2>(si, oid::SIGNING_CERTIFICATE_V2)? {
        check_ess(&ess, signer)?;
    }

    let (signing_time, signing_time_source) = match single_attr::<x509_cert::time::Time>(si, oid::SIGNING_TIME)? {
        Some(t) => (to_chrono(&t).fixed_offset(), SigningTimeSource::CmsAttribute),
        None => (claimed_time.ok_or(VerifyError::Malformed("no signing time"))?, SigningTimeSource::PdfDictionary),
    };
    let at = signing_time.to_utc();

    if let Ok(Some((_, usage))) = signer.tbs_certificate.get::<KeyUsage>() {
        if !usage.digital_signature() && !usage.non_repudiation() {
            return Err(VerifyError::NotForSigning);
        }
    }
    check_chain(signer, &certs, anchors, at)?;
    Ok(CmsVerification { signer: summary(signer)?, signing_time, signing_time_source })
}

/// The value of a signed attribute that must occur at most once with one value.
fn single_attr<T: for<'a> Decode<'a>>(si: &SignerInfo, oid: ObjectIdentifier) -> Result<Option<T>, VerifyError> {
    let mut found = si.signed_attrs.iter().flat_map(|a| a.iter()).filter(|a| a.oid == oid);
    let Some(attr) = found.next() else { return Ok(None) };
    let [value] = attr.values.as_slice() else {
        return Err(VerifyError::Malformed("a signed attribute has several values"));
    };
    if found.next().is_some() {
        return Err(VerifyError::Malformed("a signed attribute is repeated"));
    }
    let der = value.to_der().map_err(|_| VerifyError::Malformed("a signed attribute can't be decoded"))?;
    T::from_der(&der).map(Some).map_err(|_| VerifyError::Malformed("a signed attribute can't be decoded"))
}

fn find_signer<'a>(sid: &SignerIdentifier, certs: &[&'a Certificate]) -> Result<&'a Certificate, VerifyError> {
    let found = certs.iter().find(|c| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(c.tbs_certificate.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    });
    found.copied().ok_or(VerifyError::Malformed("the signer's certificate is not embedded"))
}

fn check_ess(ess: &SigningCertificateV2, signer: &Certificate) -> Result<(), VerifyError> {
    // The first entry names the signing certificate (RFC 5035 3).
    let first = ess.certs.first().ok_or(VerifyError::Malformed("empty signing-certificate attribute"))?;
    let alg = first.hash_algorithm.as_ref().map_or(Ok(DigestAlg::Sha256), |a| DigestAlg::of(&a.oid))?;
    let der = signer.to_der().map_err(|_| VerifyError::Malformed("signer certificate"))?;
    if first.cert_hash.as_bytes() != alg.digest(&[&der]) {
        return Err(VerifyError::SigningCertificateMismatch);
    }
    if let Some(is) = &first.issuer_serial {
        let issuer_named = is.issuer.iter().any(|g| matches!(g, GeneralName::DirectoryName(n) if *n == signer.tbs_certificate.issuer));
        if !issuer_named || is.serial_number != signer.tbs_certificate.serial_number {
            return Err(VerifyError::SigningCertificateMismatch);
        }
    }
    Ok(())
}

/// Walks from the signer up to a trusted root through the embedded
/// certificates, checking each signature and each validity at `at`.
fn check_chain(signer: &Certificate, bag: &[&Certificate], anchors: &TrustAnchors, at: DateTime<Utc>) -> Result<(), VerifyError> {
    let mut current = signer;
    for _ in 0..=MAX_INTERMEDIATES {
        check_validity(&current.tbs_certificate.validity, at)?;
        let issued =
            |issuer: &Certificate| issuer.tbs_certificate.subject == current.tbs_certificate.issuer && signed_by(current, issuer).is_ok();
        if let Some(root) = anchors.roots.iter().find(|r| issued(r)) {
            return check_validity(&root.tbs_certificate.validity, at);
        }
        // An intermediate must be a CA, and may not be the certificate itself.
        let next = bag.iter().find(|c| **c != current && is_ca(c) && issued(c));
        current = next.ok_or(VerifyError::UntrustedSigner)?;
    }
    Err(VerifyError::UntrustedSigner)
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), VerifyError> {
    if let Ok(Some((_, usage))) = issuer.tbs_certificate.get::<KeyUsage>() {
        if !usage.key_cert_sign() {
            return Err(VerifyError::UntrustedSigner);
        }
    }
    let tbs = cert.tbs_certificate.to_der().map_err(|_| VerifyError::Malformed("certificate"))?;
    let hash = DigestAlg::of_ecdsa(&cert.signature_algorithm.oid)?;
    let sig = cert.signature.as_bytes().ok_or(VerifyError::Malformed("certificate signature"))?;
    verify_ecdsa(&issuer.tbs_certificate.subject_public_key_info, hash, &tbs, sig)
}

fn check_validity(v: &Validity, at: DateTime<Utc>) -> Result<(), VerifyError> {
    let (not_before, not_after) = (to_chrono(&v.not_before), to_chrono(&v.not_after));
    if at < not_before {
        return Err(VerifyError::NotYetValid { at, not_before });
    }
    if at > not_after {
        return Err(VerifyError::Expired { at, not_after });
    }
    Ok(())
}

fn verify_ecdsa(spki: &SubjectPublicKeyInfoOwned, hash: DigestAlg, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
    let AlgorithmIdentifierOwned { oid: key_oid, parameters } = &spki.algorithm;
    let curve: Option<ObjectIdentifier> = parameters.as_ref().and_then(|p| p.decode_as().ok());
    if *key_oid != oid::EC_PUBLIC_KEY || curve != Some(oid::P256) {
        return Err(VerifyError::UnsupportedAlgorithm(format!("public key {key_oid} {curve:?}")));
    }
    let key = spki.subject_public_key.as_bytes().and_then(|b| VerifyingKey::from_sec1_bytes(b).ok());
    let key = key.ok_or(VerifyError::Malformed("public key"))?;
    let sig = Signature::from_der(sig).map_err(|_| VerifyError::BadSignature)?;
    key.verify_prehash(&hash.digest(&[msg]), &sig).map_err(|_| VerifyError::BadSignature)
}

fn summary(cert: &Certificate) -> Result<SignerSummary, VerifyError> {
    let tbs = &cert.tbs_certificate;
    let der = cert.to_der().map_err(|_| VerifyError::Malformed("certificate"))?;
    let email = match tbs.get::<SubjectAltName>() {
        Ok(Some((_, san))) => san.0.into_iter().find_map(|g| match g {
            GeneralName::Rfc822Name(s) => Some(s.to_string()),
            _ => None,
        }),
        _ => None,
    };
    let serial_hex = hex(tbs.serial_number.as_bytes());
    let serial_hex = match serial_hex.trim_start_matches('0') {
        "" => "0".to_owned(),
        s => s.to_owned(),
    };
    Ok(SignerSummary {
        common_name: names::common_name(&tbs.subject),
        organisation: names::attribute(&tbs.subject, oid::ORGANISATION),
        subject_serial_number: names::attribute(&tbs.subject, oid::SERIAL_NUMBER),
        email,
        issuer_common_name: names::common_name(&tbs.issuer),
        certificate_serial_hex: serial_hex,
        certificate_sha256_hex: hex(&Sha256::digest(&der)),
        not_before: to_chrono(&tbs.validity.not_before),
        not_after: to_chrono(&tbs.validity.not_after),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    fn of(oid: &ObjectIdentifier) -> Result<Self, VerifyError> {
        match *oid {
            o if o == oid::SHA256 => Ok(DigestAlg::Sha256),
            o if o == oid::SHA384 => Ok(DigestAlg::Sha384),
            o if o == oid::SHA512 => Ok(DigestAlg::Sha512),
            o => Err(VerifyError::UnsupportedAlgorithm(format!("digest {o}"))),
        }
    }

    fn of_ecdsa(oid: &ObjectIdentifier) -> Result<Self, VerifyError> {
        match *oid {
            o if o == oid::ECDSA_SHA256 => Ok(DigestAlg::Sha256),
            o if o == oid::ECDSA_SHA384 => Ok(DigestAlg::Sha384),
            o if o == oid::ECDSA_SHA512 => Ok(DigestAlg::Sha512),
            o => Err(VerifyError::UnsupportedAlgorithm(format!("signature {o}"))),
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            parts.iter().for_each(|p| d.update(p));
            d.finalize().to_vec()
        }
        match self {
            DigestAlg::Sha256 => run::<Sha256>(parts),
            DigestAlg::Sha384 => run::<Sha384>(parts),
            DigestAlg::Sha512 => run::<Sha512>(parts),
        }
    }
}

/// The `/M` date of the signature dictionary holding the byte range. Only
/// signed bytes are searched: from the object's start (or 64 KiB back) to
/// the `/Contents` gap, and from the gap to the object's end.
fn pdf_signing_time(pdf: &[u8], sig: &Located) -> Option<DateTime<FixedOffset>> {
    let [_, len1, off2, len2] = sig.range;
    let floor = len1.saturating_sub(MAX_DICT_LEN);
    let start = rfind(&pdf[floor..len1], b" obj").map_or(floor, |i| floor + i);
    let tail = &pdf[off2..off2 + len2];
    let end = off2 + find(tail, b"endobj").unwrap_or(tail.len().min(MAX_DICT_LEN));
    [&pdf[start..len1], &pdf[off2..end]].into_iter().find_map(find_m_date)
}

fn find_m_date(dict: &[u8]) -> Option<DateTime<FixedOffset>> {
    let mut from = 0;
    while let Some(i) = find(&dict[from..], b"/M") {
        let mut p = Parser { bytes: dict, pos: from + i + 2 };
        from = p.pos;
        // "/M" must be the whole key, not the start of "/MediaBox".
        if !matches!(dict.get(p.pos), Some(b) if is_ws(*b) || *b == b'(') {
            continue;
        }
        p.skip_ws();
        if p.expect(b'(').is_some() {
            let close = find(&dict[p.pos..], b")")?;
            return parse_pdf_date(&dict[p.pos..p.pos + close]);
        }
    }
    None
}

/// Parses `D:YYYYMMDDHHmmSSOHH'mm'` (ISO 32000-1 7.9.4); every part after
/// the year is optional, a missing offset means UTC.
fn parse_pdf_date(s: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = s.strip_prefix(b"D:").unwrap_or(s);
    let num = |range: std::ops::Range<usize>, default: u32| -> Option<u32> {
        match s.get(range) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => std::str::from_utf8(d).ok()?.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year = i32::try_from(num(0..4, u32::MAX)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4..6, 1)?, num(6..8, 1)?)?;
    let time = date.and_hms_opt(num(8..10, 0)?, num(10..12, 0)?, num(12..14, 0)?)?;
    let offset = match s.get(14) {
        None | Some(b'Z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest = &s[15..];
            let hours = rest.get(0..2).and_then(|d| std::str::from_utf8(d).ok()?.parse::<i32>().ok())?;
            let minutes = rest.get(3..5).and_then(|d| std::str::from_utf8(d).ok()?.parse::<i32>().ok()).unwrap_or(0);
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        Some(_) => return None,
    };
    time.and_local_timezone(FixedOffset::east_opt(offset)?).single()
}

/// A cursor over PDF syntax, just enough for one array of integers.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| is_ws(*b)) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.bytes.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    /// A non-negative integer of at most 15 digits (no PDF is a petabyte).
    fn number(&mut self) -> Option<usize> {
        let digits = self.bytes[self.pos.min(self.bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 15 {
            return None;
        }
        let text = std::str::from_utf8(&self.bytes[self.pos..self.pos + digits]).ok()?;
        self.pos += digits;
        text.parse().ok()
    }
}

/// PDF white-space characters (ISO 32000-1 table 1).
fn is_ws(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn trim_end_ws(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|c| !is_ws(*c)).map_or(0, |i| i + 1);
    &b[..end]
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let nibbles: Vec<u8> = hex.iter().filter(|b| !is_ws(**b)).map(|&b| (b as char).to_digit(16).map(|d| d as u8)).collect::<Option<_>>()?;
    // An odd final digit is followed by an implied 0 (ISO 32000-1 7.3.4.3).
    Some(nibbles.chunks(2).map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0)).collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_parse_with_and_without_offsets() {
        let t = parse_pdf_date(b"D:20261126093005+07'00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-26T09:30:05+07:00");
        assert_eq!(parse_pdf_date(b"D:20261126093005-03'30'").unwrap().to_rfc3339(), "2026-11-26T09:30:05-03:30");
        assert_eq!(parse_pdf_date(b"D:2026112609Z").unwrap().to_rfc3339(), "2026-11-26T09:00:00+00:00");
        assert_eq!(parse_pdf_date(b"D:2026").unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        for bad in [&b""[..], b"D:", b"D:20261326", b"D:2026112609300X", b"D:20261126093005+", b"D:2026x1", b"D:20261126093005+99'00"] {
            assert_eq!(parse_pdf_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn m_key_is_matched_whole() {
        let dict = b"<< /MediaBox [0 0 1 1] /Mx (D:1999) /M (D:20260102030405Z) >>";
        assert_eq!(find_m_date(dict).unwrap().to_rfc3339(), "2026-01-02T03:04:05+00:00");
        assert_eq!(find_m_date(b"<< /M"), None);
        assert_eq!(find_m_date(b"<< /M (D:2026"), None);
    }

    #[test]
    fn der_padding_is_trimmed_and_junk_refused() {
        assert_eq!(trim_der(&[0x30, 0x01, 0x05, 0, 0]).unwrap(), &[0x30, 0x01, 0x05]);
        assert_eq!(trim_der(&[0x30, 0x81, 0x01, 0x05]).unwrap(), &[0x30, 0x81, 0x01, 0x05]);
        for bad in [
            &[][..],
            &[0x30],
            &[0x31, 0],
            &[0x30, 0x02, 0],
            &[0x30, 0x01, 5, 1],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(trim_der(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_allows_whitespace_and_odd_length() {
        assert_eq!(decode_hex(b"3 0\n0a f"), Some(vec![0x30, 0x0a, 0xf0]));
        assert_eq!(decode_hex(b"3g"), None);
    }
}
