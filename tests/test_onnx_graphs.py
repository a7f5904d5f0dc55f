"""The graph rewrites the networks run with change the time they take, never their numbers."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from rollcall.vision import models
from rollcall.vision.onnx_runtime import session, sface_float_graph, split_prelu


def _prelu_model(slopes: np.ndarray) -> onnx.ModelProto:
    rng = np.random.default_rng(5)
    weights = rng.normal(0, 1, (len(slopes), 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
            helper.make_node("PRelu", ["y", "slope"], ["out"]),
        ],
        "prelu",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(slopes.reshape(-1, 1, 1).astype(np.float32), "slope"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_split_prelu_gives_the_same_bits_for_every_slope() -> None:
    # Negative, zero, fractional and above-one slopes: PRelu's own answers, bit for bit.
    model = _prelu_model(np.array([-0.8, -0.1, 0.0, 0.25, 1.0, 1.12]))
    nodes, zero = split_prelu(list(model.graph.node))
    assert "PRelu" not in {n.op_type for n in nodes}
    split = onnx.ModelProto()
    split.CopyFrom(model)
    del split.graph.node[:]
    split.graph.node.extend(nodes)
    split.graph.initializer.append(zero)
    x = np.random.default_rng(6).normal(0, 50, (4, 3, 16, 16)).astype(np.float32)
    want = session(model.SerializeToString(), 1).run(None, {"x": x})[0]
    got = session(split.SerializeToString(), 1).run(None, {"x": x})[0]
    assert (want < 0).any() and (want > 0).any()
    assert np.array_equal(got, want)


def test_sface_graph_has_no_prelu_and_the_same_features(monkeypatch) -> None:  # noqa: ANN001
    import rollcall.vision.onnx_runtime as runtime

    path = models.model_path(models.SFACE)
    fast = onnx.load_from_string(sface_float_graph(path))
    assert "PRelu" not in {n.op_type for n in fast.graph.node}
    unused_zero = numpy_helper.from_array(np.zeros((), np.float32), "prelu_zero")
    monkeypatch.setattr(runtime, "split_prelu", lambda nodes: (nodes, unused_zero))
    plain = sface_float_graph(path)
    assert "PRelu" in {n.op_type for n in onnx.load_from_string(plain).graph.node}
    x = np.random.default_rng(7).uniform(0, 255, (5, 3, 112, 112)).astype(np.float32)
    want = session(plain, 1).run(None, {"data": x})[0]
    got = session(fast.SerializeToString(), 1).run(None, {"data": x})[0]
    assert np.array_equal(got, want)
