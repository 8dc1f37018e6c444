"""Steps 2-3 of scCAN (from scDHA): the non-negative gene filter and the stacked Bayesian
autoencoder that yields n_models x n_snapshots latent matrices.

Minibatches are densified from the scaled sparse matrix one at a time; all cells are encoded
in chunks. Every random draw (subsamples, initialisation, shuffles, the sampling noise) comes
from generators seeded with seed + i for replicate / model i, as the reference seeds
set.seed(seed + i) and torch_manual_seed(seed + i).
"""

from __future__ import annotations

import logging
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

log = logging.getLogger("sclatent.sccan")

GENE_FILTER_REPLICATES = 3
ENCODE_CHUNK = 10000


def pick_device(device: str = "auto") -> torch.device:
    """`auto`: the GPU when one is visible, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def training_cells(n_cells: int, replicate_seed: int, n_train: int, always_sample: bool):
    """Rows of one replicate's training subsample (all cells when there are few)."""
    if n_cells <= n_train and not always_sample:
        return np.arange(n_cells)
    rng = np.random.default_rng(replicate_seed)
    return rng.choice(n_cells, size=min(n_train, n_cells), replace=False)


def _batch_size(n_train: int) -> int:
    return max(round(n_train / 50), 2)  # Python's round halves to even, like R's


def _minibatches(
    rows: sp.csr_matrix, batch_size: int, generator, drop_last: bool, device, min_size: int = 1
):
    """Dense minibatches of the rows of a sparse matrix in a shuffled order.

    Without drop_last the last, smaller batch is kept (R torch's dataloader default) unless
    it has fewer than `min_size` rows (BatchNorm cannot train on a single cell).
    """
    order = torch.randperm(rows.shape[0], generator=generator).numpy()
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        batch = order[start : start + batch_size]
        if len(batch) >= min_size:
            yield torch.from_numpy(rows[batch].toarray()).to(device)


def _xavier_zero(linear: nn.Linear, generator) -> nn.Linear:
    nn.init.xavier_uniform_(linear.weight, generator=generator)
    nn.init.zeros_(linear.bias)
    return linear


class NonNegativeAE(nn.Module):
    """Linear(G -> 32) -> Linear(32 -> G); the encoder weights are kept >= 0 while training."""

    def __init__(self, n_genes: int, generator, hidden: int = 32):
        super().__init__()
        self.encoder = _xavier_zero(nn.Linear(n_genes, hidden), generator)
        self.decoder = _xavier_zero(nn.Linear(hidden, n_genes), generator)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class StackedBayesianAE(nn.Module):
    """scDHA's VAE: one encoder, a softmax variance head, two decoders with their own z draw.

    BatchNorm (no activation) after the first layer when trained on more than 500 cells,
    else SELU. z = mu + sqrt(var) * eps_std * eps, one eps ~ N(0, I) per forward pass shared
    by the whole minibatch.
    """

    def __init__(
        self,
        n_genes: int,
        latent_dim: int,
        generator,
        *,
        batch_norm: bool,
        hidden: int = 64,
        eps_std: float = 0.25,
    ):
        super().__init__()
        self.generator = generator
        self.eps_std = eps_std
        self.latent_dim = latent_dim
        self.hidden = _xavier_zero(nn.Linear(n_genes, hidden), generator)
        self.norm = nn.BatchNorm1d(hidden, momentum=0.01, eps=1e-3) if batch_norm else nn.SELU()
        self.mu = _xavier_zero(nn.Linear(hidden, latent_dim), generator)
        self.var = _xavier_zero(nn.Linear(hidden, latent_dim), generator)
        self.decoders = nn.ModuleList(
            nn.Sequential(
                _xavier_zero(nn.Linear(latent_dim, hidden), generator),
                nn.SELU(),
                _xavier_zero(nn.Linear(hidden, n_genes), generator),
            )
            for _ in range(2)
        )

    def encode_mu(self, x):
        return self.mu(self.norm(self.hidden(x)))

    def forward(self, x):
        h = self.norm(self.hidden(x))
        mu = self.mu(h)
        var = torch.softmax(self.var(h), dim=1)
        outputs = []
        for decoder in self.decoders:
            eps = torch.randn(1, self.latent_dim, generator=self.generator).to(x.device)
            outputs.append(decoder(mu + torch.sqrt(var) * self.eps_std * eps))
        return mu, var, outputs


def _adamw(model: nn.Module, *, lr: float, weight_decay: float):
    """AdamW with decoupled weight decay and eps 1e-7, as scDHA's own optim_adamw; the fused
    kernel computes the same update about twice as fast on small minibatches."""
    return torch.optim.AdamW(
        model.parameters(), lr=lr, eps=1e-7, weight_decay=weight_decay, fused=True
    )


def _vae_loss(x, reconstruction, mu, var, beta: float):
    mse = torch.mean(torch.square(x - reconstruction), dim=1)
    kl = -0.5 * torch.mean(1 + torch.log(var) - torch.square(mu) - var, dim=1)
    return torch.mean(mse * beta + kl)


def gene_filter_scores(
    scaled: sp.csr_matrix,
    *,
    seed: int,
    n_train: int,
    always_sample: bool,
    weight_decay: float,
    epochs: int,
    drop_last: bool,
    device,
) -> np.ndarray:
    """Mean over replicates of each gene's min-max scaled sd of its non-negative encoder weights."""
    n_cells, n_genes = scaled.shape
    scores = np.zeros(n_genes)
    for replicate in range(1, GENE_FILTER_REPLICATES + 1):
        rows = scaled[training_cells(n_cells, seed + replicate, n_train, always_sample)]
        generator = torch.Generator().manual_seed(seed + replicate)
        model = NonNegativeAE(n_genes, generator).to(device)
        optimizer = _adamw(model, lr=1e-3, weight_decay=weight_decay)
        batch_size = _batch_size(rows.shape[0])
        for _ in range(epochs):
            for x in _minibatches(rows, batch_size, generator, drop_last, device):
                loss = nn.functional.mse_loss(model(x), x)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    model.encoder.weight.clamp_(min=0)
        spread = model.encoder.weight.detach().cpu().double().std(dim=0).numpy()
        spread = np.nan_to_num(spread)
        span = spread.max() - spread.min()
        scores += (spread - spread.min()) / span if span > 0 else np.zeros(n_genes)
    return scores / GENE_FILTER_REPLICATES


def keep_top_genes(scores: np.ndarray, n_keep: int) -> np.ndarray:
    """Indices of genes scoring above the (1 - n_keep / G) quantile (R's type 7)."""
    threshold = np.quantile(scores, 1.0 - min(n_keep, len(scores)) / len(scores))
    return np.flatnonzero(scores > threshold)


def encode_all(model: StackedBayesianAE, matrix: sp.csr_matrix, device) -> np.ndarray:
    """mu of every cell, in eval mode, encoded in chunks."""
    model.eval()
    out = np.empty((matrix.shape[0], model.latent_dim), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, matrix.shape[0], ENCODE_CHUNK):
            x = torch.from_numpy(matrix[start : start + ENCODE_CHUNK].toarray()).to(device)
            out[start : start + ENCODE_CHUNK] = model.encode_mu(x).cpu().numpy()
    return out


def train_vae_snapshots(
    genes: sp.csr_matrix,
    *,
    model_seed: int,
    n_train: int,
    always_sample: bool,
    config: dict,
    device,
) -> list[np.ndarray]:
    """Train one model and return the latents of all cells after each snapshot epoch."""
    rows = genes[training_cells(genes.shape[0], model_seed, n_train, always_sample)]
    generator = torch.Generator().manual_seed(model_seed)
    batch_norm = rows.shape[0] > 500
    model = StackedBayesianAE(
        genes.shape[1], config["latent_dim"], generator, batch_norm=batch_norm
    )
    model.to(device)
    batch_size = _batch_size(rows.shape[0])

    def run_epoch(optimizer, loss_of):
        model.train()
        batches = _minibatches(
            rows,
            batch_size,
            generator,
            config["drop_last"],
            device,
            min_size=2 if batch_norm else 1,
        )
        for x in batches:
            mu, var, outputs = model(x)
            loss = loss_of(x, mu, var, outputs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def warmup_loss(x, mu, var, outputs):
        return sum(torch.mean(torch.abs(out - x)) for out in outputs)

    def vae_loss(x, mu, var, outputs):
        return sum(_vae_loss(x, out, mu, var, config["beta"]) for out in outputs)

    optimizer = _adamw(model, lr=config["lr"], weight_decay=config["weight_decay"])
    for _ in range(config["warmup_epochs"]):
        run_epoch(optimizer, warmup_loss)
    optimizer = _adamw(model, lr=config["lr"], weight_decay=config["weight_decay"])
    for _ in range(config["train_epochs"]):
        run_epoch(optimizer, vae_loss)
    snapshots = []
    for _ in range(config["n_snapshots"]):
        run_epoch(optimizer, vae_loss)
        snapshots.append(encode_all(model, genes, device))
    return snapshots


def vae_latents(
    scaled: sp.csr_matrix, params: dict, *, seed: int, device, timings: dict | None = None
) -> tuple[list, list, np.ndarray]:
    """All VAE latents of the scaled matrix: (latents, names, indices of the genes used).

    Seconds spent go to `timings` under "gene_filter" and "vae".
    """
    timings = {} if timings is None else timings
    start = time.perf_counter()
    n_cells, n_genes = scaled.shape
    big = n_cells >= params["big_data_cells"]
    n_train = params["train_cells_big"] if big else params["train_cells"]
    config = {
        "latent_dim": 25 if big else 15,
        "beta": 50.0 if big else 100.0,
        "lr": 1e-3 if big else 5e-4,
        "weight_decay": 1e-2 if big else 1e-3,
        "warmup_epochs": params["warmup_epochs"],
        "train_epochs": params["train_epochs"],
        "n_snapshots": params["n_snapshots"],
        "drop_last": params["drop_last"],
    }
    genes_used = np.arange(n_genes)
    if n_genes > params["n_genes"]:
        scores = gene_filter_scores(
            scaled,
            seed=seed,
            n_train=n_train,
            always_sample=big,
            weight_decay=1e-4 if big else 1e-6,
            epochs=params["gene_filter_epochs"],
            drop_last=params["drop_last"],
            device=device,
        )
        genes_used = keep_top_genes(scores, params["n_genes"])
    timings["gene_filter"] = time.perf_counter() - start
    start = time.perf_counter()
    genes = scaled[:, genes_used].tocsr()
    latents, names = [], []
    for model in range(1, params["n_models"] + 1):
        snapshots = train_vae_snapshots(
            genes,
            model_seed=seed + model,
            n_train=n_train,
            always_sample=big,
            config=config,
            device=device,
        )
        for snapshot, latent in enumerate(snapshots, start=1):
            latents.append(latent)
            names.append(f"vae{model}_snapshot{snapshot}")
        log.info(
            "scCAN VAE %d of %d trained and %d cells encoded (%.0f s so far)",
            model,
            params["n_models"],
            n_cells,
            time.perf_counter() - start,
        )
    timings["vae"] = time.perf_counter() - start
    return latents, names, genes_used
