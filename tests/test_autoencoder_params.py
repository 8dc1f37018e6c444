"""Parameter schemas of the autoencoders and scVI: defaults, unknown keys, bad values."""

from pathlib import Path

import pytest

from sclatent.autoencoder.params import (
    AUTOENCODER_MODELS,
    auto_max_epochs,
    default_params,
    describe_params,
    resolve_params,
)
from sclatent.errors import InputError


@pytest.mark.parametrize("model", [*AUTOENCODER_MODELS, "scvi"])
def test_defaults_resolve_to_themselves_and_are_described(model):
    defaults = default_params(model)
    assert resolve_params(model, None) == defaults
    assert set(describe_params(model)) == set(defaults)


def test_model_specific_keys():
    assert "corruption" in default_params("dae") and "corruption" not in default_params("ae")
    assert "dispersion" in default_params("nbae") and "dispersion" not in default_params("dae")


def test_override_keeps_other_defaults_and_copies_lists():
    params = resolve_params("ae", {"hidden": (64, 32), "lr": 0.01})
    assert params["hidden"] == [64, 32] and params["lr"] == 0.01
    assert params["batch_size"] == default_params("ae")["batch_size"]
    params["hidden"].append(1)
    assert default_params("ae")["hidden"] == [256, 128]


@pytest.mark.parametrize(
    ("model", "params", "named"),
    [
        ("ae", {"hiden": [10]}, "hiden"),
        ("ae", {"corruption": "mask"}, "corruption"),  # a dae-only key
        ("scvi", {"latent_dim": 10}, "latent_dim"),
    ],
)
def test_unknown_key_is_named(model, params, named):
    with pytest.raises(InputError, match=f"unknown key '{named}'"):
        resolve_params(model, params)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("latent_dim", 0),
        ("latent_dim", 2.5),
        ("batch_norm", "yes"),
        ("hidden", [64, -1]),
        ("activation", "sigmoidal"),
        ("val_fraction", 1.0),
        ("lr", True),
        ("amp", "fp8"),
    ],
)
def test_bad_value_is_named(key, value):
    # a list element is named by its position ('hidden.1'); a choice lists the allowed values
    with pytest.raises(InputError, match=rf"key '{key}(\.\d+)?'( must be|: .* is not one of)"):
        resolve_params("ae", {key: value})


def test_unknown_model():
    with pytest.raises(InputError, match="model 'vae' is unknown"):
        default_params("vae")


def test_automatic_epochs_keep_the_cells_seen_about_flat():
    assert auto_max_epochs(3_000) == auto_max_epochs(10_000) == 100
    assert auto_max_epochs(20_000) == 50
    assert auto_max_epochs(100_000) == 10  # a million cells seen, as at 10,000 cells
    assert auto_max_epochs(1_000_000) == auto_max_epochs(50_000_000) == 2
    assert auto_max_epochs(3_000, budget=0.4) == 40  # training.simulated_budget
    assert auto_max_epochs(1_000_000, budget=0.4) == 2


@pytest.mark.parametrize("model", [*AUTOENCODER_MODELS, "scvi"])
def test_every_setting_is_documented_in_the_config_readme(model):
    readme = (Path(__file__).resolve().parents[1] / "config" / "README.md").read_text()
    missing = [key for key in default_params(model) if f"`{key}`" not in readme]
    assert not missing, f"{model}: {missing} not in config/README.md"
