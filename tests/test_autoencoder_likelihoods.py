"""Our NB / ZINB log-likelihoods against torch.distributions on random inputs."""

import pytest
import torch

from sclatent.autoencoder.likelihoods import (
    nb_log_prob,
    nb_log_prob_sum,
    zinb_log_prob,
    zinb_log_prob_sum,
)


def _random_inputs(dtype, seed=0, n=64, g=40):
    gen = torch.Generator().manual_seed(seed)
    mu_scale = torch.exp(torch.randn(n, g, generator=gen, dtype=dtype) * 2)
    x = torch.poisson(mu_scale, generator=gen)
    x[torch.rand(n, g, generator=gen) < 0.3] = 0  # plenty of zeros
    x[0, :5] = torch.tensor([0, 1, 50, 500, 3000], dtype=dtype)  # small and large counts
    log_mu = torch.randn(n, g, generator=gen, dtype=dtype) * 3
    log_theta = torch.randn(n, g, generator=gen, dtype=dtype) * 3  # theta ~ e^-9 .. e^9
    pi_logits = torch.randn(n, g, generator=gen, dtype=dtype) * 3
    return x, log_mu, log_theta, pi_logits


def _torch_nb(x, log_mu, log_theta):
    # torch's NB counts successes before total_count failures: mean = total_count * exp(logits)
    return torch.distributions.NegativeBinomial(
        total_count=log_theta.exp(), logits=log_mu - log_theta
    ).log_prob(x)


def _torch_zinb(x, log_mu, log_theta, pi_logits):
    # two-component mixture of a point mass at zero and torch's NB, weights (pi, 1 - pi)
    pi = torch.sigmoid(pi_logits)
    point_mass = torch.where(x == 0, 0.0, -torch.inf).to(x.dtype)
    components = torch.stack(
        [torch.log(pi) + point_mass, torch.log1p(-pi) + _torch_nb(x, log_mu, log_theta)]
    )
    return torch.logsumexp(components, dim=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nb_equals_torch_distributions(seed):
    x, log_mu, log_theta, _ = _random_inputs(torch.float64, seed)
    expected = _torch_nb(x, log_mu, log_theta)
    torch.testing.assert_close(nb_log_prob(x, log_mu, log_theta), expected, rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(
        nb_log_prob_sum(x, log_mu, log_theta), expected.sum(), rtol=1e-10, atol=1e-8
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zinb_equals_torch_mixture(seed):
    x, log_mu, log_theta, pi_logits = _random_inputs(torch.float64, seed)
    expected = _torch_zinb(x, log_mu, log_theta, pi_logits)
    torch.testing.assert_close(
        zinb_log_prob(x, log_mu, log_theta, pi_logits), expected, rtol=1e-9, atol=1e-9
    )
    torch.testing.assert_close(
        zinb_log_prob_sum(x, log_mu, log_theta, pi_logits), expected.sum(), rtol=1e-9, atol=1e-8
    )


def test_float32_close_and_per_gene_theta_broadcasts():
    x, log_mu, _, pi_logits = _random_inputs(torch.float32)
    log_theta_gene = torch.linspace(-3, 3, x.shape[1])
    expected = _torch_nb(x.double(), log_mu.double(), log_theta_gene.double().expand_as(x))
    ours = nb_log_prob(x, log_mu, log_theta_gene)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-3)
    expected_z = _torch_zinb(
        x.double(), log_mu.double(), log_theta_gene.double().expand_as(x), pi_logits.double()
    )
    ours_z = zinb_log_prob_sum(x, log_mu, log_theta_gene, pi_logits)
    torch.testing.assert_close(ours_z.double(), expected_z.sum(), rtol=1e-5, atol=1e-2)


def test_stable_where_naive_formula_overflows():
    # mu = e^100 overflows float32 if exponentiated; the log-space form stays finite
    x = torch.tensor([0.0, 5.0])
    log_mu = torch.tensor([100.0, 100.0])
    log_theta = torch.tensor([0.0, 0.0])
    values = zinb_log_prob(x, log_mu, log_theta, torch.zeros(2))
    assert torch.isfinite(values).all()
    assert torch.isfinite(nb_log_prob(x, log_mu, log_theta)).all()


def test_gradients_match_torch():
    x, log_mu, log_theta, _ = _random_inputs(torch.float64, 3, n=8, g=6)
    ours_mu, ours_theta = log_mu.clone().requires_grad_(), log_theta.clone().requires_grad_()
    nb_log_prob_sum(x, ours_mu, ours_theta).backward()
    ref_mu, ref_theta = log_mu.clone().requires_grad_(), log_theta.clone().requires_grad_()
    _torch_nb(x, ref_mu, ref_theta).sum().backward()
    torch.testing.assert_close(ours_mu.grad, ref_mu.grad)
    torch.testing.assert_close(ours_theta.grad, ref_theta.grad)
