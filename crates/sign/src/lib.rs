//! Digital signatures for electronic results (kết quả điện tử): a small X.509
//! certification authority, officer credentials, PAdES signatures and their
//! offline verification.
//!
//! * [`Ca`] is a self-signed root (or one loaded from PEM) that issues
//!   [`SignerCredential`]s to officers: an ECDSA P-256 key and a certificate
//!   naming the officer (CN), the agency (O) and the personal ID number
//!   (serialNumber). Names are UTF8String, so Vietnamese survives intact.
//! * [`seal_key`] / [`open_key`] protect a private key at rest with
//!   AES-256-GCM under a key-encryption key kept outside the database.
//! * [`sign_cms_detached`] makes the detached CMS SignedData that goes into a
//!   PDF's `/Contents` (`tl_pdf::Document::finish_signed`), with the PAdES
//!   baseline B-B signed attributes.
//! * [`verify_pdf`] checks the last signature of any PDF against a set of
//!   [`TrustAnchors`] without network access.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use tl_sign::{Ca, CmsProfile, DistinguishedNameParts, Officer, TrustAnchors};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
//! let ca = Ca::generate(&DistinguishedNameParts::new("Thăng Long Test CA"), now, 10).unwrap();
//! let officer = Officer {
//!     name: "Nguyễn Văn An".into(),
//!     organisation: "UBND phường Hoàn Kiếm".into(),
//!     personal_id: "001085012345".into(),
//!     email: None,
//! };
//! let cred = ca.issue(&officer, now, now + chrono::Months::new(24)).unwrap();
//! let sig = tl_sign::sign_cms_detached(&cred, b"hello", &CmsProfile::Cades { signing_time: now }).unwrap();
//! let anchors = TrustAnchors::from_der([ca.cert_der()]).unwrap();
//! let checked = tl_sign::verify_cms_detached(&sig, b"hello", None, &anchors).unwrap();
//! assert_eq!(checked.signer.common_name.as_deref(), Some("Nguyễn Văn An"));
//! ```
//!
//! Algorithms: certificates and signatures are made with ECDSA P-256 and
//! SHA-256. Verification accepts ECDSA P-256 with SHA-256, -384 or -512;
//! anything else (RSA, other curves) is [`VerifyError::UnsupportedAlgorithm`].

#![deny(missing_docs)]

mod ca;
mod cades;
mod names;
mod seal;
mod verify;

pub use ca::{Ca, DistinguishedNameParts, Officer, SignerCredential};
pub use cades::{sign_cms_detached, sign_cms_detached_digest, CmsProfile};
pub use seal::{open_key, seal_key};
pub use verify::{
    verify_cms_detached, verify_pdf, CmsVerification, PdfVerification, SignerSummary, SigningTimeSource, TrustAnchors, VerifyError,
};
pub use zeroize::Zeroizing;

/// A certificate (DER) as PEM text, as `Ca::from_pem` and relying parties read it.
pub fn cert_pem(der: &[u8]) -> String {
    use base64ct::Encoding;
    let b64 = base64ct::Base64::encode_string(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// Why building a certificate, loading a key or signing failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name or ID can't go into a certificate as given.
    #[error("invalid {field}: {reason}")]
    InvalidName {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The validity period is empty, before 1970, or outside the CA's own.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),
    /// PEM or DER input could not be decoded.
    #[error("malformed {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        source: der::Error,
    },
    /// The private key is not a PKCS#8 P-256 key.
    #[error("the private key is not a PKCS#8 ECDSA P-256 key")]
    InvalidKey,
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// A CA or trust anchor certificate lacks basicConstraints cA=TRUE.
    #[error("the certificate is not a CA certificate")]
    NotACa,
    /// A sealed key could not be opened: wrong key-encryption key, or the
    /// sealed bytes were altered or truncated.
    #[error("the sealed key cannot be opened (wrong key-encryption key or damaged data)")]
    Unseal,
    /// The certificate builder or signer failed.
    #[error("certificate building failed: {0}")]
    Build(String),
}

impl Error {
    /// Stable machine code, for logs and API problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidName { .. } => "invalid_name",
            Error::InvalidValidity(_) => "invalid_validity",
            Error::Decode { .. } => "malformed_input",
            Error::InvalidKey => "invalid_key",
            Error::KeyMismatch => "key_mismatch",
            Error::NotACa => "not_a_ca",
            Error::Unseal => "unseal_failed",
            Error::Build(_) => "build_failed",
        }
    }

    fn decode<E: Into<der::Error>>(what: &'static str) -> impl FnOnce(E) -> Error {
        move |source| Error::Decode { what, source: source.into() }
    }
}

/// Object identifiers used here, spelt out so each one can be checked
/// against its RFC.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    // RFC 5652 (CMS) and PKCS #9 attributes.
    pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    // RFC 5035 (ESS signing-certificate-v2).
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    // FIPS 180-4 digests (NIST CSOR).
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    // RFC 5758 / RFC 5480 (ECDSA, P-256).
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    // X.520 attribute types.
    pub const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
    pub const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
    pub const COUNTRY: Oid = Oid::new_unwrap("2.5.4.6");
    pub const PROVINCE: Oid = Oid::new_unwrap("2.5.4.8");
    pub const ORGANISATION: Oid = Oid::new_unwrap("2.5.4.10");
    pub const ORGANISATIONAL_UNIT: Oid = Oid::new_unwrap("2.5.4.11");
    // RFC 5280 (emailProtection) and RFC 9336 (documentSigning).
    pub const KP_EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");
    pub const KP_DOCUMENT_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.36");
}
