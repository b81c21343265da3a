"""nutpie's compiled core, loaded on its own and checked against the shapes we know.

Both nutpie paths, the default sampler on the precompiled kernel and the
PyMC engine, drive ``nutpie._lib`` (``LogpFunc``, ``PyMcModel``,
``PySampler``...) directly (:mod:`~bayes_sklearn.inference.nutpie_run`):
that skips the wrapper's heavy imports (ArviZ, pandas, pyarrow: about 2 s)
and its per-process compilation, but it is not a public API. Its call signatures are therefore checked when the core is loaded,
against every shape seen in the nutpie releases our pin allows; an unknown
shape raises :class:`NutpieVersionError` naming the versions, never a bare
``TypeError`` halfway through a fit.

Shapes seen (``__text_signature__`` of each release's extension):

- ``PySampler.from_pymc``: ``(settings, cores, model, progress_type, store)``
  in 0.16.0-0.16.8; 0.16.9 added ``extra_callback, extra_callback_rate``
  before ``store`` (seen through 0.16.11).
- every other entry point we call: unchanged in 0.16.0-0.16.11.
"""

from __future__ import annotations

import functools
import glob
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: nutpie releases whose compiled core was checked against the shapes below.
TESTED_VERSIONS = "0.16.0-0.16.11"

_FROM_PYMC_WITHOUT_CALLBACK = "(settings, cores, model, progress_type, store)"
_FROM_PYMC_WITH_CALLBACK = (
    "(settings, cores, model, progress_type, extra_callback, extra_callback_rate, store)"
)
_KNOWN_SIGNATURES: dict[str, frozenset[str]] = {
    "LogpFunc": frozenset({"(ptr, user_data_ptr, keep_alive)"}),
    "ExpandFunc": frozenset({"(dim, expanded_dim, ptr, user_data_ptr, keep_alive)"}),
    "PyVariable.new_variables": frozenset({"($cls, names, item_types, shapes, dim_sizes, dims)"}),
    "PyMcModel": frozenset(
        {"(density, expand, variables, dim, dim_sizes, coords, init_func, transform_adapter)"}
    ),
    "PyNutsSettings.Diag": frozenset({"(seed=None)"}),
    "ProgressType.template_callback": frozenset({"(rate, template, n_cores, callback)"}),
    "ProgressType.none": frozenset({"()"}),
    "PyStorage.arrow": frozenset({"()"}),
    "PySampler.from_pymc": frozenset({_FROM_PYMC_WITHOUT_CALLBACK, _FROM_PYMC_WITH_CALLBACK}),
}
_lib_lock = threading.Lock()


class NutpieVersionError(ImportError):
    """The installed nutpie's compiled core has a shape bayes_sklearn does not know."""


@dataclass(frozen=True)
class NutpieCore:
    """The checked core module and how to call the entry point whose shape varies.

    Attributes
    ----------
    lib : module
        ``nutpie._lib``.
    version : str
        The installed nutpie version.
    sampler_takes_callback : bool
        Whether ``PySampler.from_pymc`` takes nutpie >= 0.16.9's extra
        progress callback and its rate.
    """

    lib: ModuleType
    version: str
    sampler_takes_callback: bool

    def start_sampler(self, settings: Any, cores: int, model: Any, progress: Any) -> Any:
        """Start sampling in nutpie's threads; returns the running ``PySampler``."""
        store = self.lib.PyStorage.arrow()
        if self.sampler_takes_callback:
            return self.lib.PySampler.from_pymc(settings, cores, model, progress, None, 100, store)
        return self.lib.PySampler.from_pymc(settings, cores, model, progress, store)


def check_core(lib: ModuleType, version: str) -> NutpieCore:
    """Compare ``lib``'s signatures with the known shapes; raise on any other."""
    unknown = {}
    for name, known in _KNOWN_SIGNATURES.items():
        entry: Any = lib
        for part in name.split("."):
            entry = getattr(entry, part, None)
        signature = getattr(entry, "__text_signature__", None) if entry is not None else "missing"
        if signature not in known:
            unknown[name] = signature
    if unknown:
        found = "; ".join(f"{name}{sig}" if sig != "missing" else f"{name} is missing"
                          for name, sig in unknown.items())
        raise NutpieVersionError(
            f"nutpie {version} is installed, but its compiled core does not have the "
            f"shape bayes_sklearn's NUTS samplers were built for (checked on nutpie "
            f"{TESTED_VERSIONS}): {found}. Install a checked release, e.g. "
            f"pip install 'nutpie>=0.16,<=0.16.11', or fit with nuts_sampler='pymc' "
            "(PyMC's own sampler)."
        )
    signature = lib.PySampler.from_pymc.__text_signature__
    return NutpieCore(lib, version, signature == _FROM_PYMC_WITH_CALLBACK)


@functools.cache
def nutpie_core() -> NutpieCore:
    """nutpie's compiled extension, without the Python wrapper's heavy imports."""
    with _lib_lock:
        try:
            version = importlib.metadata.version("nutpie")
        except importlib.metadata.PackageNotFoundError:
            raise ImportError("The NUTS samplers need nutpie: pip install nutpie") from None
        if "nutpie._lib" in sys.modules:
            return check_core(sys.modules["nutpie._lib"], version)
        package = importlib.util.find_spec("nutpie")
        if package is None or not package.submodule_search_locations:
            raise ImportError("The NUTS samplers need nutpie: pip install nutpie")
        (path,) = glob.glob(os.path.join(package.submodule_search_locations[0], "_lib*.*"))
        loader = importlib.machinery.ExtensionFileLoader("nutpie._lib", path)
        spec = importlib.util.spec_from_file_location("nutpie._lib", path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        core = check_core(module, version)
        # Registered so that a later ``import nutpie`` reuses this very module.
        sys.modules["nutpie._lib"] = module
        return core
