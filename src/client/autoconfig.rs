//! Thunderbird's autoconfig format (`clientConfig` version 1.1): the file mail apps read from
//! `https://autoconfig.<domain>/mail/config-v1.1.xml` to find a domain's servers. Parsed with
//! quick-xml, bounded (depth, servers), never trusted: a host name must look like one.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::probe::client::Protocol;

/// One server of an autoconfig file: protocol, host, port.
pub type Server = (Protocol, String, u16);

/// Largest autoconfig file read.
pub const MAX_AUTOCONFIG_BYTES: usize = 64 * 1024;

/// Reads the servers of a Thunderbird autoconfig file (`clientConfig` version 1.1): `(protocol, host,
/// port)` for each `incomingServer` of type imap or pop3 and `outgoingServer` of type smtp, with
/// `%EMAILDOMAIN%` replaced by `domain`. `socketType` SSL is implicit TLS; STARTTLS and plain are the
/// plaintext-port protocols (the probe then sees whether STARTTLS is offered).
pub fn parse_autoconfig(xml: &str, domain: &str) -> Result<Vec<Server>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut saw_root = false;
    // The server being read: (type, hostname, port, socketType).
    let mut current: Option<(String, String, String, String)> = None;
    let mut field = String::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("XML error at byte {}: {e}", reader.buffer_position())),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth > 32 {
                    return Err("XML nested too deep".into());
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if name == "clientConfig" {
                    saw_root = true;
                }
                if name == "incomingServer" || name == "outgoingServer" {
                    let kind = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"type")
                        .map(|a| String::from_utf8_lossy(&a.value).to_ascii_lowercase())
                        .unwrap_or_default();
                    current = Some((kind, String::new(), String::new(), String::new()));
                }
                field = name;
            }
            Ok(Event::Text(t)) => {
                let text = t.decode().map_err(|e| e.to_string())?.trim().to_string();
                if let Some(cur) = current.as_mut() {
                    match field.as_str() {
                        "hostname" => cur.1 = text,
                        "port" => cur.2 = text,
                        "socketType" => cur.3 = text,
                        _ => {}
                    }
                }
            }
            Ok(Event::End(e)) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name();
                if (name.as_ref() == b"incomingServer" || name.as_ref() == b"outgoingServer")
                    && let Some((kind, host, port, socket)) = current.take()
                {
                    let implicit = socket.eq_ignore_ascii_case("SSL");
                    let protocol = match (kind.as_str(), implicit) {
                        ("imap", true) => Protocol::Imaps,
                        ("imap", false) => Protocol::Imap,
                        ("pop3", true) => Protocol::Pop3s,
                        ("pop3", false) => Protocol::Pop3,
                        ("smtp", true) => Protocol::Submissions,
                        ("smtp", false) => Protocol::Submission,
                        _ => continue,
                    };
                    let host = host.replace("%EMAILDOMAIN%", domain).trim_end_matches('.').to_ascii_lowercase();
                    let valid_host = !host.is_empty()
                        && host.len() <= 253
                        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                    let port = port.parse::<u16>().ok().filter(|p| *p > 0).unwrap_or(protocol.default_port());
                    if valid_host && out.len() < 32 {
                        out.push((protocol, host, port));
                    }
                }
                field.clear();
            }
            Ok(_) => {}
        }
    }
    if !saw_root {
        return Err("not a clientConfig document".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Thunderbird's documented example (wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat), trimmed.
    const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.com</hostname>
      <port>110</port>
      <socketType>STARTTLS</socketType>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>SMTP.Example.COM.</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
    </outgoingServer>
    <incomingServer type="exchange"><hostname>ews.example.com</hostname></incomingServer>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn parse_table() {
        let got = parse_autoconfig(EXAMPLE, "example.com").unwrap();
        assert_eq!(
            got,
            vec![
                (Protocol::Imaps, "imap.example.com".to_string(), 993),
                (Protocol::Pop3, "pop.example.com".to_string(), 110),
                (Protocol::Submission, "smtp.example.com".to_string(), 587),
            ]
        );
        let ssl_smtp = r#"<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>s.example</hostname><socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>"#;
        assert_eq!(
            parse_autoconfig(ssl_smtp, "x").unwrap(),
            vec![(Protocol::Submissions, "s.example".to_string(), 465)]
        );
        let bad_host = r#"<clientConfig><emailProvider><incomingServer type="imap"><hostname>a b/c</hostname></incomingServer></emailProvider></clientConfig>"#;
        assert!(parse_autoconfig(bad_host, "x").unwrap().is_empty());
        for bad in
            ["<html><body>404</body></html>", "not xml at all <<<", "", "<clientConfig><unclosed></clientConfig>"]
        {
            assert!(parse_autoconfig(bad, "x").is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse_autoconfig(&s, "example.com");
            let _ = parse_autoconfig(&format!("<clientConfig><emailProvider><incomingServer type=\"imap\">{s}</incomingServer></emailProvider></clientConfig>"), "example.com");
        }
    }
}
