//! A small certification authority: a self-signed root that issues
//! document-signing certificates to officers.

use std::fmt;

use chrono::{DateTime, Months, Utc};
use der::asn1::ObjectIdentifier;
use der::oid::AssociatedOid;
use der::pem::LineEnding;
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::rngs::OsRng;
use rand::RngCore;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::ext::AsExtension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::names::{self, x509_time};
use crate::{oid, Error};

/// The parts of a CA's distinguished name. Only the common name is required.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinguishedNameParts {
    /// CN, e.g. "Thăng Long Test CA".
    pub common_name: String,
    /// O, e.g. "Sở Khoa học và Công nghệ Hà Nội".
    pub organisation: Option<String>,
    /// OU, e.g. "Trung tâm Chứng thực điện tử".
    pub organisational_unit: Option<String>,
    /// ST, province or city, e.g. "Hà Nội".
    pub province: Option<String>,
    /// C, two-letter ISO 3166 code; "VN" by [`DistinguishedNameParts::new`].
    pub country: Option<String>,
}

impl DistinguishedNameParts {
    /// A name with this common name and country "VN".
    pub fn new(common_name: &str) -> Self {
        DistinguishedNameParts { common_name: common_name.to_owned(), country: Some("VN".to_owned()), ..Default::default() }
    }

    fn encode(&self) -> Result<x509_cert::name::Name, Error> {
        let mut parts = Vec::new();
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::InvalidName { field: "country", reason: "must be two capital letters" });
            }
            parts.push((oid::COUNTRY, names::printable("country", c, 2)?));
        }
        if let Some(st) = &self.province {
            parts.push((oid::PROVINCE, names::utf8("province", st)?));
        }
        if let Some(o) = &self.organisation {
            parts.push((oid::ORGANISATION, names::utf8("organisation", o)?));
        }
        if let Some(ou) = &self.organisational_unit {
            parts.push((oid::ORGANISATIONAL_UNIT, names::utf8("organisational unit", ou)?));
        }
        parts.push((oid::COMMON_NAME, names::utf8("common name", &self.common_name)?));
        names::name(parts)
    }
}

/// Who a signing certificate is issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Officer {
    /// Full name (CN), e.g. "Nguyễn Văn An".
    pub name: String,
    /// Agency (O), e.g. "UBND phường Hoàn Kiếm".
    pub organisation: String,
    /// Personal ID number (số định danh cá nhân, 12 digits), stored in the
    /// subject's serialNumber attribute as Vietnamese CAs do, so that a
    /// verifier can tell apart two officers with the same name.
    pub personal_id: String,
    /// Work e-mail, put in subjectAltName (rfc822Name).
    pub email: Option<String>,
}

/// An officer's certificate and private key.
///
/// `Debug` never prints the key. Store the key sealed ([`crate::seal_key`]).
#[derive(Clone)]
pub struct SignerCredential {
    /// The officer's certificate (DER).
    pub cert_der: Vec<u8>,
    /// The officer's private key, PKCS#8 DER (ECDSA P-256).
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// Issuer certificates (DER), nearest first, embedded in each signature
    /// so that verifiers can build the chain offline.
    pub chain_der: Vec<Vec<u8>>,
}

impl fmt::Debug for SignerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerCredential")
            .field("cert_der", &format_args!("{} bytes", self.cert_der.len()))
            .field("key_pkcs8_der", &"<redacted>")
            .field("chain_der", &self.chain_der.len())
            .finish()
    }
}

/// A root certification authority: its certificate and private key.
pub struct Ca {
    cert: Certificate,
    cert_der: Vec<u8>,
    key: SigningKey,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca").field("subject", &self.cert.tbs_certificate.subject.to_string()).finish_non_exhaustive()
    }
}

impl Ca {
    /// A new self-signed root with a fresh P-256 key, valid from `not_before`
    /// for `valid_years` years, with basicConstraints cA and keyUsage
    /// keyCertSign + cRLSign (both critical).
    pub fn generate(subject: &DistinguishedNameParts, not_before: DateTime<Utc>, valid_years: u32) -> Result<Ca, Error> {
        let not_after = years_after(not_before, valid_years)?;
        let key = SigningKey::random(&mut OsRng);
        let spki = spki_of(&key)?;
        let validity = Validity { not_before: x509_time(not_before)?, not_after: x509_time(not_after)? };
        let builder = CertificateBuilder::new(Profile::Root, random_serial(), validity, subject.encode()?, spki, &key)
            .map_err(|e| Error::Build(e.to_string()))?;
        let cert = builder.build::<DerSignature>().map_err(|e| Error::Build(e.to_string()))?;
        let cert_der = cert.to_der().map_err(Error::decode("certificate"))?;
        Ok(Ca { cert, cert_der, key })
    }

    /// Loads a CA from its certificate and its PKCS#8 private key, both PEM.
    /// Fails if the key is not the certificate's or the certificate is not a CA.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, Error> {
        let (label, cert_der) = der::pem::decode_vec(cert_pem.as_bytes()).map_err(Error::decode("certificate PEM"))?;
        if label != "CERTIFICATE" {
            return Err(Error::Decode { what: "certificate PEM", source: der::ErrorKind::Failed.into() });
        }
        let (label, key_der) = der::pem::decode_vec(key_pem.as_bytes()).map_err(Error::decode("key PEM"))?;
        let key_der = Zeroizing::new(key_der);
        if label != "PRIVATE KEY" {
            return Err(Error::InvalidKey);
        }
        let cert = Certificate::from_der(&cert_der).map_err(Error::decode("certificate"))?;
        let key = SigningKey::from_pkcs8_der(&key_der).map_err(|_| Error::InvalidKey)?;
        if spki_of(&key)? != cert.tbs_certificate.subject_public_key_info {
            return Err(Error::KeyMismatch);
        }
        if !is_ca(&cert) {
            return Err(Error::NotACa);
        }
        Ok(Ca { cert, cert_der, key })
    }

    /// The certificate and the PKCS#8 private key as PEM. The key is
    /// unencrypted: seal it ([`crate::seal_key`]) or keep it in a secret store.
    pub fn to_pem(&self) -> Result<(String, Zeroizing<String>), Error> {
        let cert = der::pem::encode_string("CERTIFICATE", LineEnding::LF, &self.cert_der).map_err(Error::decode("certificate"))?;
        let key_der = self.key.to_pkcs8_der().map_err(|_| Error::InvalidKey)?;
        let key = der::pem::encode_string("PRIVATE KEY", LineEnding::LF, key_der.as_bytes()).map_err(Error::decode("key"))?;
        Ok((cert, Zeroizing::new(key)))
    }

    /// The CA certificate (DER), e.g. for [`crate::TrustAnchors::from_der`].
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Issues a document-signing certificate with a fresh key.
    ///
    /// Subject: C (copied from the CA), O = agency, CN = name, serialNumber =
    /// personal ID. keyUsage digitalSignature + nonRepudiation (critical);
    /// extendedKeyUsage emailProtection (NSS, hence poppler's pdfsig, checks
    /// it for signers) and documentSigning (RFC 9336). The serial number is
    /// 127 random bits. The validity must lie within the CA's own.
    pub fn issue(&self, officer: &Officer, valid_from: DateTime<Utc>, valid_to: DateTime<Utc>) -> Result<SignerCredential, Error> {
        if valid_from >= valid_to {
            return Err(Error::InvalidValidity("must end after it starts"));
        }
        let ca_validity = &self.cert.tbs_certificate.validity;
        if valid_from < names::to_chrono(&ca_validity.not_before) || valid_to > names::to_chrono(&ca_validity.not_after) {
            return Err(Error::InvalidValidity("must lie within the CA certificate's validity"));
        }
        let issuer = &self.cert.tbs_certificate.subject;
        let mut parts = Vec::new();
        if let Some(country) = names::attribute(issuer, oid::COUNTRY) {
            parts.push((oid::COUNTRY, names::printable("country", &country, 2)?));
        }
        parts.push((oid::ORGANISATION, names::utf8("organisation", &officer.organisation)?));
        parts.push((oid::COMMON_NAME, names::utf8("name", &officer.name)?));
        if !officer.personal_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidName { field: "personal ID", reason: "must be digits" });
        }
        parts.push((oid::SERIAL_NUMBER, names::printable("personal ID", &officer.personal_id, 64)?));
        let subject = names::name(parts)?;

        let key = SigningKey::random(&mut OsRng);
        let validity = Validity { not_before: x509_time(valid_from)?, not_after: x509_time(valid_to)? };
        let profile = Profile::Leaf { issuer: issuer.clone(), enable_key_agreement: false, enable_key_encipherment: false };
        let build_err = |e: x509_cert::builder::Error| Error::Build(e.to_string());
        let mut builder =
            CertificateBuilder::new(profile, random_serial(), validity, subject, spki_of(&key)?, &self.key).map_err(build_err)?;
        builder
            .add_extension(&NonCriticalEku(ExtendedKeyUsage(vec![oid::KP_EMAIL_PROTECTION, oid::KP_DOCUMENT_SIGNING])))
            .map_err(build_err)?;
        if let Some(email) = &officer.email {
            let email = names::ia5("e-mail", email)?.into();
            builder.add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(email)])).map_err(build_err)?;
        }
        let cert = builder.build::<DerSignature>().map_err(build_err)?;
        Ok(SignerCredential {
            cert_der: cert.to_der().map_err(Error::decode("certificate"))?,
            key_pkcs8_der: Zeroizing::new(key.to_pkcs8_der().map_err(|_| Error::InvalidKey)?.as_bytes().to_vec()),
            chain_der: vec![self.cert_der.clone()],
        })
    }
}

/// extendedKeyUsage marked non-critical, as the S/MIME Baseline
/// Requirements (7.1.2.3) advise; x509-cert always marks it critical, which
/// makes relying parties that don't know documentSigning reject the whole
/// certificate.
struct NonCriticalEku(ExtendedKeyUsage);

impl AssociatedOid for NonCriticalEku {
    const OID: ObjectIdentifier = ExtendedKeyUsage::OID;
}

impl Encode for NonCriticalEku {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }

    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

impl AsExtension for NonCriticalEku {
    fn critical(&self, _subject: &x509_cert::name::Name, _extensions: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}

pub(crate) fn spki_of(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, Error> {
    let der = key.verifying_key().to_public_key_der().map_err(|_| Error::InvalidKey)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(Error::decode("public key"))
}

pub(crate) fn is_ca(cert: &Certificate) -> bool {
    matches!(cert.tbs_certificate.get::<BasicConstraints>(), Ok(Some((_, BasicConstraints { ca: true, .. }))))
}

/// 127 random bits: unpredictable serials (CA/B Forum asks for at least 64)
/// keep a chosen-prefix collision from being planned, and a clear top bit
/// keeps the DER INTEGER positive and within RFC 5280's 20 octets.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f).max(1);
    SerialNumber::new(&bytes).expect("16 positive bytes make a valid serial")
}

fn years_after(t: DateTime<Utc>, years: u32) -> Result<DateTime<Utc>, Error> {
    if years == 0 {
        return Err(Error::InvalidValidity("must be at least one year"));
    }
    years.checked_mul(12).and_then(|m| t.checked_add_months(Months::new(m))).ok_or(Error::InvalidValidity("too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap()
    }

    fn officer() -> Officer {
        Officer {
            name: "Nguyễn Thị Thu Hằng".into(),
            organisation: "UBND phường Hoàn Kiếm".into(),
            personal_id: "001185012345".into(),
            email: Some("hang.ntt@hoankiem.example.vn".into()),
        }
    }

    #[test]
    fn vietnamese_names_survive_as_utf8_strings() {
        let subject = DistinguishedNameParts {
            common_name: "Trung tâm Chứng thực Thăng Long (thử nghiệm)".into(),
            organisation: Some("Sở Khoa học và Công nghệ".into()),
            organisational_unit: Some("Phòng Hạ tầng số".into()),
            province: Some("Hà Nội".into()),
            country: Some("VN".into()),
        };
        let ca = Ca::generate(&subject, now(), 10).unwrap();
        let cred = ca.issue(&officer(), now(), now() + Months::new(24)).unwrap();
        let cert = Certificate::from_der(&cred.cert_der).unwrap();
        let subj = &cert.tbs_certificate.subject;
        assert_eq!(names::common_name(subj).as_deref(), Some("Nguyễn Thị Thu Hằng"));
        assert_eq!(names::attribute(subj, oid::ORGANISATION).as_deref(), Some("UBND phường Hoàn Kiếm"));
        assert_eq!(names::attribute(subj, oid::SERIAL_NUMBER).as_deref(), Some("001185012345"));
        assert_eq!(names::attribute(subj, oid::COUNTRY).as_deref(), Some("VN"));
        let cn = subj.0.iter().flat_map(|r| r.0.iter()).find(|a| a.oid == oid::COMMON_NAME).unwrap();
        assert_eq!(der::Tagged::tag(&cn.value), der::Tag::Utf8String);
        let issuer = &cert.tbs_certificate.issuer;
        assert_eq!(names::attribute(issuer, oid::PROVINCE).as_deref(), Some("Hà Nội"));
        assert_eq!(issuer, &Certificate::from_der(ca.cert_der()).unwrap().tbs_certificate.subject);
    }

    #[test]
    fn pem_round_trip_keeps_the_key_and_rejects_a_stranger_key() {
        let ca = Ca::generate(&DistinguishedNameParts::new("CA một"), now(), 5).unwrap();
        let (cert_pem, key_pem) = ca.to_pem().unwrap();
        assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let loaded = Ca::from_pem(&cert_pem, &key_pem).unwrap();
        assert_eq!(loaded.cert_der(), ca.cert_der());
        // The reloaded CA issues certificates that chain to the original.
        let cred = loaded.issue(&officer(), now(), now() + Months::new(1)).unwrap();
        assert_eq!(cred.chain_der, vec![ca.cert_der().to_vec()]);

        let other = Ca::generate(&DistinguishedNameParts::new("CA hai"), now(), 5).unwrap();
        let (_, other_key) = other.to_pem().unwrap();
        assert!(matches!(Ca::from_pem(&cert_pem, &other_key), Err(Error::KeyMismatch)));
        assert!(matches!(Ca::from_pem(&key_pem, &key_pem), Err(Error::Decode { .. })));
        assert!(matches!(Ca::from_pem("garbage", &key_pem), Err(Error::Decode { .. })));
    }

    #[test]
    fn bad_names_and_periods_are_refused() {
        let ca = Ca::generate(&DistinguishedNameParts::new("CA"), now(), 2).unwrap();
        let mut bad = officer();
        bad.personal_id = "0011-85".into();
        assert!(matches!(ca.issue(&bad, now(), now() + Months::new(1)), Err(Error::InvalidName { .. })));
        let mut bad = officer();
        bad.name = " ".into();
        assert!(matches!(ca.issue(&bad, now(), now() + Months::new(1)), Err(Error::InvalidName { .. })));
        let mut bad = officer();
        bad.email = Some("hằng@example.vn".into());
        assert!(matches!(ca.issue(&bad, now(), now() + Months::new(1)), Err(Error::InvalidName { .. })));
        assert!(matches!(ca.issue(&officer(), now(), now()), Err(Error::InvalidValidity(_))));
        assert!(matches!(ca.issue(&officer(), now(), now() + Months::new(36)), Err(Error::InvalidValidity(_))));
        let mut name = DistinguishedNameParts::new("CA");
        name.country = Some("Vietnam".into());
        assert!(Ca::generate(&name, now(), 1).is_err());
        assert!(Ca::generate(&DistinguishedNameParts::new("CA"), now(), 0).is_err());
    }

    #[test]
    fn serials_are_positive_random_and_short() {
        let a = random_serial();
        let b = random_serial();
        assert_ne!(a, b);
        assert!(a.as_bytes().len() <= 16 && a.as_bytes()[0] < 0x80);
    }
}
