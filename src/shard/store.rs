//! Where a sharded scan keeps its files: a local folder or an object store (`s3://bucket/prefix`,
//! and S3-compatible servers through the usual `AWS_*` variables, e.g. `AWS_ENDPOINT` and
//! `AWS_ALLOW_HTTP=true` for MinIO or Ceph), through the `object_store` crate.
//!
//! Every object is written whole or not at all: a local file is written under a temporary name and
//! renamed, an object store's put is atomic. Nothing is ever appended to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload};
use tokio::io::AsyncWriteExt;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {detail}")]
pub struct StoreError {
    /// The object or file.
    pub location: String,
    /// What went wrong.
    pub detail: String,
}

/// A folder or bucket prefix holding a sharded scan.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Key,
    display: String,
}

/// Whether `location` names an object store (a URL) rather than a local folder.
pub fn is_url(location: &str) -> bool {
    location.split_once("://").is_some_and(|(scheme, _)| !scheme.is_empty() && scheme != "file")
}

impl Store {
    /// Opens `location`: `s3://bucket/prefix` (credentials, region and endpoint from `AWS_*`), or a
    /// local folder (created if missing).
    pub fn open(location: &str) -> Result<Self, StoreError> {
        let err = |detail: String| StoreError { location: location.to_string(), detail };
        if is_url(location) {
            let url = url::Url::parse(location).map_err(|e| err(e.to_string()))?;
            let store: Arc<dyn ObjectStore> = match url.scheme() {
                "s3" | "s3a" => Arc::new(
                    object_store::aws::AmazonS3Builder::from_env()
                        .with_url(location)
                        .build()
                        .map_err(|e| err(e.to_string()))?,
                ),
                other => return Err(err(format!("unsupported store {other}:// (use s3:// or a local folder)"))),
            };
            let prefix = Key::parse(url.path().trim_matches('/')).map_err(|e| err(e.to_string()))?;
            return Ok(Self { inner: store, prefix, display: location.trim_end_matches('/').to_string() });
        }
        let dir = Path::new(location.strip_prefix("file://").unwrap_or(location));
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?;
        Ok(Self { inner: Arc::new(fs), prefix: Key::default(), display: dir.display().to_string() })
    }

    fn key(&self, name: &str) -> Key {
        let mut key = self.prefix.clone();
        for part in name.split('/').filter(|p| !p.is_empty()) {
            key = key.child(part);
        }
        key
    }

    fn error(&self, name: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError { location: format!("{}/{name}", self.display), detail: e.to_string() }
    }

    /// The store's location as given.
    pub fn location(&self) -> &str {
        &self.display
    }

    /// Writes `bytes` as `name`, whole.
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(&self.key(name), PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| self.error(name, e))
    }

    /// Uploads the local file `from` as `name`, whole (in parts for a large file; the object appears
    /// only when every part is in).
    pub async fn put_file(&self, name: &str, from: &Path) -> Result<(), StoreError> {
        let mut file = tokio::fs::File::open(from).await.map_err(|e| self.error(name, e))?;
        let mut writer = BufWriter::new(self.inner.clone(), self.key(name));
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        match copied {
            Ok(_) => writer.shutdown().await.map_err(|e| self.error(name, e)),
            Err(e) => {
                let _ = writer.abort().await;
                Err(self.error(name, e))
            }
        }
    }

    /// The object `name`, or `None` if there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        match self.inner.get(&self.key(name)).await {
            Ok(r) => r.bytes().await.map(Some).map_err(|e| self.error(name, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// Downloads `name` to the local file `to` (written under a temporary name, then renamed).
    pub async fn get_file(&self, name: &str, to: &Path) -> Result<(), StoreError> {
        let result = self.inner.get(&self.key(name)).await.map_err(|e| self.error(name, e))?;
        let tmp = to.with_extension("download");
        let mut file = tokio::fs::File::create(&tmp).await.map_err(|e| self.error(name, e))?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.try_next().await.map_err(|e| self.error(name, e))? {
            file.write_all(&chunk).await.map_err(|e| self.error(name, e))?;
        }
        file.sync_all().await.map_err(|e| self.error(name, e))?;
        tokio::fs::rename(&tmp, to).await.map_err(|e| self.error(name, e))
    }

    /// Whether `name` exists.
    pub async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        match self.inner.head(&self.key(name)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// The names (relative to the store) of every object under `folder`, sorted.
    pub async fn list(&self, folder: &str) -> Result<Vec<String>, StoreError> {
        let base = self.key(folder);
        let found: Vec<_> = match self.inner.list(Some(&base)).try_collect().await {
            Ok(v) => v,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(self.error(folder, e)),
        };
        let skip = self.prefix.parts().count();
        let mut names: Vec<String> = found
            .into_iter()
            .map(|m| m.location.parts().skip(skip).map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Deletes `name` (nothing when it does not exist).
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.inner.delete(&self.key(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// Uploads every file under the local `dir` (recursively, in name order) that is not in
    /// `uploaded` yet, as `folder/<relative path>`, and records it in `uploaded`. Temporary files
    /// (`*.tmp`, `*.download`) and hidden folders (`.set-aside`) stay local.
    pub async fn push_dir(
        &self,
        dir: &Path,
        folder: &str,
        uploaded: &mut std::collections::HashSet<PathBuf>,
    ) -> Result<usize, StoreError> {
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files).map_err(|e| self.error(folder, e))?;
        files.retain(|rel| !uploaded.contains(rel));
        files.sort();
        for rel in &files {
            let name = format!("{folder}/{}", rel.to_string_lossy());
            self.put_file(&name, &dir.join(rel)).await?;
            uploaded.insert(rel.clone());
        }
        Ok(files.len())
    }

    /// Downloads every object under `folder` into the local `dir` (same relative paths); returns
    /// the relative paths.
    pub async fn pull_dir(&self, folder: &str, dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
        let mut got = Vec::new();
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        for name in self.list(folder).await? {
            let Some(rel) = name.strip_prefix(&prefix) else { continue };
            let to = dir.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| self.error(&name, e))?;
            }
            self.get_file(&name, &to).await?;
            got.push(PathBuf::from(rel));
        }
        Ok(got)
    }
}

/// Downloads the single object at `url` (`s3://bucket/path/name`) to the local file `to`.
pub async fn download(url: &str, to: &Path) -> Result<(), StoreError> {
    let bad = || StoreError { location: url.to_string(), detail: "not an object's URL".into() };
    let (parent, name) = url.rsplit_once('/').ok_or_else(bad)?;
    if name.is_empty() || !parent.contains("://") || parent.ends_with(':') || parent.ends_with(":/") {
        return Err(bad());
    }
    Store::open(parent)?.get_file(name, to).await
}

/// Files under `dir` as paths relative to `root`, skipping temporary files (`*.tmp`, `*.download`)
/// and set-aside folders.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".download") {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_folders_are_told_apart() {
        for (location, url) in [
            ("s3://bucket/prefix", true),
            ("gs://bucket", true),
            ("/tmp/run", false),
            ("run", false),
            ("file:///tmp/run", false),
            ("C:\\run", false),
        ] {
            assert_eq!(is_url(location), url, "{location}");
        }
    }

    #[tokio::test]
    async fn a_download_url_must_name_an_object() {
        for url in ["s3://", "s3://bucket/", "s3://bucket", "plain"] {
            let err = download(url, Path::new("/nonexistent/x")).await.unwrap_err();
            assert_eq!(err.detail, "not an object's URL", "{url}");
        }
    }

    #[tokio::test]
    async fn a_local_store_writes_lists_reads_and_mirrors_folders() {
        let dir = std::env::temp_dir().join(format!("mailcensus-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(dir.to_str().unwrap()).unwrap();
        store.put("a/b/one.json", b"{}".to_vec()).await.unwrap();
        store.put("a/two.json", b"[]".to_vec()).await.unwrap();
        assert_eq!(store.list("a").await.unwrap(), vec!["a/b/one.json", "a/two.json"]);
        assert!(store.list("nothing").await.unwrap().is_empty());
        assert_eq!(store.get("a/two.json").await.unwrap().as_deref(), Some(&b"[]"[..]));
        assert_eq!(store.get("a/none").await.unwrap(), None);
        assert!(store.exists("a/b/one.json").await.unwrap());
        store.delete("a/b/one.json").await.unwrap();
        assert!(!store.exists("a/b/one.json").await.unwrap());

        let local = dir.join("local");
        std::fs::create_dir_all(local.join("domains")).unwrap();
        std::fs::write(local.join("domains/part-00000.parquet"), b"d").unwrap();
        std::fs::write(local.join("domains/part-00001.parquet.tmp"), b"half").unwrap();
        std::fs::create_dir_all(local.join("mx_hosts")).unwrap();
        std::fs::write(local.join("mx_hosts/part-00000.parquet"), b"m").unwrap();
        let mut uploaded = Default::default();
        let n = store.push_dir(&local, "up", &mut uploaded).await.unwrap();
        assert_eq!(n, 2, "the temporary part stays local");
        assert_eq!(store.push_dir(&local, "up", &mut uploaded).await.unwrap(), 0, "nothing twice");
        let back = dir.join("back");
        let mut got = store.pull_dir("up", &back).await.unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![PathBuf::from("domains/part-00000.parquet"), PathBuf::from("mx_hosts/part-00000.parquet")]
        );
        assert_eq!(std::fs::read(back.join("mx_hosts/part-00000.parquet")).unwrap(), b"m");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
