//! Micrograph analysis: segmentation, separation of touching particles, particle metrics and size distributions.
