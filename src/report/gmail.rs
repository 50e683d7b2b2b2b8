//! What to fix for Gmail, per domain: the reasons of `gmail_all_senders`, `gmail_bulk_senders` and
//! `gmail_checkmark_predicted` turned into fixes with remedies in English and Japanese, ordered by
//! what unblocks delivery first (what all senders need, then bulk senders, then the checkmark).
//! Reasons that only say a lookup failed have no fix: the domain needs checking again.

use super::grade::Lang;
use crate::scan::readiness::{CheckmarkReason, ReadinessReason};

crate::labels! {
    /// One fix, in the order they unblock delivery (declaration order).
    pub enum GmailFix {
        /// Neither SPF nor DKIM: Gmail rejects or junks the mail of any sender.
        SpfOrDkim => "spf_or_dkim",
        /// A sending address without PTR.
        Ptr => "ptr",
        /// A sending address whose PTR does not resolve back.
        Fcrdns => "fcrdns",
        /// Bulk senders: SPF.
        Spf => "spf",
        /// Bulk senders: DKIM.
        Dkim => "dkim",
        /// Bulk senders: a DMARC record.
        Dmarc => "dmarc",
        /// The checkmark: DMARC at enforcement.
        DmarcEnforcement => "dmarc_enforcement",
        /// The checkmark: fix the BIMI record.
        BimiRecord => "bimi_record",
        /// The checkmark: serve the logo.
        Logo => "logo",
        /// The checkmark: an SVG Tiny PS logo.
        LogoProfile => "logo_profile",
        /// The checkmark: a verified mark certificate.
        MarkCertificate => "mark_certificate",
        /// The checkmark: a VMC rather than a CMC.
        VerifiedMark => "verified_mark",
        /// The checkmark: publish BIMI at all (last: optional, and it needs the rest first).
        PublishBimi => "publish_bimi",
    }
}

impl GmailFix {
    fn of_readiness(r: ReadinessReason) -> Option<Self> {
        use ReadinessReason as R;
        Some(match r {
            R::NoSpfOrDkim => Self::SpfOrDkim,
            R::NoPtr => Self::Ptr,
            R::FcrdnsMismatch => Self::Fcrdns,
            R::NoSpf => Self::Spf,
            R::NoDkim => Self::Dkim,
            R::NoDmarc => Self::Dmarc,
            R::SpfLookupFailed | R::DkimLookupFailed | R::DmarcLookupFailed | R::PtrLookupFailed => return None,
        })
    }

    fn of_checkmark(r: CheckmarkReason) -> Option<Self> {
        use CheckmarkReason as R;
        Some(match r {
            R::NoBimiRecord => Self::PublishBimi,
            R::BimiInvalid => Self::BimiRecord,
            R::DmarcNotEnforced => Self::DmarcEnforcement,
            R::LogoUnavailable => Self::Logo,
            R::LogoNotTinyPs => Self::LogoProfile,
            R::NoMarkCertificate | R::CertificateUnavailable | R::CertificateInvalid | R::CertificateUntrusted => {
                Self::MarkCertificate
            }
            R::CommonMarkCertificate => Self::VerifiedMark,
            // Declining is the domain's choice; failures need a new check, not a fix.
            R::BimiDeclined | R::BimiLookupFailed | R::DmarcLookupFailed | R::FetchFailed | R::TrustNotChecked => {
                return None;
            }
        })
    }

    /// A short title.
    pub fn title(self, lang: Lang) -> &'static str {
        let (en, ja) = match self {
            Self::SpfOrDkim => ("Gmail: no SPF and no DKIM", "Gmail: SPF も DKIM もない"),
            Self::Ptr => ("Gmail: sending address without PTR", "Gmail: 送信アドレスに PTR がない"),
            Self::Fcrdns => ("Gmail: reverse DNS does not confirm", "Gmail: 逆引きと正引きが一致しない"),
            Self::Spf => ("Gmail bulk senders: no SPF", "Gmail 大量送信者: SPF がない"),
            Self::Dkim => ("Gmail bulk senders: no DKIM", "Gmail 大量送信者: DKIM がない"),
            Self::Dmarc => ("Gmail bulk senders: no DMARC", "Gmail 大量送信者: DMARC がない"),
            Self::DmarcEnforcement => ("BIMI: DMARC not at enforcement", "BIMI: DMARC が強制ポリシーでない"),
            Self::BimiRecord => ("BIMI: invalid record", "BIMI: レコードの誤り"),
            Self::Logo => ("BIMI: logo not served", "BIMI: ロゴを取得できない"),
            Self::LogoProfile => ("BIMI: logo is not SVG Tiny PS", "BIMI: ロゴが SVG Tiny PS でない"),
            Self::MarkCertificate => ("BIMI: no valid mark certificate", "BIMI: 有効なマーク証明書がない"),
            Self::VerifiedMark => ("BIMI: common mark, no checkmark", "BIMI: CMC のためチェックマークなし"),
            Self::PublishBimi => ("BIMI: not published", "BIMI: 未公開"),
        };
        if lang == Lang::Ja { ja } else { en }
    }

    /// The remedy.
    pub fn remedy(self, lang: Lang) -> &'static str {
        let (en, ja) = match self {
            Self::SpfOrDkim => (
                "Publish an SPF record or sign outgoing mail with DKIM (better: both): Gmail and Yahoo reject or junk mail from domains with neither.",
                "SPF レコードを公開するか、送信メールに DKIM 署名を付けてください（両方が望ましい）。どちらもないドメインのメールは Gmail と Yahoo で拒否または迷惑メール扱いになります。",
            ),
            Self::Ptr => (
                "Have every sending address (MX hosts, the single hosts in SPF) given a PTR record by the address's owner, naming a host of yours: Gmail rejects mail from addresses without reverse DNS.",
                "送信に使うすべてのアドレス（MX ホスト、SPF で指定した単一ホスト）に、アドレスの管理者に依頼して自社のホスト名を指す PTR レコードを設定してください。逆引きのないアドレスからのメールは Gmail に拒否されます。",
            ),
            Self::Fcrdns => (
                "Make each sending address's PTR name resolve back to that address (forward-confirmed reverse DNS): generic names of an access network fail Gmail's check.",
                "各送信アドレスの PTR が指すホスト名を、そのアドレスに正引きできるようにしてください（FCrDNS）。アクセス回線の汎用的な名前では Gmail の確認に通りません。",
            ),
            Self::Spf => (
                "Publish an SPF record listing every server that sends for the domain: Gmail requires SPF and DKIM of senders of 5,000 messages a day.",
                "このドメインから送信するすべてのサーバーを列挙した SPF レコードを公開してください。1 日 5,000 通以上送る送信者には Gmail が SPF と DKIM の両方を求めます。",
            ),
            Self::Dkim => (
                "Sign outgoing mail with DKIM and publish the key under the domain (d= the domain itself, so that DMARC aligns): Gmail requires it of bulk senders.",
                "送信メールに DKIM 署名を付け、鍵をこのドメインの下に公開してください（DMARC で整合するよう d= はこのドメイン自身）。大量送信者には Gmail が必須としています。",
            ),
            Self::Dmarc => (
                "Publish a DMARC record at _dmarc.<domain>; p=none with rua= reports is enough for Gmail's bulk-sender rule.",
                "_dmarc.<ドメイン> に DMARC レコードを公開してください。Gmail の大量送信者要件には rua= 付きの p=none で足ります。",
            ),
            Self::DmarcEnforcement => (
                "Move DMARC to p=quarantine or p=reject with pct=100 and no sp=none: BIMI shows no logo without enforcement.",
                "DMARC を pct=100 の p=quarantine または p=reject にし、sp=none を外してください。強制ポリシーでないと BIMI のロゴは表示されません。",
            ),
            Self::BimiRecord => (
                "Publish exactly one record at default._bimi.<domain>: v=BIMI1; l=<https URL of the SVG logo>; a=<https URL of the mark certificate>.",
                "default._bimi.<ドメイン> にレコードを 1 つだけ公開してください: v=BIMI1; l=<SVG ロゴの https URL>; a=<マーク証明書の https URL>。",
            ),
            Self::Logo => (
                "Serve the logo at the l= URL over HTTPS with a valid certificate (HTTP 200, at most 32 KB).",
                "l= の URL で、有効な証明書の HTTPS によりロゴを配信してください（HTTP 200、32 KB 以下）。",
            ),
            Self::LogoProfile => (
                "Convert the logo to SVG Tiny PS (version=\"1.2\" baseProfile=\"tiny-ps\", a <title>, no scripts, no external references, no animation).",
                "ロゴを SVG Tiny PS に変換してください（version=\"1.2\" baseProfile=\"tiny-ps\"、<title> あり、スクリプト・外部参照・アニメーションなし）。",
            ),
            Self::MarkCertificate => (
                "Obtain a verified mark certificate (VMC) for the domain and this exact logo from a mark-certificate CA, and serve its PEM chain at the a= URL.",
                "このドメインとこのロゴに対する認証マーク証明書（VMC）をマーク証明書の認証局から取得し、その PEM チェーンを a= の URL で配信してください。",
            ),
            Self::VerifiedMark => (
                "A common mark certificate (CMC) shows the logo without the blue checkmark; a VMC for a registered trademark adds it.",
                "CMC ではロゴは表示されますが青いチェックマークは付きません。登録商標の VMC で付きます。",
            ),
            Self::PublishBimi => (
                "Optional, once DMARC is at enforcement: publish BIMI (default._bimi.<domain>) with an SVG Tiny PS logo and a VMC to show the brand's logo and Gmail's checkmark.",
                "任意（DMARC を強制ポリシーにした後）：BIMI（default._bimi.<ドメイン>）を SVG Tiny PS のロゴと VMC とともに公開すると、ブランドのロゴと Gmail のチェックマークが表示されます。",
            ),
        };
        if lang == Lang::Ja { ja } else { en }
    }
}

/// The fixes a domain needs, deduplicated, in order (what unblocks delivery first).
pub fn fixes(all: &[ReadinessReason], bulk: &[ReadinessReason], checkmark: &[CheckmarkReason]) -> Vec<GmailFix> {
    let mut out: Vec<GmailFix> = all
        .iter()
        .chain(bulk)
        .filter_map(|r| GmailFix::of_readiness(*r))
        .chain(checkmark.iter().filter_map(|r| GmailFix::of_checkmark(*r)))
        .collect();
    out.sort_by_key(|f| GmailFix::ALL.iter().position(|x| x == f));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_come_in_the_order_that_unblocks_delivery() {
        use CheckmarkReason as C;
        use ReadinessReason as R;
        let got = fixes(
            &[R::NoPtr, R::PtrLookupFailed],
            &[R::NoDmarc, R::NoDkim, R::NoPtr],
            &[C::NoBimiRecord, C::DmarcNotEnforced, C::TrustNotChecked],
        );
        assert_eq!(
            got,
            vec![GmailFix::Ptr, GmailFix::Dkim, GmailFix::Dmarc, GmailFix::DmarcEnforcement, GmailFix::PublishBimi]
        );
        assert!(fixes(&[R::SpfLookupFailed], &[], &[C::BimiDeclined, C::FetchFailed]).is_empty());
    }

    #[test]
    fn every_fix_has_both_languages() {
        for f in GmailFix::ALL {
            for (text_en, text_ja) in [(f.title(Lang::En), f.title(Lang::Ja)), (f.remedy(Lang::En), f.remedy(Lang::Ja))]
            {
                assert!(text_en.is_ascii() && !text_ja.is_ascii(), "{f:?}");
            }
        }
        // Every certain reason has a fix.
        for r in ReadinessReason::ALL.iter().filter(|r| !r.as_label().ends_with("_failed")) {
            assert!(GmailFix::of_readiness(*r).is_some(), "{r:?}");
        }
    }
}
