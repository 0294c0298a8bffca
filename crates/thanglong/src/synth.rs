//! A synthetic catalog for benchmarks: the seed's fields, units and agencies, and its real
//! procedures repeated with varied names and new codes up to the size of a province (~2,100).

use tl_core::catalog::Procedure;
use tl_core::catalog_doc::CatalogDocument;

const QUALIFIERS: &[&str] = &[
    "có yếu tố nước ngoài",
    "cho người Việt Nam định cư ở nước ngoài",
    "trường hợp bị mất, hư hỏng",
    "đối với hộ gia đình, cá nhân",
    "đối với tổ chức",
    "cấp lại",
    "điều chỉnh, bổ sung",
    "tại khu vực biên giới",
    "theo yêu cầu",
    "liên thông",
    "lần đầu",
    "gia hạn",
];

pub fn scale(seed: &CatalogDocument, count: usize) -> CatalogDocument {
    let mut doc = seed.clone();
    let base: Vec<Procedure> = seed.procedures.clone();
    let mut i = 0usize;
    while doc.procedures.len() < count && !base.is_empty() {
        let src = &base[i % base.len()];
        let q = QUALIFIERS[(i / base.len()) % QUALIFIERS.len()];
        let mut p = src.clone();
        p.code = format!("9.{:06}", i + 1);
        for v in &mut p.versions {
            v.name.vi = format!("{} {} (mẫu {})", v.name.vi, q, i + 1);
            if let Some(en) = &mut v.name.en {
                *en = format!("{en} — variant {}", i + 1);
            }
        }
        doc.procedures.push(p);
        i += 1;
    }
    doc.procedures.truncate(count.max(seed.procedures.len().min(count)));
    doc
}
