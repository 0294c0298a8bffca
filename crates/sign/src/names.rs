//! Distinguished names in and out of certificates, and X.509 times.

use std::time::Duration;

use chrono::{DateTime, Utc};
use der::asn1::{Any, BmpString, Ia5StringRef, ObjectIdentifier, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::time::Time;

use crate::{oid, Error};

/// Builds a name from (type, value) pairs, most general first as is usual
/// (C, ST, O, OU, CN). Each value is already encoded.
pub(crate) fn name(parts: Vec<(ObjectIdentifier, Any)>) -> Result<Name, Error> {
    let rdns = parts
        .into_iter()
        .map(|(oid, value)| {
            let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(Error::decode("name"))?;
            Ok(RelativeDistinguishedName::from(set))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(RdnSequence(rdns))
}

/// Free text such as a person's or an agency's name: UTF8String, which RFC
/// 5280 requires for new certificates and which carries "Nguyễn" as is.
pub(crate) fn utf8(field: &'static str, value: &str) -> Result<Any, Error> {
    let value = value.trim();
    // X.520 upper bound (ub-name etc.): most names allow 64 characters, a
    // common name 64, an organisation 64; longer names break some clients.
    if value.is_empty() || value.chars().count() > 64 {
        return Err(Error::InvalidName { field, reason: "must be 1 to 64 characters" });
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidName { field, reason: "must not contain control characters" });
    }
    let s = Utf8StringRef::new(value).map_err(Error::decode(field))?;
    Any::encode_from(&s).map_err(Error::decode(field))
}

/// Country codes and serial numbers are PrintableString by definition (X.520).
pub(crate) fn printable(field: &'static str, value: &str, max: usize) -> Result<Any, Error> {
    if value.is_empty() || value.len() > max {
        return Err(Error::InvalidName { field, reason: "has the wrong length" });
    }
    let s = PrintableStringRef::new(value)
        .map_err(|_| Error::InvalidName { field, reason: "must use only letters, digits, space and '()+,-./:=?" })?;
    Any::encode_from(&s).map_err(Error::decode(field))
}

pub(crate) fn ia5<'a>(field: &'static str, value: &'a str) -> Result<Ia5StringRef<'a>, Error> {
    Ia5StringRef::new(value).map_err(|_| Error::InvalidName { field, reason: "must be ASCII" })
}

/// The first value of attribute `oid` in `name` as text, whatever string
/// type the issuer used. TeletexString is read as Latin-1, which is what
/// it holds in practice.
pub(crate) fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    let value = name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|atv| atv.oid == oid)?.value.clone();
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => std::str::from_utf8(bytes).ok().map(str::to_owned),
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => BmpString::from_ucs2(bytes).ok().map(|s| s.chars().collect()),
        _ => None,
    }
}

pub(crate) fn common_name(name: &Name) -> Option<String> {
    attribute(name, oid::COMMON_NAME)
}

/// A certificate or CMS time from a UTC instant: UTCTime up to 2049,
/// GeneralizedTime from 2050 (RFC 5280 4.1.2.5, RFC 5652 11.3).
pub(crate) fn x509_time(t: DateTime<Utc>) -> Result<Time, Error> {
    let secs = u64::try_from(t.timestamp()).map_err(|_| Error::InvalidValidity("before 1970"))?;
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| Error::InvalidValidity("after 9999"))?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(der::asn1::UtcTime::from_date_time(dt).map_err(Error::decode("time"))?)
    } else {
        Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

pub(crate) fn to_chrono(t: &Time) -> DateTime<Utc> {
    let secs = t.to_unix_duration().as_secs();
    // der::DateTime stops at 9999, far inside chrono's range.
    DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
