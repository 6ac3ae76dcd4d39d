//! The crate's only file-system entry point: read a file by path, pairing an SEM image with its
//! metadata sidecar (everything else in the crate is bytes in, data out).
//!
//! [`read_path`] reads the file and dispatches by content like [`crate::read_any`]; in addition
//!
//! * for an **image** (TIFF, PNG, MRC, DM) it looks for a sidecar next to it — `<stem>.txt`
//!   (Hitachi, JEOL; also `.TXT`) or `<stem>-<ext>.hdr` / `<stem>.hdr` (Tescan) — and, when one
//!   is found and recognised, merges it with [`apply_sidecar`]. A `.txt` that is not a sidecar
//!   is ignored (noted);
//! * for a **sidecar** it finds the image: the name the sidecar states (Hitachi `ImageName`,
//!   JEOL `$CM_IMAGE_NAME`) in the same folder, else `<stem>.tif`/`.tiff`/`.png` (any case).
//!   Images in BMP or JPEG are **not supported** (no JPEG/BMP decoder in this crate): the error
//!   names the file.

use crate::dataset::{
    detect_kind, read_any_with_options, read_metadata_only, DataArray, Dataset, DatasetInfo,
    FileKind, ReadOptions,
};
use crate::sem_sidecar::{apply_sidecar, parse_sem_sidecar};
use crate::FormatError;
use std::path::{Path, PathBuf};

fn read_bytes(path: &Path) -> Result<Vec<u8>, FormatError> {
    std::fs::read(path).map_err(|e| FormatError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads `path` with default [`ReadOptions`] (see the [module docs](self)).
pub fn read_path(path: &Path) -> Result<Dataset, FormatError> {
    read_path_with_options(path, &ReadOptions::default())
}

/// [`read_path`] with explicit options.
pub fn read_path_with_options(path: &Path, options: &ReadOptions) -> Result<Dataset, FormatError> {
    read_path_inner(path, options, Payload::Decode)
}

/// Everything [`read_path`] reports except the pixel values (sidecars included), read with
/// [`crate::read_metadata_only`], i.e. without decoding the pixel payload where the format
/// allows it. The shape is the one [`read_path`] returns (a data bar crop included).
pub fn read_path_info(path: &Path) -> Result<DatasetInfo, FormatError> {
    read_path_inner(path, &ReadOptions::default(), Payload::Skip).map(DatasetInfo::from)
}

#[derive(Clone, Copy, PartialEq)]
enum Payload {
    Decode,
    Skip,
}

/// Reads `bytes` whole, or only their metadata into a dataset without values (of the right
/// element type, so that [`DatasetInfo::from`] keeps it).
fn read_bytes_as(
    bytes: &[u8],
    name: Option<&str>,
    options: &ReadOptions,
    payload: Payload,
) -> Result<Dataset, FormatError> {
    match payload {
        Payload::Decode => read_any_with_options(bytes, name, options),
        Payload::Skip => {
            let info = read_metadata_only(bytes, name)?;
            Ok(Dataset {
                data: DataArray::empty_of(info.data_type),
                shape: info.shape,
                axes: info.axes,
                metadata: info.metadata,
                original_metadata: info.original_metadata,
                format: info.format,
                notes: info.notes,
            })
        }
    }
}

fn read_path_inner(
    path: &Path,
    options: &ReadOptions,
    payload: Payload,
) -> Result<Dataset, FormatError> {
    let bytes = read_bytes(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if detect_kind(&bytes, name.as_deref()).ok() == Some(FileKind::SemSidecar) {
        let sidecar = parse_sem_sidecar(&bytes)?;
        let image_path = find_image(path, sidecar.image_name.as_deref())?;
        let image_bytes = read_bytes(&image_path)?;
        let image_name = image_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mut dataset = read_bytes_as(&image_bytes, image_name.as_deref(), options, payload)?;
        apply_sidecar(&mut dataset, &sidecar, options);
        dataset
            .notes
            .push(format!("pixels read from {}", image_path.display()));
        return Ok(dataset);
    }
    let mut dataset = read_bytes_as(&bytes, name.as_deref(), options, payload)?;
    for candidate in sidecar_candidates(path) {
        let Ok(text) = std::fs::read(&candidate) else {
            continue;
        };
        match parse_sem_sidecar(&text) {
            Ok(sidecar) => {
                apply_sidecar(&mut dataset, &sidecar, options);
                dataset
                    .notes
                    .push(format!("metadata sidecar {}", candidate.display()));
                break;
            }
            Err(_) => dataset.notes.push(format!(
                "{} is not an SEM sidecar this reader knows; ignored",
                candidate.display()
            )),
        }
    }
    Ok(dataset)
}

/// Sidecar file names tried for an image, in order.
pub fn sidecar_candidates(image: &Path) -> Vec<PathBuf> {
    let Some(stem) = image.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let ext = image
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut names = vec![format!("{stem}.txt"), format!("{stem}.TXT")];
    if !ext.is_empty() {
        names.push(format!("{stem}-{ext}.hdr"));
    }
    names.push(format!("{stem}.hdr"));
    names
        .into_iter()
        .map(|n| image.with_file_name(n))
        .filter(|p| p.is_file())
        .collect()
}

fn find_image(sidecar: &Path, stated: Option<&str>) -> Result<PathBuf, FormatError> {
    let mut tried = Vec::new();
    if let Some(name) = stated {
        // Only the file name: a sidecar must not send the reader elsewhere on disk.
        if let Some(file) = Path::new(name.trim()).file_name() {
            tried.push(sidecar.with_file_name(file));
        }
    }
    if let Some(stem) = sidecar
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
    {
        for ext in [
            "tif", "tiff", "TIF", "TIFF", "png", "PNG", "bmp", "BMP", "jpg", "JPG", "jpeg",
        ] {
            tried.push(sidecar.with_file_name(format!("{stem}.{ext}")));
        }
    }
    let found = tried
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| FormatError::Io {
            path: sidecar.display().to_string(),
            message: format!(
                "sidecar without its image: none of {} exists",
                tried
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    let ext = found
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(ext.as_str(), "bmp" | "jpg" | "jpeg") {
        return Err(FormatError::Unsupported {
            format: ext.to_uppercase(),
            message: format!(
                "{}: BMP/JPEG images are not decoded by this crate (TIFF and PNG are); convert \
                 the image to TIFF",
                found.display()
            ),
        });
    }
    Ok(found.clone())
}
