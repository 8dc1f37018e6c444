"""Loss curve of a training history, as PNG (Agg canvas; no global matplotlib state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def plot_history(history: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Train and validation loss per epoch, the best validation epoch marked, saved to `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3.5), dpi=120)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.plot(history["epoch"], history["train_loss"], label="train")
    val = history["val_loss"].to_numpy(dtype=float)
    if np.isfinite(val).any():
        ax.plot(history["epoch"], val, label="validation")
        best = int(np.nanargmin(val))
        ax.axvline(history["epoch"].iloc[best], color="grey", linestyle=":", label="best")
    losses = np.concatenate([history["train_loss"].to_numpy(dtype=float), val])
    if np.all(losses[np.isfinite(losses)] > 0) and len(history):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    figure.tight_layout()
    figure.savefig(Path(path))
