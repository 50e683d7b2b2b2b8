//! Per-domain grades (A to F) and the findings that lowered them, each with a one-line remedy in
//! English or Japanese.
//!
//! Rules (also in the README):
//! 1. A domain is graded only when it accepts mail and its STARTTLS is known (`starttls` all, some or
//!    none); otherwise its grade is `-` and the reason is its `starttls` label (no_mx, dns_failed ...).
//! 2. Encryption sets the starting grade: STARTTLS on every answering MX with valid certificates → A;
//!    on every MX but some certificates invalid → C; on some MX only → D; on none → F.
//! 3. Authentication lowers it one step per problem: SPF missing, broken (multiple records, syntax
//!    error, permerror when evaluated) or authorising everyone (`+all`, a /0); DMARC missing or
//!    broken; DMARC `p=none` (monitoring only); a client port accepting passwords before TLS; the
//!    mail-app settings the domain's users are given (autoconfig, ISPDB) saying "no TLS". F stays
//!    F. A failed lookup (`temperror`) is not a finding: the answer is unknown; nor is "no DKIM key
//!    found" (only common selectors are probed).

/// Output language of findings and remedies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// `en` or `ja`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Self::En),
            "ja" => Some(Self::Ja),
            _ => None,
        }
    }
}

/// What the grade needs to know about a domain (the `domains` columns of the same names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GradeInput {
    /// `starttls`.
    pub starttls: String,
    /// `tls_cert_valid`.
    pub tls_cert_valid: String,
    /// `spf_status`.
    pub spf_status: String,
    /// `spf_all`.
    pub spf_all: Option<String>,
    /// `dmarc_status`.
    pub dmarc_status: String,
    /// `dmarc_policy`.
    pub dmarc_policy: Option<String>,
    /// `spf_outcome` (the evaluated policy; empty for scans made before it existed).
    pub spf_outcome: String,
    /// `spf_ipv4_authorized`.
    pub spf_ipv4_authorized: Option<u64>,
    /// `client_plaintext_auth`.
    pub client_plaintext_auth: Option<bool>,
    /// `client_declared_plain`.
    pub client_declared_plain: Option<bool>,
    /// MX hosts without working STARTTLS (for the remedy text).
    pub hosts_without_tls: Vec<String>,
}

crate::labels! {
    /// One problem found.
    pub enum Finding {
        /// No MX completes STARTTLS (Gmail's red padlock).
        NoStartTls => "no_starttls",
        /// Some MX do not complete STARTTLS.
        PartialStartTls => "partial_starttls",
        /// Some TLS sessions had an invalid certificate.
        InvalidCertificate => "invalid_certificate",
        /// No SPF record.
        NoSpf => "no_spf",
        /// SPF broken (several records, syntax error).
        BrokenSpf => "broken_spf",
        /// SPF ends in `+all`: anyone may send.
        SpfPassAll => "spf_pass_all",
        /// No DMARC record.
        NoDmarc => "no_dmarc",
        /// DMARC broken.
        BrokenDmarc => "broken_dmarc",
        /// DMARC `p=none`.
        DmarcMonitorOnly => "dmarc_monitor_only",
        /// A client port (submission, IMAP, POP3) accepts passwords before TLS.
        ClientPlaintextAuth => "client_plaintext_auth",
        /// The settings users are given (autoconfig, ISPDB) say to connect without TLS.
        ClientDeclaredPlain => "client_declared_plain",
    }
}

impl Finding {
    /// A short human-readable title.
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::NoStartTls, Lang::En) => "No STARTTLS",
            (Self::NoStartTls, Lang::Ja) => "STARTTLS なし",
            (Self::PartialStartTls, Lang::En) => "STARTTLS on some MX only",
            (Self::PartialStartTls, Lang::Ja) => "一部の MX のみ STARTTLS",
            (Self::InvalidCertificate, Lang::En) => "Invalid certificate",
            (Self::InvalidCertificate, Lang::Ja) => "証明書が無効",
            (Self::NoSpf, Lang::En) => "No SPF",
            (Self::NoSpf, Lang::Ja) => "SPF なし",
            (Self::BrokenSpf, Lang::En) => "Broken SPF",
            (Self::BrokenSpf, Lang::Ja) => "SPF の誤り",
            (Self::SpfPassAll, Lang::En) => "SPF +all",
            (Self::SpfPassAll, Lang::Ja) => "SPF が +all",
            (Self::NoDmarc, Lang::En) => "No DMARC",
            (Self::NoDmarc, Lang::Ja) => "DMARC なし",
            (Self::BrokenDmarc, Lang::En) => "Broken DMARC",
            (Self::BrokenDmarc, Lang::Ja) => "DMARC の誤り",
            (Self::DmarcMonitorOnly, Lang::En) => "DMARC monitoring only (p=none)",
            (Self::DmarcMonitorOnly, Lang::Ja) => "DMARC が監視のみ（p=none）",
            (Self::ClientPlaintextAuth, Lang::En) => "Passwords accepted without TLS",
            (Self::ClientPlaintextAuth, Lang::Ja) => "TLS なしでパスワードを受け付ける",
            (Self::ClientDeclaredPlain, Lang::En) => "Mail-app settings say: no TLS",
            (Self::ClientDeclaredPlain, Lang::Ja) => "メールアプリの設定情報が TLS なしを指定",
        }
    }

    /// The one-line remedy; `hosts` names the MX hosts concerned, where that matters.
    pub fn remedy(self, lang: Lang, hosts: &str) -> String {
        match (self, lang) {
            (Self::NoStartTls, Lang::En) => format!("Enable STARTTLS with a valid certificate on {hosts}: mail to this domain travels unencrypted."),
            (Self::NoStartTls, Lang::Ja) => format!("{hosts} で有効な証明書を使った STARTTLS を有効にしてください。現在このドメイン宛てのメールは暗号化されずに届きます。"),
            (Self::PartialStartTls, Lang::En) => format!("Enable STARTTLS on {hosts} too: some of this domain's MX hosts accept mail unencrypted."),
            (Self::PartialStartTls, Lang::Ja) => format!("{hosts} でも STARTTLS を有効にしてください。一部の MX が暗号化なしでメールを受け付けています。"),
            (Self::InvalidCertificate, Lang::En) => "Install a certificate from a public CA matching each MX host name (expired, self-signed or mismatched now).".into(),
            (Self::InvalidCertificate, Lang::Ja) => "各 MX のホスト名に一致する公的 CA の証明書を設置してください（期限切れ・自己署名・名前不一致があります）。".into(),
            (Self::NoSpf, Lang::En) => "Publish an SPF record (v=spf1 ... -all) listing the servers that send this domain's mail.".into(),
            (Self::NoSpf, Lang::Ja) => "送信サーバーを列挙した SPF レコード（v=spf1 ... -all）を公開してください。".into(),
            (Self::BrokenSpf, Lang::En) => "Fix the SPF record: publish exactly one v=spf1 record that parses.".into(),
            (Self::BrokenSpf, Lang::Ja) => "SPF レコードを修正してください。正しい v=spf1 レコードを 1 つだけ公開する必要があります。".into(),
            (Self::SpfPassAll, Lang::En) => "Replace +all in the SPF record with -all or ~all: +all authorises every server on the internet.".into(),
            (Self::SpfPassAll, Lang::Ja) => "SPF の +all を -all または ~all に変更してください。+all はインターネット上の全サーバーに送信を許可します。".into(),
            (Self::NoDmarc, Lang::En) => "Publish a DMARC record at _dmarc.<domain> (start with p=none and rua= to collect reports).".into(),
            (Self::NoDmarc, Lang::Ja) => "_dmarc.<ドメイン> に DMARC レコードを公開してください（まず p=none と rua= でレポートを収集）。".into(),
            (Self::BrokenDmarc, Lang::En) => "Fix the DMARC record: exactly one v=DMARC1 record with a valid p= tag.".into(),
            (Self::BrokenDmarc, Lang::Ja) => "DMARC レコードを修正してください。有効な p= を持つ v=DMARC1 レコードを 1 つだけ公開します。".into(),
            (Self::DmarcMonitorOnly, Lang::En) => "Move DMARC from p=none to p=quarantine or p=reject once the reports show legitimate mail passes.".into(),
            (Self::DmarcMonitorOnly, Lang::Ja) => "レポートで正規のメールが認証を通ることを確認したら、DMARC を p=none から p=quarantine または p=reject に強化してください。".into(),
            (Self::ClientPlaintextAuth, Lang::En) => "Stop accepting logins before TLS on the submission, IMAP and POP3 ports (require STARTTLS first, or offer only 465/993/995): customers' passwords can travel in clear text.".into(),
            (Self::ClientPlaintextAuth, Lang::Ja) => "サブミッション・IMAP・POP3 のポートで TLS 前のログインを受け付けないでください（先に STARTTLS を必須にするか、465/993/995 のみを提供）。利用者のパスワードが平文で流れる可能性があります。".into(),
            (Self::ClientDeclaredPlain, Lang::En) => "Change the mail-app settings you publish (autoconfig file, Thunderbird ISPDB entry, setup pages) to SSL/TLS or STARTTLS on every server: apps configured from them send passwords and mail unencrypted even if the server supports TLS.".into(),
            (Self::ClientDeclaredPlain, Lang::Ja) => "公開しているメールアプリ用の設定情報（autoconfig ファイル、Thunderbird の ISPDB、設定案内ページ）を、すべてのサーバーで SSL/TLS または STARTTLS に変更してください。その設定で構成されたアプリは、サーバーが TLS に対応していてもパスワードとメールを暗号化せずに送ります。".into(),
        }
    }
}

/// A grade and its findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graded {
    /// `A`-`F`, or `-` when not graded.
    pub grade: char,
    /// Why not graded (the `starttls` label), when `grade` is `-`.
    pub not_graded: Option<String>,
    /// The findings, encryption first.
    pub findings: Vec<Finding>,
}

const STEPS: [char; 5] = ['A', 'B', 'C', 'D', 'F'];

/// Grades one domain by the rules in the module documentation.
pub fn grade(d: &GradeInput) -> Graded {
    let mut findings = Vec::new();
    let start = match d.starttls.as_str() {
        "none" => {
            findings.push(Finding::NoStartTls);
            4
        }
        "some" => {
            findings.push(Finding::PartialStartTls);
            3
        }
        "all" => 0,
        other => return Graded { grade: '-', not_graded: Some(other.to_string()), findings },
    };
    let mut start = start;
    if matches!(d.tls_cert_valid.as_str(), "none" | "some") {
        findings.push(Finding::InvalidCertificate);
        start = start.max(2);
    }
    let auth: Vec<Finding> = [
        match (d.spf_status.as_str(), d.spf_all.as_deref()) {
            ("none", _) => Some(Finding::NoSpf),
            ("multiple_records" | "syntax_error", _) => Some(Finding::BrokenSpf),
            // Evaluated: a permerror (too many lookups, an include without SPF ...) breaks it too.
            ("valid", _) if d.spf_outcome == "permerror" => Some(Finding::BrokenSpf),
            ("valid", Some("pass")) => Some(Finding::SpfPassAll),
            ("valid", _) if d.spf_ipv4_authorized == Some(1 << 32) => Some(Finding::SpfPassAll),
            _ => None,
        },
        match (d.dmarc_status.as_str(), d.dmarc_policy.as_deref()) {
            ("none", _) => Some(Finding::NoDmarc),
            ("multiple_records" | "syntax_error", _) => Some(Finding::BrokenDmarc),
            ("valid", Some("none")) => Some(Finding::DmarcMonitorOnly),
            _ => None,
        },
        (d.client_plaintext_auth == Some(true)).then_some(Finding::ClientPlaintextAuth),
        (d.client_declared_plain == Some(true)).then_some(Finding::ClientDeclaredPlain),
    ]
    .into_iter()
    .flatten()
    .collect();
    let step = (start + auth.len()).min(4);
    findings.extend(auth);
    Graded { grade: STEPS[step], not_graded: None, findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        starttls: &str,
        cert: &str,
        spf: &str,
        all: Option<&str>,
        dmarc: &str,
        policy: Option<&str>,
    ) -> GradeInput {
        GradeInput {
            starttls: starttls.into(),
            tls_cert_valid: cert.into(),
            spf_status: spf.into(),
            spf_all: all.map(Into::into),
            dmarc_status: dmarc.into(),
            dmarc_policy: policy.map(Into::into),
            spf_outcome: if spf == "valid" { "valid".into() } else { String::new() },
            spf_ipv4_authorized: None,
            client_plaintext_auth: None,
            client_declared_plain: None,
            hosts_without_tls: vec![],
        }
    }

    #[test]
    fn grade_table() {
        use Finding::*;
        let cases = [
            (input("all", "all", "valid", Some("fail"), "valid", Some("reject")), 'A', vec![]),
            (input("all", "all", "valid", Some("softfail"), "valid", Some("none")), 'B', vec![DmarcMonitorOnly]),
            (input("all", "all", "none", None, "none", None), 'C', vec![NoSpf, NoDmarc]),
            (input("all", "none", "valid", Some("fail"), "valid", Some("quarantine")), 'C', vec![InvalidCertificate]),
            (
                input("all", "some", "valid", Some("pass"), "valid", Some("reject")),
                'D',
                vec![InvalidCertificate, SpfPassAll],
            ),
            (input("some", "all", "valid", Some("fail"), "valid", Some("reject")), 'D', vec![PartialStartTls]),
            (
                input("some", "all", "multiple_records", None, "syntax_error", None),
                'F',
                vec![PartialStartTls, BrokenSpf, BrokenDmarc],
            ),
            (input("none", "n_a", "valid", Some("fail"), "valid", Some("reject")), 'F', vec![NoStartTls]),
            (input("all", "all", "temperror", None, "temperror", None), 'A', vec![]),
            (
                GradeInput {
                    spf_outcome: "permerror".into(),
                    ..input("all", "all", "valid", Some("fail"), "valid", Some("reject"))
                },
                'B',
                vec![BrokenSpf],
            ),
            (
                GradeInput {
                    spf_ipv4_authorized: Some(1 << 32),
                    ..input("all", "all", "valid", Some("fail"), "valid", Some("reject"))
                },
                'B',
                vec![SpfPassAll],
            ),
            (
                GradeInput {
                    client_plaintext_auth: Some(true),
                    ..input("all", "all", "valid", Some("fail"), "valid", Some("reject"))
                },
                'B',
                vec![ClientPlaintextAuth],
            ),
            (
                GradeInput {
                    client_plaintext_auth: Some(true),
                    client_declared_plain: Some(true),
                    ..input("all", "all", "valid", Some("fail"), "valid", Some("reject"))
                },
                'C',
                vec![ClientPlaintextAuth, ClientDeclaredPlain],
            ),
            (
                GradeInput {
                    client_declared_plain: Some(false),
                    ..input("all", "all", "valid", Some("fail"), "valid", Some("reject"))
                },
                'A',
                vec![],
            ),
        ];
        for (i, (d, want, findings)) in cases.into_iter().enumerate() {
            let g = grade(&d);
            assert_eq!((g.grade, g.findings), (want, findings), "case {i}");
        }
        for not in ["no_mx", "dns_failed", "unreachable", "not_probed", "excluded"] {
            let g = grade(&input(not, "n_a", "valid", None, "valid", Some("reject")));
            assert_eq!((g.grade, g.not_graded.as_deref()), ('-', Some(not)));
        }
    }

    #[test]
    fn every_finding_has_both_languages() {
        for f in Finding::ALL {
            let en = f.remedy(Lang::En, "mx1.example");
            let ja = f.remedy(Lang::Ja, "mx1.example");
            assert!(en.is_ascii() && !ja.is_ascii() && en != ja, "{f:?}");
            assert!(f.title(Lang::En).is_ascii() && !f.title(Lang::Ja).is_ascii(), "{f:?}");
        }
        assert!(Finding::NoStartTls.remedy(Lang::En, "mx1.example").contains("mx1.example"));
    }
}
