//! The compact U-Net (Ronneberger, Fischer & Brox, "U-Net: convolutional networks for
//! biomedical image segmentation", MICCAI 2015) with three output maps.
//!
//! `depth` levels with `base · 2^k` channels at level `k`; each level is two 3×3 convolutions
//! (zero padding, ReLU). The encoder halves the resolution with 2×2 max pooling between
//! levels; the decoder doubles it by nearest-neighbour upsampling, concatenates the encoder's
//! features of the same level (skip connection) and applies two 3×3 convolutions. A 1×1
//! convolution maps the last features to three logits per pixel: foreground, boundary and
//! normalised distance (see [`super::targets`]). No normalisation layers: the output of a pixel
//! depends only on the input (no batch statistics), which makes tiling and batching exact.
//!
//! Parameters are initialised with He (Kaiming) normal weights `N(0, 2/fan_in)` and zero
//! biases from a seeded ChaCha8 generator, so the initial model is reproducible bit for bit
//! (candle's own CPU random generator cannot be seeded).

use candle_core::{DType, Device, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::VisionError;

/// Name of the tensor that stores the architecture in a weights file.
const ARCHITECTURE_KEY: &str = "meta.architecture";
/// Version of the weights layout written by [`UNet::to_safetensors`].
const FORMAT_VERSION: f32 = 1.0;
/// Output channels: foreground, boundary, distance.
pub const OUTPUTS: usize = 3;

/// Shape of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Channels of the first level (doubled at every level below). Default 16.
    pub base_channels: usize,
    /// Number of resolution levels (≥ 1). Inputs must have sides divisible by
    /// `2^(depth − 1)`. Default 4.
    pub depth: usize,
    /// Integer factor by which images are box-downsampled before the network sees them
    /// (1 = full resolution). Stored with the weights so inference matches training. Default 2.
    pub downsample: usize,
}

impl Default for UNetConfig {
    fn default() -> Self {
        UNetConfig {
            base_channels: 16,
            depth: 4,
            downsample: 2,
        }
    }
}

impl UNetConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), VisionError> {
        let bad = |field, value: usize, reason| {
            Err(VisionError::InvalidConfig {
                field,
                value: value as f64,
                reason,
            })
        };
        if !(1..=256).contains(&self.base_channels) {
            return bad("base_channels", self.base_channels, "expected 1..=256");
        }
        if !(1..=6).contains(&self.depth) {
            return bad("depth", self.depth, "expected 1..=6 levels");
        }
        if !(1..=8).contains(&self.downsample) {
            return bad("downsample", self.downsample, "expected a factor 1..=8");
        }
        Ok(())
    }

    /// Side lengths fed to the network must be multiples of this.
    pub fn size_multiple(&self) -> usize {
        1 << (self.depth - 1)
    }

    fn channels(&self, level: usize) -> usize {
        self.base_channels << level
    }
}

/// Converts a framework error into the crate's error, naming what was being done.
pub(crate) fn model_error(context: &str) -> impl Fn(candle_core::Error) -> VisionError + '_ {
    move |e| VisionError::Model {
        reason: format!("{context}: {e}"),
    }
}

/// A U-Net with its trainable parameters.
#[derive(Debug, Clone)]
pub struct UNet {
    config: UNetConfig,
    /// Parameters by name (sorted, so iteration order is stable).
    params: BTreeMap<String, Var>,
}

impl UNet {
    /// A freshly initialised network (seeded He initialisation).
    pub fn new(config: UNetConfig, seed: u64) -> Result<UNet, VisionError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = BTreeMap::new();
        let err = model_error("initialising the U-Net");
        for (name, shape) in parameter_shapes(&config) {
            let count: usize = shape.iter().product();
            let values: Vec<f32> = if name.ends_with(".weight") {
                let fan_in: usize = shape[1..].iter().product();
                let std = (2.0 / fan_in as f64).sqrt();
                (0..count)
                    .map(|_| (std * standard_normal(&mut rng)) as f32)
                    .collect()
            } else {
                vec![0.0; count]
            };
            let tensor = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(&err)?;
            params.insert(name, Var::from_tensor(&tensor).map_err(&err)?);
        }
        Ok(UNet { config, params })
    }

    /// The architecture.
    pub fn config(&self) -> UNetConfig {
        self.config
    }

    /// Total number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.params.values().map(|v| v.elem_count()).sum()
    }

    /// The trainable variables, in name order.
    pub(crate) fn vars(&self) -> Vec<Var> {
        self.params.values().cloned().collect()
    }

    /// Shape and values (row-major) of one parameter, e.g. `down0.conv1.weight`.
    pub(crate) fn parameter_values(
        &self,
        name: &str,
    ) -> Result<(Vec<usize>, Vec<f32>), VisionError> {
        let tensor = self.param(name)?;
        let values = tensor
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(model_error(name))?;
        Ok((tensor.dims().to_vec(), values))
    }

    fn param(&self, name: &str) -> Result<&Tensor, VisionError> {
        self.params
            .get(name)
            .map(|v| v.as_tensor())
            .ok_or_else(|| VisionError::Model {
                reason: format!("the weights lack the parameter `{name}`"),
            })
    }

    fn conv(&self, x: &Tensor, name: &str, padding: usize) -> Result<Tensor, VisionError> {
        let err = model_error(name);
        let w = self.param(&format!("{name}.weight"))?;
        let b = self.param(&format!("{name}.bias"))?;
        let channels = b.elem_count();
        let y = x.conv2d(w, padding, 1, 1, 1).map_err(&err)?;
        y.broadcast_add(&b.reshape((1, channels, 1, 1)).map_err(&err)?)
            .map_err(&err)
    }

    fn double_conv(&self, x: &Tensor, prefix: &str) -> Result<Tensor, VisionError> {
        let err = model_error(prefix);
        let x = self
            .conv(x, &format!("{prefix}.conv1"), 1)?
            .relu()
            .map_err(&err)?;
        self.conv(&x, &format!("{prefix}.conv2"), 1)?
            .relu()
            .map_err(&err)
    }

    /// Logits `(batch, 3, h, w)` for inputs `(batch, 1, h, w)`; `h` and `w` must be multiples
    /// of [`UNetConfig::size_multiple`].
    pub fn forward(&self, input: &Tensor) -> Result<Tensor, VisionError> {
        let err = model_error("U-Net forward pass");
        let dims = input.dims();
        let multiple = self.config.size_multiple();
        if dims.len() != 4
            || dims[1] != 1
            || !dims[2].is_multiple_of(multiple)
            || !dims[3].is_multiple_of(multiple)
        {
            return Err(VisionError::Model {
                reason: format!(
                    "input of shape {dims:?}: expected (batch, 1, h, w) with h and w multiples of {multiple}"
                ),
            });
        }
        let depth = self.config.depth;
        let mut skips: Vec<Tensor> = Vec::with_capacity(depth);
        let mut x = input.clone();
        for level in 0..depth {
            if level > 0 {
                x = x.max_pool2d(2).map_err(&err)?;
            }
            x = self.double_conv(&x, &format!("down{level}"))?;
            skips.push(x.clone());
        }
        for level in (0..depth.saturating_sub(1)).rev() {
            let skip = &skips[level];
            let (_, _, h, w) = skip.dims4().map_err(&err)?;
            let up = x.upsample_nearest2d(h, w).map_err(&err)?;
            let joined = Tensor::cat(&[skip, &up], 1).map_err(&err)?;
            x = self.double_conv(&joined, &format!("up{level}"))?;
        }
        self.conv(&x, "head", 0)
    }

    /// The weights (and the architecture) as safetensors bytes.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, VisionError> {
        let err = model_error("serialising the weights");
        let mut tensors: Vec<(String, Tensor)> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        let architecture = [
            FORMAT_VERSION,
            self.config.base_channels as f32,
            self.config.depth as f32,
            self.config.downsample as f32,
        ];
        tensors.push((
            ARCHITECTURE_KEY.to_string(),
            Tensor::new(&architecture, &Device::Cpu).map_err(&err)?,
        ));
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        safetensors::serialize(tensors, None).map_err(|e| VisionError::Model {
            reason: format!("serialising the weights: {e}"),
        })
    }

    /// Rebuilds a network from [`UNet::to_safetensors`] bytes, checking every tensor's shape.
    pub fn from_safetensors(bytes: &[u8]) -> Result<UNet, VisionError> {
        let err = model_error("reading the weights");
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(&err)?;
        let architecture: Vec<f32> = tensors
            .get(ARCHITECTURE_KEY)
            .ok_or_else(|| VisionError::Model {
                reason: format!("not an athanor U-Net weights file (no `{ARCHITECTURE_KEY}`)"),
            })?
            .to_dtype(DType::F32)
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(&err)?;
        if architecture.len() != 4 || architecture[0] != FORMAT_VERSION {
            return Err(VisionError::Model {
                reason: format!("unsupported weights layout {architecture:?}"),
            });
        }
        let config = UNetConfig {
            base_channels: architecture[1] as usize,
            depth: architecture[2] as usize,
            downsample: architecture[3] as usize,
        };
        config.validate()?;
        let mut params = BTreeMap::new();
        for (name, shape) in parameter_shapes(&config) {
            let tensor = tensors.get(&name).ok_or_else(|| VisionError::Model {
                reason: format!("the weights lack the parameter `{name}`"),
            })?;
            if tensor.dims() != shape.as_slice() {
                return Err(VisionError::Model {
                    reason: format!(
                        "parameter `{name}` has shape {:?}, expected {shape:?}",
                        tensor.dims()
                    ),
                });
            }
            let tensor = tensor.to_dtype(DType::F32).map_err(&err)?;
            params.insert(name, Var::from_tensor(&tensor).map_err(&err)?);
        }
        Ok(UNet { config, params })
    }
}

/// Every parameter's name and shape, in a fixed order.
fn parameter_shapes(config: &UNetConfig) -> Vec<(String, Vec<usize>)> {
    let mut shapes = Vec::new();
    let mut conv = |name: String, input: usize, output: usize, kernel: usize| {
        shapes.push((
            format!("{name}.weight"),
            vec![output, input, kernel, kernel],
        ));
        shapes.push((format!("{name}.bias"), vec![output]));
    };
    for level in 0..config.depth {
        let input = if level == 0 {
            1
        } else {
            config.channels(level - 1)
        };
        let c = config.channels(level);
        conv(format!("down{level}.conv1"), input, c, 3);
        conv(format!("down{level}.conv2"), c, c, 3);
    }
    for level in (0..config.depth.saturating_sub(1)).rev() {
        let c = config.channels(level);
        let below = config.channels(level + 1);
        conv(format!("up{level}.conv1"), c + below, c, 3);
        conv(format!("up{level}.conv2"), c, c, 3);
    }
    conv("head".to_string(), config.channels(0), OUTPUTS, 1);
    shapes
}

/// A standard normal deviate (Box–Muller), from the seeded generator.
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: the logarithm stays finite
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> UNetConfig {
        UNetConfig {
            base_channels: 4,
            depth: 3,
            downsample: 1,
        }
    }

    #[test]
    fn forward_shape_and_parameter_count() {
        let net = UNet::new(tiny(), 1).unwrap();
        // 1→4→4, 4→8→8, 8→16→16, up1 (8+16)→8→8, up0 (4+8)→4→4, head 4→3.
        let convs = [
            (1, 4, 9),
            (4, 4, 9),
            (4, 8, 9),
            (8, 8, 9),
            (8, 16, 9),
            (16, 16, 9),
            (24, 8, 9),
            (8, 8, 9),
            (12, 4, 9),
            (4, 4, 9),
            (4, 3, 1),
        ];
        let expected: usize = convs.iter().map(|&(i, o, k)| i * o * k + o).sum();
        assert_eq!(net.parameter_count(), expected);
        let input = Tensor::zeros((2, 1, 24, 16), DType::F32, &Device::Cpu).unwrap();
        let out = net.forward(&input).unwrap();
        assert_eq!(out.dims(), &[2, 3, 24, 16]);
        // A side that is not a multiple of 4 is an error, not a panic.
        let bad = Tensor::zeros((1, 1, 10, 16), DType::F32, &Device::Cpu).unwrap();
        assert!(net.forward(&bad).is_err());
    }

    #[test]
    fn initialisation_is_seeded_and_round_trips_through_safetensors() {
        let a = UNet::new(tiny(), 7).unwrap();
        let b = UNet::new(tiny(), 7).unwrap();
        let c = UNet::new(tiny(), 8).unwrap();
        let input = Tensor::from_vec(
            (0..16 * 16)
                .map(|i| ((i * 37 % 101) as f32) / 101.0)
                .collect::<Vec<_>>(),
            (1, 1, 16, 16),
            &Device::Cpu,
        )
        .unwrap();
        let out = |n: &UNet| {
            n.forward(&input)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(out(&a), out(&b));
        assert_ne!(out(&a), out(&c));
        let bytes = a.to_safetensors().unwrap();
        let restored = UNet::from_safetensors(&bytes).unwrap();
        assert_eq!(restored.config(), a.config());
        assert_eq!(out(&restored), out(&a));
        assert!(UNet::from_safetensors(b"not safetensors").is_err());
    }
}
