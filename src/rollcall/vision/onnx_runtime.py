"""onnxruntime sessions for the recognition networks, and SFace's weights made float once.

OpenCV's DNN module runs SFace one face at a time; onnxruntime runs a whole frame's faces as
one batch and fuses layers, ~30% faster per face on the same 2 cores (bench/bench_engine.py).
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np


def session(model: bytes, threads: int = 0):  # noqa: ANN201 - onnxruntime has no type stubs
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(0, threads)  # 0: onnxruntime's own choice (all cores)
    options.log_severity_level = 3  # its warnings are about model files we do not control
    # By default idle worker threads spin for a while after each run, burning the CPU that the
    # other network, the detector, the decoder or another session's runner needs next.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # onnxruntime's arena keeps the largest batch's activations for the life of the process: a
    # process embedding 30-face frames in one batch grew to 860 MB. Batches of BATCH faces bound
    # it (488 MB after three 30-face frames); turning the arena off saved 66 MB more but cost
    # 1.1 ms per face (bench/bench_memory.py).
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@cache
def cached_session(graph: Callable[[Path], bytes], path: Path, threads: int = 0):  # noqa: ANN201
    """One session per network, weight file and thread count in a process: sessions are safe to
    share between threads, and the graph bytes are not kept once the session holds the weights.
    graph turns the (sha256-verified) weight file into a serialized ONNX model."""
    built = session(graph(path), threads)
    release_freed_memory()
    return built


def release_freed_memory() -> None:
    """Hand memory that is already freed back to the operating system.

    Building a graph (reading weights, folding SFace's dequantize nodes, serializing) frees tens
    of MB that glibc keeps in its heap; trimming after the networks are loaded shrank a fresh
    process's RSS from 382 to 311 MB (bench/bench_memory.py). Elsewhere than glibc this does
    nothing."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    gc.collect()
    trim(0)


def sface_float_graph(path: Path) -> bytes:
    """OpenCV Zoo's SFace int8bq file (already sha256-verified) as a float32 graph with a free
    batch dimension.

    The file dequantizes its weights inside the graph on every run and lists its weights as
    graph inputs too (leftovers of its conversion). Here every node that only depends on
    constants is evaluated once, its outputs become plain initializers, and the graph keeps
    the one real input, ``data`` (N, 3, 112, 112) BGR->RGB pixels in 0..255."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(path.read_bytes())
    graph = model.graph
    initial = {t.name for t in graph.initializer}
    constant = set(initial)
    folded_nodes = []
    for node in graph.node:  # nodes are stored in topological order
        if node.op_type != "Constant" and all(i in constant for i in node.input if i):
            folded_nodes.append(node)
            constant.update(node.output)
    folded_ids = {id(n) for n in folded_nodes}
    live = [n for n in graph.node if id(n) not in folded_ids]
    live_inputs = {i for n in live for i in n.input}
    needed = sorted(t for t in live_inputs if t in constant and t not in initial)
    evaluate = helper.make_model(
        helper.make_graph(
            folded_nodes,
            "sface_constants",
            [],
            [helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in needed],
            list(graph.initializer),
        ),
        opset_imports=model.opset_import,
    )
    evaluate.ir_version = model.ir_version
    values = session(evaluate.SerializeToString()).run(needed, {})
    initializers = [t for t in graph.initializer if t.name in live_inputs]
    initializers += [
        numpy_helper.from_array(np.asarray(v, np.float32), t)
        for t, v in zip(needed, values, strict=True)
    ]
    inputs = [i for i in graph.input if i.name == "data"]
    outputs = list(graph.output)
    inputs[0].type.tensor_type.shape.dim[0].dim_param = "N"
    outputs[0].type.tensor_type.shape.dim[0].dim_param = "N"
    nodes, zero = split_prelu(live)
    initializers.append(zero)
    folded = helper.make_model(
        helper.make_graph(nodes, "sface", inputs, outputs, initializers),
        opset_imports=model.opset_import,
    )
    folded.ir_version = model.ir_version
    return folded.SerializeToString()


def split_prelu(nodes: list) -> tuple[list, object]:
    """The nodes with every PRelu(x, slope) written as Relu(x) + slope * Min(x, 0), and the
    scalar 0 initializer they need (the caller adds it to the graph).

    The same numbers, bit for bit (one of the two terms is exactly 0 for every element), in
    half the time: onnxruntime runs PRelu's per-channel slopes through a generic broadcasting
    kernel that cannot stay in its blocked (NCHWc) convolution layout, so SFace's 27 PRelus
    cost more than its 27 convolutions (15 vs 12 ms a face on one core); the four plain
    element-wise ops take ~6. SFace in a 25-face frame: 26 -> 19 ms a face on one core, 14.3
    -> 11.5 ms on two threads (bench/bench_engine.py, embedding)."""
    from onnx import helper, numpy_helper

    zero = "prelu_zero"

    out = []
    for node in nodes:
        if node.op_type != "PRelu":
            out.append(node)
            continue
        x, slope = node.input
        tag = node.output[0]
        out += [
            helper.make_node("Relu", [x], [f"{tag}/pos"]),
            helper.make_node("Min", [x, zero], [f"{tag}/neg"]),
            helper.make_node("Mul", [f"{tag}/neg", slope], [f"{tag}/scaled"]),
            helper.make_node("Add", [f"{tag}/pos", f"{tag}/scaled"], [node.output[0]]),
        ]
    return out, numpy_helper.from_array(np.zeros((), np.float32), zero)


def yunet_float_graph(path: Path) -> bytes:
    """OpenCV Zoo's YuNet int8bq file (already sha256-verified) as a float32 graph whose input
    may be any (1, 3, H, W) with H and W multiples of 32.

    Its weights are int8 with DequantizeLinear nodes per tensor, per channel or per block,
    some of which onnxruntime refuses as written (a block size on a per-tensor scale); they are
    evaluated here once, in numpy, and become plain float initializers."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(path.read_bytes())
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    live, folded = [], {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in values for i in node.input if i):
            folded[node.output[0]] = values[node.output[0]] = _dequantize(node, values)
        else:
            live.append(node)
    used = {i for n in live for i in n.input}
    initializers = [t for t in graph.initializer if t.name in used and t.name not in folded]
    initializers += [numpy_helper.from_array(v, k) for k, v in folded.items() if k in used]
    inputs = [i for i in graph.input if i.name == "input"]
    dims = inputs[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "H", "W"
    outputs = list(graph.output)
    for output in outputs:
        for d, name in zip(output.type.tensor_type.shape.dim, "BNC", strict=False):
            d.dim_param = name
    plain = helper.make_model(
        helper.make_graph(live, "yunet", inputs, outputs, initializers),
        opset_imports=model.opset_import,
    )
    plain.ir_version = model.ir_version
    return plain.SerializeToString()


def _dequantize(node, values: dict[str, np.ndarray]) -> np.ndarray:  # noqa: ANN001
    """(x - zero_point) * scale of one DequantizeLinear with constant inputs: per tensor, per
    channel along ``axis``, or per block of ``block_size`` along it."""
    from onnx import helper

    x = values[node.input[0]].astype(np.float32)
    scale = values[node.input[1]].astype(np.float32)
    has_zero = len(node.input) > 2 and node.input[2]
    zero = values[node.input[2]].astype(np.float32) if has_zero else np.zeros_like(scale)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    axis, block = int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
    if scale.size == 1:
        return ((x - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    if block:
        cut = [slice(None)] * x.ndim
        cut[axis] = slice(0, x.shape[axis])
        scale = np.repeat(scale, block, axis=axis)[tuple(cut)]
        zero = np.repeat(zero, block, axis=axis)[tuple(cut)]
        return ((x - zero) * scale).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    return ((x - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


# Faces per network run: activation memory grows with the batch while the time per face barely
# moves past 8 (sface+dlib 13.1 ms per face in batches of 8, 12.6 in batches of 32), so a
# 49-face frame runs as 7 batches. SFace runs faster in smaller ones (SFaceEmbedder._batch).
BATCH = 8


def run_batched(sess, name: str, batch: np.ndarray, size: int = BATCH) -> np.ndarray:  # noqa: ANN001
    """The session's first output for a non-empty batch, computed ``size`` rows at a time."""
    parts = [sess.run(None, {name: batch[i : i + size]})[0] for i in range(0, len(batch), size)]
    return np.concatenate(parts)
