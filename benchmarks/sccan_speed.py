"""Speed and memory of scCAN: SNF sparse vs dense, steps 4-7 on 5,000 cells, and the whole
big-data path on 100,000 cells. Prints per-step seconds and the peak RSS of each scenario
(every scenario runs in its own process, so each peak is its own).

Inputs are synthetic (no data set of that size ships with the project):
  - latents: a mixture of 12 Gaussian populations (sizes 1:2:...:12) in 15 dimensions, nine
    views = the same centres with independent noise, like the nine VAE snapshots;
  - counts: Poisson counts of 100,000 cells x 6,000 genes, 12 populations with 40 marker
    genes each (6,000 genes: the gene filter runs and keeps 5,000).

    .venv/bin/python benchmarks/sccan_speed.py                 # all scenarios, 2 threads
    .venv/bin/python benchmarks/sccan_speed.py --scenario snf  # one of them
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

SCENARIOS = {
    "snf": "one SNF update S M S^T at 5,000 cells: dense vs sparse; full sparse SNF",
    "steps4to7": "steps 4-7 (affinity, SNF, k, spectral) on 5,000 cells x 9 views; improved "
    "adds the Tracy-Widom count of its k rule, read from a 5,000-cell hvg.h5ad",
    "big_latents": "big-data path from 9 latents of 100,000 cells (sample 5,000 + transfer); "
    "improved adds the count, read from a 100,000-cell hvg.h5ad",
    "big_counts": "whole big-data path from 100,000 x 6,000 counts (scaling .. transfer)",
    "count_million": "the improved k rule's Tracy-Widom count read from a 1,000,000-cell hvg.h5ad",
}


def synthetic_latents(n_cells: int, n_views: int = 9, dim: int = 15, seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = np.arange(1, 13, dtype=float)
    truth = rng.choice(12, size=n_cells, p=weights / weights.sum())
    centres = rng.normal(0, 2.5, size=(12, dim))
    views = [
        (centres[truth] + rng.normal(size=(n_cells, dim))).astype(np.float32)
        for _ in range(n_views)
    ]
    return views, truth


def synthetic_counts(n_cells: int, n_genes: int, seed: int = 0):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    weights = np.arange(1, 13, dtype=float)
    truth = rng.choice(12, size=n_cells, p=weights / weights.sum())
    base = rng.gamma(0.3, 0.5, size=n_genes)
    markers = rng.choice(n_genes, size=(12, 40), replace=False)
    chunks = []
    for start in range(0, n_cells, 10000):
        groups = truth[start : start + 10000]
        means = np.tile(base, (len(groups), 1))
        for group in np.unique(groups):
            rows = np.flatnonzero(groups == group)
            means[np.ix_(rows, markers[group])] += 3.0
        chunks.append(sp.csr_matrix(rng.poisson(means).astype(np.float32)))
    return sp.vstack(chunks).tocsr(), truth


def ari(truth, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(truth, labels))


def scenario_snf(threads: int) -> dict:
    from threadpoolctl import threadpool_limits

    from sclatent.sccan import _kernels, network

    views, _ = synthetic_latents(5000)
    network.fuse_networks(
        [network.affinity_network(network.euclidean_distances(z[:60])) for z in views[:2]]
    )  # compile
    start = time.perf_counter()
    affinities = [network.affinity_network(network.euclidean_distances(z)) for z in views]
    seconds = {"affinity networks (9 views)": time.perf_counter() - start}
    # one update P <- S M S^T of one view, both ways, on the same inputs
    p = [network._normalize_symmetrize(a.copy()) for a in affinities[:3]]
    s = network.dominant_set(p[0], 30)
    others = (p[1] + p[2]) / 2
    dense_s = s.toarray()
    with threadpool_limits(threads):
        start = time.perf_counter()
        dense = dense_s @ others @ dense_s.T
        seconds["one update, dense (two BLAS n^3 products)"] = time.perf_counter() - start
    order = network._locality_order([s])
    permuted_s = network._permuted(s, order, np.float64)
    permuted_m = np.ascontiguousarray(others[np.ix_(order, order)])
    first, second = np.empty_like(others), np.empty_like(others)
    start = time.perf_counter()
    _kernels.sparse_times_dense(
        permuted_s.indptr, permuted_s.indices, permuted_s.data, permuted_m, first
    )
    _kernels.transpose_into(first, permuted_m)
    _kernels.sparse_times_dense(
        permuted_s.indptr, permuted_s.indices, permuted_s.data, permuted_m, second
    )
    seconds["one update, sparse S (as in fuse_networks)"] = time.perf_counter() - start
    inverse = np.argsort(order)
    sparse = second[np.ix_(inverse, inverse)]
    relative = float(np.abs(sparse - dense).max() / np.abs(dense).max())
    with threadpool_limits(threads):
        start = time.perf_counter()
        network.fuse_networks(affinities, 30, 10)
        seconds["full SNF sparse, float64 (9 views x 10 iterations)"] = time.perf_counter() - start
        start = time.perf_counter()
        network.fuse_networks(affinities, 30, 10, np.float32)
        seconds["full SNF sparse, float32"] = time.perf_counter() - start
    dense_update = seconds["one update, dense (two BLAS n^3 products)"]
    seconds["full SNF dense, extrapolated (90 updates)"] = 90 * dense_update
    ratio = dense_update / seconds["one update, sparse S (as in fuse_networks)"]
    return {
        "seconds": seconds,
        "notes": {
            "max relative difference of the update, sparse vs dense": relative,
            "dense / sparse time of one update": ratio,
        },
    }


def timed_count(n_cells: int) -> tuple[int, float]:
    """(count, seconds): the improved k rule's Tracy-Widom count as the workflow takes it, from
    an hvg.h5ad file of n_cells synthetic cells (log-normalised HVGs of the synthetic counts
    with the latents' 12 populations), read backed."""
    import tempfile

    import anndata as ad

    from sclatent.sccan.params import default_params
    from sclatent.sccan.signal_count import signal_count_of_file
    from sclatent.sccan.views import expression_hvgs

    counts, _ = synthetic_counts(n_cells, 2000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hvg.h5ad"
        ad.AnnData(X=expression_hvgs(counts)).write_h5ad(path)
        start = time.perf_counter()
        count = signal_count_of_file(path, default_params("improved")["count_cells"], seed=0)
        return count, time.perf_counter() - start


def clustered_latents(n_cells: int, threads: int) -> dict:
    from sclatent.sccan import cluster_latents

    views, truth = synthetic_latents(n_cells)
    count, count_seconds = timed_count(n_cells)
    out = {}
    for flavour in ("faithful", "improved"):
        start = time.perf_counter()
        k_count = count if flavour == "improved" else None
        result = cluster_latents(views, flavour, seed=0, threads=threads, k_count=k_count)
        out[flavour] = result.timings | {"total": time.perf_counter() - start}
        if flavour == "improved":
            out[flavour] |= {"Tracy-Widom count": count_seconds}
            out[flavour]["total"] += count_seconds
        out[f"{flavour} (k, ARI)"] = {"k": result.k, "ari": ari(truth, result.labels)}
    return {"seconds": out, "notes": {"Tracy-Widom count (improved)": count}}


def scenario_steps4to7(threads: int) -> dict:
    return clustered_latents(5000, threads)


def scenario_big_latents(threads: int) -> dict:
    return clustered_latents(100_000, threads)


def scenario_count_million(threads: int) -> dict:
    """The count at a million cells: only 7 x 1,000 rows are read from the backed file. The file
    holds log1p counts of the 12 populations (written once, not timed)."""
    import tempfile

    import anndata as ad

    from sclatent.sccan.signal_count import signal_count_of_file

    start = time.perf_counter()
    x, _ = synthetic_counts(1_000_000, 2000)
    x.data = np.log1p(x.data)
    made = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hvg.h5ad"
        ad.AnnData(X=x).write_h5ad(path)
        size = path.stat().st_size / 1024**3
        del x
        start = time.perf_counter()
        count = signal_count_of_file(path, 1000, seed=0)
        seconds = time.perf_counter() - start
    return {
        "seconds": {"Tracy-Widom count (7 x 1,000 cells read backed)": seconds},
        "notes": {"count": count, "file size GB": size, "making the file (not timed)": made},
    }


def scenario_big_counts(threads: int) -> dict:
    from sclatent.sccan import sccan_cluster

    start = time.perf_counter()
    counts, truth = synthetic_counts(100_000, 6000)
    made = time.perf_counter() - start
    start = time.perf_counter()
    result = sccan_cluster(counts, "faithful", seed=0, threads=threads, device="cpu")
    total = time.perf_counter() - start
    return {
        "seconds": {"faithful": result.timings | {"total": total}},
        "notes": {
            "making the counts (not timed above)": made,
            "nnz": int(counts.nnz),
            "k": result.k,
            "ari": ari(truth, result.labels),
        },
    }


def run_scenario(name: str, threads: int) -> dict:
    from sclatent.runtime import set_threads

    set_threads(threads)
    result = globals()[f"scenario_{name}"](threads)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return result


def print_report(name: str, result: dict) -> None:
    print(f"\n## {name}: {SCENARIOS[name]}  (peak RSS {result['peak_rss_gb']:.2f} GB)")
    for label, value in result["seconds"].items():
        if isinstance(value, dict):
            cells = ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
            )
            print(f"- {label}: {cells}")
        else:
            print(f"- {label}: {value:.2f} s")
    for label, value in result.get("notes", {}).items():
        print(f"- {label}: {value:.3g}" if isinstance(value, float) else f"- {label}: {value}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=list(SCENARIOS), action="append")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="(internal) run one, print JSON")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(run_scenario(args.scenario[0], args.threads)))
        return 0
    print(f"scCAN speed, {args.threads} threads; load average {os.getloadavg()[0]:.1f} at start")
    for name in args.scenario or list(SCENARIOS):
        command = [sys.executable, __file__, "--scenario", name, "--threads", str(args.threads)]
        done = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"\n## {name}: failed\n{done.stderr[-3000:]}")
            continue
        print_report(name, json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
