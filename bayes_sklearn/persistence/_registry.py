"""The estimator classes that files may name, by the name stored in the file.

Every subclass of ``BayesianGLMBase`` registers itself here when its class
statement runs, so :mod:`bayes_sklearn.persistence` finds classes without
importing :mod:`bayes_sklearn.estimators`, and ``load`` can only build a class
the running process has already defined: no module is ever imported by a name
found in a file.

Names are stable across versions and processes: bayes_sklearn's own
estimators are stored by their class name (``"BayesianLinearRegression"``),
other subclasses by ``"module.QualifiedName"`` of their definition, so a
user's class never takes the place of one of ours. Defining a class again
under the same name (re-running a notebook cell, reloading a module) replaces
the earlier definition, as the name now refers to it.
"""

from __future__ import annotations

_PACKAGE = "bayes_sklearn"
_CLASSES: dict[str, type] = {}


def stored_name(cls: type) -> str:
    """The name under which files record an estimator of class ``cls``."""
    module = cls.__module__
    if module == _PACKAGE or module.startswith(_PACKAGE + "."):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def register(cls: type) -> type:
    """Make ``cls`` saveable and loadable under :func:`stored_name` ``(cls)``."""
    _CLASSES[stored_name(cls)] = cls
    return cls


def registered_class(name: object) -> type | None:
    """The class registered under ``name``, or None for any other value."""
    return _CLASSES.get(name) if isinstance(name, str) else None


def is_registered(cls: type) -> bool:
    """Whether ``cls`` itself (not a stale definition of the same name) is registered."""
    return _CLASSES.get(stored_name(cls)) is cls
