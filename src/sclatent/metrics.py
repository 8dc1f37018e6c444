"""Scores of a clustering against known labels."""

from __future__ import annotations

import numpy as np
import pandas as pd


def clustering_agreement(truth, predicted) -> dict:
    """ARI, NMI and AMI of predicted clusters against true labels, plus both counts.

    Cells without a true label (NaN) are left out; without any labels only the number of
    clusters is reported and the scores are NaN.
    """
    from sklearn import metrics

    predicted = np.asarray(predicted)
    result = {
        "n_clusters": int(pd.Series(predicted).nunique()),
        "n_types": 0,
        "n_cells": len(predicted),
    }
    nan = float("nan")
    if truth is None:
        return result | {"ari": nan, "nmi": nan, "ami": nan}
    truth = pd.Series(truth).reset_index(drop=True)
    known = truth.notna().to_numpy()
    if not known.any():
        return result | {"ari": nan, "nmi": nan, "ami": nan}
    t, p = truth[known].astype(str).to_numpy(), predicted[known]
    return result | {
        "n_types": int(pd.Series(t).nunique()),
        "ari": float(metrics.adjusted_rand_score(t, p)),
        "nmi": float(metrics.normalized_mutual_info_score(t, p)),
        "ami": float(metrics.adjusted_mutual_info_score(t, p)),
    }
