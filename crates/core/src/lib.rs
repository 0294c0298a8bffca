//! Thăng Long's domain core: the law as data, with no I/O, no clock reads and no async.
//! Callers pass in the time and get decisions back.

pub mod account;
pub mod calendar;
pub mod catalog;
pub mod catalog_doc;
pub mod contact;
pub mod dossier;
pub mod federation;
pub mod fee;
pub mod fmt;
pub mod form;
pub mod ids;
pub mod lunar;
pub mod personal;
pub mod process;
pub mod search;
pub mod text;
pub mod time;
pub mod totp;
