"""numba kernels declared without cache=True are kept in NUMBA_CACHE_DIR once
sclatent.numba_cache is on: the next process loads them instead of compiling."""

import subprocess
import sys

KERNEL = """
import numba

@numba.njit
def add_one(x):
    return x + 1
"""

CALL = """
import sys
sys.path.insert(0, sys.argv[1])
from sclatent.numba_cache import cache_numba_kernels
cache_numba_kernels()
import kernel
assert kernel.add_one(1) == 2
print(kernel.add_one.stats.cache_hits and "hit" or "compiled")
"""


def test_an_uncached_kernel_is_compiled_once(tmp_path):
    (tmp_path / "kernel.py").write_text(KERNEL)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}

    def run():
        return subprocess.run(
            [sys.executable, "-c", CALL, str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout.strip()

    assert run() == "compiled"
    assert list((tmp_path / "cache").rglob("*.nbi")), "the kernel was not cached"
    assert run() == "hit"
