//! The ISP database (ISPDB): the provider settings Thunderbird uses when a domain publishes none of
//! its own. A snapshot of Thunderbird's `ispdb/` directory (MPL-2.0, provenance in
//! `data/ispdb/README.md`) is embedded at build time; `--ispdb DIR` reads a newer copy (the same
//! `<provider>.xml` files) instead. Each file lists the mail domains of one provider (`<domain>`) and
//! its servers; a lookup is by a domain in those lists, as Thunderbird's
//! `autoconfig.thunderbird.net/v1.1/<domain>` answers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::autoconfig::{self, ConfigFile, MAX_AUTOCONFIG_BYTES};

/// Files read from an `--ispdb` directory, at most.
pub const MAX_FILES: usize = 20_000;

/// The embedded snapshot: `(file name, contents)`.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/ispdb_files.rs"));

/// One provider of the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The provider's id: its `emailProvider id`, else the file name without `.xml`.
    pub id: String,
    /// Its configuration.
    pub config: ConfigFile,
}

/// The database, indexed by mail domain.
#[derive(Clone, Debug, Default)]
pub struct Ispdb {
    by_domain: HashMap<String, Arc<Provider>>,
    providers: usize,
}

impl Ispdb {
    /// The snapshot built into the binary.
    pub fn embedded() -> Self {
        let mut db = Self::default();
        for (file, xml) in EMBEDDED {
            // The snapshot is checked by a test: every file parses.
            if let Ok(config) = autoconfig::parse(xml) {
                db.add(file, config);
            }
        }
        db
    }

    /// The built-in snapshot, parsed once per process.
    pub fn built_in() -> Arc<Self> {
        static DB: std::sync::LazyLock<Arc<Ispdb>> = std::sync::LazyLock::new(|| Arc::new(Ispdb::embedded()));
        DB.clone()
    }

    /// An empty database (discovery then skips the ISPDB steps).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads every `*.xml` file of `dir`. A file that does not parse is an error naming it: a
    /// database the user chose should not be half-read in silence.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("--ispdb {}: {e}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
            .collect();
        if files.len() > MAX_FILES {
            return Err(format!("--ispdb {}: more than {MAX_FILES} files", dir.display()));
        }
        files.sort();
        let mut db = Self::default();
        for path in files {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > 4 * MAX_AUTOCONFIG_BYTES as u64 {
                return Err(format!("--ispdb {}: over {} bytes", path.display(), 4 * MAX_AUTOCONFIG_BYTES));
            }
            let xml = std::fs::read_to_string(&path).map_err(|e| format!("--ispdb {}: {e}", path.display()))?;
            let config = autoconfig::parse(&xml).map_err(|e| format!("--ispdb {}: {e}", path.display()))?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            db.add(&name, config);
        }
        Ok(db)
    }

    /// Adds one provider file (the first file naming a domain keeps it).
    pub fn add(&mut self, file: &str, config: ConfigFile) {
        let id = config.provider_id.clone().unwrap_or_else(|| file.trim_end_matches(".xml").to_ascii_lowercase());
        let mut domains = config.domains.clone();
        if domains.is_empty() {
            domains.push(file.trim_end_matches(".xml").to_ascii_lowercase());
        }
        let provider = Arc::new(Provider { id, config });
        for d in domains {
            self.by_domain.entry(d).or_insert_with(|| provider.clone());
        }
        self.providers += 1;
    }

    /// The provider serving mail domain `domain` (lowercase, no trailing dot).
    pub fn lookup(&self, domain: &str) -> Option<&Arc<Provider>> {
        self.by_domain.get(domain)
    }

    /// Providers in the database.
    pub fn providers(&self) -> usize {
        self.providers
    }

    /// Mail domains in the database.
    pub fn domains(&self) -> usize {
        self.by_domain.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::autoconfig::SocketType;
    use crate::probe::client::Protocol;

    #[test]
    fn every_embedded_file_parses_and_is_indexed() {
        assert!(EMBEDDED.len() >= 160, "{} files", EMBEDDED.len());
        for (file, xml) in EMBEDDED {
            let config = autoconfig::parse(xml).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!config.servers.is_empty(), "{file}: no server read");
        }
        let db = Ispdb::embedded();
        assert_eq!(db.providers(), EMBEDDED.len());
        assert!(db.domains() >= db.providers());
    }

    #[test]
    fn lookup_table() {
        let db = Ispdb::embedded();
        // OCN lists two domains; its POP3 and SMTP are implicit TLS.
        for d in ["ocn.ne.jp", "ocn.ad.jp"] {
            let p = db.lookup(d).unwrap_or_else(|| panic!("{d}"));
            assert_eq!(p.id, "ocn.ne.jp");
            let got: Vec<_> = p.config.servers.iter().map(|s| (s.protocol, s.host.as_str(), s.port)).collect();
            assert_eq!(
                got,
                vec![(Protocol::Pop3s, "pop.ocn.ne.jp", 995), (Protocol::Submissions, "smtp.ocn.ne.jp", 465)]
            );
        }
        // nifty.com still declares a plain endpoint: the finding the ISPDB steps exist for.
        let nifty = db.lookup("nifty.com").expect("nifty.com");
        assert!(nifty.config.servers.iter().any(|s| s.socket == SocketType::Plain), "{nifty:#?}");
        assert!(db.lookup("example.invalid").is_none());
        assert!(db.lookup("OCN.NE.JP").is_none(), "keys are lowercase; callers lowercase");
    }

    #[test]
    fn a_directory_replaces_the_snapshot_and_a_bad_file_is_named() {
        let dir = std::env::temp_dir().join(format!("mailcensus-ispdb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let xml = r#"<clientConfig version="1.1"><emailProvider id="p.example"><domain>p.example</domain>
            <domain>q.example</domain><incomingServer type="imap"><hostname>imap.p.example</hostname>
            <port>993</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>"#;
        std::fs::write(dir.join("p.example.xml"), xml).unwrap();
        std::fs::write(dir.join("README.md"), "not read").unwrap();
        let db = Ispdb::from_dir(&dir).unwrap();
        assert_eq!((db.providers(), db.domains()), (1, 2));
        assert_eq!(db.lookup("q.example").unwrap().id, "p.example");
        assert!(db.lookup("ocn.ne.jp").is_none());
        std::fs::write(dir.join("broken.xml"), "<html>").unwrap();
        let err = Ispdb::from_dir(&dir).unwrap_err();
        assert!(err.contains("broken.xml"), "{err}");
        assert!(Ispdb::from_dir(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
