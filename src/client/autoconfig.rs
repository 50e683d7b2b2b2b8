//! Thunderbird's autoconfig format (`clientConfig` version 1.1): the file mail apps read from
//! `https://autoconfig.<domain>/mail/config-v1.1.xml` (and the ISP database, [`super::ispdb`], is
//! made of) to find a domain's servers. Parsed with quick-xml, bounded (size, depth, servers), never
//! trusted: a host name must look like one. What the file *declares* (its `socketType` and
//! `authentication`) is kept: a provider that tells its users to connect without TLS is a finding.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::probe::client::Protocol;

/// Largest autoconfig file read.
pub const MAX_AUTOCONFIG_BYTES: usize = 64 * 1024;
/// The path of the autoconfig file at `autoconfig.<domain>`.
pub const PATH: &str = "/mail/config-v1.1.xml";
/// The path of the autoconfig file at the domain itself.
pub const WELL_KNOWN_PATH: &str = "/.well-known/autoconfig/mail/config-v1.1.xml";
/// Servers kept from one file.
pub const MAX_SERVERS: usize = 32;
/// Domains kept from one file's `<domain>` list.
pub const MAX_DOMAINS: usize = 256;
/// Authentication methods kept per server.
const MAX_AUTH: usize = 4;

crate::labels! {
    /// How a configuration file tells the mail app to secure the connection (`socketType`).
    #[derive(PartialOrd, Ord)]
    pub enum SocketType {
        /// `SSL`: TLS from the first byte.
        Ssl => "ssl",
        /// `STARTTLS`: upgrade on the plaintext port.
        StartTls => "starttls",
        /// `plain`: no TLS at all.
        Plain => "plain",
    }
}

crate::labels! {
    /// An authentication method a configuration file declares (`authentication`).
    #[derive(PartialOrd, Ord)]
    pub enum AuthMethod {
        /// `password-cleartext`: the password itself (AUTH PLAIN/LOGIN, IMAP LOGIN, POP3 USER/PASS).
        PasswordCleartext => "password_cleartext",
        /// `password-encrypted`: a challenge-response (CRAM-MD5 and kin).
        PasswordEncrypted => "password_encrypted",
        /// `OAuth2`.
        OAuth2 => "oauth2",
        /// `none`: no authentication.
        None => "none",
        /// Anything else (`GSSAPI`, `NTLM`, `TLS-client-cert`, `client-IP-address` ...).
        Other => "other",
    }
}

impl AuthMethod {
    fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "password-cleartext" | "plain" => Self::PasswordCleartext,
            "password-encrypted" | "secure" => Self::PasswordEncrypted,
            "oauth2" => Self::OAuth2,
            "none" => Self::None,
            _ => Self::Other,
        }
    }
}

/// One server a configuration file declares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Declared {
    /// The protocol the probe speaks (`SSL` gives the implicit-TLS one).
    pub protocol: Protocol,
    /// Host name as written, lowercase, no trailing dot; may contain `%EMAILDOMAIN%`.
    pub host: String,
    /// TCP port (the protocol's standard one when the file gives none).
    pub port: u16,
    /// What the file tells the mail app about TLS.
    pub socket: SocketType,
    /// The authentication methods declared, in file order.
    pub auth: Vec<AuthMethod>,
}

impl Declared {
    /// The host for a user of `domain` (`%EMAILDOMAIN%` replaced), if it is a valid host name.
    pub fn host_for(&self, domain: &str) -> Option<String> {
        let host = self.host.replace("%emaildomain%", domain);
        let valid = !host.is_empty()
            && host.len() <= 253
            && !host.starts_with('.')
            && !host.contains("..")
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        valid.then_some(host)
    }

    /// The file tells users to send their password without TLS: `socketType` plain with a
    /// password method (or no method named, which mail apps read as a password).
    pub fn cleartext_password(&self) -> bool {
        self.socket == SocketType::Plain
            && (self.auth.is_empty()
                || self.auth.iter().any(|a| matches!(a, AuthMethod::PasswordCleartext | AuthMethod::PasswordEncrypted)))
    }
}

/// What one configuration file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// The `emailProvider id`, when given.
    pub provider_id: Option<String>,
    /// The `<domain>` entries (lowercase): the mail domains the provider serves.
    pub domains: Vec<String>,
    /// The IMAP, POP3 and SMTP servers (other types are ignored).
    pub servers: Vec<Declared>,
}

/// Reads a Thunderbird autoconfig file (`clientConfig` version 1.1): each `incomingServer` of type
/// imap or pop3 and `outgoingServer` of type smtp with a usable host name. `socketType` SSL is implicit
/// TLS; STARTTLS and plain are the plaintext-port protocols (the probe then sees whether STARTTLS is
/// offered, and the declared socket type is kept beside it).
pub fn parse(xml: &str) -> Result<ConfigFile, String> {
    if xml.len() > MAX_AUTOCONFIG_BYTES * 4 {
        return Err(format!("file over {} bytes", MAX_AUTOCONFIG_BYTES * 4));
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut out = ConfigFile::default();
    let mut saw_root = false;
    // The server being read: (type, hostname, port, socketType, authentication).
    let mut current: Option<(String, String, String, String, Vec<AuthMethod>)> = None;
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
                let attribute = |key: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == key)
                        .map(|a| String::from_utf8_lossy(&a.value).trim().to_ascii_lowercase())
                };
                match name.as_str() {
                    "clientConfig" => saw_root = true,
                    "emailProvider" => {
                        out.provider_id = attribute(b"id").filter(|id| !id.is_empty() && id.len() <= 253)
                    }
                    "incomingServer" | "outgoingServer" => {
                        current = Some((
                            attribute(b"type").unwrap_or_default(),
                            String::new(),
                            String::new(),
                            String::new(),
                            Vec::new(),
                        ))
                    }
                    _ => {}
                }
                field = name;
            }
            Ok(Event::Text(t)) => {
                let text = t.decode().map_err(|e| e.to_string())?.trim().to_string();
                match (current.as_mut(), field.as_str()) {
                    (Some(cur), "hostname") => cur.1 = text,
                    (Some(cur), "port") => cur.2 = text,
                    (Some(cur), "socketType") => cur.3 = text,
                    (Some(cur), "authentication") if cur.4.len() < MAX_AUTH => cur.4.push(AuthMethod::parse(&text)),
                    (None, "domain") if out.domains.len() < MAX_DOMAINS && depth == 3 => {
                        out.domains.push(text.trim_end_matches('.').to_ascii_lowercase())
                    }
                    _ => {}
                }
            }
            Ok(Event::End(e)) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name();
                if (name.as_ref() == b"incomingServer" || name.as_ref() == b"outgoingServer")
                    && let Some((kind, host, port, socket, auth)) = current.take()
                {
                    let socket = match socket.to_ascii_lowercase().as_str() {
                        "ssl" | "tls" => SocketType::Ssl,
                        "starttls" => SocketType::StartTls,
                        _ => SocketType::Plain,
                    };
                    let implicit = socket == SocketType::Ssl;
                    let protocol = match (kind.as_str(), implicit) {
                        ("imap", true) => Protocol::Imaps,
                        ("imap", false) => Protocol::Imap,
                        ("pop3", true) => Protocol::Pop3s,
                        ("pop3", false) => Protocol::Pop3,
                        ("smtp", true) => Protocol::Submissions,
                        ("smtp", false) => Protocol::Submission,
                        _ => continue,
                    };
                    let host = host.to_ascii_lowercase().trim_end_matches('.').to_string();
                    let port = port.parse::<u16>().ok().filter(|p| *p > 0).unwrap_or(protocol.default_port());
                    let server = Declared { protocol, host, port, socket, auth };
                    if server.host_for("example.com").is_some() && out.servers.len() < MAX_SERVERS {
                        out.servers.push(server);
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

    fn servers(xml: &str, domain: &str) -> Vec<(Protocol, String, u16, SocketType)> {
        parse(xml)
            .unwrap()
            .servers
            .iter()
            .map(|s| (s.protocol, s.host_for(domain).unwrap(), s.port, s.socket))
            .collect()
    }

    #[test]
    fn parse_table() {
        let file = parse(EXAMPLE).unwrap();
        assert_eq!(file.provider_id.as_deref(), Some("example.com"));
        assert_eq!(file.domains, vec!["example.com"]);
        assert_eq!(
            servers(EXAMPLE, "example.com"),
            vec![
                (Protocol::Imaps, "imap.example.com".to_string(), 993, SocketType::Ssl),
                (Protocol::Pop3, "pop.example.com".to_string(), 110, SocketType::StartTls),
                (Protocol::Submission, "smtp.example.com".to_string(), 587, SocketType::StartTls),
            ]
        );
        assert_eq!(file.servers[0].auth, vec![AuthMethod::PasswordCleartext]);
        assert!(file.servers.iter().all(|s| !s.cleartext_password()));
        let ssl_smtp = r#"<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>s.example</hostname><socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>"#;
        assert_eq!(
            servers(ssl_smtp, "x"),
            vec![(Protocol::Submissions, "s.example".to_string(), 465, SocketType::Ssl)]
        );
        // Declared plain: the finding. With OAuth2 only, no password crosses in clear.
        let plain = r#"<clientConfig><emailProvider id="P.example"><domain>p.example</domain><domain>P2.Example.</domain>
            <incomingServer type="pop3"><hostname>pop.p.example</hostname><port>110</port><socketType>plain</socketType>
            <authentication>password-cleartext</authentication></incomingServer>
            <incomingServer type="imap"><hostname>imap.p.example</hostname><socketType>plain</socketType>
            <authentication>OAuth2</authentication></incomingServer>
            <outgoingServer type="smtp"><hostname>smtp.p.example</hostname><port>25</port><socketType>plain</socketType></outgoingServer>
            </emailProvider></clientConfig>"#;
        let file = parse(plain).unwrap();
        assert_eq!(file.provider_id.as_deref(), Some("p.example"));
        assert_eq!(file.domains, vec!["p.example", "p2.example"]);
        let cleartext: Vec<bool> = file.servers.iter().map(Declared::cleartext_password).collect();
        assert_eq!(cleartext, vec![true, false, true]);
        assert_eq!(file.servers[1].auth, vec![AuthMethod::OAuth2]);
        assert_eq!((file.servers[2].protocol, file.servers[2].port), (Protocol::Submission, 25));
        let bad_host = r#"<clientConfig><emailProvider><incomingServer type="imap"><hostname>a b/c</hostname></incomingServer><incomingServer type="imap"><hostname>..x</hostname></incomingServer></emailProvider></clientConfig>"#;
        assert!(parse(bad_host).unwrap().servers.is_empty());
        for bad in
            ["<html><body>404</body></html>", "not xml at all <<<", "", "<clientConfig><unclosed></clientConfig>"]
        {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
            let _ = parse(&format!("<clientConfig><emailProvider><incomingServer type=\"imap\">{s}</incomingServer></emailProvider></clientConfig>"));
        }
    }
}
