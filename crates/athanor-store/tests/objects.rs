//! Blob storage behaves the same in every place it can live: the local data directory, the
//! in-process `memory://` object store, and a real S3-compatible server.
//!
//! Every test below runs three times (`local::NAME`, `memory::NAME`, `s3::NAME`). The S3
//! variants need `ATHANOR_TEST_S3_URL` (e.g. `s3://athanor-test?endpoint=http://127.0.0.1:8333`)
//! plus `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`; `scripts/test.sh` starts a throw-away
//! SeaweedFS server and sets them. Without them the S3 variants print `SKIPPED …` and pass.
//! Records are in SQLite throughout: which database holds them is independent of where blobs
//! are (the backend matrix is covered by `tests/store.rs`).

mod common;

use athanor_store::{Store, StoreConfig, StoreError};
use common::*;
use object_store::aws::AmazonS3Builder;
use object_store::ObjectStoreExt;
use std::fs;

/// The environment variable naming the S3-compatible server for the tests.
const S3_URL_ENV: &str = "ATHANOR_TEST_S3_URL";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    Local,
    Memory,
    S3,
}

/// A fresh store whose blobs live in `place`, in a prefix of its own.
struct TestObjects {
    // Kept alive for the lifetime of the test.
    _root: tempfile::TempDir,
    place: Place,
    config: StoreConfig,
    /// For S3: the bucket URL given in the environment, and this test's prefix.
    s3: Option<(String, String)>,
}

impl TestObjects {
    fn new(place: Place, test: &str) -> Option<TestObjects> {
        let root = tempfile::tempdir().unwrap();
        let unique = root
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('.')
            .to_lowercase();
        let data_dir = root.path().join("data");
        let base = StoreConfig::sqlite(&data_dir);
        let (config, s3) = match place {
            Place::Local => (base, None),
            Place::Memory => (base.with_object_store("memory://"), None),
            Place::S3 => {
                let Ok(url) = std::env::var(S3_URL_ENV) else {
                    eprintln!(
                        "SKIPPED (no {S3_URL_ENV}): S3 variant of '{test}' did not run; \
                         scripts/test.sh starts a SeaweedFS server and sets it"
                    );
                    return None;
                };
                let prefix = format!("test-{unique}");
                let (bucket, query) = url.split_once('?').unwrap_or((&url, ""));
                let with_prefix = format!("{}/{prefix}?{query}", bucket.trim_end_matches('/'));
                (base.with_object_store(with_prefix), Some((url, prefix)))
            }
        };
        Some(TestObjects {
            _root: root,
            place,
            config,
            s3,
        })
    }

    fn open(&self) -> Store {
        Store::open_with(&self.config).unwrap()
    }

    /// Replaces the stored bytes of blob `hash` behind the store's back. `false` where the test
    /// cannot reach the bytes (the memory store lives inside the `Store`).
    fn corrupt(&self, store: &Store, hash: &str, bytes: &[u8]) -> bool {
        match self.place {
            Place::Local => {
                fs::write(store.blob_path(hash), bytes).unwrap();
                true
            }
            Place::Memory => false,
            Place::S3 => {
                let (url, prefix) = self.s3.as_ref().unwrap();
                let (location, query) = url.split_once('?').unwrap_or((url, ""));
                let bucket = location.trim_start_matches("s3://").trim_end_matches('/');
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region("us-east-1")
                    .with_allow_http(true);
                for pair in query.split('&') {
                    if let Some(endpoint) = pair.strip_prefix("endpoint=") {
                        builder = builder.with_endpoint(endpoint);
                    }
                }
                let s3 = builder.build().unwrap();
                let key = format!("{prefix}/blobs/sha256/{}/{}", &hash[..2], &hash[2..]);
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(s3.put(&key.into(), bytes.to_vec().into()))
                    .unwrap();
                true
            }
        }
    }
}

macro_rules! in_every_place {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[test] fn $name() {
                super::$name(super::TestObjects::new(super::Place::Local, stringify!($name)).unwrap());
            } )*
        }
        mod memory {
            $( #[test] fn $name() {
                super::$name(super::TestObjects::new(super::Place::Memory, stringify!($name)).unwrap());
            } )*
        }
        mod s3 {
            $( #[test] fn $name() {
                if let Some(place) = super::TestObjects::new(super::Place::S3, stringify!($name)) {
                    super::$name(place);
                }
            } )*
        }
    };
}

in_every_place!(
    blobs_round_trip_by_content_address,
    missing_and_invalid_blobs_are_errors_naming_the_digest,
    corrupted_blob_is_an_error_naming_the_digest_and_storing_again_repairs_it,
    completed_experiments_reference_blobs_in_the_configured_place,
    an_export_with_blob_content_restores_blobs_into_this_place,
);

fn blobs_round_trip_by_content_address(place: TestObjects) {
    let store = place.open();
    let a = store.put_blob(b"abc", "text/plain", "a.txt").unwrap();
    assert_eq!(
        a.hash,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(a.size, 3);
    // Same bytes, other name: the same blob, stored once.
    let again = store.put_blob(b"abc", "text/csv", "b.csv").unwrap();
    assert_eq!(again.hash, a.hash);
    assert_eq!(store.read_blob(&a.hash).unwrap(), b"abc");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let big_ref = store
        .put_blob(&big, "application/octet-stream", "big.bin")
        .unwrap();
    assert_eq!(store.read_blob(&big_ref.hash).unwrap(), big);
    let empty = store.put_blob(b"", "text/plain", "empty").unwrap();
    assert_eq!(store.read_blob(&empty.hash).unwrap(), b"");
    // The location names the digest with the usual fan-out, locally or as an object URL.
    let location = store.blob_path(&a.hash).display().to_string();
    assert!(
        location.ends_with(&format!("blobs/sha256/ba/{}", &a.hash[2..])),
        "{location}"
    );
    match place.place {
        Place::Local => assert!(store.blob_path(&a.hash).is_file()),
        Place::Memory => assert!(location.starts_with("memory://"), "{location}"),
        Place::S3 => assert!(location.starts_with("s3://"), "{location}"),
    }
    // A second store on the same configuration sees the blobs (not for memory://, which is
    // private to its store).
    if place.place != Place::Memory {
        drop(store);
        let reopened = place.open();
        assert_eq!(reopened.read_blob(&big_ref.hash).unwrap(), big);
    }
}

fn missing_and_invalid_blobs_are_errors_naming_the_digest(place: TestObjects) {
    let store = place.open();
    let absent = "ab".repeat(32);
    let error = store.read_blob(&absent).unwrap_err();
    assert!(matches!(error, StoreError::BlobMissing { .. }), "{error:?}");
    assert!(error.to_string().contains(&absent), "{error}");
    let error = store.read_blob("../../athanor.sqlite").unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidBlobHash { .. }),
        "{error:?}"
    );
}

fn corrupted_blob_is_an_error_naming_the_digest_and_storing_again_repairs_it(place: TestObjects) {
    let store = place.open();
    let blob = store
        .put_blob(b"pristine bytes", "text/plain", "p.txt")
        .unwrap();
    if !place.corrupt(&store, &blob.hash, b"pristine bytez") {
        // memory:// is only reachable from inside the store; its unit test covers this.
        return;
    }
    let error = store.read_blob(&blob.hash).unwrap_err();
    assert!(matches!(error, StoreError::BlobCorrupt { .. }), "{error:?}");
    assert!(error.to_string().contains(&blob.hash), "{error}");
    let report = store.check_integrity().unwrap();
    assert_eq!(report.blobs_checked, 1);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains(&blob.hash));
    store
        .put_blob(b"pristine bytes", "text/plain", "p.txt")
        .unwrap();
    assert_eq!(store.read_blob(&blob.hash).unwrap(), b"pristine bytes");
    assert!(store.check_integrity().unwrap().problems.is_empty());
}

fn completed_experiments_reference_blobs_in_the_configured_place(place: TestObjects) {
    let store = place.open();
    let campaign = store.create_campaign(&new_campaign("objects", 3)).unwrap();
    let first = store.record_planned(&planned(&campaign.id, 1)).unwrap();
    let done = completion(&store, &first.id, 1, 2048).unwrap();
    store.record_completed(&done).unwrap();
    let experiment = store.experiment(&first.lab_id).unwrap().unwrap();
    assert_eq!(experiment.measurements, done.measurements);
    let tem = experiment.measurements[0].blob.as_ref().unwrap();
    assert_eq!(
        store.read_blob(&tem.hash).unwrap(),
        micrograph_bytes(1, 2048)
    );
    let report = store.check_integrity().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.blobs_checked, 3);

    // A reference to a blob that is not in this place is refused, naming the digest.
    let second = store.record_planned(&planned(&campaign.id, 2)).unwrap();
    let mut dangling = completion(&store, &second.id, 2, 512).unwrap();
    let missing = "cd".repeat(32);
    dangling.measurements[1].blob.as_mut().unwrap().hash = missing.clone();
    let error = store.record_completed(&dangling).unwrap_err().to_string();
    assert!(error.contains(&missing), "{error}");
    assert!(error.contains("not in the store"), "{error}");
}

fn an_export_with_blob_content_restores_blobs_into_this_place(place: TestObjects) {
    use athanor_store::transfer::{export, import_json_lines, ExportFormat, ExportOptions};
    // The source keeps its blobs in a local directory; the destination in `place`.
    let source_dir = tempfile::tempdir().unwrap();
    let source = Store::open(source_dir.path()).unwrap();
    let campaign = source.create_campaign(&new_campaign("moved", 5)).unwrap();
    let planned = source.record_planned(&planned(&campaign.id, 1)).unwrap();
    source
        .record_completed(&completion(&source, &planned.id, 1, 4096).unwrap())
        .unwrap();
    let export_all = |store: &Store| {
        let mut out = Vec::new();
        let options = ExportOptions {
            include_blob_content: true,
        };
        export(store, ExportFormat::JsonLines, options, &mut out).unwrap();
        out
    };
    let exported = export_all(&source);
    let destination = place.open();
    let summary = import_json_lines(&destination, std::io::Cursor::new(&exported)).unwrap();
    assert_eq!(summary.blobs, 3);
    assert_eq!(export_all(&destination), exported);
    let experiment = destination.experiment("C0001-E001").unwrap().unwrap();
    let tem = experiment.measurements[0].blob.as_ref().unwrap();
    assert_eq!(
        destination.read_blob(&tem.hash).unwrap(),
        micrograph_bytes(1, 4096)
    );
    assert!(destination.check_integrity().unwrap().problems.is_empty());
}
