"""A PyMC model's log density as a C function for nutpie's core, cached on disk.

The PyMC engine (:mod:`~bayes_sklearn.inference.pymc_engine`) samples the
reference model with nutpie's NUTS, as ``nutpie.compile_pymc_model`` would,
but without its two costs per process: the numba wrappers nutpie compiles
around PyTensor's function (about 5 s, never cached, because they hold the
data as constants) and the import of nutpie's Python wrapper.

Here PyTensor's numba backend compiles the log density and its gradient
(that compilation is cached on disk by PyTensor, keyed by the graph), and a
small generated wrapper in nutpie's C calling convention reads the data
through pointers in an int64 header, so it holds no data and numba caches it
on disk too, under PyTensor's key for the graph plus a hash of the wrapper's
source. A new process then compiles nothing it has compiled before; a new
fit of a compiled structure only writes a new header.

PyTensor internals used: ``Function.vm.jit_fn`` (the jitted graph; also what
nutpie uses) and ``pytensor.link.numba.cache`` (its cache keys; absent in
older releases such as 2.26, the oldest our pins allow, where the wrappers
are compiled once per process instead). CI runs these tests on both ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from bayes_sklearn.inference.nutpie_run import CDensity

_JITTER = 1.0


@dataclass(frozen=True)
class _Slot:
    """Where one data array sits in the header: ``[address, *shape]`` from ``offset``."""

    name: str
    offset: int
    ndim: int
    dtype: np.dtype


@dataclass(frozen=True)
class Output:
    """One stored variable: its name, its span in an expanded draw, its shape."""

    name: str
    start: int
    shape: tuple[int, ...]

    @property
    def stop(self) -> int:
        return self.start + prod(self.shape)


@dataclass(frozen=True)
class CompiledModel:
    """A PyMC model's log density and draw expansion, compiled for nutpie's core.

    Attributes
    ----------
    n_dim : int
        Size of the unconstrained vector nutpie samples.
    outputs : tuple of Output
        The free variables (constrained) and Deterministics of each draw.
    slots : tuple of _Slot
        The header layout: one entry per data array the functions read.
    logp, expand : numba cfunc
        The C functions (kept here so their code stays alive).
    initial_point : callable
        PyMC's initial point function of ``model`` (prior centres, unconstrained).
    value_names : tuple of str
        The value variables in the order of the sampled vector.
    cache_keys : tuple of (str or None)
        The disk-cache keys of the logp and expand wrappers (None: not
        cached). PyTensor's rewrites of one model do not always give the same
        graph (two variants of one model's graph were seen), so one structure
        may have more than one key, each compiled once.
    """

    n_dim: int
    outputs: tuple[Output, ...]
    slots: tuple[_Slot, ...]
    logp: Any
    expand: Any
    initial_point: Any
    value_names: tuple[str, ...]
    cache_keys: tuple[str | None, str | None] = (None, None)

    @property
    def n_expanded(self) -> int:
        return self.outputs[-1].stop if self.outputs else 0

    def density(self, values: dict[str, np.ndarray], start: np.ndarray) -> CDensity:
        """The density on new data, chains started at ``start`` jittered by
        U(-1, 1) (PyMC's default).

        ``values`` holds every shared value the functions read, by name: the
        ``pm.Data`` of a model of the same structure and its dim lengths.
        """
        arrays, header = [], []
        for slot in self.slots:
            # (np.ascontiguousarray would make a 0-d value 1-d)
            array = np.require(np.asarray(values[slot.name], dtype=slot.dtype), requirements="C")
            if array.ndim != slot.ndim:
                raise ValueError(f"the data {slot.name!r} have {array.ndim} dimensions; the "
                                 f"compiled model was built for {slot.ndim}")
            arrays.append(array)
            header += [array.ctypes.data, *array.shape]
        header_array = np.array(header or [0], dtype=np.int64)
        start = np.array(start, dtype=np.float64)

        def initial_point(seed: int) -> np.ndarray:
            rng = np.random.default_rng(seed)
            return start + rng.uniform(-_JITTER, _JITTER, self.n_dim)

        return CDensity(self.logp.address, self.expand.address, header_array.ctypes.data,
                        (header_array, arrays, self), self.n_dim, self.n_expanded,
                        initial_point)

    def split(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Expanded draws ``(chains, draws, n_expanded)`` by variable name."""
        lead = draws.shape[:-1]
        return {out.name: draws[..., out.start:out.stop].reshape(*lead, *out.shape)
                for out in self.outputs}


def compile_model(model) -> CompiledModel:
    """Compile ``model``'s log density, gradient and draw expansion for nutpie's core."""
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    free = list(model.free_RVs)
    value_vars = [model.rvs_to_values[rv] for rv in free]
    initial_point = pm.initial_point.make_initial_point_fn(
        model=model, return_transformed=True, jitter_rvs=set()
    )
    point = initial_point(0)
    shapes = [tuple(np.shape(point[v.name])) for v in value_vars]
    n_dim = sum(prod(shape) for shape in shapes)

    joined = pt.TensorType("float64", shape=(n_dim,))("unconstrained_point")
    replacements, start = {}, 0
    for var, shape in zip(value_vars, shapes):
        size = prod(shape)
        replacements[var] = joined[start:start + size].reshape(shape).astype(var.dtype)
        start += size
    # as nutpie does: without this pass, PyTensor's key for the rewritten graph
    # varied with the number of rows, so each new data size compiled anew
    logp = pytensor.graph.rewrite_graph(model.logp(), include=["canonicalize", "stabilize"])
    grad = pt.concatenate([pt.as_tensor(g).ravel()
                           for g in pytensor.gradient.grad(logp, value_vars)])
    logp, grad = pytensor.clone_replace([logp, grad], replacements)

    stored = {rv.name for rv in free} | {var.name for var in model.deterministics}
    kept = [var for var in model.unobserved_value_vars if var.name in stored]
    kept_outputs = pytensor.clone_replace(kept, replacements)
    expanded = pt.concatenate([pt.as_tensor(var).ravel() for var in kept_outputs])

    mode = "NUMBA"
    logp_fn = pytensor.function([joined], [logp, grad], mode=mode, on_unused_input="ignore")
    expand_fn = pytensor.function([joined], [expanded], mode=mode, on_unused_input="ignore")
    shape_fn = pytensor.function([joined], [var.shape for var in kept_outputs],
                                 mode="FAST_COMPILE", on_unused_input="ignore")
    outputs, position = [], 0
    for var, shape in zip(kept, shape_fn(np.zeros(n_dim))):
        outputs.append(Output(var.name, position, tuple(int(s) for s in shape)))
        position = outputs[-1].stop

    by_name: dict[str, _Slot] = {}
    offset = 0
    for var in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        if var.name not in by_name:
            value = np.asarray(var.get_value(borrow=True))
            by_name[var.name] = _Slot(var.name, offset, value.ndim, value.dtype)
            offset += 1 + value.ndim
    slots = list(by_name.values())
    logp_slots = [by_name[var.name] for var in logp_fn.get_shared()]
    expand_slots = [by_name[var.name] for var in expand_fn.get_shared()]
    model_key = _model_key(model)
    logp_c, logp_key = _wrap("logp", _jit_function(logp_fn), logp_slots, offset, n_dim,
                             model_key=model_key)
    expand_c, expand_key = _wrap("expand", _jit_function(expand_fn), expand_slots, offset,
                                 n_dim, position, model_key=model_key)
    return CompiledModel(n_dim, tuple(outputs), tuple(slots), logp_c, expand_c,
                         initial_point, tuple(v.name for v in value_vars),
                         (logp_key, expand_key))


def start_point(compiled: CompiledModel) -> np.ndarray:
    """PyMC's initial point of the compiled model (at its current data), flattened."""
    point = compiled.initial_point(0)
    return np.concatenate([np.ravel(point[name]) for name in compiled.value_names])


def _jit_function(fn):
    jit_fn = getattr(getattr(fn, "vm", None), "jit_fn", None)
    if jit_fn is None:
        import pytensor

        raise RuntimeError(
            f"PyTensor {pytensor.__version__}'s numba functions have no vm.jit_fn, which "
            "the PyMC engine compiles against (PyTensor 2.26-2.38 have it). Fit with "
            "nuts_sampler='pymc', or install a PyTensor release in that range."
        )
    return jit_fn


def _reads(slots: list[_Slot]) -> list[str]:
    lines = []
    for k, slot in enumerate(slots):
        shape = "".join(f"header[{slot.offset + 1 + d}], " for d in range(slot.ndim))
        lines.append(f"    s{k} = numba.carray(_as_pointer(header[{slot.offset}]), ({shape}), "
                     f"np.{slot.dtype.name})")
    return lines


# Codes as nutpie's own wrapper: 1 for an exception in the graph (a parameter
# check failing at a point outside the support), 4 for a non-finite log
# density, 3 for a non-finite gradient.
_LOGP_BODY = """
    x = numba.carray(x_, ({n_dim},))
    try:
        logp_value, grad = jit_fn(x{args})
    except Exception:
        return 1
    logp = numba.carray(logp_, ())
    logp[()] = logp_value
    out = numba.carray(grad_, ({n_dim},))
    out[...] = grad
    if not np.isfinite(logp[()]):
        return 4
    for i in range({n_dim}):
        if not np.isfinite(out[i]):
            return 3
    return 0
"""

_EXPAND_BODY = """
    x = numba.carray(x_, ({n_dim},))
    try:
        (values,) = jit_fn(x{args})
    except Exception:
        return 1
    out = numba.carray(out_, (n_expanded,))
    out[...] = values
    return 0
"""


def _wrap(kind: str, jit_fn, slots: list[_Slot], header_size: int, n_dim: int,
          n_expanded: int = 0, *, model_key: str = ""):
    """The C function around ``jit_fn`` (PyTensor's jitted graph) and its cache key:
    disk-cached under ``model_key`` (see :func:`_model_key`) and the wrapper's
    source where PyTensor caches the graph, else None."""
    import numba

    from bayes_sklearn.inference import _kernel

    name = f"{kind}_wrapper"
    head = (f"def {name}(dim, x_, grad_, logp_, user_data):" if kind == "logp"
            else f"def {name}(dim, n_expanded, x_, out_, user_data):")
    args = "".join(f", s{k}" for k in range(len(slots)))
    body = (_LOGP_BODY if kind == "logp" else _EXPAND_BODY).format(n_dim=n_dim, args=args)
    source = "\n".join([
        head,
        f"    if dim != {n_dim}:" if kind == "logp"
        else f"    if dim != {n_dim} or n_expanded != {n_expanded}:",
        "        return -1",
        f"    header = numba.carray(user_data, ({max(header_size, 1)},), np.int64)",
        *_reads(slots),
    ]) + body
    env = {"__name__": __name__, "numba": numba, "np": np,
           "_as_pointer": _kernel._as_pointer, "jit_fn": jit_fn}
    signature = _kernel.LOGP_SIGNATURE if kind == "logp" else _kernel.EXPAND_SIGNATURE
    if _graph_cache_key(jit_fn) is None:
        local: dict[str, Any] = {}
        exec(compile(source, f"<bayes_sklearn {kind}>", "exec"), env, local)
        return numba.cfunc(signature, nogil=True)(local[name]), None
    from pytensor.link.numba.cache import compile_numba_function_src

    digest = hashlib.sha256(f"{source}\n{model_key}".encode()).hexdigest()
    key = f"bayes_sklearn_{kind}_{digest}"
    function = compile_numba_function_src(source, name, env, cache_key=key)
    return numba.cfunc(signature, nogil=True, cache=True)(function), key


def _model_key(model) -> str:
    """A key of the model's graph as PyMC builds it, before any rewrite.

    PyTensor's own key is of the rewritten graph, and its rewrites do not
    always run in the same order: a crossed model got a new key in every
    process (three keys in three runs, whatever PYTHONHASHSEED), so its
    first fit compiled for 20-40 s each time. The unrewritten graph prints the
    same in every process and holds no data (``pm.Data`` and dim lengths are
    shared variables); the rewritten graphs it gives are equivalent, so the
    code cached under its key serves them all.
    """
    import pymc as pm
    import pytensor

    text = pytensor.printing.debugprint(
        [model.logp(), *model.unobserved_value_vars], file="str", print_type=True)
    return hashlib.sha256(
        f"{text}\npymc {pm.__version__} pytensor {pytensor.__version__}".encode()
    ).hexdigest()


def _graph_cache_key(jit_fn) -> str | None:
    """PyTensor's disk-cache key of a jitted graph, or None (no caching)."""
    try:
        from pytensor import config
        from pytensor.link.numba import cache
    except ImportError:
        return None
    keys = getattr(cache, "CACHED_SRC_FUNCTIONS", None)
    py_func = getattr(jit_fn, "py_func", None)
    if (not config.numba__cache or keys is None or py_func is None
            or not hasattr(cache, "compile_numba_function_src")):
        return None
    return keys.get(py_func)
