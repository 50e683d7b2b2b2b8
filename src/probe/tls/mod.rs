//! The TLS half of a STARTTLS probe: the handshake over an upgraded SMTP stream and what it showed.
//!
//! The TLS code knows nothing about SMTP: it takes any stream and a host name (used for SNI and the
//! name check). The certificate is captured without aborting the handshake (see [`danger`]) and judged
//! afterwards by [`cert::assess`] against the Mozilla roots plus any `--ca-file`.

pub mod cert;
mod danger;

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub use cert::{Assessment, CertDigests, CertVerdict, LeafInfo};

crate::labels! {
    /// The negotiated protocol version.
    #[derive(PartialOrd, Ord)]
    pub enum TlsVersion {
        /// TLS 1.2.
        Tls12 => "tls1_2",
        /// TLS 1.3.
        Tls13 => "tls1_3",
    }
}

/// What a completed handshake showed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsObservation {
    /// The protocol version.
    pub version: TlsVersion,
    /// The cipher suite, IANA name (e.g. `TLS13_AES_256_GCM_SHA384`).
    pub cipher: String,
    /// The key-exchange group (e.g. `X25519`), if known.
    pub kx_group: Option<String>,
    /// Number of certificates the server sent.
    pub chain_length: usize,
    /// The handshake signature verified with the leaf's key.
    pub signature_valid: bool,
    /// The certificate judgement.
    pub assessment: Assessment,
    /// Digests of every certificate presented, leaf first, for DANE.
    pub chain_digests: Vec<CertDigests>,
    /// The leaf certificate (DER), kept so that the answer can be judged for another name offline.
    pub leaf_der: Option<Arc<[u8]>>,
}

impl TlsObservation {
    /// The same session judged for `host`: only the name check differs (see [`cert::for_name`]).
    pub fn for_name(&self, host: &str) -> Self {
        let mut o = self.clone();
        if let Some(leaf) = &self.leaf_der {
            o.assessment = cert::for_name(&self.assessment, leaf, host);
        }
        o
    }

    /// The SHA-256 of every certificate presented, leaf first: two sessions with the same are the same chain.
    pub fn chain_fingerprint(&self) -> Vec<&[u8]> {
        self.chain_digests.iter().map(|d| d.cert_sha256.as_slice()).collect()
    }
}

/// Trust roots and crypto provider for every handshake of a run, built once.
#[derive(Clone, Debug)]
pub struct TlsContext {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    base: Arc<rustls::ClientConfig>,
    strict: Arc<rustls::ClientConfig>,
}

/// The ring provider with its cipher suites in the order mainstream clients offer them: AES-128-GCM
/// first, then AES-256-GCM, then ChaCha20-Poly1305, TLS 1.3 before TLS 1.2 (ring lists AES-256 first).
fn client_provider() -> CryptoProvider {
    use rustls::CipherSuite as C;
    let mut provider = rustls::crypto::ring::default_provider();
    let rank = |s: C| match s {
        C::TLS13_AES_128_GCM_SHA256 => 0,
        C::TLS13_AES_256_GCM_SHA384 => 1,
        C::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 3,
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 4,
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 5,
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 6,
        _ => 7,
    };
    provider.cipher_suites.sort_by_key(|s| rank(s.suite()));
    provider
}

/// The `--ca-file` could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use CA file {path}: {detail}")]
pub struct CaFileError {
    path: String,
    detail: String,
}

impl TlsContext {
    /// The Mozilla roots (webpki-roots) plus the certificates of `ca_files` (PEM).
    pub fn new(ca_files: &[impl AsRef<Path>]) -> Result<Self, CaFileError> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for path in ca_files {
            let path = path.as_ref();
            let err = |detail: String| CaFileError { path: path.display().to_string(), detail };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| err(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?;
            if certs.is_empty() {
                return Err(err("no certificate in file".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| err(e.to_string()))?;
            }
        }
        let provider = Arc::new(client_provider());
        let base = danger::base_config(&provider)
            .map_err(|e| CaFileError { path: "(TLS configuration)".into(), detail: e.to_string() })?;
        let config_err = |e: rustls::Error| CaFileError { path: "(TLS configuration)".into(), detail: e.to_string() };
        let roots = Arc::new(roots);
        let mut strict = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(config_err)?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        strict.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { roots, provider, base: Arc::new(base), strict: Arc::new(strict) })
    }

    /// A fully verifying client configuration (same roots, ALPN `http/1.1`), for HTTPS fetches such
    /// as the MTA-STS policy, where an invalid certificate must fail the fetch.
    pub fn strict_config(&self) -> Arc<rustls::ClientConfig> {
        self.strict.clone()
    }

    /// Judges a captured chain for `host`, now.
    pub fn assess(&self, chain: &[CertificateDer<'_>], host: &str) -> Assessment {
        cert::assess(chain, host, &self.roots, &self.provider, UnixTime::now())
    }

    /// Runs a TLS handshake over `stream` with SNI `host` and observes the result.
    ///
    /// The error is an `io::Error` carrying the `rustls::Error`, for [`crate::probe::classify_io`].
    pub async fn handshake<S>(&self, stream: S, host: &str) -> io::Result<(TlsStream<S>, TlsObservation)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (config, verifier) = danger::observing_config(&self.base, &self.provider);
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("invalid TLS server name {host:?}: {e}"))
        })?;
        let tls = TlsConnector::from(config).connect(name, stream).await?;
        let (_, conn) = tls.get_ref();
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => TlsVersion::Tls13,
            _ => TlsVersion::Tls12,
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|c| c.suite().as_str().map(str::to_string).unwrap_or_else(|| format!("{:?}", c.suite())))
            .unwrap_or_default();
        let kx_group = conn.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name()));
        let chain = conn.peer_certificates().unwrap_or(&[]);
        let assessment = self.assess(chain, host);
        let observation = TlsObservation {
            version,
            cipher,
            kx_group,
            chain_length: chain.len(),
            signature_valid: verifier.signature_error().is_none(),
            assessment,
            chain_digests: chain.iter().take(8).map(|c| cert::digests(c)).collect(),
            leaf_der: chain.first().map(|c| Arc::from(c.as_ref())),
        };
        Ok((tls, observation))
    }
}
