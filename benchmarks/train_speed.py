"""Seconds per epoch and peak memory of autoencoder training (prints a table; not a test).

    python benchmarks/train_speed.py                  # 10k and 100k cells: CPU (2 threads), and CUDA if present
    python benchmarks/train_speed.py --cells 10000 --models ae --devices cuda --amp bf16

Simulated counts (cells x 2,000 genes, cell-type structure; the project's simulator
`sclatent.simulate`) are generated once per cell count and shared
through a temporary .npz. Each (model, cells) runs in a fresh process, so its peak RSS is its
own. Epoch time is the median over epochs after the first (warm-up); validation is on (10%)
as in the defaults, early stopping off. 'CPU s/epoch' is the process's CPU time per epoch: on a
machine shared with other jobs, CPU s/epoch / threads estimates the uncontended wall time. On CUDA the script also counts host synchronisations
per epoch (torch's sync debug mode): the loop should have only the one at the epoch end.
Timings depend on what else runs on the machine; say so when you report them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _make_data(n_cells: int, n_genes: int, path: Path) -> float:
    import scipy.sparse as sp

    from sclatent.simulate import simulate_counts

    started = time.perf_counter()
    counts = simulate_counts(n_cells, n_genes, seed=0, n_mito_genes=0, threads=2).X
    sp.save_npz(path, counts, compressed=False)
    return time.perf_counter() - started


def _hvg_from_counts(counts):
    import anndata as ad
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    total = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0)
    x = sp.csr_matrix(sp.diags((1e4 / total).astype(np.float32)) @ counts, dtype=np.float32)
    x.data = np.log1p(x.data)
    adata = ad.AnnData(X=x, obs=pd.DataFrame({"size_factor": total / np.median(total)}))
    adata.layers["counts"] = counts
    return adata


def _run_one(args: argparse.Namespace) -> None:
    """Child process: train one model for a few epochs, print one JSON line of measurements."""
    import resource
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from sclatent.autoencoder import train_latent
    from sclatent.runtime import set_threads

    set_threads(args.threads)
    import torch

    adata = _hvg_from_counts(sp.load_npz(args.data).astype(np.float32))
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    params = {"max_epochs": args.epochs, "patience": 0, "checkpoint_every": 1000}
    if args.batch_size:
        params["batch_size"] = args.batch_size
    if args.amp != "none":
        params["amp"] = args.amp
    syncs = []
    on_cuda = args.device in ("cuda", "auto") and torch.cuda.is_available()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if on_cuda:
            torch.cuda.set_sync_debug_mode("warn")

        cpu_times = [time.process_time()]

        def at_epoch_end(row):
            cpu_times.append(time.process_time())
            syncs.append(sum("synchroniz" in str(w.message) for w in caught))
            caught.clear()

        result = train_latent(
            adata, args.model, params, seed=0, device=args.device, threads=args.threads,
            epoch_callback=at_epoch_end,
        )  # fmt: skip
        if on_cuda:
            torch.cuda.set_sync_debug_mode(0)
    seconds = result.history["seconds"].to_numpy()
    cpu_seconds = np.diff(cpu_times)
    print(
        json.dumps(
            {
                "model": args.model,
                "cells": adata.n_obs,
                "device": result.device,
                "threads": args.threads,
                "batch_size": params.get("batch_size", 256),
                "s_per_epoch": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
                "first_epoch_s": float(seconds[0]),
                "cpu_s_per_epoch": float(
                    np.median(cpu_seconds[1:] if len(cpu_seconds) > 1 else cpu_seconds)
                ),
                "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
                "data_rss_gb": rss_data / 1e9,
                "gpu_peak_gb": (result.peak_gpu_memory_bytes or 0) / 1e9 if on_cuda else None,
                "syncs_per_epoch": float(np.median(syncs[1:] if len(syncs) > 1 else syncs))
                if on_cuda
                else None,
            }
        )
    )


def _table(rows: list[dict]) -> str:
    header = [
        "model",
        "cells",
        "device",
        "threads",
        "batch",
        "s/epoch",
        "CPU s/epoch",
        "1st epoch s",
        "peak RSS GB",
        "GPU peak GB",
        "syncs/epoch",
    ]
    lines = [header]
    for r in rows:
        lines.append(
            [
                r["model"], f"{r['cells']:,}", r["device"], str(r["threads"]), str(r["batch_size"]),
                f"{r['s_per_epoch']:.2f}", f"{r['cpu_s_per_epoch']:.2f}", f"{r['first_epoch_s']:.2f}",
                f"{r['peak_rss_gb']:.2f}",
                "-" if r["gpu_peak_gb"] is None else f"{r['gpu_peak_gb']:.2f}",
                "-" if r["syncs_per_epoch"] is None else f"{r['syncs_per_epoch']:.0f}",
            ]
        )  # fmt: skip
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--genes", type=int, default=2_000)
    parser.add_argument("--models", nargs="+", default=["ae", "dae", "nbae", "zinbae"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--devices",
        nargs="+",
        default=None,
        choices=["cpu", "cuda"],
        help="default: cpu, plus cuda when available",
    )
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=0, help="0: the model default")
    parser.add_argument("--amp", default="none", choices=["none", "bf16", "fp16"])
    parser.add_argument("--run-one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        _run_one(args)
        return

    if args.devices is None:
        import torch

        args.devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="sclatent-speed-") as scratch:
        for n_cells in args.cells:
            data = Path(scratch) / f"counts_{n_cells}.npz"
            seconds = _make_data(n_cells, args.genes, data)
            print(
                f"# {n_cells:,} x {args.genes:,} simulated counts generated in {seconds:.1f}s",
                flush=True,
            )
            for device, model in ((d, m) for d in args.devices for m in args.models):
                command = [
                    sys.executable, __file__, "--run-one", "--model", model, "--data", str(data),
                    "--threads", str(args.threads), "--epochs", str(args.epochs),
                    "--device", device, "--batch-size", str(args.batch_size), "--amp", args.amp,
                ]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    print(
                        f"# {model} {n_cells} {device}: failed\n{done.stderr[-2000:]}", flush=True
                    )
                    continue
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(
                    f"# {model} {n_cells:,} {device}: {row['s_per_epoch']:.2f} s/epoch", flush=True
                )
    load = os.getloadavg()
    print()
    print(_table(rows))
    print(
        f"\nload average at the end (1/5/15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
