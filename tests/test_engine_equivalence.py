"""The kernel is an accelerator of the one model: its log density is the reference model's.

For every combination the kernel accepts (family x location prior kind x
scale prior kind x weights), the kernel's
log density and gradient at the standardised ``theta`` equal those of the
reference PyMC model (``model/pymc_model.py``, on the original scale) at the
mapped point (tests/reference_map.py), to 1e-8. The kernel drops additive
constants, so log densities are compared as differences between points;
gradients are compared directly, through the map's diagonal factors.

The prior kinds come from packing's tables, the same ones the coverage check
reads: a kind added there without an example here fails
``test_every_kernel_kind_has_an_example``. Rows for models the kernel learns
later go in ``EXTRA_ROWS`` (today: no intercept, and the intercept prior
at x = 0; fixed values are the location and scale kind ``Constant``).
Group terms are checked the same way in tests/test_kernel_group_terms.py.
"""

import dataclasses
import functools
import itertools
import numpy as np
import pytest
from reference_map import gradient_map, kernel_point, reference_model

from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.coverage import kernel_gap
from bayes_sklearn.inference.packing import _LOCATION_KINDS, _SCALE_KINDS, pack_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import (
    Constant,
    Exponential,
    Flat,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)

pytest.importorskip("pymc")

MODE = "FAST_COMPILE"  # no C compilation: each row is its own graph

# per kind: the priors of (intercept, a, b, c), and a scale prior, away from defaults;
# fixed values (Constant) fix the intercept and two of the three coefficients
LOCATION_EXAMPLES = {
    Normal: (Normal(1.5, 3.0), Normal(0.2, 0.8), Normal(0.4, 1.6), Normal(0.2, 0.8)),
    StudentT: (StudentT(nu=4.0, mu=1.0, sigma=2.0), StudentT(nu=3.0, mu=-0.1, sigma=0.5),
               StudentT(nu=3.0, mu=-0.2, sigma=1.0), StudentT(nu=3.0, mu=-0.1, sigma=0.5)),
    Laplace: (Laplace(0.5, 2.0), Laplace(0.1, 0.4), Laplace(0.2, 0.8), Laplace(0.1, 0.4)),
    Flat: (Flat(), Flat(), Flat(), Flat()),
    Constant: (Constant(1.0), Constant(0.3), Normal(0.4, 1.6), Constant(-2.0)),
}
SCALE_EXAMPLES = {
    Exponential: Exponential(1.3),
    HalfNormal: HalfNormal(0.7),
    HalfStudentT: HalfStudentT(nu=3.0, sigma=0.9),
    HalfCauchy: HalfCauchy(1.1),
    Constant: Constant(0.8),
}


@dataclasses.dataclass(frozen=True)
class Row:
    family: str
    location: type
    scale: type | None  # None: the model has no scale parameter
    weighted: bool
    options: tuple = ()  # extra resolve_model_spec keywords, as (name, value) pairs
    name: str = ""

    @property
    def id(self) -> str:
        scale = self.scale.__name__ if self.scale is not None else "no-scale"
        parts = [self.family, self.location.__name__, scale,
                 "weighted" if self.weighted else "unweighted"]
        return "-".join(parts + ([self.name] if self.name else []))


def _rows() -> list[Row]:
    rows = []
    for family, location, weighted in itertools.product(
        ("gaussian", "bernoulli", "categorical"), list(_LOCATION_KINDS), (False, True),
    ):
        for scale in list(_SCALE_KINDS) if family == "gaussian" else [None]:
            rows.append(Row(family, location, scale, weighted))
    return rows


def _intercept_rows() -> list[Row]:
    """No intercept, and an intercept prior at x = 0 (the design is not centred)."""
    rows = []
    for family, weighted, (name, option) in itertools.product(
        ("gaussian", "bernoulli", "categorical"), (False, True),
        (("no-intercept", ("fit_intercept", False)),
         ("intercept-at-zero", ("center_predictors", False))),
    ):
        scale = Exponential if family == "gaussian" else None
        rows.append(Row(family, Normal, scale, weighted, (option,), name))
    return rows


#: More rows: ``Row(..., options=(("keyword", value),), name="...")``.
EXTRA_ROWS: list[Row] = _intercept_rows()
ROWS = _rows() + EXTRA_ROWS


def _case(row: Row, n=24):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, 3)) * [3.0, 50.0, 0.02] + [-20.0, 400.0, 1.5]
    if row.family == "gaussian":
        y = 200.0 + X @ [1.0, 0.1, 300.0] + rng.normal(scale=30.0, size=n)
    else:
        y = rng.integers(0, 3 if row.family == "categorical" else 2, size=n).astype(float)
    intercept, a, b, c = LOCATION_EXAMPLES[row.location]
    scale = SCALE_EXAMPLES.get(row.scale)
    spec = resolve_model_spec(
        family=row.family, coef_names=["a", "b", "c"], X=X, y=y,
        n_outputs=2 if row.family == "categorical" else 1,
        priors={"a": a, "b": b, "c": c,
                **({"intercept": intercept} if dict(row.options).get("fit_intercept", True)
                   else {})},
        prior_noise=scale if row.family == "gaussian" else None,
        **dict(row.options),
    )
    weight = rng.integers(1, 4, size=n).astype(float) if row.weighted else None
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y, weight


def test_every_kernel_kind_has_an_example():
    assert set(LOCATION_EXAMPLES) == set(_LOCATION_KINDS)
    assert set(SCALE_EXAMPLES) == set(_SCALE_KINDS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_kernel_log_density_and_gradient_equal_the_reference_model(row):
    spec, X_z, y, weight = _case(row)
    assert kernel_gap(spec) is None
    packed = pack_model(spec, X_z, y, sample_weight=weight)
    model = reference_model(spec, X_z, y, sample_weight=weight)
    # one compilation for both (the cost of this test is PyMC's compilation)
    logp_and_dlogp = model.compile_fn([model.logp(), model.dlogp()], mode=MODE)
    to_point = functools.partial(kernel_point, model, spec, packed)
    to_theta = gradient_map(model, to_point, packed.n_dim)
    rng = np.random.default_rng(11)
    # an uncentred design (means of 8 and 75 sds here) turns a step of 0.5 into
    # logits of +-40, where PyMC's Bernoulli gradient is nan (1 - sigmoid rounds to 0)
    step = 0.5 if not row.options else 0.05
    ours, theirs = [], []
    for _ in range(3):
        theta = packed.initial_point + rng.normal(scale=step, size=packed.n_dim)
        value, grad = log_density(packed.header, theta)
        logp, dlogp = logp_and_dlogp(to_point(theta))
        ours.append(value)
        theirs.append(logp)
        np.testing.assert_allclose(grad, to_theta @ dlogp, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9, atol=1e-8)
