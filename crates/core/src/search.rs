//! An in-memory search index for the catalog: BM25 over folded tokens with the name weighted
//! above the rest, the last term matched as a prefix, AND semantics with an OR fallback, and
//! the same ordering rules as the database engines (names containing the whole phrase first,
//! shortest first; then score; then name). A province has ~2,100 procedures, so the whole
//! index is a few megabytes and a query touches only the posting lists of its terms.

use std::collections::{BTreeMap, HashMap};

/// Weight of a match in the name against a match elsewhere (as in the FTS5 `bm25` weights).
const NAME_WEIGHT: f32 = 10.0;
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// What the index needs to know of one procedure; `payload` is returned on a hit.
pub struct Doc<T> {
    pub payload: T,
    /// Folded name (see [`crate::text::fold`]).
    pub name: String,
    /// Folded other text.
    pub body: String,
    /// Length of the Vietnamese name in characters (shorter exact-phrase matches rank first).
    pub name_chars: usize,
    pub field: String,
    pub level: &'static str,
    /// Electronic IDs of the handling agencies.
    pub agencies: Vec<String>,
}

#[derive(Clone, Copy)]
struct Posting {
    doc: u32,
    tf_name: u16,
    tf_body: u16,
}

pub struct SearchIndex<T> {
    docs: Vec<Doc<T>>,
    name_len: Vec<u16>,
    body_len: Vec<u16>,
    avg_name: f32,
    avg_body: f32,
    postings: BTreeMap<String, Vec<Posting>>,
    /// Document ids in name order, for listing without terms.
    by_name: Vec<u32>,
}

/// A query against the index.
#[derive(Debug, Default, Clone)]
pub struct IndexQuery<'a> {
    /// Folded terms; the last one is a prefix.
    pub terms: &'a [String],
    pub field: Option<&'a str>,
    /// An agency's electronic ID: the agency and everything under it.
    pub agency: Option<&'a str>,
    pub level: Option<&'a str>,
    pub offset: usize,
    pub limit: usize,
}

pub struct Hits<'a, T> {
    pub items: Vec<&'a T>,
    pub total: usize,
    /// No document had every term; these match some of them.
    pub relaxed: bool,
}

fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|t| !t.is_empty())
}

impl<T> SearchIndex<T> {
    pub fn new(mut docs: Vec<Doc<T>>) -> Self {
        docs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut postings: BTreeMap<String, Vec<Posting>> = BTreeMap::new();
        let mut name_len = Vec::with_capacity(docs.len());
        let mut body_len = Vec::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            let mut counts: HashMap<&str, (u16, u16)> = HashMap::new();
            let mut n = 0u16;
            for t in tokens(&d.name) {
                counts.entry(t).or_default().0 += 1;
                n = n.saturating_add(1);
            }
            let mut m = 0u16;
            for t in tokens(&d.body) {
                counts.entry(t).or_default().1 += 1;
                m = m.saturating_add(1);
            }
            name_len.push(n);
            body_len.push(m);
            for (t, (tf_name, tf_body)) in counts {
                postings.entry(t.to_owned()).or_default().push(Posting { doc: i as u32, tf_name, tf_body });
            }
        }
        let count = docs.len().max(1) as f32;
        let avg_name = name_len.iter().map(|&x| f32::from(x)).sum::<f32>() / count;
        let avg_body = body_len.iter().map(|&x| f32::from(x)).sum::<f32>() / count;
        let by_name = (0..docs.len() as u32).collect();
        Self { docs, name_len, body_len, avg_name: avg_name.max(1.0), avg_body: avg_body.max(1.0), postings, by_name }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn docs(&self) -> impl Iterator<Item = &Doc<T>> {
        self.docs.iter()
    }

    fn passes(&self, d: &Doc<T>, q: &IndexQuery) -> bool {
        q.field.is_none_or(|f| d.field == f)
            && q.level.is_none_or(|l| d.level == l)
            && q.agency.is_none_or(|a| {
                d.agencies.iter().any(|x| x == a || (x.len() > a.len() && x.starts_with(a) && x.as_bytes()[a.len()] == b'.'))
            })
    }

    fn tf_norm(&self, tf: u16, len: u16, avg: f32) -> f32 {
        if tf == 0 {
            return 0.0;
        }
        let tf = f32::from(tf);
        tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * f32::from(len) / avg))
    }

    pub fn search(&self, q: &IndexQuery) -> Hits<'_, T> {
        let limit = q.limit.max(1);
        if q.terms.is_empty() {
            let matching: Vec<u32> = self.by_name.iter().copied().filter(|&i| self.passes(&self.docs[i as usize], q)).collect();
            let items = matching.iter().skip(q.offset).take(limit).map(|&i| &self.docs[i as usize].payload).collect();
            return Hits { items, total: matching.len(), relaxed: false };
        }
        let n_terms = q.terms.len().min(16);
        let mut score = vec![0f32; self.docs.len()];
        let mut mask = vec![0u16; self.docs.len()];
        let n = self.docs.len() as f32;
        for (ti, term) in q.terms.iter().take(n_terms).enumerate() {
            let bit = 1u16 << ti;
            let lists: Vec<&Vec<Posting>> = if ti + 1 == n_terms {
                self.postings.range(term.clone()..).take_while(|(k, _)| k.starts_with(term.as_str())).map(|(_, v)| v).collect()
            } else {
                self.postings.get(term).into_iter().collect()
            };
            // Document frequency of the term (a prefix counts each document once).
            let mut df = 0f32;
            for list in &lists {
                for p in list.iter() {
                    if mask[p.doc as usize] & bit == 0 {
                        mask[p.doc as usize] |= bit;
                        df += 1.0;
                    }
                }
            }
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for list in lists {
                for p in list {
                    let d = p.doc as usize;
                    let s = NAME_WEIGHT * self.tf_norm(p.tf_name, self.name_len[d], self.avg_name)
                        + self.tf_norm(p.tf_body, self.body_len[d], self.avg_body);
                    score[d] += idf * s;
                }
            }
        }
        let all = if n_terms == 16 { u16::MAX } else { (1u16 << n_terms) - 1 };
        let collect = |want_all: bool| -> Vec<u32> {
            (0..self.docs.len() as u32)
                .filter(|&i| {
                    let m = mask[i as usize];
                    (if want_all { m == all } else { m != 0 }) && self.passes(&self.docs[i as usize], q)
                })
                .collect()
        };
        let mut relaxed = false;
        let mut found = collect(true);
        if found.is_empty() && n_terms > 1 {
            found = collect(false);
            relaxed = !found.is_empty();
        }
        let phrase = q.terms.join(" ");
        let spaced = format!(" {phrase}");
        let mut keyed: Vec<(usize, f32, u32)> = found
            .into_iter()
            .map(|i| {
                let d = &self.docs[i as usize];
                // Whole phrase at a word start in the name: rank by closeness (shorter names first).
                let at_word_start = d.name.starts_with(&phrase) || d.name.contains(&spaced);
                (if at_word_start { d.name_chars } else { usize::MAX }, -score[i as usize], i)
            })
            .collect();
        let total = keyed.len();
        // Docs are stored in name order, so the id breaks ties by name. Only the requested page
        // needs ordering: select it first, then sort just that part.
        let order = |a: &(usize, f32, u32), b: &(usize, f32, u32)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2));
        let end = (q.offset + limit).min(keyed.len());
        if end > 0 && end < keyed.len() {
            keyed.select_nth_unstable_by(end - 1, order);
            keyed.truncate(end);
        }
        keyed.sort_unstable_by(order);
        let items = keyed.iter().skip(q.offset).take(limit).map(|k| &self.docs[k.2 as usize].payload).collect();
        Hits { items, total, relaxed }
    }

    /// Number of documents per field.
    pub fn field_counts(&self) -> HashMap<&str, usize> {
        let mut m = HashMap::new();
        for d in &self.docs {
            *m.entry(d.field.as_str()).or_insert(0) += 1;
        }
        m
    }

    /// Number of documents at a service level.
    pub fn level_count(&self, level: &str) -> usize {
        self.docs.iter().filter(|d| d.level == level).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{fold, terms};

    fn doc(name: &str, body: &str, field: &str, agencies: &[&str]) -> Doc<String> {
        Doc {
            payload: name.to_owned(),
            name: fold(name),
            body: fold(body),
            name_chars: name.chars().count(),
            field: field.into(),
            level: "full_online",
            agencies: agencies.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn index() -> SearchIndex<String> {
        SearchIndex::new(vec![
            doc("Đăng ký khai sinh", "Tờ khai đăng ký khai sinh Giấy chứng sinh", "ho-tich", &["H26.31"]),
            doc("Đăng ký lại khai sinh", "Giấy khai sinh", "ho-tich", &["H26.31", "H26.32"]),
            doc("Đăng ký khai sinh có yếu tố nước ngoài", "Giấy khai sinh", "ho-tich", &["H26.32"]),
            doc("Cấp bản sao trích lục hộ tịch", "bản sao Giấy khai sinh, kết hôn", "ho-tich", &["H26.32.01"]),
            doc("Đăng ký kết hôn", "Giấy chứng nhận kết hôn", "ho-tich", &["H26.31"]),
            doc("Cấp giấy phép xây dựng", "Đơn đề nghị cấp giấy phép xây dựng", "xay-dung", &["H26.12"]),
        ])
    }

    fn names(idx: &SearchIndex<String>, q: &str) -> Vec<String> {
        let t = terms(q);
        idx.search(&IndexQuery { terms: &t, limit: 20, ..Default::default() }).items.into_iter().cloned().collect()
    }

    #[test]
    fn ranks_like_the_database_engines() {
        let idx = index();
        assert_eq!(names(&idx, "dang ky khai sinh")[..2], ["Đăng ký khai sinh", "Đăng ký khai sinh có yếu tố nước ngoài"]);
        let k = names(&idx, "KHAI SINH");
        assert_eq!(k[..3], ["Đăng ký khai sinh", "Đăng ký lại khai sinh", "Đăng ký khai sinh có yếu tố nước ngoài"]);
        assert!(k.contains(&"Cấp bản sao trích lục hộ tịch".to_string()), "body matches count: {k:?}");
        assert_eq!(names(&idx, "ĐĂNG KÝ KẾT HÔN")[0], "Đăng ký kết hôn");
        assert_eq!(names(&idx, "giay phep xay d"), ["Cấp giấy phép xây dựng"]);
        assert!(names(&idx, "qwxz zzyq").is_empty());
    }

    #[test]
    fn relaxes_filters_and_pages() {
        let idx = index();
        let t = terms("khai sinh sao hỏa");
        let hits = idx.search(&IndexQuery { terms: &t, limit: 20, ..Default::default() });
        assert!(hits.relaxed && hits.total >= 4);
        let t = terms("khai sinh");
        let h = idx.search(&IndexQuery { terms: &t, agency: Some("H26.32"), limit: 20, ..Default::default() });
        let got: Vec<_> = h.items.into_iter().cloned().collect();
        assert_eq!(got.len(), 3, "H26.32 covers H26.32.01: {got:?}");
        let h = idx.search(&IndexQuery { terms: &t, agency: Some("H26.3"), limit: 20, ..Default::default() });
        assert_eq!(h.total, 0);
        let h = idx.search(&IndexQuery { terms: &[], field: Some("ho-tich"), offset: 3, limit: 2, ..Default::default() });
        assert_eq!((h.total, h.items.len()), (5, 2));
        assert_eq!(idx.field_counts()["xay-dung"], 1);
    }
}
