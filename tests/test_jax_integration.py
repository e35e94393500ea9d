"""localconv as a JAX primitive: eager, jit, autodiff, vmap, export, sharding, mixed dtypes.

Every value here is compared with the same JAX transformation applied to JAX's own
`jax.lax.conv_general_dilated_local`, never with localconv itself. Cases come from the
hypothesis strategies in `strategies.py` or from `strategies.make_case`, which derive shapes
from the definition of the operation.

Two checks run in their own processes: the exported artifact is called by a process that
imports only jax and numpy (so it must not need localconv), and the sharding checks need four
host devices, which `XLA_FLAGS` can only create before jax initializes its backends.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from jax.test_util import check_grads
from jaxlib.mlir import ir
from parity_check import assert_same_result, tolerances
from strategies import Case, Layout, make_case, place

import localconv
from localconv.lowering.pass_base import ops_where

NHWC = ("NHWC", "HWIO", "NHWC")
NCHW = ("NCHW", "OIHW", "NCHW")
SEEDS = st.integers(0, 2**32 - 1)
Conv = Callable[[Any, Any], Any]


def local(case: Case) -> Conv:
    """localconv's unshared convolution with the case's parameters."""
    return lambda x, w: localconv.conv_general_dilated_local(x, w, *case.params)


def reference(case: Case) -> Conv:
    """JAX's unshared convolution with the case's parameters: the expected values."""
    return lambda x, w: lax.conv_general_dilated_local(x, w, *case.params)


def sin_loss(conv: Conv) -> Callable[[Any, Any], Any]:
    """sum(sin(out) * ramp), real part for complex results: a loss with non-trivial cotangents.

    The ramp weights every output element differently, so a result permuted along any axis
    (a batching rule that mixes up examples) changes the loss and its gradient.
    """

    def loss(x, w):
        out = conv(x, w)
        ramp = jnp.linspace(0.5, 1.5, out.size, dtype=jnp.float32).reshape(out.shape)
        return jnp.real(jnp.sum(jnp.sin(out) * ramp))

    return loss


def relayout(case: Case, dimension_numbers: Any) -> Case:
    """The same logical case (shapes, parameters, dtypes) in another layout."""
    logical_lhs = tuple(case.lhs_shape[p] for p in case.layout.lhs)
    layout = Layout.of(dimension_numbers, len(case.lhs_shape))
    return make_case(
        place(logical_lhs, layout.lhs),
        case.rhs_shape[case.layout.rhs[0]],
        *case.params[:5],
        dimension_numbers,
        case.precision,
        dtypes=(case.lhs_dtype, case.rhs_dtype),
    )


@st.composite
def layouts_cases(draw, dtypes: st.SearchStrategy[tuple[str, str]]) -> Case:
    """Cases from `strategies.cases` (odd permutations included), and 2-d ones in NHWC/HWIO."""
    if draw(st.booleans()):
        return draw(strategies.cases(dtypes=dtypes))
    return relayout(draw(strategies.cases(dtypes=dtypes, spatial_dims=st.just(2))), NHWC)


def grad_tolerances(case: Case) -> tuple[float, float]:
    """(rtol, atol) for gradients: forward error, times the terms a gradient entry sums.

    An lhs entry gathers up to O * prod(filter_shape) products, an rhs entry N of them. For
    complex results the loss's sin amplifies the forward rounding by up to |z cot z|, which
    grows with |Im z| (seen: 3.5x the real-valued bound in 4 of 300 seeds), hence 16x more.
    """
    rtol, atol = tolerances(case)
    batch = case.lhs_shape[case.layout.lhs[0]]
    out_features = case.rhs_shape[case.layout.rhs[0]]
    terms = max(batch, out_features * math.prod(case.filter_shape), 1)
    conditioning = 16 if "complex" in case.lhs_dtype + case.rhs_dtype else 1
    return 4 * rtol * conditioning, atol * terms * conditioning


def assert_trees_close(actual: Any, expected: Any, tol: tuple[float, float], what: str) -> None:
    """Same tree structure, dtypes and shapes; values within (rtol, atol)."""
    actual_leaves, actual_tree = jax.tree.flatten(actual)
    expected_leaves, expected_tree = jax.tree.flatten(expected)
    assert actual_tree == expected_tree, f"{what}: tree {actual_tree} != JAX's {expected_tree}"
    for i, (a, e) in enumerate(zip(actual_leaves, expected_leaves, strict=True)):
        assert a.dtype == e.dtype, f"{what}[{i}]: dtype {a.dtype} != JAX's {e.dtype}"
        assert a.shape == e.shape, f"{what}[{i}]: shape {a.shape} != JAX's {e.shape}"
        wide = np.complex128 if jnp.issubdtype(e.dtype, jnp.complexfloating) else np.float64
        np.testing.assert_allclose(
            np.asarray(a).astype(wide),
            np.asarray(e).astype(wide),
            rtol=tol[0],
            atol=tol[1],
            err_msg=f"{what}[{i}] differs from JAX's",
        )


def random_like(array: jax.Array, seed: int) -> jax.Array:
    """Standard normal entries of `array`'s shape and dtype."""
    return strategies.random_array(np.random.default_rng(seed), array.shape, array.dtype.name)


def walk(op: ir.Operation) -> list[ir.Operation]:
    """`op` and every operation nested in it."""
    return ops_where(op, lambda _: True)


def stablehlo_op_names(jitted: Any, *args: Any) -> set[str]:
    """The names of all ops in the StableHLO that `jitted.lower(*args)` produces."""
    cached = jitted.lower(*args).compiler_ir("stablehlo")
    module = ir.Module.parse(str(cached), context=cached.context)
    return {op.name for op in walk(module.operation)}


def run_python(source: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Runs `source` with `args` in a fresh interpreter; its stdout, once it exited with 0."""
    result = subprocess.run(
        [sys.executable, "-c", source, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"subprocess exited with {result.returncode}\n{output}"
    return result.stdout


# --- 1. eager and jit ----------------------------------------------------------------------


@pytest.mark.xla
@settings(max_examples=strategies.examples(40))
@given(layouts_cases(strategies.dtype_pairs(("float32", "bfloat16", "float16"))), SEEDS)
def test_eager_and_jit_match_jax(case: Case, seed: int) -> None:
    lhs, rhs = case.operands(seed)
    expected = jax.jit(reference(case))(lhs, rhs)
    assert expected.shape == case.out_shape, "the strategy's shape rule disagrees with JAX"
    assert_same_result(local(case)(lhs, rhs), expected, case, "eager")
    assert_same_result(jax.jit(local(case))(lhs, rhs), expected, case, "jax.jit")


# --- 2. autodiff ---------------------------------------------------------------------------


def derivatives(conv: Conv) -> Callable[..., Any]:
    """jit of (grad of sin_loss, vjp with cotangent ct, jvp with tangents tx, tw) of `conv`."""

    def run(x, w, ct, tx, tw):
        grads = jax.grad(sin_loss(conv), argnums=(0, 1))(x, w)
        out, pullback = jax.vjp(conv, x, w)
        return {"grad": grads, "vjp": (out, pullback(ct)), "jvp": jax.jvp(conv, (x, w), (tx, tw))}

    return jax.jit(run)


@pytest.mark.xla
@settings(max_examples=strategies.examples(25))
@given(layouts_cases(st.just(("float32", "float32"))), SEEDS)
def test_grad_vjp_jvp_match_jax(case: Case, seed: int) -> None:
    lhs, rhs = case.operands(seed)
    ct = strategies.random_array(np.random.default_rng(seed + 1), case.out_shape, "float32")
    tx, tw = random_like(lhs, seed + 2), random_like(rhs, seed + 3)
    actual = derivatives(local(case))(lhs, rhs, ct, tx, tw)
    expected = derivatives(reference(case))(lhs, rhs, ct, tx, tw)
    forward = tuple(3 * t for t in tolerances(case))
    assert_trees_close(actual["grad"], expected["grad"], grad_tolerances(case), f"grad of {case}")
    assert_trees_close(actual["vjp"], expected["vjp"], grad_tolerances(case), f"vjp of {case}")
    assert_trees_close(actual["jvp"], expected["jvp"], forward, f"jvp of {case}")


F64 = ("float64", "float64")
SMALL_CASES = {
    "1d-strided-dilated-cropped": make_case(
        (2, 2, 6), 2, (2,), [(2, -1)], (2,), lhs_dilation=(2,), rhs_dilation=(2,), dtypes=F64
    ),
    "2d-nhwc-negative-padding": make_case(
        (1, 5, 4, 2), 2, (1, 2), [(-1, 2), (1, -1)], (2, 2), (1, 2), (2, 1), NHWC, dtypes=F64
    ),
    "2d-permuted-same": make_case(
        (3, 3, 2, 4),
        2,
        (2, 1),
        "SAME",
        (3, 2),
        rhs_dilation=(1, 2),
        dimension_numbers=lax.ConvDimensionNumbers((2, 3, 0, 1), (3, 0, 1, 2), (1, 0, 3, 2)),
        dtypes=F64,
    ),
}


@pytest.mark.xla
@pytest.mark.parametrize("name", SMALL_CASES)
def test_check_grads_second_order_float64(name: str) -> None:
    case = SMALL_CASES[name]
    with jax.enable_x64(True):
        lhs, rhs = case.operands(seed=7)
        assert lhs.dtype == rhs.dtype == jnp.float64
        assert jnp.any(reference(case)(lhs, rhs) != 0), "a case whose every output is 0 checks nothing"
        check_grads(local(case), (lhs, rhs), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", SMALL_CASES)
def test_gradient_has_no_convolution(name: str) -> None:
    case = dataclasses.replace(SMALL_CASES[name], lhs_dtype="float32", rhs_dtype="float32")
    lhs, rhs = case.operands(seed=0)
    local_ops = stablehlo_op_names(jax.jit(jax.grad(sin_loss(local(case)), argnums=(0, 1))), lhs, rhs)
    assert "stablehlo.convolution" not in local_ops, f"a convolution in the gradient of {case}"
    assert "stablehlo.dot_general" in local_ops
    # The walk sees convolutions where they are: JAX's own gradient is made of them.
    jax_ops = stablehlo_op_names(jax.jit(jax.grad(sin_loss(reference(case)), argnums=(0, 1))), lhs, rhs)
    assert "stablehlo.convolution" in jax_ops


# --- 3. vmap -------------------------------------------------------------------------------

VMAP_CASES = {
    "nchw-strided-dilated": make_case((2, 3, 6, 5), 4, (2, 1), [(1, -1), (2, 0)], (2, 3), (1, 2), (2, 1)),
    "nhwc-same": make_case((2, 6, 5, 3), 2, (1, 2), "SAME", (3, 2), dimension_numbers=NHWC),
}
BATCH = 3


def batched(array: jax.Array, axis: int | None, seed: int, size: int = BATCH) -> jax.Array:
    """`size` random arrays like `array`, stacked along `axis` (`array` itself when None)."""
    if axis is None:
        return array
    shape = list(array.shape)
    shape.insert(axis, size)
    return strategies.random_array(np.random.default_rng(seed), tuple(shape), array.dtype.name)


def assert_transform_matches(case: Case, transform: Callable[[Conv], Callable[..., Any]], *args: Any) -> None:
    """transform(localconv) equals transform(JAX) on args, eagerly."""
    actual = transform(local(case))(*args)
    expected = transform(reference(case))(*args)
    assert_trees_close(actual, expected, grad_tolerances(case), f"{case}")


@pytest.mark.xla
@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (2, None), (None, 0), (None, 3), (0, 0), (3, 1)], ids=str)
def test_vmap(name: str, in_axes: tuple[int | None, int | None]) -> None:
    case = VMAP_CASES[name]
    lhs, rhs = case.operands(seed=1)
    args = batched(lhs, in_axes[0], 2), batched(rhs, in_axes[1], 3)
    assert_transform_matches(case, lambda conv: jax.vmap(conv, in_axes=in_axes), *args)


@pytest.mark.xla
@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize(
    "inner, outer", [((0, None), (0, None)), ((0, None), (None, 0)), ((1, 0), (0, 2))], ids=str
)
def test_nested_vmap(name: str, inner: tuple, outer: tuple) -> None:
    case = VMAP_CASES[name]
    lhs, rhs = case.operands(seed=1)
    lhs, rhs = batched(lhs, inner[0], 2), batched(rhs, inner[1], 3)
    lhs, rhs = batched(lhs, outer[0], 4, size=2), batched(rhs, outer[1], 5, size=2)
    assert_transform_matches(
        case, lambda conv: jax.vmap(jax.vmap(conv, in_axes=inner), in_axes=outer), lhs, rhs
    )


@pytest.mark.xla
@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (1, 0)], ids=str)
def test_grad_of_vmap(name: str, in_axes: tuple) -> None:
    case = VMAP_CASES[name]
    lhs, rhs = case.operands(seed=1)
    args = batched(lhs, in_axes[0], 2), batched(rhs, in_axes[1], 3)
    assert_transform_matches(
        case, lambda conv: jax.grad(sin_loss(jax.vmap(conv, in_axes=in_axes)), argnums=(0, 1)), *args
    )


@pytest.mark.xla
@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)], ids=str)
def test_vmap_of_grad(name: str, in_axes: tuple) -> None:
    case = VMAP_CASES[name]
    lhs, rhs = case.operands(seed=1)
    args = batched(lhs, in_axes[0], 2), batched(rhs, in_axes[1], 3)
    assert_transform_matches(
        case, lambda conv: jax.vmap(jax.grad(sin_loss(conv), argnums=(0, 1)), in_axes=in_axes), *args
    )


# --- 4. jax.export -------------------------------------------------------------------------

EXPORT_CASE = make_case((2, 7, 6, 3), 4, (2, 1), [(1, -1), (2, 1)], (3, 2), (1, 2), (2, 1), NHWC)

EXPORT_CHECK = """
import sys
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

PARAMS = {params!r}
RTOL, ATOL = {tolerances!r}
exported = jax.export.deserialize(bytearray(open("conv.jax", "rb").read()))
data = np.load("operands.npz")
lhs, rhs = jnp.asarray(data["lhs"]), jnp.asarray(data["rhs"])

def reference(x, w):
    return lax.conv_general_dilated_local(x, w, *PARAMS)

def loss(conv):
    return lambda x, w: jnp.sum(jnp.sin(conv(x, w)))

checks = {{
    "call": (exported.call(lhs, rhs), jax.jit(reference)(lhs, rhs)),
    "jit(call)": (jax.jit(exported.call)(lhs, rhs), reference(lhs, rhs)),
}}
actual_grads = jax.grad(loss(exported.call), argnums=(0, 1))(lhs, rhs)
expected_grads = jax.grad(loss(reference), argnums=(0, 1))(lhs, rhs)
checks.update({{f"grad[{{i}}]": pair for i, pair in enumerate(zip(actual_grads, expected_grads))}})
for what, (actual, expected) in checks.items():
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (what, actual, expected)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("localconv", "compiler"))
assert not loaded, f"the exported artifact pulled in {{loaded}}"
print("checked", sorted(checks))
"""


@pytest.mark.xla
def test_export_round_trip_without_localconv(tmp_path: Path) -> None:
    case = EXPORT_CASE
    lhs, rhs = case.operands(seed=5)
    exported = jax.export.export(jax.jit(local(case)))(lhs, rhs)
    (tmp_path / "conv.jax").write_bytes(exported.serialize(vjp_order=1))
    np.savez(tmp_path / "operands.npz", lhs=np.asarray(lhs), rhs=np.asarray(rhs))
    source = EXPORT_CHECK.format(params=case.params, tolerances=grad_tolerances(case))
    stdout = run_python(source, cwd=tmp_path)
    assert "checked ['call', 'grad[0]', 'grad[1]', 'jit(call)']" in stdout


# --- 5. sharding over four host devices ----------------------------------------------------

DEVICES = 4
SHARDING_RUN = """
import json
import sys
import traceback
from pathlib import Path

import jax
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import localconv

out_dir = Path(sys.argv[1])
configs = json.loads((out_dir / "configs.json").read_text())
assert len(jax.devices()) == 4, jax.devices()
mesh = Mesh(np.array(jax.devices()), ("x",))


def sharding(dim, ndim):
    spec = [None] * ndim
    if dim is not None:
        spec[dim] = "x"
    return NamedSharding(mesh, PartitionSpec(*spec))


for name, config in configs.items():
    try:
        rng = np.random.default_rng(0)
        lhs = rng.standard_normal(config["lhs_shape"]).astype(np.float32)
        rhs = rng.standard_normal(config["rhs_shape"]).astype(np.float32)
        window_strides, padding, filter_shape, dimension_numbers = config["params"]
        params = dict(
            window_strides=window_strides,
            padding=padding,
            filter_shape=filter_shape,
            dimension_numbers=tuple(dimension_numbers),
        )
        lhs_sharding, rhs_sharding, out_sharding = (
            sharding(config[key], 4) for key in ("lhs_dim", "rhs_dim", "out_dim")
        )
        jitted = jax.jit(
            lambda x, w: localconv.conv_general_dilated_local(x, w, **params),
            in_shardings=(lhs_sharding, rhs_sharding),
            out_shardings=out_sharding,
        )
        args = jax.device_put(lhs, lhs_sharding), jax.device_put(rhs, rhs_sharding)
        actual = jitted(*args)
        expected = jax.jit(lambda x, w: lax.conv_general_dilated_local(x, w, **params))(lhs, rhs)
        np.savez(out_dir / f"{name}.npz", actual=np.asarray(actual), expected=np.asarray(expected))
        shards = sorted({tuple(s.data.shape) for s in actual.addressable_shards})
        (out_dir / f"{name}.json").write_text(json.dumps({"out_shard_shapes": shards}))
        (out_dir / f"{name}.hlo").write_text(jitted.lower(*args).compile().as_text())
    except Exception:
        (out_dir / f"{name}.error").write_text(traceback.format_exc())
print("done")
"""


def sharding_config(dimension_numbers: tuple[str, str, str], mode: str) -> dict[str, Any]:
    """A 3x3 SAME layer with 8 output rows, sharded over the batch or over output rows."""
    layout = Layout.of(dimension_numbers, 4)
    case = make_case(
        place((4, 3, 8, 6), layout.lhs), 5, (1, 1), "SAME", (3, 3), dimension_numbers=dimension_numbers
    )
    assert case.out_spatial[0] == 8
    if mode == "batch":
        dims = {"lhs_dim": layout.lhs[0], "rhs_dim": None, "out_dim": layout.out[0]}
    else:
        dims = {"lhs_dim": layout.lhs[2], "rhs_dim": layout.rhs[2], "out_dim": layout.out[2]}
    return {
        "lhs_shape": case.lhs_shape,
        "rhs_shape": case.rhs_shape,
        "out_shape": case.out_shape,
        "params": [case.window_strides, case.padding, case.filter_shape, dimension_numbers],
        **dims,
    }


SHARDING_CONFIGS = {
    f"{layout[0]}-{mode}": sharding_config(layout, mode)
    for layout in (NHWC, NCHW)
    for mode in ("batch", "spatial")
}


@pytest.fixture(scope="module")
def sharded_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs every sharding config in one 4-device subprocess; its output folder."""
    out_dir = tmp_path_factory.mktemp("sharding")
    (out_dir / "configs.json").write_text(json.dumps(SHARDING_CONFIGS))
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES}"
    env = {**os.environ, "XLA_FLAGS": flags.strip(), "JAX_PLATFORMS": "cpu"}
    run_python(SHARDING_RUN, out_dir, str(out_dir), env=env)
    return out_dir


def sharded_run(out_dir: Path, name: str) -> Path:
    """The output prefix of config `name`, after asserting that it ran without an exception."""
    error = out_dir / f"{name}.error"
    assert not error.exists(), f"sharded run {name} raised:\n{error.read_text()}"
    return out_dir / name


def sliced(shape: list[int], dim: int | None) -> tuple[int, ...]:
    """A per-device shape: `shape` with `dim` split over the devices (unchanged when None)."""
    return tuple(size // DEVICES if i == dim else size for i, size in enumerate(shape))


def entry_parameter_shapes(hlo: str) -> list[tuple[int, ...]]:
    """The parameter shapes in the signature of the ENTRY computation of HLO text."""
    (signature,) = re.findall(r"^ENTRY %\S+ \((.*)\) -> ", hlo, re.MULTILINE)
    return [tuple(int(d) for d in dims.split(",") if d) for dims in re.findall(r"\w+\[([\d,]*)\]", signature)]


def parenthesized(text: str) -> str:
    """What lies between the parenthesis that opens `text` and the one that matches it."""
    depth = 0
    for end, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return text[1:end]
    raise ValueError(f"unbalanced parentheses in {text!r}")


def parse_instruction(line: str) -> tuple[str, str, str, list[str]] | None:
    """(name, opcode, operand text, operand names) of an HLO instruction line, or None."""
    match = re.match(r"\s+(?:ROOT )?%(\S+) = ", line)
    if not match:
        return None
    rest = line[match.end() :]
    if rest.startswith("("):  # a tuple type
        rest = rest[len(parenthesized(rest)) + 2 :].lstrip()
    else:
        rest = rest.split(" ", 1)[1]
    opcode, _, tail = rest.partition("(")
    operands = parenthesized("(" + tail)
    return match.group(1), opcode, operands, re.findall(r"%([\w.\-]+)", operands)


def all_gathers_of_parameter(hlo: str, index: int) -> list[str]:
    """All-gathers that depend on ENTRY parameter `index`, and every all-gather outside ENTRY."""
    entry: dict[str, tuple[str, str, list[str]]] = {}
    suspicious, in_entry = [], False
    for line in hlo.splitlines():
        if line.startswith("ENTRY "):
            in_entry = True
        elif line.startswith("}"):
            in_entry = False
        instruction = parse_instruction(line)
        if instruction is None:
            continue
        name, opcode, operand_text, operands = instruction
        if in_entry:
            entry[name] = (opcode, operand_text, operands)
        elif opcode.startswith("all-gather"):
            suspicious.append(line.strip())
    (parameter,) = [n for n, (op, text, _) in entry.items() if op == "parameter" and text == str(index)]

    def depends(name: str, seen: set[str]) -> bool:
        if name == parameter:
            return True
        seen.add(name)
        return any(depends(o, seen) for o in entry.get(name, ("", "", []))[2] if o not in seen)

    gathers = [n for n, (op, _, _) in entry.items() if op.startswith("all-gather") and depends(n, set())]
    return gathers + suspicious


@pytest.mark.xla
@pytest.mark.parametrize("name", SHARDING_CONFIGS)
def test_sharded_equals_single_device(sharded_runs: Path, name: str) -> None:
    config = SHARDING_CONFIGS[name]
    prefix = sharded_run(sharded_runs, name)
    values = np.load(prefix.with_suffix(".npz"))
    assert values["actual"].shape == tuple(config["out_shape"])
    np.testing.assert_allclose(values["actual"], values["expected"], rtol=1e-5, atol=1e-4)
    shards = json.loads(prefix.with_suffix(".json").read_text())["out_shard_shapes"]
    assert shards == [list(sliced(config["out_shape"], config["out_dim"]))]


@pytest.mark.xla
@pytest.mark.parametrize("name", SHARDING_CONFIGS)
def test_sharded_rhs_stays_sliced(sharded_runs: Path, name: str) -> None:
    config = SHARDING_CONFIGS[name]
    hlo = sharded_run(sharded_runs, name).with_suffix(".hlo").read_text()
    lhs_shape, rhs_shape = entry_parameter_shapes(hlo)
    assert lhs_shape == sliced(config["lhs_shape"], config["lhs_dim"])
    assert rhs_shape == sliced(config["rhs_shape"], config["rhs_dim"])
    assert all_gathers_of_parameter(hlo, 1) == [], "rhs is all-gathered"


def test_hlo_parsing_finds_an_all_gather_of_a_parameter() -> None:
    hlo = textwrap.dedent(
        """\
        ENTRY %main (param: f32[2,8], param.1: f32[1,4]) -> f32[4,4] {
          %param = f32[2,8]{1,0} parameter(0), sharding={devices=[4,1]<=[4]}
          %param.1 = f32[1,4]{1,0} parameter(1), metadata={op_name="jit(f)/w"}
          %copy = f32[1,4]{1,0} copy(%param.1)
          %ags = (f32[1,4]{1,0}, f32[4,4]{1,0}) all-gather-start(%copy), channel_id=1, dimensions={0}
          %agd = f32[4,4]{1,0} all-gather-done(%ags)
          %x = f32[4,4]{1,0} all-gather(%param), channel_id=2, dimensions={0}, metadata={op_name="f(x)"}
          ROOT %sum = f32[4,4]{1,0} add(%agd, %x)
        }
        """
    )
    assert entry_parameter_shapes(hlo) == [(2, 8), (1, 4)]
    assert all_gathers_of_parameter(hlo, 1) == ["ags", "agd"]
    assert all_gathers_of_parameter(hlo, 0) == ["x"]


# --- 6. mixed dtypes -----------------------------------------------------------------------

MIXED = (("float32", "float16"), ("float16", "float32"), ("complex64", "float32"), ("float32", "complex64"))


@pytest.mark.xla
@settings(max_examples=strategies.examples(12))
@given(strategies.cases(dtypes=st.sampled_from(MIXED), spatial_dims=st.sampled_from([1, 2])), SEEDS)
def test_mixed_dtypes_jit_and_grad(case: Case, seed: int) -> None:
    lhs, rhs = case.operands(seed)

    def jitted(conv: Conv) -> Any:
        return jax.jit(lambda x, w: (conv(x, w), jax.grad(sin_loss(conv), argnums=(0, 1))(x, w)))(lhs, rhs)

    (actual, actual_grads), (expected, expected_grads) = jitted(local(case)), jitted(reference(case))
    assert_same_result(actual, expected, case, "jit")
    assert_trees_close(actual_grads, expected_grads, grad_tolerances(case), f"grad of {case}")
