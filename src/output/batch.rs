//! Turning scan results into Arrow record batches.
//!
//! [`BatchBuilder`] derives one typed Arrow builder per column from the schema in `output::schema`, and
//! rows are pushed column by column, in schema order, naming each column: a push to the wrong column
//! or of the wrong type is a bug that panics in tests, so the builders cannot drift from the schema.

use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, ListBuilder,
    StringBuilder, StringDictionaryBuilder, StructBuilder, TimestampMillisecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};

use super::schema::{CLIENT_ENDPOINTS, DOMAINS, MX_HOSTS, col};
use crate::dns::{DnssecStatus, MxEntry, OutcomeKind};
use crate::policy::PolicyStatus;
use crate::policy::spf::SpfOutcome;
use crate::probe::Attempt;
use crate::scan::result::{ClientTarget, DomainScan, MxSource, MxTarget};

enum Column {
    Utf8(StringBuilder),
    Label(StringDictionaryBuilder<Int32Type>),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
    Date32(Date32Builder),
    Utf8List(ListBuilder<StringBuilder>),
    StructList(ListBuilder<StructBuilder>),
}

impl Column {
    fn for_type(dt: &DataType) -> Self {
        match dt {
            DataType::Utf8 => Self::Utf8(StringBuilder::new()),
            DataType::Dictionary(_, _) => Self::Label(StringDictionaryBuilder::new()),
            DataType::Int16 => Self::I16(Int16Builder::new()),
            DataType::Int32 => Self::I32(Int32Builder::new()),
            DataType::Int64 => Self::I64(Int64Builder::new()),
            DataType::Float64 => Self::F64(Float64Builder::new()),
            DataType::Boolean => Self::Bool(BooleanBuilder::new()),
            DataType::Date32 => Self::Date32(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Millisecond, tz) => {
                Self::Timestamp(TimestampMillisecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::List(item) => match item.data_type() {
                DataType::Utf8 => Self::Utf8List(ListBuilder::new(StringBuilder::new()).with_field(item.clone())),
                DataType::Struct(fields) => Self::StructList(
                    ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0)).with_field(item.clone()),
                ),
                other => unreachable!("no builder for list of {other}"),
            },
            other => unreachable!("no builder for {other}"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Label(b) => Arc::new(b.finish()),
            Self::I16(b) => Arc::new(b.finish()),
            Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::Timestamp(b) => Arc::new(b.finish()),
            Self::Date32(b) => Arc::new(b.finish()),
            Self::Utf8List(b) => Arc::new(b.finish()),
            Self::StructList(b) => Arc::new(b.finish()),
        }
    }
}

/// What every row of one scan carries: `scan_id` and `scan_date`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStamp {
    /// `<start, UTC, compact ISO 8601>-<6 random hex digits>`, e.g. `20261201T093000Z-4f2a9c`.
    pub scan_id: String,
    /// The start day (UTC), in days since 1970-01-01.
    pub scan_date: i32,
}

impl RunStamp {
    /// A new scan's stamp, started at `started`.
    pub fn new(started: std::time::SystemTime) -> Self {
        let t = time::OffsetDateTime::from(started);
        let scan_id = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06x}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            rand::random::<u32>() & 0xff_ffff
        );
        Self { scan_id, scan_date: Self::days(t.date()) }
    }

    /// The stamp of an earlier run of the same scan (`--resume`), from its `run.json` fields.
    pub fn resumed(scan_id: &str, scan_date: &str) -> Option<Self> {
        let mut parts = scan_date.splitn(3, '-').map(|p| p.parse::<i32>().ok());
        let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
        let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
        let date = time::Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
        (!scan_id.is_empty()).then(|| Self { scan_id: scan_id.to_string(), scan_date: Self::days(date) })
    }

    /// `scan_date` as `YYYY-MM-DD`.
    pub fn date_text(&self) -> String {
        let date = time::Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY + self.scan_date).unwrap_or(time::Date::MIN);
        format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
    }

    fn days(date: time::Date) -> i32 {
        date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY
    }
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Builds record batches of one schema, row by row.
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    next: usize,
    rows: usize,
    stamp: RunStamp,
}

macro_rules! push_fn {
    ($name:ident, $variant:ident, $ty:ty, $wide:ty) => {
        /// Appends a value (or null) to the next column, which must be `column` (written signed and
        /// wider, so that arithmetic on it in DuckDB or pandas cannot overflow).
        pub fn $name(&mut self, column: &str, v: Option<$ty>) {
            match self.slot(column) {
                Column::$variant(b) => b.append_option(v.map(|v| <$wide>::try_from(v).unwrap_or(<$wide>::MAX))),
                _ => panic!("column {column} is not of type {}", stringify!($ty)),
            }
        }
    };
    ($name:ident, $variant:ident, $ty:ty) => {
        /// Appends a value (or null) to the next column, which must be `column`.
        pub fn $name(&mut self, column: &str, v: Option<$ty>) {
            match self.slot(column) {
                Column::$variant(b) => b.append_option(v),
                _ => panic!("column {column} is not of type {}", stringify!($ty)),
            }
        }
    };
}

impl BatchBuilder {
    /// Empty builders for every column of `schema`.
    pub fn new(schema: SchemaRef) -> Self {
        let columns = schema.fields().iter().map(|f| Column::for_type(f.data_type())).collect();
        Self { schema, columns, next: 0, rows: 0, stamp: RunStamp::new(std::time::SystemTime::now()) }
    }

    /// The builder, with `stamp` on every row (a new stamp otherwise).
    pub fn stamped(mut self, stamp: RunStamp) -> Self {
        self.stamp = stamp;
        self
    }

    /// Appends the run's `scan_id` and `scan_date` to the next two columns.
    pub fn run_stamp(&mut self) {
        let id = std::mem::take(&mut self.stamp.scan_id);
        self.str(col::SCAN_ID, Some(&id));
        self.stamp.scan_id = id;
        let date = self.stamp.scan_date;
        match self.slot(col::SCAN_DATE) {
            Column::Date32(b) => b.append_value(date),
            _ => panic!("column {} is not a date", col::SCAN_DATE),
        }
    }

    /// Appends a string (or null) to the next column whatever its name: for the kept input
    /// columns, which the schema names from the flags.
    pub fn next_str(&mut self, v: Option<&str>) {
        let name = self.schema.fields().get(self.next).map(|f| f.name().clone()).unwrap_or_default();
        self.str(&name, v);
    }

    fn slot(&mut self, column: &str) -> &mut Column {
        let i = self.next;
        let expected = self.schema.fields().get(i).map(|f| f.name().as_str()).unwrap_or("<past the last column>");
        assert_eq!(column, expected, "column pushed out of schema order");
        self.next += 1;
        &mut self.columns[i]
    }

    /// Appends a string or label (or null) to the next column, which must be `column`.
    pub fn str(&mut self, column: &str, v: Option<&str>) {
        match self.slot(column) {
            Column::Utf8(b) => b.append_option(v),
            Column::Label(b) => match v {
                Some(s) => {
                    b.append_value(s);
                }
                None => b.append_null(),
            },
            _ => panic!("column {column} is not a string"),
        }
    }

    push_fn!(u8, I16, u8, i16);
    push_fn!(u16, I32, u16, i32);
    push_fn!(u32, I64, u32, i64);
    push_fn!(u64, I64, u64, i64);
    push_fn!(f64, F64, f64);
    push_fn!(bool, Bool, bool);
    push_fn!(timestamp_ms, Timestamp, i64);

    /// Appends a list of strings to the next column, which must be `column`.
    pub fn strs<S: AsRef<str>>(&mut self, column: &str, values: &[S]) {
        match self.slot(column) {
            Column::Utf8List(b) => {
                for v in values {
                    b.values().append_value(v.as_ref());
                }
                b.append(true);
            }
            _ => panic!("column {column} is not a list of strings"),
        }
    }

    /// Appends a list of MX records to the next column, which must be `column`.
    pub fn mx_list(&mut self, column: &str, values: &[MxEntry]) {
        match self.slot(column) {
            Column::StructList(b) => {
                let s = b.values();
                for mx in values {
                    // The null MX's exchange is the root, written as ".".
                    let host = if mx.host.is_empty() { "." } else { mx.host.as_str() };
                    s.field_builder::<Int32Builder>(0).expect("preference").append_value(i32::from(mx.preference));
                    s.field_builder::<StringBuilder>(1).expect("host").append_value(host);
                    s.append(true);
                }
                b.append(true);
            }
            _ => panic!("column {column} is not a list of MX records"),
        }
    }

    /// Appends a list of DKIM keys to the next column, which must be `column`.
    pub fn dkim_list(&mut self, column: &str, keys: &[crate::policy::dkim::DkimKey]) {
        match self.slot(column) {
            Column::StructList(b) => {
                let s = b.values();
                for k in keys {
                    s.field_builder::<StringBuilder>(0).expect("selector").append_value(&k.selector);
                    s.field_builder::<StringBuilder>(1).expect("key_type").append_value(k.key_type.as_label());
                    s.field_builder::<Int64Builder>(2).expect("key_bits").append_option(k.bits.map(i64::from));
                    s.field_builder::<BooleanBuilder>(3).expect("revoked").append_value(k.revoked);
                    s.field_builder::<BooleanBuilder>(4).expect("testing").append_value(k.testing);
                    s.append(true);
                }
                b.append(true);
            }
            _ => panic!("column {column} is not a list of DKIM keys"),
        }
    }

    /// Ends the current row; every column must have been pushed.
    pub fn end_row(&mut self) {
        assert_eq!(self.next, self.columns.len(), "row ended after {} of {} columns", self.next, self.columns.len());
        self.next = 0;
        self.rows += 1;
    }

    /// Rows pushed since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// No rows since the last `finish`.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows pushed so far as a batch; the builder starts over.
    pub fn finish(&mut self) -> RecordBatch {
        assert_eq!(self.next, 0, "finish in the middle of a row");
        let arrays = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders are derived from the schema")
    }
}

/// Builders for the `domains` schema.
pub fn domains_builder() -> BatchBuilder {
    BatchBuilder::new(DOMAINS.clone())
}

/// Builders for the `mx_hosts` schema.
pub fn mx_hosts_builder() -> BatchBuilder {
    BatchBuilder::new(MX_HOSTS.clone())
}

/// Appends the `domains` row of a scan.
pub fn push_domain(b: &mut BatchBuilder, s: &DomainScan) {
    let e = &s.entry;
    b.str(col::DOMAIN, Some(e.domain.as_str()));
    b.run_stamp();
    b.u64(col::INPUT_LINE, Some(e.line));
    b.str(col::GROUP, e.group.as_deref());
    b.f64(col::WEIGHT, e.weight);
    b.timestamp_ms(col::SCANNED_AT, Some(s.scanned_at_ms));
    b.u32(col::SCAN_DURATION_MS, Some(s.duration_ms));
    b.str(col::SCAN_ERROR, s.scan_error.as_deref());
    let excluded = s.mx_source == MxSource::Excluded;
    b.bool(col::EXCLUDED, Some(excluded));
    b.str(col::MX_OUTCOME, Some(if excluded { "not_queried" } else { s.mx.label() }));
    b.str(col::MX_DETAIL, s.mx.failure().map(|f| f.detail.as_str()));
    b.str(col::MX_SOURCE, Some(s.mx_source.as_label()));
    b.mx_list(col::MX, s.mx.found().map(Vec::as_slice).unwrap_or(&[]));
    b.u16(col::MX_COUNT, Some(s.mx_hosts.len().min(u16::MAX as usize) as u16));
    b.str(col::MX_PROVIDER, s.mx_provider().as_deref());
    b.str(col::SPF_TXT_OUTCOME, Some(s.spf_txt_outcome.as_label()));
    b.str(col::SPF_STATUS, Some(s.spf.status.as_label()));
    b.str(col::SPF_ALL, s.spf.all.map(|q| q.as_label()));
    b.strs(col::SPF_RECORDS, &s.spf.records);
    b.str(col::SPF_DETAIL, s.spf.detail.as_deref());
    let d = s.dmarc.record.as_ref();
    b.str(col::DMARC_TXT_OUTCOME, Some(s.dmarc_txt_outcome.as_label()));
    b.str(col::DMARC_STATUS, Some(s.dmarc.status.as_label()));
    b.str(col::DMARC_POLICY, d.map(|r| r.policy.as_label()));
    b.str(col::DMARC_SUBDOMAIN_POLICY, d.and_then(|r| r.subdomain_policy).map(|p| p.as_label()));
    b.u8(col::DMARC_PCT, d.map(|r| r.pct));
    b.strs(col::DMARC_RUA, d.map(|r| r.rua.as_slice()).unwrap_or(&[]));
    b.strs(col::DMARC_RECORDS, &s.dmarc.records);
    b.str(col::DMARC_DETAIL, s.dmarc.detail.as_deref());
    let e = &s.spf.eval;
    let evaluated = matches!(e.outcome, SpfOutcome::Valid | SpfOutcome::PermError(_) | SpfOutcome::TempError)
        && s.spf.status == PolicyStatus::Valid;
    b.str(col::SPF_OUTCOME, Some(e.outcome.as_label()));
    b.str(
        col::SPF_PERMERROR_REASON,
        match e.outcome {
            SpfOutcome::PermError(r) => Some(r.as_label()),
            _ => None,
        },
    );
    b.u8(col::SPF_LOOKUPS, evaluated.then_some(e.lookups.min(255) as u8));
    b.u8(col::SPF_VOID_LOOKUPS, evaluated.then_some(e.void_lookups.min(255) as u8));
    b.u64(col::SPF_IPV4_AUTHORIZED, e.ipv4_authorized);
    b.bool(col::SPF_SENDER_DEPENDENT, evaluated.then_some(e.sender_dependent));
    b.str(col::DMARC_SOURCE, s.dmarc.source.map(|x| x.as_label()));
    b.str(col::DMARC_ORG_DOMAIN, s.dmarc.org_domain.as_deref());
    b.str(col::DMARC_EFFECTIVE_POLICY, s.dmarc.effective_policy().map(|p| p.as_label()));
    b.str(col::DMARC_ADKIM, d.map(|r| r.adkim.as_label()));
    b.str(col::DMARC_ASPF, d.map(|r| r.aspf.as_label()));
    b.str(col::DMARC_FO, d.map(|r| r.fo.as_str()));
    b.u32(col::DMARC_RI, d.map(|r| r.ri));
    b.strs(col::DMARC_RUF, d.map(|r| r.ruf.as_slice()).unwrap_or(&[]));
    b.str(col::DMARC_EXTERNAL_REPORTS, Some(s.dmarc.external.as_label()));
    b.strs(col::DMARC_EXTERNAL_UNAUTHORIZED, &s.dmarc.external.unauthorized);
    let k = &s.dkim;
    b.str(col::DKIM_STATUS, Some(k.status.as_label()));
    b.u16(col::DKIM_SELECTORS_PROBED, Some(k.probed));
    b.dkim_list(col::DKIM_KEYS, &k.keys);
    b.u32(col::DKIM_KEY_BITS_MIN, k.min_bits());
    b.bool(col::DKIM_TESTING, (!k.keys.is_empty()).then(|| k.testing()));
    b.strs(col::DKIM_FAILED, &k.failed);
    let m = &s.mta_sts;
    let policy = m.policy.as_ref();
    b.str(col::MTA_STS_TXT_OUTCOME, Some(m.txt_outcome.as_label()));
    b.str(col::MTA_STS_STATUS, Some(m.status.as_label()));
    b.str(col::MTA_STS_ID, m.id.as_deref());
    b.str(col::MTA_STS_FETCH, Some(m.fetch.as_label()));
    b.u16(col::MTA_STS_HTTP_STATUS, m.http_status);
    b.str(col::MTA_STS_DETAIL, m.detail.as_deref());
    b.str(col::MTA_STS_MODE, policy.map(|p| p.mode.as_label()));
    b.u32(col::MTA_STS_MAX_AGE, policy.map(|p| p.max_age));
    b.strs(col::MTA_STS_MX, policy.map(|p| p.mx.as_slice()).unwrap_or(&[]));
    b.str(col::MTA_STS_MX_MATCH, Some(s.mta_sts_mx_match().as_label()));
    b.bool(col::MTA_STS_EFFECTIVE, s.mta_sts_effective());
    b.str(col::TLS_RPT_TXT_OUTCOME, Some(s.tls_rpt_txt_outcome.as_label()));
    b.str(col::TLS_RPT_STATUS, Some(s.tls_rpt.status.as_label()));
    b.strs(col::TLS_RPT_RUA, &s.tls_rpt.rua);
    b.str(col::TLS_RPT_DETAIL, s.tls_rpt.detail.as_deref());
    b.str(col::DNSSEC_STATUS, Some(s.dnssec.as_label()));
    b.str(col::DANE, Some(s.dane().as_label()));
    let c = &s.client;
    b.str(col::CLIENT_TLS, Some(c.client_tls().as_label()));
    b.bool(col::CLIENT_PLAINTEXT_AUTH, c.plaintext_auth());
    b.u16(col::CLIENT_ENDPOINT_COUNT, Some(c.endpoints.min(u16::MAX as usize) as u16));
    b.strs(col::CLIENT_SRV_NOT_OFFERED, &c.srv_not_offered.iter().map(|p| p.as_label()).collect::<Vec<_>>());
    b.str(col::CLIENT_AUTOCONFIG, Some(c.autoconfig.0.as_label()));
    b.str(col::CLIENT_AUTOCONFIG_DETAIL, c.autoconfig.1.as_deref());
    b.str(col::CLIENT_CONFIG_SOURCE, c.config_source.map(|x| x.as_label()));
    b.str(col::CLIENT_PROVIDER_ID, c.provider_id.as_deref());
    b.bool(col::CLIENT_DECLARED_PLAIN, c.declared_plain());
    b.str(col::STARTTLS, Some(s.starttls().as_label()));
    b.str(col::TLS_CERT_VALID, Some(s.tls_cert_valid().as_label()));
    b.str(col::TLS_VERSION_MIN, s.tls_version_min().map(|v| v.as_label()));
    b.bool(col::GMAIL_RED_LOCK, s.gmail_red_lock());
    b.bool(col::GMAIL_UNAUTHENTICATED_RISK, s.gmail_unauthenticated_risk());
    let singles: Vec<String> = s.spf.eval.single_hosts.iter().map(|ip| ip.to_string()).collect();
    b.strs(col::SPF_SINGLE_HOSTS, &singles);
    b.str(col::PTR_STATUS, Some(s.ptr_summary().as_label()));
    b.u16(col::PTR_ADDRESSES, Some(s.ptr_addresses_checked().min(u16::MAX as usize) as u16));
    b.str(col::PTR_DETAIL, s.ptr_detail().as_deref());
    let m = &s.bimi;
    let parsed = m.parsed.as_ref();
    b.str(col::BIMI_STATUS, Some(m.status.as_label()));
    b.str(col::BIMI_RECORD, m.record.as_deref());
    b.str(col::BIMI_LOGO_URL, parsed.and_then(|p| p.logo.as_deref()));
    b.str(col::BIMI_AUTHORITY_URL, parsed.and_then(|p| p.authority.as_deref()));
    b.str(col::BIMI_DETAIL, m.detail.as_deref());
    b.str(col::BIMI_LOGO_FETCH, Some(m.logo_fetch.as_label()));
    b.str(col::BIMI_LOGO, m.logo.map(|l| l.as_label()));
    b.str(col::BIMI_LOGO_SHA256, m.logo_sha256.as_deref());
    b.str(col::BIMI_CERTIFICATE_FETCH, Some(m.certificate_fetch.as_label()));
    b.str(col::BIMI_CERTIFICATE, m.certificate.map(|c| c.as_label()));
    b.str(col::BIMI_MARK_TYPE, m.mark_type.as_deref());
    b.str(col::BIMI_FETCH_DETAIL, m.fetch_detail.as_deref());
    b.bool(col::BIMI_DMARC_ENFORCED, crate::policy::bimi::dmarc_enforced(&s.dmarc));
    let labels = |v: &[_]| v.iter().map(|r: &crate::scan::readiness::ReadinessReason| r.as_label()).collect::<Vec<_>>();
    let all = s.gmail_all_senders();
    b.str(col::GMAIL_ALL_SENDERS, Some(all.verdict.as_label()));
    b.strs(col::GMAIL_ALL_SENDERS_REASONS, &labels(&all.reasons));
    let bulk = s.gmail_bulk_senders();
    b.str(col::GMAIL_BULK_SENDERS, Some(bulk.verdict.as_label()));
    b.strs(col::GMAIL_BULK_SENDERS_REASONS, &labels(&bulk.reasons));
    let mark = s.gmail_checkmark();
    b.str(
        col::GMAIL_CHECKMARK_PREDICTED,
        Some(crate::scan::readiness::CheckmarkVerdict::from(mark.verdict).as_label()),
    );
    b.strs(col::GMAIL_CHECKMARK_MISSING, &mark.reasons.iter().map(|r| r.as_label()).collect::<Vec<_>>());
    for v in &s.entry.kept {
        b.next_str(v.as_deref());
    }
    b.end_row();
}

/// Builders for the `client_endpoints` schema.
pub fn client_endpoints_builder() -> BatchBuilder {
    BatchBuilder::new(CLIENT_ENDPOINTS.clone())
}

/// Appends the `client_endpoints` row of one client target of a scan.
pub fn push_client(b: &mut BatchBuilder, s: &DomainScan, t: &ClientTarget) {
    let r = &t.probe.report;
    let o = r.attempt.columns();
    let tls = r.tls.as_ref();
    let cert = tls.map(|t| &t.assessment);
    let leaf = cert.and_then(|c| c.leaf.as_ref());
    let e = &t.endpoint;
    b.str(col::DOMAIN, Some(s.entry.domain.as_str()));
    b.run_stamp();
    b.str(col::GROUP, s.entry.group.as_deref());
    b.str(col::CLIENT_PROTOCOL, Some(e.protocol.as_label()));
    b.str(col::CLIENT_HOST, Some(&e.host));
    b.u16(col::CLIENT_PORT, Some(e.port));
    b.str(col::CLIENT_SOURCE, Some(e.source.as_label()));
    let declared = e.declared.as_ref();
    b.str(col::CLIENT_DECLARED_SOCKET, declared.map(|d| d.socket.as_label()));
    b.strs(
        col::CLIENT_DECLARED_AUTH,
        &declared.map(|d| d.auth.iter().map(|a| a.as_label()).collect::<Vec<_>>()).unwrap_or_default(),
    );
    b.bool(col::CLIENT_DECLARED_CLEARTEXT_PASSWORD, declared.map(|d| d.cleartext_password));
    b.bool(col::CLIENT_IMPLICIT_TLS, Some(e.protocol.implicit_tls()));
    b.str(col::CLIENT_ADDRESS_OUTCOME, Some(t.address_outcome.as_label()));
    b.str(col::IP, t.ip.map(|ip| ip.to_string()).as_deref());
    b.str(col::PROBE_STATUS, Some(o.status));
    b.str(col::PROBE_PHASE, o.phase);
    b.str(col::PROBE_REASON, o.reason);
    b.u16(col::PROBE_REPLY_CODE, o.reply_code);
    b.str(col::PROBE_DETAIL, o.detail.or(t.address_detail.as_deref()));
    b.bool(col::PROBE_CACHED, Some(t.probe.cached));
    b.str(col::PROBE_SOURCE, t.probe.source.map(|x| x.as_label()));
    b.str(col::PROBE_SOURCE_HOST, t.probe.source_host.as_deref());
    let skipped = matches!(r.attempt, Attempt::Skipped(_));
    b.u32(col::PROBE_DURATION_MS, (!skipped).then_some(r.duration_ms));
    b.str(col::CLIENT_GREETING, r.greeting.as_deref());
    b.strs(col::CLIENT_CAPABILITIES, &r.capabilities);
    b.bool(col::CLIENT_STARTTLS_OFFERED, r.starttls_offered);
    b.bool(col::CLIENT_PLAINTEXT_AUTH, r.plaintext_auth);
    b.str(col::TLS_VERSION, tls.map(|t| t.version.as_label()));
    b.str(col::TLS_CIPHER, tls.map(|t| t.cipher.as_str()));
    b.str(col::TLS_CERT_VERDICT, cert.map(|c| c.verdict.as_label()));
    b.str(col::TLS_CERT_DETAIL, cert.and_then(|c| c.detail.as_deref()));
    b.timestamp_ms(col::TLS_CERT_NOT_AFTER, leaf.map(|l| l.not_after.saturating_mul(1000)));
    b.str(col::TLS_CERT_SHA256, leaf.map(|l| l.sha256.as_str()));
    b.end_row();
}

/// Appends the `mx_hosts` row of one target of a scan.
pub fn push_mx(b: &mut BatchBuilder, s: &DomainScan, t: &MxTarget) {
    let p = &t.probe.report;
    let o = p.attempt.columns();
    let smtp = &p.smtp;
    let tls = p.tls.as_ref();
    let cert = tls.map(|t| &t.assessment);
    let leaf = cert.and_then(|c| c.leaf.as_ref());
    b.str(col::DOMAIN, Some(s.entry.domain.as_str()));
    b.run_stamp();
    b.str(col::GROUP, s.entry.group.as_deref());
    b.str(col::MX_HOST, Some(&t.host));
    b.u16(col::MX_PREFERENCE, Some(t.preference));
    b.bool(col::MX_IMPLICIT, Some(s.mx_source == MxSource::Implicit));
    b.str(col::MX_A_OUTCOME, Some(t.a_outcome.as_label()));
    b.str(col::MX_AAAA_OUTCOME, Some(t.aaaa_outcome.as_label()));
    b.str(col::MX_ADDRESS_DETAIL, t.address_detail.as_deref());
    b.str(col::IP, t.ip.map(|ip| ip.to_string()).as_deref());
    b.u8(col::IP_VERSION, t.ip.map(|ip| if matches!(ip, IpAddr::V4(_)) { 4 } else { 6 }));
    b.str(col::PROBE_STATUS, Some(o.status));
    b.str(col::PROBE_PHASE, o.phase);
    b.str(col::PROBE_REASON, o.reason);
    b.u16(col::PROBE_REPLY_CODE, o.reply_code);
    b.str(col::PROBE_DETAIL, o.detail);
    b.bool(col::PROBE_CACHED, Some(t.probe.cached));
    b.str(col::PROBE_SOURCE, t.probe.source.map(|x| x.as_label()));
    b.str(col::PROBE_SOURCE_HOST, t.probe.source_host.as_deref());
    let skipped = matches!(p.attempt, Attempt::Skipped(_));
    b.u32(col::PROBE_DURATION_MS, (!skipped).then_some(p.duration_ms));
    b.u8(col::PROBE_ATTEMPTS, (!skipped).then_some(p.attempts));
    b.u16(col::SMTP_BANNER_CODE, smtp.banner.as_ref().map(|r| r.code));
    b.str(col::SMTP_BANNER, smtp.banner.as_ref().map(|r| r.text()).as_deref());
    b.u16(col::SMTP_EHLO_CODE, smtp.ehlo.as_ref().map(|r| r.code));
    b.bool(col::SMTP_HELO_FALLBACK, smtp.ehlo.as_ref().map(|_| smtp.helo_fallback));
    b.strs(col::SMTP_EXTENSIONS, &smtp.extensions);
    b.bool(col::SMTP_STARTTLS_OFFERED, smtp.starttls_offered);
    b.u16(col::SMTP_STARTTLS_CODE, smtp.starttls.as_ref().map(|r| r.code));
    b.str(col::SMTP_STARTTLS_REPLY, smtp.starttls.as_ref().map(|r| r.text()).as_deref());
    b.u16(col::SMTP_POST_TLS_EHLO_CODE, smtp.post_tls_ehlo.as_ref().map(|r| r.code));
    b.str(col::TLS_VERSION, tls.map(|t| t.version.as_label()));
    b.str(col::TLS_CIPHER, tls.map(|t| t.cipher.as_str()));
    b.str(col::TLS_KX_GROUP, tls.and_then(|t| t.kx_group.as_deref()));
    b.u8(col::TLS_CHAIN_LENGTH, tls.map(|t| t.chain_length.min(u8::MAX as usize) as u8));
    b.bool(col::TLS_SIGNATURE_VALID, tls.map(|t| t.signature_valid));
    b.str(col::TLS_CERT_VERDICT, cert.map(|c| c.verdict.as_label()));
    b.str(col::TLS_CERT_DETAIL, cert.and_then(|c| c.detail.as_deref()));
    b.bool(col::TLS_CERT_NAME_MATCHES, cert.map(|c| c.name_matches));
    b.bool(col::TLS_CERT_EXPIRED, cert.map(|c| c.expired));
    b.bool(col::TLS_CERT_SELF_SIGNED, cert.map(|c| c.self_signed));
    b.str(col::TLS_CERT_SUBJECT, leaf.map(|l| l.subject.as_str()));
    b.str(col::TLS_CERT_ISSUER, leaf.map(|l| l.issuer.as_str()));
    b.strs(col::TLS_CERT_SAN, leaf.map(|l| l.san.as_slice()).unwrap_or(&[]));
    b.timestamp_ms(col::TLS_CERT_NOT_BEFORE, leaf.map(|l| l.not_before.saturating_mul(1000)));
    b.timestamp_ms(col::TLS_CERT_NOT_AFTER, leaf.map(|l| l.not_after.saturating_mul(1000)));
    b.str(col::TLS_CERT_KEY_TYPE, leaf.map(|l| l.key_type.as_label()));
    b.u32(col::TLS_CERT_KEY_BITS, leaf.map(|l| l.key_bits));
    b.str(col::TLS_CERT_SIGNATURE_ALGORITHM, leaf.map(|l| l.signature_algorithm.as_str()));
    b.str(col::TLS_CERT_SHA256, leaf.map(|l| l.sha256.as_str()));
    let sec = t.security.as_deref();
    b.str(col::MX_DNSSEC, Some(sec.map_or(DnssecStatus::NotChecked, |x| x.dnssec).as_label()));
    b.str(col::TLSA_OUTCOME, Some(sec.map_or(OutcomeKind::NotQueried, |x| x.tlsa.records.kind()).as_label()));
    b.str(col::TLSA_DNSSEC, Some(sec.map_or(DnssecStatus::NotChecked, |x| x.tlsa.dnssec).as_label()));
    let records: Vec<String> =
        sec.and_then(|x| x.tlsa.records.found()).map(|v| v.iter().map(|t| t.to_string()).collect()).unwrap_or_default();
    b.strs(col::TLSA_RECORDS, &records);
    b.bool(col::DANE_VALID, t.dane_valid());
    let reverse = t.reverse.as_deref();
    b.str(col::PTR_NAME, reverse.and_then(|r| r.name.as_deref()));
    b.str(col::PTR_FCRDNS, reverse.map(|r| r.fcrdns.as_label()));
    b.str(col::PTR_DETAIL, reverse.and_then(|r| r.detail.as_deref()));
    b.end_row();
}
