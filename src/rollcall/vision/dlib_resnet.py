"""dlib's face-recognition ResNet, read from its own weight file and run under onnxruntime.

dlib computes the same network 35x slower here (70 ms vs 2 ms per face: one face at a time, no
batching), and needs the dlib package. Here the weights in
``dlib_face_recognition_resnet_model_v1.dat`` (shipped by the ``face_recognition_models``
package, sha256-verified) are read straight from dlib's serialization format and rebuilt as an
ONNX graph in memory, so dlib itself is never imported.

The file is pinned by digest, so the reader only has to handle that one file; it still checks
every layer it reads against the architecture below and refuses anything unexpected.

Architecture (dlib's examples/dnn_face_recognition_ex.cpp), input 150x150 RGB:
conv 7x7/2 (32) -> affine -> relu -> max-pool 3x3/2 -> residual blocks
3x32, 4x64, 3x128, 3x256, 1x256 (the first block of each width after 32 downsamples)
-> global average pool -> 256x128 matrix (no bias). A block is
conv 3x3 -> affine -> relu -> conv 3x3 -> affine, added to its input (average-pooled 2x2/2
when downsampling) and passed through relu. dlib adds tensors of different shapes by treating
what is missing as zeros, aligned at the top-left corner; the graph reproduces that with pads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rollcall.errors import ModelError
from rollcall.vision.onnx_runtime import cached_session, run_batched

CHIP_SIZE = 150
# (width, downsample) of each residual block, input side first.
BLOCKS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)]
BLOCKS += [(128, False)] * 2 + [(256, True)] + [(256, False)] * 2 + [(256, True)]


class _Reader:
    """dlib's serialization primitives (dlib/serialize.h, dlib/dnn/tensor.h)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def int(self) -> int:
        # One control byte (low nibble: byte count, high bit: negative), then little-endian bytes.
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8:
            raise ModelError(f"dlib weights: bad integer at byte {self.pos}")
        raw = self.data[self.pos + 1 : self.pos + 1 + size]
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if control & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ModelError(f"dlib weights: tensor version {version} at byte {self.pos}")
        n, k, nr, nc = (self.int() for _ in range(4))
        count = n * k * nr * nc
        end = self.pos + 4 * count
        if end > len(self.data):
            raise ModelError("dlib weights: tensor runs past the end of the file")
        # dlib writes tensor data as raw little-endian float32, unlike its other floats.
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos = end
        return values.reshape(n, k, nr, nc)


@dataclass
class Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray
    stride: int
    padding: int


@dataclass
class DlibResnetWeights:
    mean_rgb: tuple[float, float, float]
    convs: list[Conv] = field(default_factory=list)  # affine layers already folded in
    projection: np.ndarray = field(default_factory=lambda: np.zeros((256, 128), np.float32))


def _layout() -> list[str]:
    """The names of the layers that carry details, input side first, as BLOCKS lays them out."""
    names = ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]
    for _width, down in BLOCKS:
        names += ["con_4", "affine_", "relu_", "con_4", "affine_"]
        names += ["avg_pool_2", "add_prev_", "relu_"] if down else ["add_prev_", "relu_"]
    return [*names, "avg_pool_2", "fc_2"]


LAYOUT = _layout()


def _layers(data: bytes) -> list[tuple[str, int]]:
    """(layer name, offset just after the name) of every layer named in LAYOUT, in file order.

    dlib writes each layer's details after its whole subnetwork, so the details appear in file
    order from the input layer up; each starts with its name as a length-prefixed string."""
    found = []
    for name in set(LAYOUT):
        marker = bytes([0x01, len(name)]) + name.encode()
        start = 0
        while (at := data.find(marker, start)) >= 0:
            found.append((at, name, at + len(marker)))
            start = at + 1
    found.sort()
    return [(name, end) for _, name, end in found]


def read_weights(path: Path) -> DlibResnetWeights:
    """Parse the (sha256-verified) dlib weight file into arrays for the ONNX graph."""
    data = path.read_bytes()
    layers = _layers(data)
    if [n for n, _ in layers] != LAYOUT:
        raise ModelError(f"{path.name}: not the dlib ResNet layout this reader knows")

    reader = _Reader(data, layers[0][1])
    mean_rgb = (reader.float(), reader.float(), reader.float())
    if (reader.int(), reader.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise ModelError(f"{path.name}: input is not {CHIP_SIZE}x{CHIP_SIZE}")
    weights = DlibResnetWeights(mean_rgb=mean_rgb)
    in_channels = 3
    pending: tuple[np.ndarray, np.ndarray, int, int] | None = None
    for name, offset in layers[1:]:
        reader.pos = offset
        if name == "con_4":
            params = reader.tensor().reshape(-1)
            filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(7))
            size = filters * in_channels * nr * nc
            if params.size != size + filters or nr != nc or stride_y != stride_x or pad_y != pad_x:
                raise ModelError(f"{path.name}: unexpected convolution at byte {offset}")
            kernel = params[:size].reshape(filters, in_channels, nr, nc)
            pending = (kernel, params[size:].copy(), stride_y, pad_y)
            in_channels = filters
        elif name == "affine_":
            params = reader.tensor().reshape(-1)
            if pending is None or params.size != 2 * in_channels:
                raise ModelError(f"{path.name}: affine layer without a convolution before it")
            gamma, beta = params[:in_channels], params[in_channels:]
            kernel, bias, stride, pad = pending
            # affine(conv(x)) = gamma * (W x + b) + beta: fold it into the convolution.
            weights.convs.append(
                Conv(kernel * gamma[:, None, None, None], bias * gamma + beta, stride, pad)
            )
            pending = None
        elif name == "fc_2":
            outputs, inputs = reader.int(), reader.int()
            params = reader.tensor().reshape(-1)
            if inputs != in_channels or params.size != in_channels * outputs:
                raise ModelError(f"{path.name}: unexpected projection size {params.size}")
            weights.projection = params.reshape(in_channels, outputs)
    if len(weights.convs) != 1 + 2 * len(BLOCKS):
        raise ModelError(f"{path.name}: expected {1 + 2 * len(BLOCKS)} convolutions")
    return weights


def _pooled(size: int, window: int, stride: int, pad: int = 0) -> int:
    return 1 + (size + 2 * pad - window) // stride


def build_onnx(weights: DlibResnetWeights) -> bytes:
    """The network as a serialized ONNX model: input (N, 150, 150, 3) float32 RGB in 0..255,
    output (N, 128) descriptors (not normalised, as dlib returns them)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    counter = iter(range(10_000))

    def const(array: np.ndarray, dtype: type = np.float32) -> str:
        name = f"c{next(counter)}"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype), name))
        return name

    def node(op: str, inputs: list[str], **attrs: object) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(x: str, c: Conv) -> str:
        p = c.padding
        return node(
            "Conv",
            [x, const(c.weight), const(c.bias)],
            strides=[c.stride] * 2,
            pads=[p] * 4,
            kernel_shape=list(c.weight.shape[2:]),
        )

    # dlib: (pixel - mean) / 256 per channel, channels R, G, B; NHWC in, NCHW inside.
    x = node("Transpose", ["rgb"], perm=[0, 3, 1, 2])
    x = node("Sub", [x, const(np.array(weights.mean_rgb).reshape(1, 3, 1, 1))])
    x = node("Mul", [x, const(np.full((1, 1, 1, 1), 1 / 256))])
    convs = iter(weights.convs)
    x = node("Relu", [conv(x, next(convs))])
    size = _pooled(CHIP_SIZE, 7, 2)
    x = node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    size, channels = _pooled(size, 3, 2), 32
    for width, down in BLOCKS:
        first, second = next(convs), next(convs)
        y = conv(x, first)
        y_size = _pooled(size, 3, first.stride, first.padding)
        y = conv(node("Relu", [y]), second)
        shortcut, short_size = x, size
        if down:
            shortcut = node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            short_size = _pooled(size, 2, 2)
        # dlib's add_prev: the larger shape wins and missing cells count as zero.
        out_size = max(y_size, short_size)
        if y_size < out_size:
            grow = out_size - y_size
            y = node("Pad", [y, const(np.array([0, 0, 0, 0, 0, 0, grow, grow]), np.int64)])
        if short_size < out_size or channels < width:
            grow = out_size - short_size
            pads = np.array([0, 0, 0, 0, 0, width - channels, grow, grow], np.int64)
            shortcut = node("Pad", [shortcut, const(pads, np.int64)])
        x = node("Relu", [node("Add", [y, shortcut])])
        size, channels = out_size, width
    x = node("GlobalAveragePool", [x])
    x = node("Flatten", [x])
    nodes[-1].output[0] = "flat"
    nodes.append(helper.make_node("MatMul", ["flat", const(weights.projection)], ["descriptor"]))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", 128])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


class DlibResnet:
    """Batched dlib face descriptors: chips (150x150 RGB uint8, dlib's alignment) -> (N, 128)."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        self._session = cached_session(onnx_graph, path, threads)

    def descriptors(self, chips_rgb: np.ndarray) -> np.ndarray:
        batch = np.asarray(chips_rgb, np.float32).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3)
        if not len(batch):
            return np.zeros((0, 128), np.float32)
        return run_batched(self._session, "rgb", batch)


def onnx_graph(path: Path) -> bytes:
    """The weight file (already sha256-verified) as a serialized ONNX model."""
    return build_onnx(read_weights(path))
