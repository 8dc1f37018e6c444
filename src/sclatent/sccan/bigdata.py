"""Step 8 of scCAN: cluster a sample of the cells, then give every other cell a label.

The reference draws a uniform sample and lets each other cell take the majority label of
its 10 nearest sampled cells (Euclidean) in one latent. The alternatives here: a geometric
sketch (rare cell types are not left to chance) and a vote pooled over every latent (one
latent does not decide alone).
"""

from __future__ import annotations

import numpy as np

from sclatent.label_transfer import knn_vote

SKETCH_DIMS = 10


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
    return np.sort(geometric_sketch(_principal_components(latents), size, rng))


def _principal_components(latents: list[np.ndarray], dims: int = SKETCH_DIMS) -> np.ndarray:
    """Leading principal components of the standardised latents side by side."""
    stacked = np.hstack([np.asarray(z, dtype=np.float64) for z in latents])
    stacked -= stacked.mean(axis=0)
    spread = stacked.std(axis=0)
    stacked /= np.where(spread > 0, spread, 1.0)
    values, vectors = np.linalg.eigh(stacked.T @ stacked)
    return stacked @ vectors[:, ::-1][:, : min(dims, len(values))]


def geometric_sketch(points: np.ndarray, size: int, rng) -> np.ndarray:
    """Geometric sketching (Hie et al., Cell Systems 2019): cover the points with a grid of
    equal boxes, as fine as needed for at least `size` non-empty boxes, then take one random
    cell from each of `size` boxes drawn uniformly. Sampling follows the volume a population
    occupies rather than its cell count, so rare types keep their place in the sample."""
    low = points.min(axis=0)
    extent = float((points.max(axis=0) - low).max()) or 1.0
    unit = (points - low) / extent

    mixer = np.random.default_rng(0).integers(1, 2**61, size=unit.shape[1], dtype=np.int64)

    def boxes(side: float) -> np.ndarray:
        """Box number of every cell (grid coordinates hashed to one integer)."""
        coordinates = np.floor(unit / side).astype(np.int64)
        return np.unique(coordinates @ mixer, return_inverse=True)[1]  # wraps: a hash

    coarse, fine = 1.0, 1e-6  # coarse: too few boxes; fine: enough boxes
    for _ in range(40):
        middle = np.sqrt(coarse * fine)
        if boxes(middle).max() + 1 >= size:
            fine = middle
        else:
            coarse = middle
        if coarse / fine < 1.01:
            break
    box_of_cell = boxes(fine)
    chosen_boxes = rng.choice(box_of_cell.max() + 1, size=size, replace=False)
    order = rng.permutation(len(box_of_cell))  # a random cell of each box: first in this order
    first_in_box = {}
    for cell in order:
        first_in_box.setdefault(int(box_of_cell[cell]), int(cell))
    return np.array([first_in_box[int(box)] for box in chosen_boxes])


def transfer_labels(
    latents: list[np.ndarray],
    sample: np.ndarray,
    sample_labels: np.ndarray,
    *,
    neighbors: int = 10,
) -> np.ndarray:
    """Labels of every cell: the sample keeps its own, the others take the majority label of
    their nearest sampled cells, votes pooled over the given latents (ties: smallest label)."""
    n = latents[0].shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    labels[sample] = sample_labels
    rest = np.setdiff1d(np.arange(n), sample)
    if len(rest) == 0:
        return labels
    reference = [np.asarray(z)[sample] for z in latents]
    query = [np.asarray(z)[rest] for z in latents]
    labels[rest] = knn_vote(reference, sample_labels, query, neighbors=neighbors)[0]
    return labels
