"""Lists in error messages: cut to five entries, with "…" and the total."""

import re

import numpy as np
import pytest

from bayes_sklearn._messages import format_items

SEVEN = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
CUT = "['a', 'b', 'c', 'd', 'e', … (7 in all)]"


def test_format_items():
    assert format_items(SEVEN) == CUT
    assert format_items(SEVEN[:5]) == "['a', 'b', 'c', 'd', 'e']"
    assert format_items(np.array([10, 20, 30]), limit=2) == "[10, 20, … (3 in all)]"
    assert format_items([]) == "[]"


def test_seven_unseen_labels_are_not_cut_silently(fitted_binary, binary_data):
    X, _ = binary_data
    with pytest.raises(ValueError, match=re.escape(f"not seen during fit: {CUT}")):
        fitted_binary.log_likelihood(X[:7], np.array(SEVEN))
