"""scCAN clustering end to end: `sccan_cluster` (counts -> labels) and its two halves,
`sccan_latents` (steps 1-3) and `cluster_latents` (steps 4-8)."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.runtime import set_threads
from sclatent.sccan.params import fused_views, resolve_params, uses_count
from sclatent.sccan.views import assemble_views, expression_hvgs

log = logging.getLogger("sclatent.sccan")


@dataclass
class SccanResult:
    """Outcome of one scCAN run.

    labels: cluster of every cell (0..k-1); k: clusters asked of spectral clustering (found
    by the eigengap rule unless given); k_best / k_second: the two eigengap picks;
    eigenvalues: smallest eigenvalues of the fused graph's normalised Laplacian; ks / gaps:
    the candidate k and their gaps lambda_{k+1} - lambda_k; sample: cells clustered directly
    (all cells unless the big-data path ran); latent_names: the views fused; genes_used:
    indices (into the input genes) the VAEs saw; timings: seconds per step; k_count: the
    expression's Tracy-Widom count, when the k rule used one.
    """

    labels: np.ndarray
    k: int
    k_best: int
    k_second: int
    k_given: bool
    eigenvalues: np.ndarray
    ks: np.ndarray
    gaps: np.ndarray
    sample: np.ndarray
    latent_names: list[str]
    flavour: str
    params: dict
    seed: int
    genes_used: np.ndarray | None = None
    timings: dict = field(default_factory=dict)
    k_count: int | None = None

    @property
    def n_clusters(self) -> int:
        """Clusters that received cells (discretisation may leave one of the k empty)."""
        return int(len(np.unique(self.labels)))

    def summary(self) -> dict:
        """JSON-friendly record of the run (no per-cell arrays)."""
        record = asdict(self)
        for key in ("labels", "sample", "genes_used"):
            record.pop(key)
        record["eigenvalues"] = [float(v) for v in self.eigenvalues]
        record["ks"] = [int(v) for v in self.ks]
        record["gaps"] = [float(v) for v in self.gaps]
        record["n_cells"] = int(len(self.labels))
        record["n_sample"] = int(len(self.sample))
        record["n_clusters"] = self.n_clusters
        return record

    def write_to(self, adata, key_added: str = "sccan") -> None:
        """obs[key_added]: labels (categorical); uns[key_added]: `summary()`."""
        import pandas as pd

        adata.obs[key_added] = pd.Categorical(self.labels.astype(str))
        adata.uns[key_added] = _plain(self.summary())


def _plain(value):
    """Nested dict/list with None replaced, as h5ad cannot store None."""
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return "none" if value is None else value


class _Clock:
    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        """Time a step, and log its end: at a million cells a step can take minutes."""
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        log.info("scCAN step %s: %.1f s", name, seconds)


def _counts_of(data, layer: str | None):
    """The cells x genes count matrix of an AnnData (layer, else 'counts', else X) or matrix."""
    try:
        from anndata import AnnData
    except ImportError:  # pragma: no cover - anndata is a dependency
        AnnData = ()
    if isinstance(data, AnnData):
        if layer is not None:
            if layer not in data.layers:
                raise InputError(f"AnnData: no layer {layer!r} (has {list(data.layers)})")
            return data.layers[layer]
        return data.layers.get("counts", data.X)
    if layer is not None:
        raise InputError("layer: only meaningful with an AnnData input")
    return data


def _extra_views(data, extra_latents, n_cells: int) -> tuple[list, list]:
    """Extra latent matrices (arrays, or obsm keys of an AnnData) as float arrays, named."""
    if extra_latents is None:
        return [], []
    if isinstance(extra_latents, dict):
        items = list(extra_latents.items())
    else:
        items = [
            (item, item) if isinstance(item, str) else (f"extra{i + 1}", item)
            for i, item in enumerate(extra_latents)
        ]
    views, names = [], []
    for name, value in items:
        if isinstance(value, str):
            obsm = getattr(data, "obsm", None)
            if obsm is None or value not in obsm:
                raise InputError(f"extra_latents: no obsm key {value!r} in the input")
            value = obsm[value]
        matrix = np.asarray(value.toarray() if sp.issparse(value) else value, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != n_cells or matrix.shape[1] < 1:
            raise InputError(
                f"extra_latents: {name!r} has shape {matrix.shape}, expected ({n_cells}, d)"
            )
        if not np.isfinite(matrix).all():
            raise InputError(f"extra_latents: {name!r} contains NaN or infinite values")
        views.append(matrix)
        names.append(str(name))
    return views, names


def sccan_latents(
    data,
    flavour: str = "faithful",
    params: dict | None = None,
    *,
    seed: int = 0,
    layer: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    checkpoint_dir: str | Path | None = None,
) -> tuple[list[np.ndarray], list[str], np.ndarray | None, dict]:
    """Steps 1-3 (scaling, gene filter, VAE ensemble): the "vae" views, when the run fuses them
    (none otherwise: `fused_views`).

    Returns (latents, names, genes_used, timings); `assemble_views` adds the other views and
    `cluster_latents` takes it from there. With `checkpoint_dir` the networks checkpoint there
    and a rerun resumes them (SIGTERM saves a checkpoint and exits with status 143,
    `TrainingInterrupted`).
    """
    params = resolve_params(flavour, params)
    if threads is not None:
        set_threads(threads)
    clock = _Clock()
    counts = _counts_of(data, layer)
    if "vae" not in fused_views(params, counts.shape[0]):
        return [], [], None, clock.timings
    from sclatent.autoencoder.device import select_device
    from sclatent.sccan import latent
    from sclatent.sccan.scaling import scale_counts

    with clock.step("scaling"):
        scaled, kept = scale_counts(counts, log_threshold=params["log_threshold"])
    latents, names, used = latent.vae_latents(
        scaled,
        params,
        seed=seed,
        device=select_device(device),
        timings=clock.timings,
        checkpoint_dir=checkpoint_dir,
    )
    if params["vae_views"] == "last":
        last = f"_snapshot{params['n_snapshots']}"
        keep = [i for i, name in enumerate(names) if name.endswith(last)]
        latents, names = [latents[i] for i in keep], [names[i] for i in keep]
    return latents, names, kept[used], clock.timings


# The settings that shape the VAE views: two flavours equal on these (and on the counts, seed
# and device) train the same networks and keep the same views, so one can reuse the other's.
VAE_KEYS = (
    "log_threshold",
    "n_genes",
    "gene_filter_epochs",
    "n_models",
    "n_snapshots",
    "vae_views",
    "train_cells",
    "big_data_cells",
    "train_cells_big",
    "warmup_epochs",
    "train_epochs",
    "drop_last",
)


def same_vae_views(flavour: str, params: dict | None, other: str, other_params: dict | None):
    """Whether two flavours (with their overrides) train the same VAE views."""
    a, b = resolve_params(flavour, params), resolve_params(other, other_params)
    return "vae" in a["views"] and "vae" in b["views"] and all(a[k] == b[k] for k in VAE_KEYS)


FUSION_KEYS = (
    "sample_size",
    "sampling",
    "affinity_neighbors",
    "affinity_alpha",
    "affinity_knn",
    "snf_neighbors",
    "snf_iterations",
    "dtype",
)


def _check_latents(latents: list[np.ndarray]) -> int:
    if not latents:
        raise InputError("sccan: no latent to cluster (no views and no extra_latents)")
    n = latents[0].shape[0]
    if any(z.shape[0] != n for z in latents):
        raise InputError("sccan: latents differ in their number of cells")
    return n


def fuse_sample(latents: list[np.ndarray], params: dict, *, seed: int = 0):
    """Steps 4-5 on the cells to cluster directly: (sample indices, fused n x n network).

    Depends only on the params in FUSION_KEYS (callers may cache on them).
    """
    from sclatent.sccan import bigdata, network

    _check_latents(latents)
    sample = bigdata.choose_sample(
        latents, params["sample_size"], how=params["sampling"], seed=seed
    )
    if len(sample) < 3:
        raise InputError(f"sccan: need at least 3 cells, got {len(sample)}")

    def affinities():
        for latent in latents:
            z = np.asarray(latent, dtype=np.float64)[sample]
            if params["affinity_knn"] is None:
                yield network.affinity_network(
                    network.euclidean_distances(z),
                    params["affinity_neighbors"],
                    params["affinity_alpha"],
                )
            else:
                yield network.knn_affinity_network(
                    z,
                    params["affinity_knn"],
                    params["affinity_neighbors"],
                    params["affinity_alpha"],
                )

    fused = network.fuse_networks(
        affinities(),
        params["snf_neighbors"],
        params["snf_iterations"],
        np.dtype(params["dtype"]),
        overwrite=True,
    )
    return sample, fused


def choose_k(fused: np.ndarray, params: dict, count: int | None = None) -> dict:
    """Step 6: eigenvalues, eigengaps and the k of the params' k_rule.

    count: the expression's Tracy-Widom count (`signal_count`), which the "gap_or_count" rule
    needs: a clear largest gap (at least dominant_gap_ratio x the second) is taken as it is;
    without one, the largest gap is read within +-1 of the count (anywhere when the count is
    out of range), because a flat gap profile alone under-calls k on large, many-type data.
    """
    from sclatent.sccan import spectral

    n = fused.shape[0]
    k_max = min(params["k_max"], n - 2)
    values, ks, gaps = spectral.eigengaps(
        fused, min(params["k_min"], k_max), k_max, params["eigen_solver"]
    )
    k_best, k_second = spectral.best_two_ks(ks, gaps)
    if params["k_rule"] == "gap_or_count":  # None without the count (k is then given)
        chosen = None
        if count is not None:
            chosen, _ = spectral.gap_or_count(ks, gaps, count, params["dominant_gap_ratio"])
    else:
        chosen = {
            "min_best_second": min(k_best, k_second),
            "max_best_second": max(k_best, k_second),
            "best": k_best,
        }[params["k_rule"]]
    return {
        "k": chosen,
        "k_best": k_best,
        "k_second": k_second,
        "eigenvalues": values,
        "ks": ks,
        "gaps": gaps,
    }


def cluster_latents(
    latents: list[np.ndarray],
    flavour: str = "faithful",
    params: dict | None = None,
    *,
    seed: int = 0,
    k: int | None = None,
    names: list[str] | None = None,
    threads: int | None = None,
    fusion_cache: dict | None = None,
    k_count: int | None = None,
) -> SccanResult:
    """Steps 4-8: affinity per latent, SNF, k by eigengap (unless given), spectral
    clustering; above `sample_size` cells on a sample, with label transfer to the rest.

    fusion_cache: a dict shared by calls on the same cells; a fusion (sample and fused
    network) is reused when the latent names, the seed and the params in FUSION_KEYS match.
    k_count: the expression's Tracy-Widom count (`signal_count`), needed by the k_rule
    "gap_or_count".
    """
    from sclatent.sccan import bigdata, spectral

    params = resolve_params(flavour, params)
    _check_latents(latents)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        raise InputError(f"sccan: k must be a positive integer, got {k!r}")
    if k is None and k_count is None and uses_count(params):
        raise InputError(
            "sccan: k_rule 'gap_or_count' needs the Tracy-Widom count of the expression "
            "matrix (k_count), or k"
        )
    names = list(names) if names is not None else [f"latent{i + 1}" for i in range(len(latents))]
    if threads is not None:
        set_threads(threads)
    clock = _Clock()
    key = (tuple(names), seed, *(params[name] for name in FUSION_KEYS))
    with clock.step("sampling_affinity_fusion"):
        if fusion_cache is not None and key in fusion_cache:
            sample, fused = fusion_cache[key]
        else:
            sample, fused = fuse_sample(latents, params, seed=seed)
            if fusion_cache is not None:
                fusion_cache[key] = (sample, fused)
    with clock.step("k_estimation"):
        found = choose_k(fused, params, k_count)
    chosen = found["k"] if k is None else int(min(k, len(sample) - 1))
    with clock.step("spectral_clustering"):
        sample_labels = spectral.spectral_clustering(fused, chosen, params["eigen_solver"])
    with clock.step("transfer"):
        views = latents if params["transfer"] == "all_latents" else latents[:1]
        labels = bigdata.transfer_labels(
            views, sample, sample_labels, neighbors=params["transfer_neighbors"]
        )
    log.info(
        "scCAN %s: k=%d (eigengap picks %d, %d)",
        flavour,
        chosen,
        found["k_best"],
        found["k_second"],
    )
    return SccanResult(
        labels=labels,
        k=int(chosen),
        k_best=found["k_best"],
        k_second=found["k_second"],
        k_given=k is not None,
        eigenvalues=found["eigenvalues"],
        ks=found["ks"],
        gaps=found["gaps"],
        sample=sample,
        latent_names=names,
        flavour=flavour,
        params=params,
        seed=int(seed),
        timings=clock.timings,
        k_count=None if k_count is None else int(k_count),
    )


def sccan_cluster(
    data,
    flavour: str = "faithful",
    params: dict | None = None,
    *,
    seed: int = 0,
    k: int | None = None,
    extra_latents=None,
    layer: str | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> SccanResult:
    """scCAN clustering of raw counts (cells x genes; AnnData: `layer`, else layers['counts'],
    else X) in the "faithful" (reference defaults) or "improved" flavour.

    params: overrides of the flavour's defaults (`default_params(flavour)`); its `views` say
    what is fused: the improved flavour fuses PCA (computed here unless given) with the nbae
    and scVI latents, which must be given as extra latents of those names; k: the number of
    clusters when given (else the eigengap rule); extra_latents: a list or dict of n x d
    arrays or of obsm keys of `data`, named as views, and fused beside them when not named
    there; device: "auto" (GPU if visible), "cpu", "cuda"... (see `select_device`); threads:
    BLAS/torch/numba threads, set for the process (`set_threads`).
    """
    params = resolve_params(flavour, params)
    counts = _counts_of(data, layer)
    n_cells = counts.shape[0]
    extra, extra_names = _extra_views(data, extra_latents, n_cells)
    given = dict(zip(extra_names, extra, strict=True))
    vae_latents, vae_names, genes_used, timings = sccan_latents(
        data, flavour, params, seed=seed, layer=layer, device=device, threads=threads
    )
    latents, names = assemble_views(params, n_cells, (vae_latents, vae_names), given, counts=counts)
    for name, latent in given.items():  # latents the views do not name are fused beside them
        if name not in params["views"] and name != "pca":
            latents.append(latent)
            names.append(name)
    k_count = None
    if k is None and uses_count(params):
        from sclatent.sccan.signal_count import signal_count

        k_count = signal_count(expression_hvgs(counts), params["count_cells"], seed=seed)
    result = cluster_latents(
        latents,
        flavour,
        params,
        seed=seed,
        k=k,
        names=names,
        threads=threads,
        k_count=k_count,
    )
    result.genes_used = genes_used
    result.timings = timings | result.timings
    return result
