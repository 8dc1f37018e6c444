"""The autoencoder networks (torch modules only; training lives in `trainer`).

One class covers all four models: the encoder maps log-normalised expression to the latent
space, the decoder mirrors it and ends in heads that depend on the likelihood:
'mse' reconstructs the input itself, 'nb' and 'zinb' give the parameters of a (zero-inflated)
negative binomial over raw counts, DCA-style, with the mean scaled by the cell's size factor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .likelihoods import nb_log_prob_sum, zinb_log_prob_sum

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}
# theta (inverse dispersion) kept in [1e-4, 1e4] as in DCA: outside it lgamma differences
# lose all float32 precision and the likelihood stops carrying signal
_LOG_THETA_MIN, _LOG_THETA_MAX = math.log(1e-4), math.log(1e4)


def _hidden_stack(
    sizes: list[int], dropout: float, batch_norm: bool, activation: str
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(nn.Linear(n_in, n_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(_ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """MLP autoencoder whose decoder ends in MSE, NB or ZINB output heads."""

    def __init__(
        self,
        n_genes: int,
        hidden: list[int] = (256, 128),
        latent_dim: int = 16,
        dropout: float = 0.1,
        batch_norm: bool = True,
        activation: str = "relu",
        likelihood: str = "mse",
        dispersion: str = "gene",
    ) -> None:
        super().__init__()
        hidden = list(hidden)
        self.likelihood = likelihood
        self.encoder = nn.Sequential(
            _hidden_stack([n_genes, *hidden], dropout, batch_norm, activation),
            nn.Linear(hidden[-1] if hidden else n_genes, latent_dim),
        )
        self.decoder = _hidden_stack([latent_dim, *hidden[::-1]], dropout, batch_norm, activation)
        n_top = hidden[0] if hidden else latent_dim
        # 'mse': the reconstruction of X; count models: log of the rate per unit size factor
        self.mean_head = nn.Linear(n_top, n_genes)
        self.theta_head = None
        self.gene_log_theta = None
        self.dropout_head = None
        if likelihood in ("nb", "zinb"):
            if dispersion == "gene-cell":
                self.theta_head = nn.Linear(n_top, n_genes)
            else:
                self.gene_log_theta = nn.Parameter(torch.zeros(n_genes))
            if likelihood == "zinb":
                self.dropout_head = nn.Linear(n_top, n_genes)
        elif likelihood != "mse":
            raise ValueError(f"unknown likelihood {likelihood!r}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent coordinates of log-normalised expression `x` (cells x genes)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Output parameters: 'mean' (X-hat, or log rate for count models), 'log_theta', 'pi_logits'.

        With per-gene dispersion 'log_theta' has shape (genes,) and broadcasts over cells.
        """
        h = self.decoder(z)
        out = {"mean": self.mean_head(h)}
        if self.theta_head is not None:
            out["log_theta"] = self.theta_head(h)
        elif self.gene_log_theta is not None:
            out["log_theta"] = self.gene_log_theta  # (genes,), broadcast in the likelihood
        if "log_theta" in out:
            out["log_theta"] = out["log_theta"].clamp(_LOG_THETA_MIN, _LOG_THETA_MAX)
        if self.dropout_head is not None:
            out["pi_logits"] = self.dropout_head(h)
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.decode(self.encode(x))

    def loss(
        self,
        out: dict[str, torch.Tensor],
        target: torch.Tensor,
        log_size_factor: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean per-entry loss: squared error to X, or NB/ZINB negative log-likelihood of counts."""
        out = {key: value.float() for key, value in out.items()}
        if self.likelihood == "mse":
            return torch.mean((out["mean"] - target) ** 2)
        log_mu = out["mean"] + log_size_factor[:, None]
        if self.likelihood == "nb":
            log_lik = nb_log_prob_sum(target, log_mu, out["log_theta"])
        else:
            log_lik = zinb_log_prob_sum(target, log_mu, out["log_theta"], out["pi_logits"])
        return -log_lik / target.numel()
