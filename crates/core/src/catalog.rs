//! The procedure catalog (danh mục thủ tục hành chính) as data.
//!
//! Every rule carries an effective date: a procedure is a list of immutable
//! versions, and a dossier keeps the version in force when it was received
//! (DOMAIN.md §1). These types are what the catalog file (`thanglong catalog
//! import`) and the storage layer exchange.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Text in Vietnamese (required) and English (optional; falls back to Vietnamese).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct I18nText {
    pub vi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl I18nText {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self { vi: vi.into(), en: Some(en.into()) }
    }
    /// The text in `lang` ("vi" or "en"), falling back to Vietnamese.
    pub fn get(&self, lang: &str) -> &str {
        match (lang, &self.en) {
            ("en", Some(en)) if !en.is_empty() => en,
            _ => &self.vi,
        }
    }
}

/// A field of administration (lĩnh vực), e.g. "Hộ tịch" (civil status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub code: String,
    pub name: I18nText,
}

/// Kind of an administrative unit (đơn vị hành chính).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminUnitKind {
    /// Tỉnh
    Province,
    /// Thành phố trực thuộc trung ương
    Municipality,
    /// Phường
    Ward,
    /// Xã
    Commune,
    /// Đặc khu
    SpecialZone,
    /// Quận / huyện / thị xã (abolished 1 Jul 2025; kept for history)
    District,
}

impl AdminUnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::Municipality => "municipality",
            Self::Ward => "ward",
            Self::Commune => "commune",
            Self::SpecialZone => "special_zone",
            Self::District => "district",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "province" => Self::Province,
            "municipality" => Self::Municipality,
            "ward" => Self::Ward,
            "commune" => Self::Commune,
            "special_zone" => Self::SpecialZone,
            "district" => Self::District,
            _ => return None,
        })
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Province, "en") => "Province",
            (Self::Municipality, "en") => "Centrally-run city",
            (Self::Ward, "en") => "Ward",
            (Self::Commune, "en") => "Commune",
            (Self::SpecialZone, "en") => "Special zone",
            (Self::District, "en") => "District (abolished)",
            (Self::Province, _) => "Tỉnh",
            (Self::Municipality, _) => "Thành phố trực thuộc trung ương",
            (Self::Ward, _) => "Phường",
            (Self::Commune, _) => "Xã",
            (Self::SpecialZone, _) => "Đặc khu",
            (Self::District, _) => "Quận/huyện (đã giải thể)",
        }
    }
    /// Province-level units have 2-digit codes, lower levels 3 (district) or 5 digits.
    pub fn code_len(self) -> usize {
        match self {
            Self::Province | Self::Municipality => 2,
            Self::District => 3,
            _ => 5,
        }
    }
}

/// An administrative unit with its validity interval. Units merge and split,
/// so they are never deleted: they end, and `successors` says what replaced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminUnit {
    /// General Statistics Office code: 2 digits (province), 5 digits (commune level).
    pub code: String,
    pub name: I18nText,
    pub kind: AdminUnitKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub valid_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
    /// Codes of the units that replaced this one when it ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<String>,
}

impl AdminUnit {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day < to)
    }
}

/// Level of an agency (cơ quan) in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyLevel {
    /// UBND cấp tỉnh / thành phố
    Province,
    /// Sở, ban, ngành (and provincial police)
    Department,
    /// Đơn vị trực thuộc sở (e.g. a registration office)
    Unit,
    /// UBND cấp xã / phường
    Commune,
    /// Service point (Trung tâm Phục vụ hành chính công, bộ phận một cửa)
    ServicePoint,
}

impl AgencyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::Department => "department",
            Self::Unit => "unit",
            Self::Commune => "commune",
            Self::ServicePoint => "service_point",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "province" => Self::Province,
            "department" => Self::Department,
            "unit" => Self::Unit,
            "commune" => Self::Commune,
            "service_point" => Self::ServicePoint,
            _ => return None,
        })
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Province, "en") => "Provincial level",
            (Self::Department, "en") => "Department",
            (Self::Unit, "en") => "Subordinate unit",
            (Self::Commune, "en") => "Commune level",
            (Self::ServicePoint, "en") => "Service point",
            (Self::Province, _) => "Cấp tỉnh",
            (Self::Department, _) => "Sở, ban, ngành",
            (Self::Unit, _) => "Đơn vị trực thuộc",
            (Self::Commune, _) => "Cấp xã",
            (Self::ServicePoint, _) => "Điểm phục vụ",
        }
    }
}

/// An agency (cơ quan, đơn vị) with its electronic ID per Decision 20/2020/QĐ-TTg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub electronic_id: String,
    pub name: I18nText,
    pub level: AgencyLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The administrative unit the agency serves (GSO code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub valid_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
}

/// Online service level (mức độ dịch vụ công trực tuyến), Decree 42/2022.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    /// Toàn trình: filed, paid, processed and returned online. Vendor code 4.
    FullOnline,
    /// Một phần: something needs presence (biometrics, originals, inspection). Vendor code 3.
    PartialOnline,
    /// Not offered online (information only). Vendor code 2.
    Offline,
}

impl ServiceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullOnline => "full_online",
            Self::PartialOnline => "partial_online",
            Self::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "full_online" => Self::FullOnline,
            "partial_online" => Self::PartialOnline,
            "offline" => Self::Offline,
            _ => return None,
        })
    }
    /// The code vendors and the national portal use (2, 3, 4).
    pub fn vendor_code(self) -> u8 {
        match self {
            Self::FullOnline => 4,
            Self::PartialOnline => 3,
            Self::Offline => 2,
        }
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::FullOnline, "en") => "Fully online",
            (Self::PartialOnline, "en") => "Partly online",
            (Self::Offline, "en") => "Not online",
            (Self::FullOnline, _) => "Toàn trình",
            (Self::PartialOnline, _) => "Một phần",
            (Self::Offline, _) => "Chưa trực tuyến",
        }
    }
}

/// A channel through which a dossier arrives (NPSP codes: 1 in person, 2 online, 3 post).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InPerson,
    Online,
    Post,
}

impl Channel {
    pub fn npsp_code(self) -> u8 {
        match self {
            Self::InPerson => 1,
            Self::Online => 2,
            Self::Post => 3,
        }
    }
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::InPerson, "en") => "In person",
            (Self::Online, "en") => "Online",
            (Self::Post, "en") => "By post",
            (Self::InPerson, _) => "Trực tiếp",
            (Self::Online, _) => "Trực tuyến",
            (Self::Post, _) => "Dịch vụ bưu chính",
        }
    }
}

/// Unit of a time limit: each procedure carries its own (DOMAIN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    WorkingDays,
    Days,
    WorkingHours,
    Hours,
    /// Trong ngày: returned the same working day.
    SameDay,
}

impl TimeUnit {
    pub fn label(self, lang: &str, value: u32) -> String {
        match (self, lang) {
            (Self::SameDay, "en") => "Same working day".into(),
            (Self::SameDay, _) => "Trong ngày làm việc".into(),
            (Self::WorkingDays, "en") => format!("{value} working day{}", plural(value)),
            (Self::Days, "en") => format!("{value} day{}", plural(value)),
            (Self::WorkingHours, "en") => format!("{value} working hour{}", plural(value)),
            (Self::Hours, "en") => format!("{value} hour{}", plural(value)),
            (Self::WorkingDays, _) => format!("{value} ngày làm việc"),
            (Self::Days, _) => format!("{value} ngày"),
            (Self::WorkingHours, _) => format!("{value} giờ làm việc"),
            (Self::Hours, _) => format!("{value} giờ"),
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A statutory time limit for one channel (or all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeLimit {
    /// None = applies to every channel not listed separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    pub value: u32,
    pub unit: TimeUnit,
    /// Requests received after this local time (HH:MM) count from the next working day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<I18nText>,
}

/// How a fee rule is computed. Amounts in VND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeeBasis {
    /// Miễn phí / miễn lệ phí.
    Exempt,
    /// A fixed amount per dossier.
    Fixed { amount: u64 },
    /// Priced per page or per copy in tiers, with an optional cap per copy
    /// (e.g. certified copies: 2,000/page, 1,000/page from page 3, at most 200,000).
    Tiered { unit: CountUnit, tiers: Vec<FeeTier>, cap: Option<u64> },
    /// A share of a declared value, in basis points (0.5% = 50), within bounds.
    Percent { basis_points: u32, min: Option<u64>, max: Option<u64> },
    /// Set by a resolution of the provincial People's Council; amount when known.
    CouncilSet { amount: Option<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    Page,
    Copy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTier {
    /// First page/copy (1-based) this tier prices.
    pub from: u32,
    /// Last page/copy of the tier (inclusive); None = no upper end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    pub amount: u64,
}

/// What changes when the dossier is filed online (Hanoi waives or discounts many fees online).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnlineVariant {
    Exempt,
    Amount { amount: u64 },
    DiscountPercent { percent: u8 },
}

/// Fee kind: phí (service fee) or lệ phí (state charge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    Fee,
    Charge,
}

/// A fee rule. In files it is written flat (`basis: tiered`, `unit: page`, `tiers: …` beside
/// `name`), see [`FeeRuleRepr`]; in code the basis is an enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FeeRuleRepr", into = "FeeRuleRepr")]
pub struct FeeRule {
    pub name: I18nText,
    pub kind: FeeKind,
    pub basis: FeeBasis,
    /// When the rule applies (e.g. "cấp lại do bị mất").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<I18nText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineVariant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reductions: Vec<FeeReduction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

/// A reduced amount for some applicants (e.g. students, people with merit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeReduction {
    pub who: I18nText,
    pub amount: u64,
}

/// Form in which a dossier component is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentForm {
    /// Bản chính
    Original,
    /// Bản sao có chứng thực (or e-copy certified from the original)
    CertifiedCopy,
    /// Bản sao / bản chụp
    Copy,
    /// Bản điện tử có chữ ký số
    ESigned,
    /// Tờ khai / đơn (a declaration filled on the form)
    Declaration,
    /// Bản chính hoặc bản sao (either)
    OriginalOrCopy,
}

impl ComponentForm {
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Original, "en") => "Original",
            (Self::CertifiedCopy, "en") => "Certified copy",
            (Self::Copy, "en") => "Copy",
            (Self::ESigned, "en") => "Digitally signed electronic document",
            (Self::Declaration, "en") => "Declaration form",
            (Self::OriginalOrCopy, "en") => "Original or copy",
            (Self::Original, _) => "Bản chính",
            (Self::CertifiedCopy, _) => "Bản sao có chứng thực",
            (Self::Copy, _) => "Bản sao/bản chụp",
            (Self::ESigned, _) => "Bản điện tử có chữ ký số",
            (Self::Declaration, _) => "Tờ khai/đơn",
            (Self::OriginalOrCopy, _) => "Bản chính hoặc bản sao",
        }
    }
}

/// A dossier component (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Stable key within the procedure, used by forms and dossiers (e.g. "to-khai").
    pub key: String,
    pub name: I18nText,
    pub form: ComponentForm,
    #[serde(default = "one")]
    pub copies: u32,
    #[serde(default = "yes")]
    pub required: bool,
    /// Template (mẫu đơn, tờ khai) the citizen fills, e.g. "Mẫu CT01 (Thông tư 53/2025/TT-BCA)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<I18nText>,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

/// A legal document the procedure rests on (căn cứ pháp lý).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// Number and symbol, e.g. "60/2014/QH13".
    pub number: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
}

/// Who may file (NPSP applicant types 1 citizen, 2 business, 3 state agency, 4 other organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantType {
    Citizen,
    Business,
    StateAgency,
    Organisation,
}

impl ApplicantType {
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Citizen, "en") => "Citizens",
            (Self::Business, "en") => "Businesses",
            (Self::StateAgency, "en") => "State agencies",
            (Self::Organisation, "en") => "Other organisations",
            (Self::Citizen, _) => "Công dân",
            (Self::Business, _) => "Doanh nghiệp",
            (Self::StateAgency, _) => "Cơ quan nhà nước",
            (Self::Organisation, _) => "Tổ chức khác",
        }
    }
}

/// How the result reaches the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultDelivery {
    /// Electronic result in the citizen's account / data store.
    Online,
    /// Public postal service (bưu chính công ích).
    Post,
    /// At the one-stop counter.
    Counter,
}

impl ResultDelivery {
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Online, "en") => "Online (electronic result)",
            (Self::Post, "en") => "By post",
            (Self::Counter, "en") => "At the one-stop counter",
            (Self::Online, _) => "Trực tuyến (kết quả điện tử)",
            (Self::Post, _) => "Qua dịch vụ bưu chính công ích",
            (Self::Counter, _) => "Tại Bộ phận Một cửa",
        }
    }
}

/// One immutable version of a procedure, in force from `effective_from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureVersion {
    pub effective_from: NaiveDate,
    pub name: I18nText,
    /// Code of the field (lĩnh vực).
    pub field: String,
    pub level: ServiceLevel,
    /// Electronic IDs of the agencies that handle it (competent agencies).
    pub agencies: Vec<String>,
    /// Who decides (e.g. "Chủ tịch UBND cấp xã").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<I18nText>,
    pub applicants: Vec<ApplicantType>,
    pub time_limits: Vec<TimeLimit>,
    #[serde(default)]
    pub fees: Vec<FeeRule>,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
    /// What the applicant receives (e.g. "Giấy khai sinh").
    pub result: I18nText,
    pub result_delivery: Vec<ResultDelivery>,
    /// Where / how to get the result, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_note: Option<I18nText>,
    /// Steps in words (trình tự thực hiện).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<I18nText>,
    /// Conditions (yêu cầu, điều kiện).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<I18nText>,
    /// The online form (biểu mẫu điện tử); without one the procedure cannot be filed online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<crate::form::FormDef>,
    /// The internal process after reception; None = the standard one (`Process::standard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::process::Process>,
    /// How the electronic result is laid out; None = the result's name and every answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_template: Option<ResultTemplate>,
}

/// The electronic result of a procedure (e.g. the birth registration extract): its title, the
/// answers it shows under its own labels, and paragraphs where `{answer_key}` is replaced by
/// the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultTemplate {
    pub title: I18nText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<I18nText>,
    pub fields: Vec<ResultField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<I18nText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultField {
    pub label: I18nText,
    /// The form field whose answer it shows.
    pub answer: String,
}

impl ResultTemplate {
    /// The answer keys named by `{key}` in the paragraphs.
    pub fn placeholders(&self) -> Vec<String> {
        let mut out = vec![];
        for p in &self.body {
            let mut rest = p.vi.as_str();
            while let Some(i) = rest.find('{') {
                let Some(j) = rest[i..].find('}') else { break };
                out.push(rest[i + 1..i + j].to_owned());
                rest = &rest[i + j + 1..];
            }
        }
        out
    }
}

/// A procedure with all its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// National procedure code `x.yyyyyy` (e.g. "1.001193").
    pub code: String,
    pub versions: Vec<ProcedureVersion>,
}

impl Procedure {
    /// The version in force on `day`: the latest whose effective date is not after it.
    pub fn version_on(&self, day: NaiveDate) -> Option<&ProcedureVersion> {
        self.versions.iter().filter(|v| v.effective_from <= day).max_by_key(|v| v.effective_from)
    }
}

impl ProcedureVersion {
    /// The time limit that applies to `channel`: the channel's own, else the general one.
    pub fn time_limit_for(&self, channel: Channel) -> Option<&TimeLimit> {
        self.time_limits.iter().find(|t| t.channel == Some(channel)).or_else(|| self.time_limits.iter().find(|t| t.channel.is_none()))
    }

    /// The process dossiers of this version follow: its own, else the standard one sized to
    /// the general time limit.
    pub fn process(&self) -> std::borrow::Cow<'_, crate::process::Process> {
        match &self.process {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(crate::process::Process::standard(self.time_limit_for(Channel::InPerson))),
        }
    }

    /// Folded text of the name, for search ranking (weight A).
    pub fn search_name(&self) -> String {
        let mut s = crate::text::fold(&self.name.vi);
        if let Some(en) = &self.name.en {
            s.push(' ');
            s.push_str(&crate::text::fold(en));
        }
        s
    }

    /// Folded text of everything else a citizen may search for (weight B).
    pub fn search_body(&self, code: &str, field_name: &str) -> String {
        let mut parts: Vec<&str> = vec![code, field_name, &self.result.vi];
        if let Some(a) = &self.authority {
            parts.push(&a.vi);
        }
        for c in &self.components {
            parts.push(&c.name.vi);
        }
        for l in &self.legal_basis {
            parts.push(&l.number);
            parts.push(&l.title);
        }
        crate::text::fold(&parts.join(" "))
    }
}

/// The flat file form of a [`FeeRule`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRuleRepr {
    pub name: I18nText,
    pub kind: FeeKind,
    pub basis: FeeBasisKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<CountUnit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<FeeTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_points: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<I18nText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineVariant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reductions: Vec<FeeReduction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeBasisKind {
    Exempt,
    Fixed,
    Tiered,
    Percent,
    CouncilSet,
}

impl TryFrom<FeeRuleRepr> for FeeRule {
    type Error = String;

    fn try_from(r: FeeRuleRepr) -> Result<Self, String> {
        let extra = |allowed: &[&str]| -> Result<(), String> {
            let present = [
                ("amount", r.amount.is_some()),
                ("unit", r.unit.is_some()),
                ("tiers", !r.tiers.is_empty()),
                ("cap", r.cap.is_some()),
                ("basis_points", r.basis_points.is_some()),
                ("min", r.min.is_some()),
                ("max", r.max.is_some()),
            ];
            match present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
                Some((k, _)) => Err(format!("`{k}` does not apply to basis `{:?}`", r.basis).to_lowercase()),
                None => Ok(()),
            }
        };
        let basis = match r.basis {
            FeeBasisKind::Exempt => {
                extra(&[])?;
                FeeBasis::Exempt
            }
            FeeBasisKind::Fixed => {
                extra(&["amount"])?;
                FeeBasis::Fixed { amount: r.amount.ok_or("basis `fixed` needs `amount`")? }
            }
            FeeBasisKind::Tiered => {
                extra(&["unit", "tiers", "cap"])?;
                let unit = r.unit.ok_or("basis `tiered` needs `unit` (page or copy)")?;
                if r.tiers.is_empty() {
                    return Err("basis `tiered` needs at least one tier".into());
                }
                for w in r.tiers.windows(2) {
                    if w[0].to.is_none_or(|to| to >= w[1].from) || w[0].from >= w[1].from {
                        return Err("tiers must be in order and must not overlap".into());
                    }
                }
                if r.tiers.iter().any(|t| t.from == 0 || t.to.is_some_and(|to| to < t.from)) {
                    return Err("a tier counts from 1 and ends at or after its start".into());
                }
                FeeBasis::Tiered { unit, tiers: r.tiers.clone(), cap: r.cap }
            }
            FeeBasisKind::Percent => {
                extra(&["basis_points", "min", "max"])?;
                let bp = r.basis_points.ok_or("basis `percent` needs `basis_points` (0.5% = 50)")?;
                if bp > 10_000 {
                    return Err("basis_points must be at most 10000 (100%)".into());
                }
                FeeBasis::Percent { basis_points: bp, min: r.min, max: r.max }
            }
            FeeBasisKind::CouncilSet => {
                extra(&["amount"])?;
                FeeBasis::CouncilSet { amount: r.amount }
            }
        };
        Ok(FeeRule {
            name: r.name,
            kind: r.kind,
            basis,
            condition: r.condition,
            online: r.online,
            reductions: r.reductions,
            legal_basis: r.legal_basis,
        })
    }
}

impl From<FeeRule> for FeeRuleRepr {
    fn from(f: FeeRule) -> Self {
        let mut r = FeeRuleRepr {
            name: f.name,
            kind: f.kind,
            basis: FeeBasisKind::Exempt,
            amount: None,
            unit: None,
            tiers: vec![],
            cap: None,
            basis_points: None,
            min: None,
            max: None,
            condition: f.condition,
            online: f.online,
            reductions: f.reductions,
            legal_basis: f.legal_basis,
        };
        match f.basis {
            FeeBasis::Exempt => {}
            FeeBasis::Fixed { amount } => {
                r.basis = FeeBasisKind::Fixed;
                r.amount = Some(amount);
            }
            FeeBasis::Tiered { unit, tiers, cap } => {
                r.basis = FeeBasisKind::Tiered;
                r.unit = Some(unit);
                r.tiers = tiers;
                r.cap = cap;
            }
            FeeBasis::Percent { basis_points, min, max } => {
                r.basis = FeeBasisKind::Percent;
                r.basis_points = Some(basis_points);
                r.min = min;
                r.max = max;
            }
            FeeBasis::CouncilSet { amount } => {
                r.basis = FeeBasisKind::CouncilSet;
                r.amount = amount;
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_templates_name_their_answers() {
        let t: ResultTemplate = serde_json::from_value(serde_json::json!({
            "title": {"vi": "Trích lục"}, "fields": [],
            "body": [{"vi": "Cho {a}, con {b}."}, {"vi": "Không có gì {"}, {"vi": "{c}"}]
        }))
        .unwrap();
        assert_eq!(t.placeholders(), ["a", "b", "c"]);
    }
}
