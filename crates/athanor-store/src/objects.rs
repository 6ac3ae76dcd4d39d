//! Where blob bytes live: [`ObjectStorage`], a local directory (the default) or an object store
//! reached through the [`object_store`] crate (S3-compatible servers; `memory://` for tests).
//!
//! Every blob is named by the SHA-256 of its bytes and has the same relative key everywhere:
//! `ab/cdef…` under `blobs/sha256/` (the data directory for the local layout, the bucket and
//! optional prefix for an object store). Reads always re-hash the bytes, so a blob that was
//! damaged at rest or in transit is an error naming its digest ([`StoreError::BlobCorrupt`]).
//!
//! ## Local directory
//!
//! The local layout is the one data directories have always had and is written by
//! [`crate::blobs`] (temporary file, fsync, atomic rename, fsync of the directory). It is kept
//! instead of `object_store::local::LocalFileSystem` because the crash-safety guarantees
//! (durable before the referencing record is committed, identifiable temporary files that
//! [`ObjectStorage::remove_stale_temp_files`] clears) are tested against it.
//!
//! ## Object stores
//!
//! `object_store` is async; the store's API is blocking. A [`RemoteObjects`] therefore owns a
//! small current-thread tokio runtime and runs each request to completion on it
//! (`Runtime::block_on`). Consequence: the store's blob methods must not be called from inside
//! another tokio runtime's worker thread (use `spawn_blocking` there, as for any blocking I/O).
//!
//! Object PUTs are atomic (a reader sees the whole object or none), so a crash mid-upload
//! leaves no partial blob. The URL forms are:
//!
//! ```text
//! s3://BUCKET[/PREFIX][?endpoint=http://127.0.0.1:8333&region=us-east-1&allow_http=true]
//! memory://                      (in-process, lost when the store is dropped; for tests)
//! ```
//!
//! Credentials and defaults come from the standard `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT`, …); query parameters override them and accept every key of
//! `object_store::aws::AmazonS3ConfigKey` (`access_key_id`, `secret_access_key`, `region`,
//! `endpoint`, …) plus `allow_http`. An `http://` endpoint implies `allow_http=true`.

use crate::blobs;
use crate::error::{Result, StoreError};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The blob storage of one store: a local directory or an object store.
#[derive(Debug)]
pub(crate) enum ObjectStorage {
    /// `<data_dir>/blobs/sha256/ab/cdef…`, written durably by [`crate::blobs`].
    LocalDir {
        /// `<data_dir>/blobs/sha256`.
        root: PathBuf,
    },
    /// An object store reached through `object_store`.
    Remote(Box<RemoteObjects>),
}

/// An `object_store` backend plus the runtime that drives its futures.
pub(crate) struct RemoteObjects {
    store: Arc<dyn ObjectStore>,
    /// Key prefix of all blobs: `[PREFIX/]blobs/sha256`.
    prefix: String,
    /// For messages: `s3://BUCKET` or `memory:/`, to which the key is appended (never
    /// credentials).
    display_root: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for RemoteObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteObjects")
            .field("root", &self.display_root)
            .finish_non_exhaustive()
    }
}

/// The relative key of a blob: `ab/cdef…` (the same fan-out as the local layout).
fn relative_key(hash: &str) -> String {
    match (hash.get(..2), hash.get(2..)) {
        (Some(shard), Some(rest)) if !rest.is_empty() => format!("{shard}/{rest}"),
        _ => hash.to_string(),
    }
}

impl ObjectStorage {
    /// The local layout under `data_dir` (created if missing).
    pub(crate) fn local(data_dir: &Path) -> Result<ObjectStorage> {
        let root = data_dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&root)
            .map_err(|e| StoreError::io("create the blob directory", &root, e))?;
        Ok(ObjectStorage::LocalDir { root })
    }

    /// The object store named by `url` (see the module docs for the forms).
    pub(crate) fn remote(url: &str) -> Result<ObjectStorage> {
        RemoteObjects::open(url).map(|remote| ObjectStorage::Remote(Box::new(remote)))
    }

    /// A human-readable description of where blobs are kept (no credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            ObjectStorage::LocalDir { root } => root.display().to_string(),
            ObjectStorage::Remote(remote) => format!("{}/{}", remote.display_root, remote.prefix),
        }
    }

    /// Where the blob lives: its file for the local layout; for an object store, the object's
    /// URL (as a path, for messages; no such file exists locally).
    pub(crate) fn location(&self, hash: &str) -> PathBuf {
        match self {
            ObjectStorage::LocalDir { root } => blobs::blob_path(root, hash),
            ObjectStorage::Remote(remote) => PathBuf::from(remote.display_location(hash)),
        }
    }

    /// Makes sure the blob `hash` holds exactly `bytes` (whose SHA-256 must be `hash`). Returns
    /// once the bytes are durable (local: fsynced; object store: the PUT was acknowledged).
    /// Idempotent; a damaged copy is replaced.
    pub(crate) fn put(&self, hash: &str, bytes: &[u8]) -> Result<()> {
        blobs::check_hash(hash)?;
        match self {
            ObjectStorage::LocalDir { root } => blobs::write_blob(root, hash, bytes).map(|_| ()),
            ObjectStorage::Remote(remote) => remote.put(hash, bytes),
        }
    }

    /// Reads the blob and checks that its content still hashes to `hash`.
    pub(crate) fn read_verified(&self, hash: &str) -> Result<Vec<u8>> {
        blobs::check_hash(hash)?;
        let bytes = match self {
            ObjectStorage::LocalDir { root } => return blobs::read_verified(root, hash),
            ObjectStorage::Remote(remote) => remote.get(hash)?,
        };
        let actual = blobs::sha256_hex(&bytes);
        if actual != hash {
            return Err(StoreError::BlobCorrupt {
                hash: hash.to_string(),
                path: self.location(hash),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The size of the stored blob in bytes, or `None` when it is not stored.
    pub(crate) fn size(&self, hash: &str) -> Result<Option<u64>> {
        blobs::check_hash(hash)?;
        match self {
            ObjectStorage::LocalDir { root } => {
                let path = blobs::blob_path(root, hash);
                match std::fs::metadata(&path) {
                    Ok(metadata) => Ok(Some(metadata.len())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(StoreError::io("inspect blob file", path, e)),
                }
            }
            ObjectStorage::Remote(remote) => remote.size(hash),
        }
    }

    /// Clears temporary files of killed writers (local layout only: object PUTs leave none).
    pub(crate) fn remove_stale_temp_files(&self, older_than: Duration) {
        if let ObjectStorage::LocalDir { root } = self {
            blobs::remove_stale_temp_files(root, older_than);
        }
    }
}

impl RemoteObjects {
    fn open(url: &str) -> Result<RemoteObjects> {
        let bad = |problem: String| {
            StoreError::invalid("store configuration", "object_store_url", problem)
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            bad(format!(
                "'{url}' is not a URL (expected s3://BUCKET[/PREFIX])"
            ))
        })?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let location = location.trim_matches('/');
        let (store, prefix, display_root): (Arc<dyn ObjectStore>, &str, String) = match scheme {
            "memory" => (Arc::new(InMemory::new()), location, "memory:/".to_string()),
            "s3" | "s3a" => {
                let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
                if bucket.is_empty() {
                    return Err(bad(format!(
                        "'{url}' names no bucket (s3://BUCKET[/PREFIX])"
                    )));
                }
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                let mut allow_http = None;
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_decode(value)
                        .ok_or_else(|| bad(format!("query value of '{key}' is badly encoded")))?;
                    if key == "allow_http" {
                        allow_http = Some(matches!(value.as_str(), "true" | "1" | "yes"));
                        continue;
                    }
                    let config_key = AmazonS3ConfigKey::from_str(key)
                        .map_err(|_| bad(format!("unknown S3 option '{key}' in the URL query")))?;
                    if config_key == AmazonS3ConfigKey::Endpoint && value.starts_with("http://") {
                        allow_http.get_or_insert(true);
                    }
                    builder = builder.with_config(config_key, value);
                }
                if allow_http.is_none() {
                    // The endpoint may come from AWS_ENDPOINT instead of the query.
                    let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
                    if endpoint.is_some_and(|e| e.starts_with("http://")) {
                        allow_http = Some(true);
                    }
                }
                if let Some(allow) = allow_http {
                    builder = builder.with_allow_http(allow);
                }
                // Without a region the signer has nothing to sign with; most S3-compatible
                // servers accept any region, so default to AWS's.
                if builder
                    .get_config_value(&AmazonS3ConfigKey::Region)
                    .is_none()
                {
                    builder = builder.with_region("us-east-1");
                }
                let store = builder
                    .build()
                    .map_err(|e| bad(format!("cannot configure S3 for '{url}': {e}")))?;
                (Arc::new(store), prefix, format!("{scheme}://{bucket}"))
            }
            other => {
                return Err(bad(format!(
                    "unsupported object store scheme '{other}' (expected s3:// or memory://; \
                     leave the URL out for the local blob directory)"
                )))
            }
        };
        let prefix = if prefix.is_empty() {
            "blobs/sha256".to_string()
        } else {
            format!("{prefix}/blobs/sha256")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::io("start the object store runtime", PathBuf::new(), e))?;
        Ok(RemoteObjects {
            store,
            prefix,
            display_root,
            runtime,
        })
    }

    fn key(&self, hash: &str) -> ObjectPath {
        ObjectPath::from(format!("{}/{}", self.prefix, relative_key(hash)))
    }

    fn display_location(&self, hash: &str) -> String {
        format!("{}/{}", self.display_root, self.key(hash))
    }

    fn error(&self, operation: &str, hash: &str, source: object_store::Error) -> StoreError {
        StoreError::ObjectStore {
            operation: format!("{operation} blob {hash}"),
            location: self.display_location(hash),
            source: Box::new(source),
        }
    }

    fn put(&self, hash: &str, bytes: &[u8]) -> Result<()> {
        let key = self.key(hash);
        let payload = PutPayload::from(bytes.to_vec());
        self.runtime
            .block_on(self.store.put(&key, payload))
            .map(|_| ())
            .map_err(|e| self.error("upload", hash, e))
    }

    fn get(&self, hash: &str) -> Result<Vec<u8>> {
        let key = self.key(hash);
        let fetched = self.runtime.block_on(async {
            let result = self.store.get(&key).await?;
            result.bytes().await
        });
        match fetched {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::BlobMissing {
                hash: hash.to_string(),
                path: PathBuf::from(self.display_location(hash)),
            }),
            Err(e) => Err(self.error("download", hash, e)),
        }
    }

    fn size(&self, hash: &str) -> Result<Option<u64>> {
        let key = self.key(hash);
        match self.runtime.block_on(self.store.head(&key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("inspect", hash, e)),
        }
    }
}

/// Decodes `%XX` escapes (and leaves everything else alone); `None` for a broken escape or a
/// result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_escapes_and_rejects_broken_ones() {
        assert_eq!(
            percent_decode("http%3A%2F%2F127.0.0.1:8333").as_deref(),
            Some("http://127.0.0.1:8333")
        );
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
    }

    #[test]
    fn keys_fan_out_like_the_local_layout() {
        assert_eq!(relative_key("abcdef"), "ab/cdef");
        assert_eq!(relative_key("a"), "a");
    }

    #[test]
    fn memory_store_round_trips_and_detects_corruption() {
        let storage = ObjectStorage::remote("memory://lab-a").unwrap();
        let hash = blobs::sha256_hex(b"abc");
        assert_eq!(storage.size(&hash).unwrap(), None);
        assert!(matches!(
            storage.read_verified(&hash),
            Err(StoreError::BlobMissing { .. })
        ));
        storage.put(&hash, b"abc").unwrap();
        assert_eq!(storage.size(&hash).unwrap(), Some(3));
        assert_eq!(storage.read_verified(&hash).unwrap(), b"abc");
        assert_eq!(
            storage.location(&hash),
            PathBuf::from(format!("memory://lab-a/blobs/sha256/ba/{}", &hash[2..]))
        );
        // Damage the object behind the store's back: the read must name the digest.
        let ObjectStorage::Remote(remote) = &storage else {
            unreachable!()
        };
        remote
            .runtime
            .block_on(remote.store.put(&remote.key(&hash), b"abd".to_vec().into()))
            .unwrap();
        let error = storage.read_verified(&hash).unwrap_err();
        assert!(matches!(error, StoreError::BlobCorrupt { .. }));
        assert!(error.to_string().contains(&hash), "{error}");
    }

    #[test]
    fn bad_urls_are_rejected_with_the_reason() {
        for (url, expected) in [
            ("ftp://x", "unsupported object store scheme 'ftp'"),
            ("s3://", "names no bucket"),
            ("no-scheme", "is not a URL"),
            ("s3://b?frobnicate=1", "unknown S3 option 'frobnicate'"),
        ] {
            let error = ObjectStorage::remote(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
        }
    }
}
