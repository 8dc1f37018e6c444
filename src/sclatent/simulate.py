"""Simulated single-cell count matrices with known cell types: the embedded default dataset.

Counts are negative-binomial (gamma-Poisson) draws around a mean that combines a heavy-tailed
gene base expression, cell-type gene programs (optionally nested in lineages so that some
types are closer than others), a log-normal library size per cell, an optional batch effect
and a mitochondrial share. Expression-dependent dropout adds extra zeros, and a fraction of
low-quality cells (few counts, high mitochondrial share) gives QC something to remove.

Cells are generated in fixed blocks, each with its own random stream derived from the seed,
so memory stays bounded (1M cells x 2,000 genes needs little more than the final sparse
matrix) and the matrix depends only on the parameters and the seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sclatent.config import (
    NON_NEGATIVE_INT,
    NON_NEGATIVE_NUMBER,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    must_be,
    resolve,
)

if TYPE_CHECKING:
    import anndata

MITO_GENE_NAMES = (
    "MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP8", "MT-ATP6", "MT-CO3",
    "MT-ND3", "MT-ND4L", "MT-ND4", "MT-ND5", "MT-ND6", "MT-CYB",
)  # fmt: skip

# Random streams: one for everything drawn per gene/type/cell up front, one per cell block.
_SETUP_STREAM = 0
_BLOCK_STREAM = 1
# Cells per block: about 4M matrix entries per block, so each float64 temporary is ~32 MB.
_BLOCK_ENTRIES = 1 << 22
# Relative spread (log-normal sd) of the mitochondrial share between cells of one kind.
_MITO_SHARE_SDLOG = 0.25
# Nonzeros per segment when joining blocks (64 MB of float32 values).
_SEGMENT_ENTRIES = 1 << 24


_SOURCE = "simulation parameters"
_SHARE = {"type": "number", "minimum": 0, "maximum": 0.95}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
# the values each field takes (JSON-schema fragments checked by sclatent.config.resolve, the
# project's one validation); the rules between fields are in _check_consistency
_RULES = {
    "n_cells": POSITIVE_INT,
    "n_genes": POSITIVE_INT,
    "n_types": POSITIVE_INT,
    "seed": NON_NEGATIVE_INT,
    "type_proportions": {"type": ["array", "null"], "items": POSITIVE_NUMBER},
    "n_rare_types": NON_NEGATIVE_INT,
    "rare_fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "gene_mean_sdlog": NON_NEGATIVE_NUMBER,
    "de_fraction": _FRACTION,
    "de_down_fraction": _FRACTION,
    "de_logfc_median": POSITIVE_NUMBER,
    "de_logfc_sdlog": NON_NEGATIVE_NUMBER,
    "n_lineages": NON_NEGATIVE_INT,
    "lineage_de_fraction": _FRACTION,
    "library_median": POSITIVE_NUMBER,
    "library_sdlog": NON_NEGATIVE_NUMBER,
    "dispersion": POSITIVE_NUMBER,
    "dispersion_sdlog": NON_NEGATIVE_NUMBER,
    "dropout_midpoint": {"type": "number"},
    "dropout_shape": NON_NEGATIVE_NUMBER,
    "n_batches": POSITIVE_INT,
    "batch_effect": NON_NEGATIVE_NUMBER,
    "n_mito_genes": NON_NEGATIVE_INT | {"maximum": len(MITO_GENE_NAMES)},
    "mito_fraction": _SHARE,
    "low_quality_fraction": _SHARE,
    "low_quality_library_factor": POSITIVE_NUMBER,
    "low_quality_mito_fraction": _SHARE,
}


@dataclass(frozen=True)
class SimulationParams:
    """Every knob of `simulate_counts`, with its default; `from_dict` reads a config section.

    Size and seed
        n_cells, n_genes, n_types: matrix shape and number of cell types; `n_genes`
        includes the `n_mito_genes` mitochondrial genes. seed: drives every random draw.
    Cell-type proportions
        type_proportions: one relative weight per type (normalised to sum 1); when given it
        replaces the two options below. n_rare_types, rare_fraction: the last
        `n_rare_types` types get `rare_fraction` of the cells each; the other types share
        the rest with sizes falling linearly from 2x to 1x (largest first). Every type gets
        at least one cell.
    Gene base expression
        gene_mean_sdlog: spread of the log-normal relative base expression of genes (larger =
        heavier tail, a few genes taking most counts).
    Cell-type programs
        de_fraction: fraction of (non-mitochondrial) genes that each type changes.
        de_down_fraction: share of those genes that go down rather than up.
        de_logfc_median, de_logfc_sdlog: |natural-log fold change| of a changed gene is
        log-normal with this median and log-sd.
        n_lineages: types are dealt round-robin into this many lineages (at most n_types
        are used); each lineage has its own program (`lineage_de_fraction` of the genes, same fold-change law) shared by
        its types, so types of one lineage differ only by their own program. 0 = no
        hierarchy.
    Library size
        library_median, library_sdlog: total expected counts per cell is log-normal with
        this median and log-sd.
    Noise
        dispersion: negative-binomial dispersion phi (variance = mu + phi * mu^2), the median
        over genes; dispersion_sdlog: gene-to-gene log-normal spread of phi (0 = same phi).
        dropout_midpoint, dropout_shape: a nonzero count becomes zero with probability
        1 / (1 + exp(shape * (log(mu) - midpoint))), i.e. falling with the expected count mu;
        dropout_shape = 0 disables dropout.
    Batches
        n_batches: cells are assigned uniformly at random to batches (`obs['batch']` when
        > 1); batch_effect: log-sd of a per-batch, per-gene multiplicative factor.
    Mitochondria and quality
        n_mito_genes: mitochondrial genes named MT-ND1, MT-CO1, ... (at most 13, the human
        mtDNA protein-coding genes), placed after the `GeneNNNNN` genes. mito_fraction:
        median share of a healthy cell's counts from them. low_quality_fraction: share of
        cells marked `obs['low_quality']`, whose library is multiplied by
        `low_quality_library_factor` and whose mitochondrial share median is
        `low_quality_mito_fraction`.
    """

    n_cells: int = 3000
    n_genes: int = 2000
    n_types: int = 8
    seed: int = 0
    type_proportions: tuple[float, ...] | None = None
    n_rare_types: int = 1
    rare_fraction: float = 0.015
    gene_mean_sdlog: float = 2.0
    de_fraction: float = 0.08
    de_down_fraction: float = 0.3
    de_logfc_median: float = 0.75
    de_logfc_sdlog: float = 0.4
    n_lineages: int = 3
    lineage_de_fraction: float = 0.03
    library_median: float = 1500.0
    library_sdlog: float = 0.35
    dispersion: float = 0.3
    dispersion_sdlog: float = 0.5
    dropout_midpoint: float = -1.5
    dropout_shape: float = 1.0
    n_batches: int = 1
    batch_effect: float = 0.0
    n_mito_genes: int = 13
    mito_fraction: float = 0.04
    low_quality_fraction: float = 0.02
    low_quality_library_factor: float = 0.25
    low_quality_mito_fraction: float = 0.35

    def __post_init__(self) -> None:
        resolve(dataclasses.asdict(self), _RULES, _SOURCE)
        if self.type_proportions is not None:
            proportions = tuple(float(weight) for weight in self.type_proportions)
            object.__setattr__(self, "type_proportions", proportions)
        _check_consistency(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> SimulationParams:
        """Build from a config mapping; unknown keys and bad values raise InputError naming the key."""
        return cls(**resolve(values, _RULES, _SOURCE))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists for tuples), e.g. for `uns` or a config file."""
        values = dataclasses.asdict(self)
        if self.type_proportions is not None:
            values["type_proportions"] = list(self.type_proportions)
        return values


def simulate_counts(
    n_cells: int = SimulationParams.n_cells,
    n_genes: int = SimulationParams.n_genes,
    n_types: int = SimulationParams.n_types,
    *,
    seed: int = SimulationParams.seed,
    threads: int = 1,
    **options: Any,
) -> anndata.AnnData:
    """Simulate a labelled count matrix (the workflow's embedded default dataset).

    `options` are the other fields of `SimulationParams` (documented there); invalid or
    unknown ones raise InputError naming the parameter. `threads` only changes speed, never
    the matrix.

    Returns an AnnData with X = CSR float32 integer counts (cells x genes), cells
    `cell_000001`..., genes `Gene00001`... then `MT-...`; `obs['truth']` (categorical
    `type_01`...), `obs['low_quality']` (bool), `obs['batch']` (categorical `batch_1`...,
    only when n_batches > 1) and `uns['simulation']` (the parameters).
    """
    params = SimulationParams.from_dict(
        {"n_cells": n_cells, "n_genes": n_genes, "n_types": n_types, "seed": seed, **options}
    )
    return simulate_from_params(params, threads=threads)


def simulate_from_params(params: SimulationParams, *, threads: int = 1) -> anndata.AnnData:
    """Simulate the dataset that `params` describes (see `simulate_counts`)."""
    import anndata

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise must_be(_SOURCE, "threads", "an integer >= 1", threads)

    p = params
    setup_rng = np.random.default_rng(np.random.SeedSequence(p.seed, spawn_key=(_SETUP_STREAM,)))
    n_plain = p.n_genes - p.n_mito_genes

    # Per gene: relative expression of each (type, batch) group, and dispersion.
    profiles = _group_profiles(p, setup_rng)
    inverse_dispersion = 1.0 / (
        p.dispersion * np.exp(p.dispersion_sdlog * setup_rng.standard_normal(p.n_genes))
    )

    # Per cell: type, batch, quality, expected library size and mitochondrial share.
    cell_type = setup_rng.permutation(np.repeat(np.arange(p.n_types), _type_counts(p)))
    batch = setup_rng.integers(p.n_batches, size=p.n_cells)
    low_quality = np.zeros(p.n_cells, dtype=bool)
    n_low = round(p.low_quality_fraction * p.n_cells)
    low_quality[setup_rng.choice(p.n_cells, size=n_low, replace=False)] = True
    library = p.library_median * np.exp(p.library_sdlog * setup_rng.standard_normal(p.n_cells))
    library[low_quality] *= p.low_quality_library_factor
    mito_median = np.where(low_quality, p.low_quality_mito_fraction, p.mito_fraction)
    mito_share = np.minimum(
        mito_median * np.exp(_MITO_SHARE_SDLOG * setup_rng.standard_normal(p.n_cells)), 0.95
    )
    if p.n_mito_genes == 0:
        mito_share[:] = 0.0
    plain_total = library * (1.0 - mito_share)
    mito_total = library * mito_share
    group = cell_type * p.n_batches + batch

    def simulate_block(block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts of one block of cells as CSR pieces (nonzeros per cell, columns, values)."""
        rows = slice(block * block_cells, min((block + 1) * block_cells, p.n_cells))
        rng = np.random.default_rng(
            np.random.SeedSequence(p.seed, spawn_key=(_BLOCK_STREAM, block))
        )
        mean = profiles[group[rows]]
        mean[:, :n_plain] *= plain_total[rows, None]
        mean[:, n_plain:] *= mito_total[rows, None]
        # Gamma-Poisson = negative binomial; drawn this way it is 2-3x faster than numpy's
        # negative_binomial with per-gene shapes.
        rate = rng.standard_gamma(np.broadcast_to(inverse_dispersion, mean.shape))
        rate *= mean
        rate /= inverse_dispersion
        counts = rng.poisson(rate)
        del rate
        nonzero = counts > 0
        if p.dropout_shape != 0:
            log_mean = np.log(mean[nonzero])
            drop = rng.random(log_mean.size) < 1.0 / (
                1.0 + np.exp(p.dropout_shape * (log_mean - p.dropout_midpoint))
            )
            kept = counts[nonzero]
            kept[drop] = 0
            counts[nonzero] = kept
            nonzero = counts > 0
        return (
            nonzero.sum(axis=1),
            np.nonzero(nonzero)[1].astype(np.int32),
            counts[nonzero].astype(np.float32),
        )

    block_cells = max(64, _BLOCK_ENTRIES // p.n_genes)
    blocks = range(math.ceil(p.n_cells / block_cells))
    if threads > 1:  # numpy's generators release the GIL while drawing
        with ThreadPoolExecutor(threads) as pool:
            X = _join_blocks(pool.map(simulate_block, blocks), (p.n_cells, p.n_genes))
    else:
        X = _join_blocks(map(simulate_block, blocks), (p.n_cells, p.n_genes))
    type_names = [f"type_{t + 1:02d}" for t in range(p.n_types)]
    obs = pd.DataFrame(
        {
            "truth": pd.Categorical.from_codes(cell_type, categories=type_names),
            "low_quality": low_quality,
        },
        index=_numbered("cell_", p.n_cells, width=6),
    )
    if p.n_batches > 1:
        batch_names = [f"batch_{b + 1}" for b in range(p.n_batches)]
        obs["batch"] = pd.Categorical.from_codes(batch, categories=batch_names)
    gene_names = _numbered("Gene", n_plain, width=5) + list(MITO_GENE_NAMES[: p.n_mito_genes])
    var = pd.DataFrame(index=pd.Index(gene_names))
    uns = {"simulation": {k: v for k, v in p.to_dict().items() if v is not None}}
    return anndata.AnnData(X=X, obs=obs, var=var, uns=uns)


def _group_profiles(p: SimulationParams, rng: np.random.Generator) -> np.ndarray:
    """Relative expression per (type, batch) group: rows `type * n_batches + batch`.

    Within each row the non-mitochondrial genes sum to 1 and the mitochondrial genes sum to
    1, so a cell's mean is its library split by its mitochondrial share.
    """
    n_plain = p.n_genes - p.n_mito_genes
    log_base = p.gene_mean_sdlog * rng.standard_normal(n_plain)
    n_lineages = min(p.n_lineages, p.n_types)
    lineage_logfc = [_program(p, p.lineage_de_fraction, n_plain, rng) for _ in range(n_lineages)]
    type_logfc = np.stack([_program(p, p.de_fraction, n_plain, rng) for _ in range(p.n_types)])
    if n_lineages:
        type_logfc += np.stack([lineage_logfc[t % n_lineages] for t in range(p.n_types)])
    batch_logfc = p.batch_effect * rng.standard_normal((p.n_batches, n_plain))
    if p.n_batches == 1:
        batch_logfc[:] = 0.0
    plain = np.exp(log_base + type_logfc[:, None, :] + batch_logfc[None, :, :])
    plain = plain.reshape(p.n_types * p.n_batches, n_plain)
    plain /= plain.sum(axis=1, keepdims=True)
    mito = np.exp(0.5 * rng.standard_normal(p.n_mito_genes))
    mito = np.broadcast_to(mito / mito.sum(), (plain.shape[0], p.n_mito_genes))
    return np.hstack([plain, mito])


def _program(p: SimulationParams, fraction: float, n_genes: int, rng: np.random.Generator):
    """Log fold changes of one gene program: `fraction` of the genes up or down, rest 0."""
    logfc = np.zeros(n_genes)
    n_changed = round(fraction * n_genes)
    changed = rng.choice(n_genes, size=n_changed, replace=False)
    size = p.de_logfc_median * np.exp(p.de_logfc_sdlog * rng.standard_normal(n_changed))
    sign = np.where(rng.random(n_changed) < p.de_down_fraction, -1.0, 1.0)
    logfc[changed] = sign * size
    return logfc


def _type_counts(p: SimulationParams) -> np.ndarray:
    """Exact number of cells per type (largest remainder), at least one each."""
    if p.type_proportions is not None:
        weights = np.asarray(p.type_proportions, dtype=float)
    else:
        n_common = p.n_types - p.n_rare_types
        common = np.linspace(2.0, 1.0, n_common) if n_common > 1 else np.ones(n_common)
        common = common / common.sum() * (1.0 - p.n_rare_types * p.rare_fraction)
        weights = np.concatenate([common, np.full(p.n_rare_types, p.rare_fraction)])
    exact = weights / weights.sum() * p.n_cells
    counts = np.floor(exact).astype(np.int64)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: p.n_cells - counts.sum()]] += 1
    for t in np.flatnonzero(counts == 0):
        counts[np.argmax(counts)] -= 1
        counts[t] = 1
    return counts


def _join_blocks(pieces: Iterable[tuple], shape: tuple[int, int]) -> sp.csr_matrix:
    """One CSR matrix from per-block pieces (nonzeros per cell, columns, values).

    Pieces are merged into segments of at least 64 MB as they arrive. Arrays that large get
    their own memory mapping, so freeing each segment once it is copied into the final
    matrix returns its memory to the system and the peak stays near one matrix; thousands
    of small per-block arrays would stay in the process heap and double it.
    """
    row_nnz, segments, pending = [], [], []
    for nnz, indices, data in pieces:
        row_nnz.append(nnz)
        pending.append((indices, data))
        if sum(block_data.size for _, block_data in pending) >= _SEGMENT_ENTRIES:
            segments.append(_concatenate_pieces(pending))
            pending = []
    segments.append(_concatenate_pieces(pending))
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(row_nnz))])
    index_dtype = np.int32 if indptr[-1] < np.iinfo(np.int32).max else np.int64
    indices = np.empty(indptr[-1], dtype=index_dtype)
    data = np.empty(indptr[-1], dtype=np.float32)
    offset = 0
    while segments:
        segment_indices, segment_data = segments.pop(0)
        indices[offset : offset + segment_data.size] = segment_indices
        data[offset : offset + segment_data.size] = segment_data
        offset += segment_data.size
        del segment_indices, segment_data
    X = sp.csr_matrix(shape, dtype=np.float32)
    X.data, X.indices, X.indptr = data, indices, indptr.astype(index_dtype)
    return X


def _concatenate_pieces(pieces: list) -> tuple[np.ndarray, np.ndarray]:
    if not pieces:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
    return np.concatenate([i for i, _ in pieces]), np.concatenate([d for _, d in pieces])


def _numbered(prefix: str, n: int, width: int) -> list[str]:
    width = max(width, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _check_consistency(p: SimulationParams) -> None:
    """The rules between fields, which the schema of each field cannot state."""
    if p.n_cells < p.n_types:
        raise must_be(_SOURCE, "n_cells", f"at least n_types ({p.n_types})", p.n_cells)
    if p.n_genes <= p.n_mito_genes:
        raise must_be(_SOURCE, "n_genes", f"larger than n_mito_genes ({p.n_mito_genes})", p.n_genes)
    if p.type_proportions is not None:
        if len(p.type_proportions) != p.n_types:
            rule = f"a list of n_types ({p.n_types}) weights"
            raise must_be(_SOURCE, "type_proportions", rule, p.type_proportions)
    elif p.n_rare_types >= p.n_types:
        rule = f"smaller than n_types ({p.n_types})"
        raise must_be(_SOURCE, "n_rare_types", rule, p.n_rare_types)
    elif p.n_rare_types * p.rare_fraction >= 1.0:
        raise must_be(_SOURCE, "rare_fraction", "below 1 / n_rare_types", p.rare_fraction)
