//! Everything the scan writes under `--out DIR`: the Parquet datasets (`domains/`, `mx_hosts/`), the
//! rejects file and `run.json`.

pub mod batch;
pub mod json;
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

/// Makes the names in `dir` durable (fsync of the directory), after a file was renamed into it.
pub(crate) fn sync_dir(dir: &std::path::Path) -> Result<(), parquet::OutputError> {
    let io = |source| parquet::OutputError::Io { path: dir.to_path_buf(), source };
    std::fs::File::open(dir).map_err(io)?.sync_all().map_err(io)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsynced, renamed over it, and the
/// directory fsynced. A reader sees the old content or the new, never half of it.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), parquet::OutputError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let io = |p: &std::path::Path| {
        let p = p.to_path_buf();
        move |source| parquet::OutputError::Io { path: p, source }
    };
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new(".")))
}
