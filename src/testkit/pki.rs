//! A test PKI made with rcgen: a CA, leaf certificates for MX names (valid, expired, not yet valid,
//! for another name, from an untrusted CA) and self-signed certificates. ECDSA P-256 throughout.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// When a leaf certificate is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// From a day ago for a year.
    Current,
    /// Ended yesterday.
    Expired,
    /// Starts in a month.
    NotYetValid,
}

/// A certificate chain and its key, ready for a TLS server.
#[derive(Debug)]
pub struct ServerCert {
    /// Leaf first, then the issuing CA (if any).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's key, PKCS#8 DER.
    pub key: Vec<u8>,
}

impl ServerCert {
    /// A rustls server config presenting this certificate, for TLS 1.3 and 1.2, or 1.2 only.
    pub fn server_config(&self, tls12_only: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&'static rustls::SupportedProtocolVersion] =
            if tls12_only { &[&rustls::version::TLS12] } else { &[&rustls::version::TLS13, &rustls::version::TLS12] };
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())))
            .expect("rcgen certificates are valid for rustls");
        Arc::new(config)
    }
}

/// A certificate authority for tests.
pub struct TestCa {
    issuer: Arc<Issuer<'static, KeyPair>>,
    der: CertificateDer<'static>,
    pem: String,
}

impl TestCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("P-256 key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        params.distinguished_name.push(DnType::CommonName, name);
        params.distinguished_name.push(DnType::OrganizationName, "mailcensus testkit");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(30);
        params.not_after = now + Duration::days(3650);
        let cert = params.self_signed(&key).expect("self-signed CA");
        Self { der: cert.der().clone(), pem: cert.pem(), issuer: Arc::new(Issuer::new(params, key)) }
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the CA certificate as PEM (for `--ca-file`).
    pub fn write_pem(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.pem)
    }

    /// A leaf for `names` followed by `padding` copies of the CA certificate: an enormous chain.
    pub fn leaf_with_huge_chain(&self, names: &[&str], padding: usize) -> ServerCert {
        let mut cert = self.leaf(names, Validity::Current);
        cert.chain.extend(std::iter::repeat_n(self.der.clone(), padding));
        cert
    }

    /// A leaf certificate for `names`, issued by this CA.
    pub fn leaf(&self, names: &[&str], validity: Validity) -> ServerCert {
        let key = KeyPair::generate().expect("P-256 key");
        let params = leaf_params(names, validity);
        let cert = params.signed_by(&key, &self.issuer).expect("signed leaf");
        ServerCert { chain: vec![cert.der().clone(), self.der.clone()], key: key.serialize_der() }
    }
}

/// What a mark certificate made by [`TestCa::mark_certificate`] is like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark<'a> {
    /// The names (subjectAltName dNSName).
    pub names: &'a [&'a str],
    /// The SVG embedded in the logotype extension (gzipped, as real ones are); `None`: no extension.
    pub logo: Option<&'a [u8]>,
    /// When it is valid.
    pub validity: Validity,
    /// It carries the mark-certificate extended key usage (1.3.6.1.5.5.7.3.31).
    pub mark_eku: bool,
    /// The mark type in the subject (`Registered Mark` for a VMC, `Prior Use Mark` for a CMC).
    pub mark_type: &'a str,
}

/// DER: a tag, a definite length, the contents.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

impl TestCa {
    /// A mark certificate (VMC-like) issued by this CA, as the PEM file a BIMI `a=` URL serves:
    /// the leaf, then this CA.
    pub fn mark_certificate(&self, mark: Mark<'_>) -> String {
        use base64::Engine as _;
        use std::io::Write;
        let key = KeyPair::generate().expect("P-256 key");
        let mut params = leaf_params(mark.names, mark.validity);
        params.distinguished_name.push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 53087, 1, 13]), mark.mark_type);
        if mark.mark_eku {
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 31])];
        } else {
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        }
        if let Some(logo) = mark.logo {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(logo).expect("in memory");
            let gz = gz.finish().expect("in memory");
            let uri = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(gz));
            // A minimal logotype structure: the URI as an IA5String inside nested sequences.
            let content = der(0x30, &der(0xa2, &der(0x30, &der(0x16, uri.as_bytes()))));
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 12], content));
        }
        let cert = params.signed_by(&key, &self.issuer).expect("signed mark certificate");
        format!("{}{}", cert.pem(), self.pem)
    }
}

impl TestCa {
    /// A server config that presents, for each SNI name, a certificate for that name from this CA
    /// (issued on first use): a server whose answer depends on the name asked.
    pub fn per_name_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = PerName {
            issuer: self.issuer.clone(),
            ca: self.der.clone(),
            provider: provider.clone(),
            issued: std::sync::Mutex::new(std::collections::HashMap::new()),
        };
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        Arc::new(config)
    }
}

/// Certificates a per-name server keeps (a name asked again after they are dropped gets a new one).
const PER_NAME_KEPT: usize = 4096;

/// Issues a certificate for each SNI name on first use.
struct PerName {
    issuer: Arc<Issuer<'static, KeyPair>>,
    ca: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    issued: std::sync::Mutex<std::collections::HashMap<String, Arc<rustls::sign::CertifiedKey>>>,
}

impl std::fmt::Debug for PerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerName")
    }
}

impl rustls::server::ResolvesServerCert for PerName {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let name = hello.server_name().unwrap_or("no-sni.invalid").to_string();
        let mut issued = self.issued.lock().ok()?;
        if let Some(k) = issued.get(&name) {
            return Some(k.clone());
        }
        // Bounded: a world of a million domains asks for many names once each.
        if issued.len() >= PER_NAME_KEPT {
            issued.clear();
        }
        let key = KeyPair::generate().ok()?;
        let cert = leaf_params(&[&name], Validity::Current).signed_by(&key, &self.issuer).ok()?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = self.provider.key_provider.load_private_key(der).ok()?;
        let certified = Arc::new(rustls::sign::CertifiedKey::new(vec![cert.der().clone(), self.ca.clone()], signing));
        issued.insert(name, certified.clone());
        Some(certified)
    }
}

fn leaf_params(names: &[&str], validity: Validity) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("valid names");
    params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
    let now = OffsetDateTime::now_utc();
    (params.not_before, params.not_after) = match validity {
        Validity::Current => (now - Duration::days(1), now + Duration::days(365)),
        Validity::Expired => (now - Duration::days(400), now - Duration::days(1)),
        Validity::NotYetValid => (now + Duration::days(30), now + Duration::days(400)),
    };
    params
}

/// The certificates of a PEM file.
pub fn read_pem_certificates(path: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let bytes = std::fs::read(path)?;
    CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>().map_err(std::io::Error::other)
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str]) -> ServerCert {
    let key = KeyPair::generate().expect("P-256 key");
    let cert = leaf_params(names, Validity::Current).self_signed(&key).expect("self-signed");
    ServerCert { chain: vec![cert.der().clone()], key: key.serialize_der() }
}

/// A self-signed certificate for `names` that is also a CA (basicConstraints CA:TRUE), as
/// `openssl req -x509` makes by default: the kind real servers often present.
pub fn self_signed_ca(names: &[&str]) -> ServerCert {
    let key = KeyPair::generate().expect("P-256 key");
    let mut params = leaf_params(names, Validity::Current);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    ServerCert { chain: vec![cert.der().clone()], key: key.serialize_der() }
}
