//! Everything the scan writes under `--out DIR`: the Parquet datasets (`domains/`, `mx_hosts/`), the
//! rejects file and `run.json`.

pub mod batch;
pub mod parquet;
pub mod read;
pub mod rejects;
pub mod resume;
pub mod run_info;
pub mod schema;
pub mod spreadsheet;

/// Folder of the `domains` dataset under the output directory.
pub const DOMAINS_DIR: &str = "domains";
/// Folder of the `mx_hosts` dataset under the output directory.
pub const MX_HOSTS_DIR: &str = "mx_hosts";
/// Folder of the `client_endpoints` dataset under the output directory.
pub const CLIENT_ENDPOINTS_DIR: &str = "client_endpoints";
/// Every dataset folder, in the order part files are closed last to first (`domains` last).
pub const DATASET_DIRS: [&str; 3] = [DOMAINS_DIR, MX_HOSTS_DIR, CLIENT_ENDPOINTS_DIR];
/// The rejects file under the output directory.
pub const REJECTS_FILE: &str = "rejects.csv";
/// The run summary under the output directory.
pub const RUN_FILE: &str = "run.json";
