//! Content-addressed blob files: `blobs/sha256/ab/cdef…` where `abcdef…` is the SHA-256 of the
//! bytes.
//!
//! A blob is written atomically: the bytes go to a temporary file in the final directory, which
//! is fsynced, renamed over the final name (atomic on POSIX file systems) and the directory is
//! fsynced so that the rename itself survives a power cut. A reader therefore sees either no
//! file or the complete file, never a partial one. Temporary names start with [`TEMP_PREFIX`];
//! a process killed mid-write leaves one behind, which [`remove_stale_temp_files`] clears later.

use crate::error::{Result, StoreError};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Prefix of temporary files; never a valid hash suffix, so they are never mistaken for blobs.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// SHA-256 of `bytes` as 64 lower-case hex digits.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True for 64 lower-case hex digits (the only strings accepted as blob hashes, which also rules
/// out path traversal through a hash).
pub(crate) fn is_valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Rejects anything that is not a valid hash.
pub(crate) fn check_hash(hash: &str) -> Result<()> {
    if is_valid_hash(hash) {
        Ok(())
    } else {
        Err(StoreError::InvalidBlobHash {
            hash: hash.to_string(),
        })
    }
}

/// `root/ab/cdef…` for hash `abcdef…`. The two-character fan-out keeps directories small (at most
/// 256 sub-directories, and 1/256 of the blobs in each). Does not validate the hash.
pub(crate) fn blob_path(root: &Path, hash: &str) -> PathBuf {
    match (hash.get(..2), hash.get(2..)) {
        (Some(shard), Some(rest)) if !rest.is_empty() => root.join(shard).join(rest),
        _ => root.join(hash),
    }
}

/// Makes sure the file for `hash` exists with exactly `bytes`, writing it atomically if needed.
/// Idempotent: an existing, intact file is left alone; a damaged one is replaced.
pub(crate) fn write_blob(root: &Path, hash: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = blob_path(root, hash);
    match fs::read(&path) {
        Ok(existing) if existing == bytes => return Ok(path),
        // A damaged copy: fall through and replace it atomically.
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io("read existing blob", path, e)),
    }
    let shard = path
        .parent()
        .ok_or_else(|| StoreError::InvalidBlobHash {
            hash: hash.to_string(),
        })?
        .to_path_buf();
    create_dir_durably(&shard, root)?;

    let temp = shard.join(unique_temp_name());
    let written = write_and_sync(&temp, bytes).and_then(|()| {
        fs::rename(&temp, &path)
            .map_err(|e| StoreError::io("rename temporary blob file to", &path, e))
    });
    if let Err(error) = written {
        // Best effort: the temporary file is garbage either way; the original error matters.
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    sync_dir(&shard)?;
    Ok(path)
}

/// Reads a blob and checks that its content still hashes to its name.
pub(crate) fn read_verified(root: &Path, hash: &str) -> Result<Vec<u8>> {
    check_hash(hash)?;
    let path = blob_path(root, hash);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(StoreError::BlobMissing {
                hash: hash.to_string(),
                path,
            })
        }
        Err(e) => return Err(StoreError::io("read blob", path, e)),
    };
    let actual = sha256_hex(&bytes);
    if actual != hash {
        return Err(StoreError::BlobCorrupt {
            hash: hash.to_string(),
            path,
            actual,
        });
    }
    Ok(bytes)
}

/// Deletes temporary files older than `older_than` left by processes killed mid-write. Younger
/// ones may belong to a writer that is still running (another process on the same data dir), so
/// they are kept. Best effort: a file that cannot be removed now is tried again next time.
pub(crate) fn remove_stale_temp_files(root: &Path, older_than: Duration) {
    let Ok(shards) = fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for shard in shards.flatten() {
        let Ok(entries) = fs::read_dir(shard.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok());
            if is_temp && age.is_some_and(|age| age > older_than) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// A name no other thread or process uses at the same time: pid + per-process counter + clock.
fn unique_temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{TEMP_PREFIX}{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn write_and_sync(path: &Path, bytes: &[u8]) -> Result<()> {
    // create_new: never write into a file another writer has open.
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| StoreError::io("create temporary blob file", path, e))?;
    file.write_all(bytes)
        .map_err(|e| StoreError::io("write temporary blob file", path, e))?;
    file.sync_all()
        .map_err(|e| StoreError::io("fsync temporary blob file", path, e))
}

/// Creates `dir` (a direct child of `parent`) if missing and fsyncs `parent`, so that the new
/// directory entry is durable before a blob inside it is relied upon.
fn create_dir_durably(dir: &Path, parent: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        // Another writer created it concurrently: fine.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io("create blob directory", dir, e)),
    }
}

/// fsyncs a directory so that renames and creations inside it are durable. Only meaningful (and
/// only possible) on Unix; elsewhere the file system gives what it gives.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("fsync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_validation_rejects_traversal_and_upper_case() {
        let good = sha256_hex(b"abc");
        assert_eq!(
            good,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_valid_hash(&good));
        assert!(!is_valid_hash(&good.to_uppercase()));
        assert!(!is_valid_hash("../../etc/passwd"));
        assert!(!is_valid_hash(&good[..63]));
    }

    #[test]
    fn path_fans_out_on_the_first_two_digits() {
        let root = Path::new("/data/blobs/sha256");
        let hash = sha256_hex(b"abc");
        assert_eq!(blob_path(root, &hash), root.join("ba").join(&hash[2..]),);
        // Short or odd strings must not panic.
        assert_eq!(blob_path(root, "a"), root.join("a"));
        assert_eq!(blob_path(root, "é"), root.join("é"));
    }
}
