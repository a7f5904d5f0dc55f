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
    folded = helper.make_model(
        helper.make_graph(live, "sface", inputs, outputs, initializers),
        opset_imports=model.opset_import,
    )
    folded.ir_version = model.ir_version
    return folded.SerializeToString()


# Faces per network run: activation memory grows with the batch while the time per face barely
# moves past 8 (sface+dlib 13.1 ms per face in batches of 8, 12.6 in batches of 32), so a
# 49-face frame runs as 7 batches.
BATCH = 8


def run_batched(sess, name: str, batch: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """The session's first output for a non-empty batch, computed BATCH rows at a time."""
    parts = [sess.run(None, {name: batch[i : i + BATCH]})[0] for i in range(0, len(batch), BATCH)]
    return np.concatenate(parts)
