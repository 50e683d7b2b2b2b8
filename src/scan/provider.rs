//! What a mail provider tells mail apps, found once per run per provider (the registrable domain of
//! its customers' primary MX host), however many domains it serves: the ISP database by the
//! provider, else the autoconfig file at `autoconfig.<provider>`, else the conventional names under
//! the provider that resolve (guesses). Domains of that provider that publish nothing themselves
//! reach their endpoints this way, as Thunderbird's users do.
//!
//! The work runs in the probe stage (the asking domain holds no resolve slot while it waits; the
//! lookups and the fetch go through the run's DNS limits and the probe runner like any other). The
//! table is bounded: past [`MAX_PROVIDERS`] providers it is cleared, and a provider is looked up again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::Engine;
use super::targets;
use crate::client::autoconfig::{self, Declared, MAX_AUTOCONFIG_BYTES, SocketType};
use crate::client::{self, Source};
use crate::policy::FetchOutcome;

/// Providers remembered at once.
pub const MAX_PROVIDERS: usize = 65_536;

/// What was found for one provider.
#[derive(Debug, Default)]
pub(crate) struct ProviderClients {
    /// Which step found the servers: `ispdb_mx`, `autoconfig_mx` or `guess_mx`; `None` for nothing.
    pub source: Option<Source>,
    /// The provider's id in the ISP database or its autoconfig file.
    pub id: Option<String>,
    /// The servers (for guesses: the names that resolve, with the socket type of their protocol).
    pub servers: Vec<Declared>,
    /// Some lookup on the way failed, so "nothing found" is not known.
    pub failed: bool,
}

/// The run's table of providers.
#[derive(Default)]
pub(crate) struct Providers {
    map: Mutex<HashMap<String, Arc<OnceCell<Arc<ProviderClients>>>>>,
}

impl Providers {
    /// What `provider` tells mail apps, found by the first domain that asks.
    pub async fn get(&self, e: &Engine, provider: &str) -> Arc<ProviderClients> {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_PROVIDERS && !map.contains_key(provider) {
                map.clear();
            }
            map.entry(provider.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async { Arc::new(discover(e, provider).await) }).await.clone()
    }
}

async fn discover(e: &Engine, provider: &str) -> ProviderClients {
    let settings = &e.config.client;
    if let Some(p) = settings.ispdb.lookup(provider) {
        return ProviderClients {
            source: Some(Source::IspdbMx),
            id: Some(p.id.clone()),
            servers: p.config.servers.clone(),
            failed: false,
        };
    }
    let mut failed = false;
    let host = format!("autoconfig.{provider}");
    let resolved = targets::resolve_host(e, &host).await;
    match targets::fetch_address(e, &host, &resolved) {
        Ok(ip) => match targets::fetch(e, &host, ip, "/mail/config-v1.1.xml", MAX_AUTOCONFIG_BYTES).await {
            Ok(r) if r.status == 200 => {
                if let Some(file) = std::str::from_utf8(&r.body).ok().and_then(|x| autoconfig::parse(x).ok())
                    && !file.servers.is_empty()
                {
                    return ProviderClients {
                        source: Some(Source::AutoconfigMx),
                        id: file.provider_id.or_else(|| Some(provider.to_string())),
                        servers: file.servers,
                        failed: false,
                    };
                }
            }
            Ok(_) => {}
            // A provider's web server that does not answer says nothing about its mail servers:
            // go on to the guesses, as mail apps do.
            Err(_) => {}
        },
        Err((FetchOutcome::AddressLookupFailed, _)) => failed = true,
        Err(_) => {}
    }
    let (guessed, guess_failed) = client::guesses(&e.dns, &e.config.guard, provider, Source::GuessMx, settings).await;
    let servers: Vec<Declared> = guessed
        .into_iter()
        .map(|ep| Declared {
            protocol: ep.protocol,
            host: ep.host,
            port: ep.port,
            socket: if ep.protocol.implicit_tls() { SocketType::Ssl } else { SocketType::StartTls },
            auth: Vec::new(),
        })
        .collect();
    ProviderClients {
        source: (!servers.is_empty()).then_some(Source::GuessMx),
        id: (!servers.is_empty()).then(|| provider.to_string()),
        servers,
        failed: failed || guess_failed,
    }
}
