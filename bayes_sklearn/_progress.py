"""Progress bars of long fits, and the rule that keeps sklearn's tools quiet.

The bar is tqdm's: a readable text bar in a terminal and, through
``tqdm.auto``, a notebook widget where Jupyter runs (with ipywidgets
installed). It is imported only when a bar is shown.

Every sklearn tool that fits the estimator more than once (cross-validation,
searches, calibration, stacking, feature selection, learning curves...)
fits clones made by :func:`sklearn.base.clone`, so a clone fits silently:
dozens of bars would bury the tool's own output. The estimator the user
fits directly, or through a Pipeline it sits in, shows its bar.
"""

from __future__ import annotations

import sys
from typing import Any

#: Set on clones made by sklearn.base.clone (see module docstring).
CLONE_FLAG = "_fitted_as_clone"


def shows_progress(estimator: Any) -> bool:
    """Whether a fit of ``estimator`` should draw a progress bar."""
    return bool(estimator.progressbar) and not getattr(estimator, CLONE_FLAG, False)


class ProgressBar:
    """A tqdm bar advanced to absolute positions, with a short status after it.

    Parameters
    ----------
    total : int
        Position at which the work is complete.
    desc : str
        Label before the bar (``"NUTS"``, ``"ADVI"``).
    unit : str
        Name of one step.
    """

    def __init__(self, total: int, desc: str, unit: str) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                         dynamic_ncols=True, mininterval=0.2, leave=True)

    def update_to(self, position: int, status: str | None = None) -> None:
        """Move the bar to ``position`` and show ``status`` beside it."""
        self._bar.update(position - self._bar.n)
        if status is not None:
            self._bar.set_postfix_str(status, refresh=False)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
