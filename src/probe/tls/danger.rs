//! The one place where certificate verification is weakened.
//!
//! A measurement must see the certificate a server presents even when it is self-signed, expired or
//! for another name, so the handshake must not abort on it. [`RecordingVerifier`] accepts any chain
//! during the handshake; the chain is judged afterwards, independently, by `cert::assess`. Handshake
//! signatures are still checked with the real rustls functions, and a bad one is recorded (a 1024-bit
//! RSA key, which webpki refuses, would otherwise end the handshake that real MTAs complete).
//!
//! Nothing outside `probe::tls` can build this verifier, and no connection made with it is used for
//! anything but observation: no mail is sent over it.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts every certificate chain and records whether the handshake signature verified.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    signature_error: Mutex<Option<rustls::Error>>,
}

impl RecordingVerifier {
    /// The error of the handshake signature check, if it failed.
    pub(crate) fn signature_error(&self) -> Option<rustls::Error> {
        self.signature_error.lock().ok().and_then(|e| e.clone())
    }

    fn record(
        &self,
        r: Result<HandshakeSignatureValid, rustls::Error>,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if let (Err(e), Ok(mut slot)) = (r, self.signature_error.lock()) {
            *slot = Some(e);
        }
        Ok(HandshakeSignatureValid::assertion())
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The base client config of a run (TLS 1.3 and 1.2), built once; see [`observing_config`].
pub(crate) fn base_config(provider: &Arc<CryptoProvider>) -> Result<ClientConfig, rustls::Error> {
    let verifier = Arc::new(RecordingVerifier { provider: provider.clone(), signature_error: Mutex::new(None) });
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Every probe is a full handshake: a resumed session would present no certificate to judge.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// A client config for one observation handshake: the run's base config with its own recording verifier.
pub(crate) fn observing_config(
    base: &ClientConfig,
    provider: &Arc<CryptoProvider>,
) -> (Arc<ClientConfig>, Arc<RecordingVerifier>) {
    let verifier = Arc::new(RecordingVerifier { provider: provider.clone(), signature_error: Mutex::new(None) });
    let mut config = base.clone();
    config.dangerous().set_certificate_verifier(verifier.clone());
    (Arc::new(config), verifier)
}
