"""Negative binomial and zero-inflated NB log-likelihoods of counts, in log space.

Parameterised by log mean and log inverse dispersion (theta) so that nothing is exponentiated
and then logged again: log(theta + mu) is a logaddexp, log(pi) and log(1 - pi) are softplus of
the zero-inflation logit. They equal `torch.distributions.NegativeBinomial` (and the ZINB
mixture) to float precision; the tests check this on random inputs.

`*_log_prob` are elementwise. `*_log_prob_sum` give the same total for training faster: the
lgamma terms, the costliest part, vanish where x == 0, and on the CPU they are evaluated only
at the nonzero counts (on a GPU, where picking the nonzeros would synchronise with the host,
they are evaluated densely, which is cheap there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _nb_smooth_terms(x, log_mu, log_theta):
    """theta, and the part of log NB without lgamma terms: theta*log(theta/(theta+mu)) + x*log(mu/(theta+mu))."""
    theta = log_theta.exp()
    log_theta_mu = torch.logaddexp(log_theta, log_mu)
    at_zero = theta * (log_theta - log_theta_mu)  # log NB(0)
    return theta, at_zero, at_zero + x * (log_mu - log_theta_mu)


def _lgamma_terms(x, theta):
    """lgamma(x + theta) - lgamma(theta) - lgamma(x + 1): zero where x == 0."""
    return torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1)


def _lgamma_terms_sum(x, theta):
    if x.device.type != "cpu":
        return _lgamma_terms(x, theta).sum()
    nonzero = x > 0
    return _lgamma_terms(x[nonzero], theta.expand_as(x)[nonzero]).sum()


def nb_log_prob(x: torch.Tensor, log_mu: torch.Tensor, log_theta: torch.Tensor) -> torch.Tensor:
    """Elementwise log NB(x; mean mu, inverse dispersion theta), variance mu + mu^2 / theta.

    Arguments broadcast (e.g. a per-gene `log_theta` of shape (genes,)).
    """
    theta, _, smooth = _nb_smooth_terms(x, log_mu, log_theta)
    return smooth + _lgamma_terms(x, theta)


def _zinb_smooth(x, log_mu, log_theta, pi_logits):
    theta, nb_zero, nb_smooth = _nb_smooth_terms(x, log_mu, log_theta)
    log_pi = -F.softplus(-pi_logits)
    log_not_pi = -F.softplus(pi_logits)
    zero_case = torch.logaddexp(log_pi, log_not_pi + nb_zero)
    return theta, torch.where(x == 0, zero_case, log_not_pi + nb_smooth)


def zinb_log_prob(
    x: torch.Tensor, log_mu: torch.Tensor, log_theta: torch.Tensor, pi_logits: torch.Tensor
) -> torch.Tensor:
    """Elementwise log of pi * [x == 0] + (1 - pi) * NB(x; mu, theta), pi = sigmoid(pi_logits)."""
    theta, smooth = _zinb_smooth(x, log_mu, log_theta, pi_logits)
    return smooth + _lgamma_terms(x, theta)


def nb_log_prob_sum(x: torch.Tensor, log_mu: torch.Tensor, log_theta: torch.Tensor) -> torch.Tensor:
    """nb_log_prob(...).sum(), computed faster."""
    theta, _, smooth = _nb_smooth_terms(x, log_mu, log_theta)
    return smooth.sum() + _lgamma_terms_sum(x, theta)


def zinb_log_prob_sum(
    x: torch.Tensor, log_mu: torch.Tensor, log_theta: torch.Tensor, pi_logits: torch.Tensor
) -> torch.Tensor:
    """zinb_log_prob(...).sum(), computed faster."""
    theta, smooth = _zinb_smooth(x, log_mu, log_theta, pi_logits)
    return smooth.sum() + _lgamma_terms_sum(x, theta)
