"""Scale priors have support x >= 0: no density below zero."""

import numpy as np
import pytest

from bayes_sklearn.priors import Exponential, HalfNormal, HalfStudentT


@pytest.mark.parametrize("prior", [Exponential(2.0), HalfNormal(2.0), HalfStudentT(3.0, 2.0)])
def test_scale_priors_have_no_density_below_zero(prior):
    assert prior.logpdf(-0.5) == -np.inf
    assert np.isfinite(prior.logpdf(0.5))
    # densities integrate to one over x >= 0 (trapezoid on a fine grid, tail beyond 400 negligible
    # except for the heavy-tailed HalfStudentT(3), whose mass beyond 400 sd-units is ~1e-6)
    x = np.linspace(0.0, 400.0, 400_001)
    assert np.trapezoid(np.exp(prior.logpdf(x)), x) == pytest.approx(1.0, abs=1e-3)
