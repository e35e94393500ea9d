"""localconv's modules run in the StableHLO reference interpreter and match JAX.

Both emitted forms and the output of the default pipeline are checked, independently of how
XLA compiles them. interpreter_check.py runs in a
subprocess because the interpreter aborts the process on ops it does not support.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.xla  # the expected values come from jax.jit

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("form", ["stablehlo", "composite", "default-pipeline"])
def test_reference_interpreter_matches_jax(form: str) -> None:
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "interpreter_check.py"), form],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"interpreter_check.py {form} exited with {result.returncode}:\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )
