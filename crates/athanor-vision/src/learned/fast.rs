//! Inference-only forward pass of the U-Net on the CPU, without im2col.
//!
//! candle's CPU convolution gathers an im2col patch matrix element by element before its
//! matrix product; for the narrow layers of a compact U-Net (8–64 channels) that gather costs
//! more than the arithmetic, and a 2048×1536 micrograph took ~8 s. Here every feature map is
//! stored channel-major with a one-pixel zero border ("padded planes", each `(h+2)·(w+2)`
//! values). In the flattened padded plane, the input pixel under tap `(dy, dx)` of output
//! position `q` sits at `q + dy·(w+2) + dx`, so a 3×3 convolution is nine matrix products
//!
//! `Y[:, q] += W_(dy,dx) · X[:, q + dy·(w+2) + dx]`  (c_out × c_in times c_in × n)
//!
//! over one contiguous range of `q`, each reading the input in place (a strided view, no
//! copy). The products run on the `gemm` crate (the kernels candle itself multiplies with).
//! The results at the border columns are garbage and are reset to zero, which is exactly the
//! zero padding the next convolution needs.
//!
//! The arithmetic is the same as [`super::model::UNet::forward`] (3×3 convolutions with zero
//! padding, ReLU, 2×2 max pooling, nearest upsampling, skip concatenation, 1×1 head); only the
//! order of the floating-point sums differs, so the logits agree to rounding (tested).

pub(crate) use gemm::Parallelism as Par;

use super::model::{UNet, UNetConfig, OUTPUTS};
use crate::VisionError;

/// One convolution's weights, rearranged for the tap-wise products.
#[derive(Debug, Clone)]
struct Conv {
    inputs: usize,
    outputs: usize,
    /// Per tap (row-major 3×3, or the single 1×1 tap), a row-major `outputs × inputs` matrix.
    taps: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

impl Conv {
    fn from_net(net: &UNet, name: &str) -> Result<Conv, VisionError> {
        let (shape, weights) = net.parameter_values(&format!("{name}.weight"))?;
        let (_, bias) = net.parameter_values(&format!("{name}.bias"))?;
        let [outputs, inputs, kh, kw] = shape[..] else {
            return Err(VisionError::Model {
                reason: format!("`{name}.weight` has shape {shape:?}, expected 4 dimensions"),
            });
        };
        let taps = (0..kh * kw)
            .map(|tap| {
                let mut matrix = Vec::with_capacity(outputs * inputs);
                for o in 0..outputs {
                    for i in 0..inputs {
                        matrix.push(weights[(o * inputs + i) * kh * kw + tap]);
                    }
                }
                matrix
            })
            .collect();
        Ok(Conv {
            inputs,
            outputs,
            taps,
            bias,
        })
    }
}

/// Feature maps, channel-major, each plane with a one-pixel zero border.
#[derive(Debug, Clone)]
struct Planes {
    channels: usize,
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Planes {
    fn zeros(channels: usize, width: usize, height: usize) -> Planes {
        Planes {
            channels,
            width,
            height,
            data: vec![0.0; channels * (width + 2) * (height + 2)],
        }
    }

    fn stride(&self) -> usize {
        self.width + 2
    }

    fn plane(&self) -> usize {
        (self.width + 2) * (self.height + 2)
    }

    /// Index of interior pixel `(x, y)` of channel `c`.
    fn at(&self, c: usize, x: usize, y: usize) -> usize {
        c * self.plane() + (y + 1) * self.stride() + x + 1
    }

    /// Zeroes the left and right border columns (the rows above and below are never written).
    fn clear_side_borders(&mut self) {
        let (stride, plane) = (self.stride(), self.plane());
        for c in 0..self.channels {
            for y in 1..=self.height {
                let row = c * plane + y * stride;
                self.data[row] = 0.0;
                self.data[row + stride - 1] = 0.0;
            }
        }
    }
}

/// The network's weights laid out for [`FastUNet::forward`].
#[derive(Debug, Clone)]
pub(crate) struct FastUNet {
    config: UNetConfig,
    /// `down0.conv1`, `down0.conv2`, … in forward order.
    down: Vec<(Conv, Conv)>,
    /// `up{depth−2}` … `up0`, in forward order.
    up: Vec<(Conv, Conv)>,
    head: Conv,
}

impl FastUNet {
    /// Copies the weights of `net`.
    pub(crate) fn new(net: &UNet) -> Result<FastUNet, VisionError> {
        let config = net.config();
        let pair = |prefix: String| -> Result<(Conv, Conv), VisionError> {
            Ok((
                Conv::from_net(net, &format!("{prefix}.conv1"))?,
                Conv::from_net(net, &format!("{prefix}.conv2"))?,
            ))
        };
        let down = (0..config.depth)
            .map(|level| pair(format!("down{level}")))
            .collect::<Result<_, _>>()?;
        let up = (0..config.depth.saturating_sub(1))
            .rev()
            .map(|level| pair(format!("up{level}")))
            .collect::<Result<_, _>>()?;
        let head = Conv::from_net(net, "head")?;
        Ok(FastUNet {
            config,
            down,
            up,
            head,
        })
    }

    /// Logits, channel-major `OUTPUTS × h × w`, of one `w × h` input (row-major); `w` and `h`
    /// must be multiples of [`UNetConfig::size_multiple`].
    pub(crate) fn forward(
        &self,
        input: &[f32],
        width: usize,
        height: usize,
        par: Par,
    ) -> Result<Vec<f32>, VisionError> {
        let multiple = self.config.size_multiple();
        if input.len() != width * height
            || width == 0
            || height == 0
            || !width.is_multiple_of(multiple)
            || !height.is_multiple_of(multiple)
        {
            return Err(VisionError::Model {
                reason: format!(
                    "input of {width}×{height} ({} values): sides must be positive multiples of {multiple}",
                    input.len()
                ),
            });
        }
        let mut x = Planes::zeros(1, width, height);
        for y in 0..height {
            let start = x.at(0, 0, y);
            x.data[start..start + width].copy_from_slice(&input[y * width..(y + 1) * width]);
        }
        let mut skips = Vec::with_capacity(self.down.len());
        for (level, (conv1, conv2)) in self.down.iter().enumerate() {
            if level > 0 {
                x = max_pool(&x);
            }
            x = convolve(&convolve(&x, conv1, true, par), conv2, true, par);
            skips.push(x.clone());
        }
        skips.pop();
        for (conv1, conv2) in &self.up {
            let skip = skips.pop().ok_or_else(|| VisionError::Model {
                reason: "decoder levels outnumber encoder levels".into(),
            })?;
            let joined = upsample_and_join(&skip, &x);
            x = convolve(&convolve(&joined, conv1, true, par), conv2, true, par);
        }
        let logits = convolve(&x, &self.head, false, par);
        let mut out = Vec::with_capacity(OUTPUTS * width * height);
        for c in 0..OUTPUTS {
            for y in 0..height {
                let start = logits.at(c, 0, y);
                out.extend_from_slice(&logits.data[start..start + width]);
            }
        }
        Ok(out)
    }
}

/// A 3×3 (padding 1) or 1×1 convolution with bias, optionally followed by ReLU.
fn convolve(x: &Planes, conv: &Conv, relu: bool, par: Par) -> Planes {
    debug_assert_eq!(x.channels, conv.inputs);
    let mut y = Planes::zeros(conv.outputs, x.width, x.height);
    let (stride, plane) = (x.stride(), x.plane());
    // Output positions from interior pixel (0, 0) to (w−1, h−1), border columns included.
    let start = stride + 1;
    let count = plane - 2 * stride - 2;
    for (o, &b) in conv.bias.iter().enumerate() {
        y.data[o * plane + start..o * plane + start + count].fill(b);
    }
    let offsets: Vec<isize> = if conv.taps.len() == 9 {
        (-1..=1)
            .flat_map(|dy| (-1..=1).map(move |dx| dy * stride as isize + dx))
            .collect()
    } else {
        vec![0]
    };
    let (outputs, inputs) = (conv.outputs, conv.inputs);
    for (weights, offset) in conv.taps.iter().zip(offsets) {
        let from = (start as isize + offset) as usize;
        // The views below are in bounds: see the module docs for the layout.
        assert!(weights.len() == outputs * inputs);
        assert!(from + (inputs - 1) * plane + count <= x.data.len());
        assert!(start + (outputs - 1) * plane + count <= y.data.len());
        // SAFETY: the three asserts bound every element the strided views touch (rows of
        // `count` contiguous values, `plane` apart); `y` and `x` do not alias.
        unsafe {
            gemm::gemm(
                outputs,
                count,
                inputs,
                y.data.as_mut_ptr().add(start),
                1,
                plane as isize,
                true,
                weights.as_ptr(),
                1,
                inputs as isize,
                x.data.as_ptr().add(from),
                1,
                plane as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                par,
            );
        }
    }
    if relu {
        for v in &mut y.data {
            *v = v.max(0.0);
        }
    }
    y.clear_side_borders();
    y
}

/// 2×2 max pooling (stride 2).
fn max_pool(x: &Planes) -> Planes {
    let mut y = Planes::zeros(x.channels, x.width / 2, x.height / 2);
    for c in 0..x.channels {
        for yy in 0..y.height {
            let top = x.at(c, 0, 2 * yy);
            let bottom = x.at(c, 0, 2 * yy + 1);
            let out = y.at(c, 0, yy);
            for xx in 0..y.width {
                let (a, b) = (x.data[top + 2 * xx], x.data[top + 2 * xx + 1]);
                let (d, e) = (x.data[bottom + 2 * xx], x.data[bottom + 2 * xx + 1]);
                y.data[out + xx] = a.max(b).max(d.max(e));
            }
        }
    }
    y
}

/// The skip features followed by the nearest-neighbour 2× upsampling of `low`.
fn upsample_and_join(skip: &Planes, low: &Planes) -> Planes {
    let mut y = Planes::zeros(skip.channels + low.channels, skip.width, skip.height);
    y.data[..skip.data.len()].copy_from_slice(&skip.data);
    for c in 0..low.channels {
        for yy in 0..skip.height {
            let source = low.at(c, 0, yy * low.height / skip.height);
            let out = y.at(skip.channels + c, 0, yy);
            for xx in 0..skip.width {
                y.data[out + xx] = low.data[source + xx * low.width / skip.width];
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn agrees_with_the_candle_forward_pass() {
        for (config, seed, (w, h)) in [
            (
                UNetConfig {
                    base_channels: 4,
                    depth: 3,
                    downsample: 1,
                },
                3,
                (24, 16),
            ),
            (
                UNetConfig {
                    base_channels: 3,
                    depth: 1,
                    downsample: 1,
                },
                4,
                (7, 5),
            ),
        ] {
            let net = UNet::new(config, seed).unwrap();
            let input: Vec<f32> = (0..w * h)
                .map(|i| ((i * 29 % 53) as f32 / 53.0 - 0.5) * 1.7)
                .collect();
            let tensor = Tensor::from_slice(&input, (1, 1, h, w), &Device::Cpu).unwrap();
            let expected = net
                .forward(&tensor)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let fast = FastUNet::new(&net).unwrap();
            for par in [Par::None, Par::Rayon(2)] {
                let got = fast.forward(&input, w, h, par).unwrap();
                assert_eq!(got.len(), expected.len());
                let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
                for (k, (a, b)) in got.iter().zip(&expected).enumerate() {
                    assert!((a - b).abs() <= 1e-4 * scale, "logit {k}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn sides_that_do_not_fit_the_network_are_errors() {
        let net = UNet::new(
            UNetConfig {
                base_channels: 2,
                depth: 3,
                downsample: 1,
            },
            1,
        )
        .unwrap();
        let fast = FastUNet::new(&net).unwrap();
        assert!(fast.forward(&[0.0; 60], 10, 6, Par::None).is_err());
        assert!(fast.forward(&[0.0; 10], 8, 8, Par::None).is_err());
    }
}
