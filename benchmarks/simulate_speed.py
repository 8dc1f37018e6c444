"""Seconds and peak memory of the count simulator at several sizes (one process per size).

usage: python benchmarks/simulate_speed.py [N_CELLS ...]   (default: 10000 100000 1000000)
"""

import json
import resource
import subprocess
import sys
import time

N_GENES = 2000


def measure(n_cells: int) -> dict:
    from sclatent.simulate import simulate_counts

    start, cpu_start = time.perf_counter(), time.process_time()
    adata = simulate_counts(n_cells, N_GENES, seed=0)
    X = adata.X
    return {
        "cells": n_cells,
        "wall_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(time.process_time() - cpu_start, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "matrix_gb": round((X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**30, 2),
        "nonzero": round(X.nnz / (n_cells * N_GENES), 3),
    }


def main(sizes: list[int]) -> None:
    print(f"simulate_counts, {N_GENES} genes, defaults otherwise")
    print("cells\twall_s\tcpu_s\tpeak_rss_gb\tmatrix_gb\tnonzero")
    for n_cells in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n_cells)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            "\t".join(
                str(row[k])
                for k in ("cells", "wall_s", "cpu_s", "peak_rss_gb", "matrix_gb", "nonzero")
            )
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
