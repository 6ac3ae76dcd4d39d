//! The crate's single error type.

/// Why a file could not be read or written. Every variant names what was found, so that the
/// message alone tells a user what is wrong with their file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// The bytes are not a TIFF file the decoder can parse (bad header, truncated data,
    /// unsupported compression, …).
    #[error("TIFF could not be decoded: {0}")]
    Tiff(String),
    /// A valid TIFF whose pixels are not of a type this reader handles.
    #[error("unsupported TIFF pixel type: {found}; only 8-bit and 16-bit unsigned grayscale images can be read")]
    UnsupportedPixelType {
        /// A description of the pixel type in the file, e.g. `32-bit floating-point grayscale`.
        found: String,
    },
    /// The image's dimensions do not match its pixel buffer, or are unusable.
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// A pixel size that cannot be stored or was stored in an unusable form.
    #[error("invalid calibration: {0}")]
    InvalidCalibration(String),
    /// The file is calibrated with different pixel widths and heights, which a
    /// [`CalibratedImage`](crate::CalibratedImage) (one pixel size) cannot represent faithfully.
    #[error(
        "pixels are not square: width {width} but height {height}; use read_tiff_info for both"
    )]
    NonSquarePixels {
        /// Pixel width with unit.
        width: String,
        /// Pixel height with unit.
        height: String,
    },
    /// A value in a delimited text table that cannot be used.
    #[error("line {line}, column {column}: {message}")]
    CsvCell {
        /// 1-based line number in the file (comment lines count).
        line: usize,
        /// 1-based column number.
        column: usize,
        /// What is wrong with the value.
        message: String,
    },
    /// A whole line of a delimited text table that cannot be used.
    #[error("line {line}: {message}")]
    CsvRow {
        /// 1-based line number in the file (comment lines count).
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A delimited text table without any data.
    #[error("no spectrum data: {0}")]
    CsvNoData(String),
    /// The bytes are not in any format the readers recognise.
    #[error("unrecognised file format: {0}")]
    UnrecognisedFormat(String),
    /// A file of a recognised format whose structure is damaged or truncated.
    #[error("corrupt {format} file: {message}")]
    Corrupt {
        /// The format, e.g. `DM3`.
        format: String,
        /// What is wrong and where (byte offset).
        message: String,
    },
    /// A file could not be read from disk ([`crate::files`] only; the other readers take bytes).
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// A well-formed file using a feature these readers do not implement.
    #[error("unsupported {format} content: {message}")]
    Unsupported {
        /// The format, e.g. `DM4`.
        format: String,
        /// What is not supported.
        message: String,
    },
}

impl From<::tiff::TiffError> for FormatError {
    fn from(error: ::tiff::TiffError) -> Self {
        // The tiff crate's error type is not re-exported, so that a change of tiff version does
        // not change this crate's public API.
        FormatError::Tiff(error.to_string())
    }
}
