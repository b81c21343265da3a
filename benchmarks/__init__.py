"""Benchmark suite of bayes_sklearn: ``python -m benchmarks``.

Each workload of the performance issue is a module here (``fit_logistic``,
``cross_val``, ``gradient``, ``exact``, ``advi``, ``radon``, ``predict``,
``import_and_pickle``) with a ``run(config)`` that measures bayes_sklearn and
its peers in the same run and returns a
:class:`~benchmarks._harness.WorkloadResult` (tables, ratios, targets). The
module docstrings say what each workload measures and how.

Measurements run in fresh processes (:mod:`benchmarks._worker` or
``python -c``), so workload modules import only the standard library at
module level and import numpy, PyMC or bayes_sklearn inside the task
functions, after the task has started timing its imports.

This package is not part of the test suite (pytest collects ``tests/`` and
``bayes_sklearn/`` only) and not part of the installed distribution.
"""

#: Workloads in the order they run.
WORKLOADS = (
    "fit_logistic",
    "cross_val",
    "gradient",
    "exact",
    "advi",
    "radon",
    "predict",
    "import_and_pickle",
    "model_forms",
    "crossed_gradient",
    "radon_correlated",
    "real_data",
    "scale_out",
)
