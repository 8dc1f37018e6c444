"""Step 8 of scCAN: cluster a sample of the cells, then give every other cell a label.

The reference draws a uniform sample and lets each other cell take the majority label of
its 10 nearest sampled cells (Euclidean) in one latent. The alternatives here: a sample
stratified over k-means groups of the cells (rare groups are not left to chance) and a vote
pooled over every latent (one noisy latent does not decide alone).
"""

from __future__ import annotations

import numpy as np

STRATA = 50


def choose_sample(
    latents: list[np.ndarray], size: int, *, how: str = "uniform", seed: int = 0
) -> np.ndarray:
    """Sorted indices of `size` cells to cluster directly (all cells when there are fewer)."""
    n = latents[0].shape[0]
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if how == "uniform":
        return np.sort(rng.choice(n, size=size, replace=False))
    return np.sort(_stratified(np.hstack([_standardised(z) for z in latents]), size, rng, seed))


def _standardised(latent: np.ndarray) -> np.ndarray:
    z = np.asarray(latent, dtype=np.float64)
    spread = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def _stratified(features: np.ndarray, size: int, rng, seed: int) -> np.ndarray:
    """Square-root allocation over k-means strata: groups get sqrt(group size) shares.

    Proportional allocation would reproduce the uniform sample; square-root allocation keeps
    big groups well covered while small groups get a larger share than their fraction.
    """
    from sklearn.cluster import MiniBatchKMeans

    strata = MiniBatchKMeans(
        n_clusters=min(STRATA, size), random_state=seed, n_init=3, batch_size=4096
    ).fit_predict(features)
    sizes = np.bincount(strata)
    quota = _allocate(sizes, size)
    chosen = [
        rng.choice(np.flatnonzero(strata == group), size=count, replace=False)
        for group, count in enumerate(quota)
        if count
    ]
    return np.concatenate(chosen)


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Integer quotas proportional to sqrt(size), capped by size, summing to `total`."""
    quota = np.zeros(len(sizes), dtype=np.int64)
    weights = np.sqrt(sizes.astype(np.float64))
    while quota.sum() < total:
        room = sizes - quota
        open_groups = room > 0
        left = total - quota.sum()
        share = weights * open_groups
        extra = np.floor(left * share / share.sum()).astype(np.int64)
        extra = np.minimum(extra, room)
        if extra.sum() == 0:  # hand out the remainder one by one, largest weight first
            for group in np.argsort(-share, kind="stable")[:left]:
                extra[group] = 1 if room[group] > 0 else 0
        quota += extra
    return quota


def transfer_labels(
    latents: list[np.ndarray],
    sample: np.ndarray,
    sample_labels: np.ndarray,
    *,
    neighbors: int = 10,
) -> np.ndarray:
    """Labels of every cell: the sample keeps its own, the others take the majority label of
    their nearest sampled cells, votes pooled over the given latents (ties: smallest label)."""
    from sklearn.neighbors import NearestNeighbors

    n = latents[0].shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    labels[sample] = sample_labels
    rest = np.setdiff1d(np.arange(n), sample)
    if len(rest) == 0:
        return labels
    n_labels = int(sample_labels.max()) + 1
    votes = np.zeros((len(rest), n_labels), dtype=np.int64)
    k = min(neighbors, len(sample))
    for latent in latents:
        z = np.asarray(latent, dtype=np.float64)
        index = (
            NearestNeighbors(n_neighbors=k)
            .fit(z[sample])
            .kneighbors(z[rest], return_distance=False)
        )
        np.add.at(votes, (np.repeat(np.arange(len(rest)), k), sample_labels[index].ravel()), 1)
    labels[rest] = np.argmax(votes, axis=1)
    return labels
