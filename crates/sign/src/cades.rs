//! Detached CMS SignedData with CAdES signed attributes (RFC 5652, ETSI EN
//! 319 122-1), in the form PAdES baseline B-B puts in a PDF (ETSI EN 319
//! 142-1 clause 6.3).

use chrono::{DateTime, Utc};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::ca::spki_of;
use crate::names::x509_time;
use crate::{oid, Error, SignerCredential};

/// Which signed attributes to include besides content-type,
/// message-digest and signing-certificate-v2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmsProfile {
    /// For a PDF signature (SubFilter ETSI.CAdES.detached). No signing-time
    /// attribute: PAdES baseline signatures must not carry one (ETSI EN 319
    /// 142-1, table 1; ISO 32000-2 12.8.3.4), the claimed time is the `/M`
    /// entry of the signature dictionary, which the byte range covers.
    Pades,
    /// A detached CAdES-BES signature for anything else, with a
    /// signing-time attribute.
    Cades {
        /// The claimed signing time.
        signing_time: DateTime<Utc>,
    },
}

/// ESS SigningCertificateV2 (RFC 5035): binds the signature to the signer's
/// certificate, so that a different certificate for the same key can't be
/// substituted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    /// SEQUENCE OF PolicyInformation; kept opaque, we neither write nor use it.
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    /// DEFAULT id-sha256, so DER leaves it out for SHA-256.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

/// Signs `content` (for a PDF: the bytes its `/ByteRange` covers) and
/// returns a DER ContentInfo holding a detached SignedData: SHA-256, ECDSA
/// P-256, the signer's certificate and its chain embedded.
pub fn sign_cms_detached(cred: &SignerCredential, content: &[u8], profile: &CmsProfile) -> Result<Vec<u8>, Error> {
    sign_cms_detached_digest(cred, &Sha256::digest(content).into(), profile)
}

/// Like [`sign_cms_detached`], given the SHA-256 digest of the content, for
/// content hashed elsewhere (streamed, or on another machine).
pub fn sign_cms_detached_digest(cred: &SignerCredential, sha256: &[u8; 32], profile: &CmsProfile) -> Result<Vec<u8>, Error> {
    let cert = Certificate::from_der(&cred.cert_der).map_err(Error::decode("signer certificate"))?;
    let key = SigningKey::from_pkcs8_der(&cred.key_pkcs8_der).map_err(|_| Error::InvalidKey)?;
    if spki_of(&key)? != cert.tbs_certificate.subject_public_key_info {
        return Err(Error::KeyMismatch);
    }
    let tbs = &cert.tbs_certificate;
    let encode = |source| Error::Decode { what: "signed data", source };

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(&cred.cert_der).to_vec()).map_err(encode)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            }),
        }],
        policies: None,
    };
    let mut attrs = vec![
        attribute(oid::CONTENT_TYPE, Any::encode_from(&oid::DATA))?,
        attribute(oid::MESSAGE_DIGEST, Any::encode_from(&OctetString::new(sha256.to_vec()).map_err(encode)?))?,
        attribute(oid::SIGNING_CERTIFICATE_V2, Any::encode_from(&ess))?,
    ];
    if let CmsProfile::Cades { signing_time } = profile {
        attrs.push(attribute(oid::SIGNING_TIME, Any::encode_from(&x509_time(*signing_time)?))?);
    }
    // SetOfVec sorts into DER order; the signature is over exactly this
    // encoding, with the SET OF tag (RFC 5652 5.4).
    let signed_attrs = SetOfVec::try_from(attrs).map_err(encode)?;
    let signature: DerSignature = key.sign(&signed_attrs.to_der().map_err(encode)?);

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None },
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned { oid: oid::ECDSA_SHA256, parameters: None },
        signature: OctetString::new(signature.as_bytes()).map_err(encode)?,
        unsigned_attrs: None,
    };

    let mut certs = vec![CertificateChoices::Certificate(cert.clone())];
    for der in &cred.chain_der {
        let c = Certificate::from_der(der).map_err(Error::decode("chain certificate"))?;
        if !certs.iter().any(|x| matches!(x, CertificateChoices::Certificate(x) if *x == c)) {
            certs.push(CertificateChoices::Certificate(c));
        }
    }
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None }]).map_err(encode)?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::DATA, econtent: None },
        certificates: Some(CertificateSet(SetOfVec::try_from(certs).map_err(encode)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(encode)?),
    };
    let info = ContentInfo { content_type: oid::SIGNED_DATA, content: Any::encode_from(&signed_data).map_err(encode)? };
    info.to_der().map_err(encode)
}

fn attribute(oid: ObjectIdentifier, value: Result<Any, der::Error>) -> Result<Attribute, Error> {
    let value = value.map_err(Error::decode("signed attribute"))?;
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value]).map_err(Error::decode("signed attribute"))? })
}
