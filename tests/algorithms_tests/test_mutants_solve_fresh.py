"""Tests for the survivors of a fresh mutation sample over ``algorithms/_scaled_solve.py``
(issue 17: ``run.py --sample 16 --skip 8``): the minimum-norm solve on the smallest and the
emptiest systems, against ``numpy.linalg.lstsq``."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.algorithms._scaled_solve import equilibrate, min_norm_solve, pinv_factor


@pytest.mark.parametrize(
    "A",
    [
        np.array([[4.0]]),  # one feature: rank 1
        np.array([[0.0]]),  # one constant feature: rank 0
        np.zeros((3, 3)),  # every feature constant: nothing active
        np.array([[2.0, 0.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.0, 2.0]]),  # a duplicate and a zero
    ],
)
def test_min_norm_solve_matches_lstsq_on_degenerate_systems(A):
    b = A @ np.arange(1.0, A.shape[0] + 1.0)  # in the range of A, as X^T y is of X^T X
    eq = equilibrate(A)
    x = min_norm_solve(eq, pinv_factor(eq), b)
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-14)
