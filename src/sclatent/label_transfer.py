"""kNN label transfer: a cell takes the majority label of its nearest labelled cells.

Shared by scCAN (the cells outside its clustered sample take the sample's clusters) and by
mapping new cells onto a trained reference (`sclatent.mapping`), so both vote the same way.
Only numpy and scikit-learn: every step that transfers labels can import it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def knn_vote(
    reference: Sequence[np.ndarray],
    codes: np.ndarray,
    query: Sequence[np.ndarray],
    *,
    neighbors: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Label code of each query cell and the share of the votes it won.

    `reference[i]` and `query[i]` are the same latent space (reference and query cells);
    each query cell votes with its `neighbors` nearest reference cells (Euclidean) in every
    latent, votes pooled over the latents. `codes` are integer labels >= 0 of the reference
    cells. Ties go to the smallest code, so the result does not depend on the search order.
    """
    from sklearn.neighbors import NearestNeighbors

    codes = np.asarray(codes, dtype=np.int64)
    n_query = query[0].shape[0]
    if n_query == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    votes = np.zeros((n_query, int(codes.max()) + 1), dtype=np.int64)
    k = min(neighbors, len(codes))
    for ref, new in zip(reference, query, strict=True):
        search = NearestNeighbors(n_neighbors=k, algorithm="brute")  # trees are slow in 15-25 d
        index = search.fit(np.asarray(ref, dtype=np.float64)).kneighbors(
            np.asarray(new, dtype=np.float64), return_distance=False
        )
        np.add.at(votes, (np.repeat(np.arange(n_query), k), codes[index].ravel()), 1)
    winner = np.argmax(votes, axis=1)
    share = votes[np.arange(n_query), winner] / (k * len(reference))
    return winner, share


__all__ = ["knn_vote"]
