"""Steps 2-3 of scCAN (from scDHA): the non-negative gene filter and the stacked Bayesian
autoencoder that yields n_models x n_snapshots latent matrices.

Both train through the project's one training loop (`sclatent.autoencoder.trainer`), so they
share its device choice, per-epoch log lines, NaN guard, and checkpoints with resume after
SIGTERM. scDHA's schedule is a list of phases of that loop: a gene-filter replicate is one
phase whose steps clamp the encoder weights at zero; a VAE is a warm-up phase (L1 loss) and
a VAE-loss phase with a fresh optimiser whose last n_snapshots epochs each encode every cell.
Replicate / model i draws everything (subsample, initialisation, shuffles, sampling noise)
from seed + i, as the reference seeds set.seed(seed + i) and torch_manual_seed(seed + i).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from sclatent.autoencoder.data import CellData, digest, fixed_batches
from sclatent.autoencoder.trainer import CHECKPOINT_NAME, Phase, Trainer

log = logging.getLogger("sclatent.sccan")

GENE_FILTER_REPLICATES = 3
# scDHA trains on every cell of its subsample, without early stopping, to the last epoch
_SCHEDULE = {"val_fraction": 0.0, "patience": 0, "min_delta": 0.0, "amp": "none"}
_CHECKPOINT_EVERY = 5


def training_cells(n_cells: int, replicate_seed: int, n_train: int, always_sample: bool):
    """Rows of one replicate's training subsample (all cells when there are few)."""
    if n_cells <= n_train and not always_sample:
        return np.arange(n_cells)
    rng = np.random.default_rng(replicate_seed)
    return rng.choice(n_cells, size=min(n_train, n_cells), replace=False)


def _batch_size(n_train: int) -> int:
    return max(round(n_train / 50), 2)  # Python's round halves to even, like R's


def _adamw(*, lr: float, weight_decay: float):
    """AdamW with decoupled weight decay and eps 1e-7, as scDHA's own optim_adamw; the fused
    kernel computes the same update about twice as fast on small minibatches."""
    return partial(torch.optim.AdamW, lr=lr, eps=1e-7, weight_decay=weight_decay, fused=True)


def _xavier_zero(linear: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


class NonNegativeAE(nn.Module):
    """Linear(G -> 32) -> Linear(32 -> G); the encoder weights are kept >= 0 while training."""

    def __init__(self, n_genes: int, hidden: int = 32):
        super().__init__()
        self.encoder = _xavier_zero(nn.Linear(n_genes, hidden))
        self.decoder = _xavier_zero(nn.Linear(hidden, n_genes))

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def loss(self, reconstruction, target, _log_size_factor=None):
        return nn.functional.mse_loss(reconstruction, target)

    def clamp_encoder(self) -> None:
        self.encoder.weight.clamp_(min=0)


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
        *,
        batch_norm: bool,
        beta: float,
        hidden: int = 64,
        eps_std: float = 0.25,
    ):
        super().__init__()
        self.beta = beta
        self.eps_std = eps_std
        self.latent_dim = latent_dim
        self.hidden = _xavier_zero(nn.Linear(n_genes, hidden))
        self.norm = nn.BatchNorm1d(hidden, momentum=0.01, eps=1e-3) if batch_norm else nn.SELU()
        self.mu = _xavier_zero(nn.Linear(hidden, latent_dim))
        self.var = _xavier_zero(nn.Linear(hidden, latent_dim))
        self.decoders = nn.ModuleList(
            nn.Sequential(
                _xavier_zero(nn.Linear(latent_dim, hidden)),
                nn.SELU(),
                _xavier_zero(nn.Linear(hidden, n_genes)),
            )
            for _ in range(2)
        )

    def encode(self, x):
        return self.mu(self.norm(self.hidden(x)))

    def forward(self, x):
        h = self.norm(self.hidden(x))
        mu = self.mu(h)
        var = torch.softmax(self.var(h), dim=1)
        outputs = []
        for decoder in self.decoders:
            eps = torch.randn(1, self.latent_dim, device=x.device)
            outputs.append(decoder(mu + torch.sqrt(var) * self.eps_std * eps))
        return mu, var, outputs

    def loss(self, out, target, _log_size_factor=None):
        """Sum over decoders of mean over cells of (beta * MSE + KL), so the KL enters twice."""
        mu, var, outputs = out
        kl = -0.5 * torch.mean(1 + torch.log(var) - torch.square(mu) - var, dim=1)
        mse = [
            torch.mean(torch.square(target - reconstruction), dim=1) for reconstruction in outputs
        ]
        return sum(torch.mean(error * self.beta + kl) for error in mse)

    @staticmethod
    def warmup_loss(out, batch):
        """scDHA's warm-up: mean |x - x1| + mean |x - x2|."""
        return sum(torch.mean(torch.abs(reconstruction - batch.x)) for reconstruction in out[2])


def _fit(
    network: nn.Module,
    rows: sp.csr_matrix,
    phases: list[Phase],
    *,
    seed: int,
    lr: float,
    weight_decay: float,
    drop_last: bool,
    min_batch: int = 1,
    device,
    checkpoint_dir: Path | None,
    fingerprint: dict,
    snapshot_data: CellData | None = None,
) -> Trainer:
    """One replicate or model through the shared Trainer with scDHA's batches and optimiser."""
    return Trainer(
        network.to(device),
        CellData(rows, device),
        _SCHEDULE | {"checkpoint_every": _CHECKPOINT_EVERY},
        seed=seed,
        phases=phases,
        optimizer=_adamw(lr=lr, weight_decay=weight_decay),
        # R torch's dataloader: batches of exactly batch_size, the last smaller one kept
        batch_sizes=partial(
            fixed_batches,
            batch_size=_batch_size(rows.shape[0]),
            drop_last=drop_last,
            min_size=min_batch,
        ),
        restore_best=False,
        snapshot_data=snapshot_data,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        restart_stale=True,
    ).fit()


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
    checkpoint_dir: Path | None = None,
) -> np.ndarray:
    """Mean over replicates of each gene's min-max scaled sd of its non-negative encoder weights."""
    n_cells, n_genes = scaled.shape
    data_digest = digest(scaled) if checkpoint_dir else None
    scores = np.zeros(n_genes)
    for replicate in range(1, GENE_FILTER_REPLICATES + 1):
        rows = scaled[training_cells(n_cells, seed + replicate, n_train, always_sample)]
        torch.manual_seed(seed + replicate)
        model = NonNegativeAE(n_genes)
        phase = Phase(epochs, f"gene filter {replicate}", after_step=NonNegativeAE.clamp_encoder)
        _fit(
            model,
            rows,
            [phase],
            seed=seed + replicate,
            lr=1e-3,
            weight_decay=weight_decay,
            drop_last=drop_last,
            device=device,
            checkpoint_dir=checkpoint_dir and checkpoint_dir / f"gene_filter{replicate}",
            fingerprint={
                "step": "gene_filter",
                "seed": seed + replicate,
                "n_train": n_train,
                "always_sample": always_sample,
                "weight_decay": weight_decay,
                "epochs": epochs,
                "drop_last": drop_last,
                "data_digest": data_digest,
            },
        )
        spread = model.encoder.weight.detach().cpu().double().std(dim=0).numpy()
        spread = np.nan_to_num(spread)
        span = spread.max() - spread.min()
        scores += (spread - spread.min()) / span if span > 0 else np.zeros(n_genes)
    return scores / GENE_FILTER_REPLICATES


def keep_top_genes(scores: np.ndarray, n_keep: int) -> np.ndarray:
    """Indices of genes scoring above the (1 - n_keep / G) quantile (R's type 7)."""
    threshold = np.quantile(scores, 1.0 - min(n_keep, len(scores)) / len(scores))
    return np.flatnonzero(scores > threshold)


def train_vae_snapshots(
    genes: sp.csr_matrix,
    *,
    model_seed: int,
    n_train: int,
    always_sample: bool,
    config: dict,
    device,
    model_name: str = "VAE",
    checkpoint_dir: Path | None = None,
    data_digest: str | None = None,
) -> list[np.ndarray]:
    """Train one model and return the latents of all cells after each snapshot epoch."""
    rows = genes[training_cells(genes.shape[0], model_seed, n_train, always_sample)]
    torch.manual_seed(model_seed)
    batch_norm = rows.shape[0] > 500
    model = StackedBayesianAE(
        genes.shape[1], config["latent_dim"], batch_norm=batch_norm, beta=config["beta"]
    )
    phases = [
        Phase(config["warmup_epochs"], f"{model_name} warm-up", loss=model.warmup_loss),
        Phase(
            config["train_epochs"] + config["n_snapshots"],
            model_name,
            snapshots=config["n_snapshots"],
        ),
    ]
    trainer = _fit(
        model,
        rows,
        phases,
        seed=model_seed,
        lr=config["lr"],
        weight_decay=config["weight_decay"],
        drop_last=config["drop_last"],
        min_batch=2 if batch_norm else 1,  # BatchNorm cannot train on a single cell
        device=device,
        checkpoint_dir=checkpoint_dir,
        fingerprint={
            "step": "vae",
            "seed": model_seed,
            "n_train": n_train,
            "always_sample": always_sample,
            "config": config,
            "data_digest": data_digest,
        },
        snapshot_data=CellData(genes, device),
    )
    return trainer.snapshots


def _remove_checkpoints(checkpoint_dir: Path) -> None:
    """Delete the checkpoints written here (and the folders they emptied), nothing else."""
    for path in sorted(checkpoint_dir.glob(f"*/{CHECKPOINT_NAME}")):
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    if checkpoint_dir.is_dir() and not any(checkpoint_dir.iterdir()):
        checkpoint_dir.rmdir()


def vae_latents(
    scaled: sp.csr_matrix,
    params: dict,
    *,
    seed: int,
    device,
    timings: dict | None = None,
    checkpoint_dir: str | Path | None = None,
) -> tuple[list, list, np.ndarray]:
    """All VAE latents of the scaled matrix: (latents, names, indices of the genes used).

    Seconds spent go to `timings` under "gene_filter" and "vae". With `checkpoint_dir`, each
    gene-filter replicate and each VAE checkpoints into a folder of its own there; a rerun
    after an interruption reuses the finished ones and resumes the interrupted one, and a
    checkpoint of other settings or data is discarded. They are deleted once all latents are
    computed, so a later run (of changed code, say) trains afresh.
    """
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
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
            checkpoint_dir=checkpoint_dir,
        )
        genes_used = keep_top_genes(scores, params["n_genes"])
    timings["gene_filter"] = time.perf_counter() - start
    start = time.perf_counter()
    genes = scaled[:, genes_used].tocsr()
    data_digest = digest(genes) if checkpoint_dir else None
    latents, names = [], []
    for model in range(1, params["n_models"] + 1):
        snapshots = train_vae_snapshots(
            genes,
            model_seed=seed + model,
            n_train=n_train,
            always_sample=big,
            config=config,
            device=device,
            model_name=f"VAE {model}",
            checkpoint_dir=checkpoint_dir and checkpoint_dir / f"vae{model}",
            data_digest=data_digest,
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
    if checkpoint_dir:
        _remove_checkpoints(checkpoint_dir)
    return latents, names, genes_used
