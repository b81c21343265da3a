"""Run one task in this (fresh) process and print its JSON record.

Usage: ``python -m benchmarks._worker MODULE FUNCTION PARAMS_JSON`` calls
``benchmarks.MODULE.FUNCTION(**PARAMS)`` and prints
``RESULT_MARKER + json`` as the last line of stdout. A task whose optional
package is missing prints ``{"skipped": reason}``; a failing task prints
``{"error": message}`` (traceback on stderr) and exits with status 1.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback

from benchmarks._harness import RESULT_MARKER, Unavailable


def main(argv: list[str]) -> int:
    module_name, function_name, params_json = argv
    status = 0
    try:
        module = importlib.import_module(f"benchmarks.{module_name}")
        payload = getattr(module, function_name)(**json.loads(params_json))
    except Unavailable as reason:
        payload = {"skipped": str(reason)}
    except Exception as error:  # noqa: BLE001 - reported to the parent, which carries on
        traceback.print_exc()
        payload = {"error": f"{type(error).__name__}: {error}"}
        status = 1
    sys.stdout.write("\n" + RESULT_MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
