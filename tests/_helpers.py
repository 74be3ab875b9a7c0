"""Small helpers shared by the tests (import as ``from _helpers import ...``)."""

import numpy as np


def random_array(rng, shape, scale=1.0, dtype=np.float64, away_from_zero=0.0):
    """Normal entries times ``scale``; entries closer than ``away_from_zero`` to 0 are pushed out.

    Pushing entries away from 0 keeps finite differences off the kink of ReLU-like functions.
    """
    a = rng.standard_normal(shape) * scale
    if away_from_zero:
        a = a + np.copysign(away_from_zero, a)
    return a.astype(dtype)
