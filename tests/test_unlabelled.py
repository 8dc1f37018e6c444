"""Unlabelled datasets through the real workflow, alone and beside a labelled one.

A user's Cell Ranger output (a gzipped 10x MatrixMarket folder, no labels) shares one sheet with
the simulated labelled dataset: both run end to end, metrics.tsv keeps one schema, the steps
that need labels are skipped for the unlabelled one and the start-up log says so once.
A second, short run checks that an empty metrics table never hides a real input error.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sclatent.metrics import LABEL_SCORES, METRIC_COLUMNS
from sclatent.recommend import RECOMMENDED
from sclatent.simulate import simulate_counts

from .conftest import run_snakemake, write_workflow_config
from .test_io import with_user_names, without_last_line, write_10x_mtx

pytestmark = pytest.mark.workflow

CONFIG = {
    "seed": 0,
    "simulate": {"n_cells": 300, "n_genes": 200, "n_types": 3, "n_rare_types": 0},
    "normalize": {"n_top_genes": 150},
    "pca": {"n_comps": 10},
    "kmeans": {"n_init": 3},
    "latents": ["pca", "ae"],
    "clusterings": ["leiden", "kmeans", "sccan_improved", "sccan_improved_kgiven"],
    "autoencoders": {"ae": {"max_epochs": 5}},
    "denoise": {"enabled": False},
}
# the start-up line: (dataset, the clusterings it skips)
SKIPPED = re.compile(
    r"sclatent: dataset '(\w+)' has no labels \(no label_column or labels_table\): skipping "
    r"([\w, ]+) \(told the true number of types\); ARI, NMI, AMI, kNN label transfer and the "
    r"silhouette of the true types are left empty in metrics\.tsv"
)


def cell_ranger_folder(directory, *, seed=2):
    """filtered_feature_bc_matrix as Cell Ranger writes it, of simulated counts: barcodes,
    gene symbols, matrix.mtx.gz, barcodes.tsv.gz, features.tsv.gz, and no labels."""
    counts = simulate_counts(300, 200, 3, seed=seed, n_mito_genes=3, n_rare_types=0)
    return write_10x_mtx(with_user_names(counts, seed), directory)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("unlabelled")
    cell_ranger_folder(workdir / "filtered_feature_bc_matrix")
    sheet = [
        {"dataset": "user", "input": "filtered_feature_bc_matrix"},
        {"dataset": "sim", "input": "simulate"},
    ]
    write_workflow_config(workdir, CONFIG, sheet)
    result = run_snakemake(workdir, "--cores", "2")
    table = pd.read_csv(workdir / "results/benchmark/metrics.tsv", sep="\t")
    return workdir, table, result.stdout + result.stderr


def test_the_input_looks_like_cell_ranger_output(mixed_run):
    workdir, _, _ = mixed_run
    names = {p.name for p in (workdir / "filtered_feature_bc_matrix").iterdir()}
    assert names == {"matrix.mtx.gz", "barcodes.tsv.gz", "features.tsv.gz"}


def test_metrics_keep_one_schema(mixed_run):
    _, table, _ = mixed_run
    assert list(table.columns) == METRIC_COLUMNS
    assert set(table["dataset"]) == {"user", "sim"}


def test_label_steps_are_skipped_only_for_the_unlabelled_dataset(mixed_run):
    _, table, _ = mixed_run
    pairs = {
        name: set(zip(group["latent"], group["clustering"], strict=True))
        for name, group in table.groupby("dataset")
    }
    found_k = {(latent, "leiden") for latent in CONFIG["latents"]} | {("sccan", "sccan_improved")}
    given_k = {(latent, "kmeans") for latent in CONFIG["latents"]}
    assert pairs["user"] == found_k
    assert pairs["sim"] == found_k | given_k | {("sccan", "sccan_improved_kgiven")}
    user, sim = (table[table["dataset"] == name] for name in ("user", "sim"))
    assert user[LABEL_SCORES].isna().all().all()
    assert (user["n_types"] == 0).all() and (sim["n_types"] == 3).all()
    assert sim[["ari", "nmi", "ami"]].notna().all().all()
    on_latents = sim[sim["latent"] != "sccan"]  # scCAN's fused views have no latent scores
    assert on_latents[["silhouette", "knn_accuracy"]].notna().all().all()


def test_label_free_scores_are_filled_for_both(mixed_run):
    _, table, _ = mixed_run
    assert table["cluster_silhouette"].between(-1, 1).all()
    latents = table[table["latent"] != "sccan"]
    assert latents["stability"].between(-1, 1).all()
    assert latents[["local_overlap", "global_spearman"]].notna().all().all()
    assert table.loc[table["latent"] == "sccan", "stability"].isna().all()  # not re-run
    assert (table["n_clusters"] >= 1).all() and (table["n_cells"] > 100).all()


def test_k_given_and_recommended_columns(mixed_run):
    _, table, _ = mixed_run
    told = table["clustering"].isin(["kmeans", "sccan_improved_kgiven"])
    assert (table["k_given"] == told).all()
    recommended = table[table["recommended"]]
    assert sorted(recommended["dataset"]) == ["sim", "user"]
    assert set(zip(recommended["latent"], recommended["clustering"], strict=True)) == {RECOMMENDED}


def test_start_up_log_names_the_unlabelled_dataset_once(mixed_run):
    _, _, output = mixed_run
    assert SKIPPED.findall(output) == [("user", "kmeans, sccan_improved_kgiven")]


def test_unlabelled_dataset_gets_every_per_dataset_output(mixed_run):
    workdir, _, _ = mixed_run
    results = workdir / "results/user"
    for name in ("umaps.png", "markers.png", "qc.png"):
        assert (results / name).read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(results / "markers.tsv", sep="\t")) > 0
    assert (results / "user.h5ad").is_file()
    assert (workdir / "results/benchmark/summary.html").is_file()


def test_an_input_error_is_never_hidden_by_a_crash_elsewhere(tmp_path):
    """Only k-means asked for and no labels: the recommended clustering still runs on the
    good dataset, and the broken dataset's one line is what shows, without a traceback."""
    cell_ranger_folder(tmp_path / "user")
    write_10x_mtx(simulate_counts(60, 80, 3, seed=1), tmp_path / "broken", legacy=True)
    without_last_line(tmp_path / "broken" / "barcodes.tsv")
    sheet = [{"dataset": "user", "input": "user"}, {"dataset": "broken", "input": "broken"}]
    config = CONFIG | {"latents": ["pca"], "clusterings": ["kmeans"]}
    write_workflow_config(tmp_path, config, sheet)
    recommended = "results/user/metrics/{}.{}.json".format(*RECOMMENDED)
    targets = ["results/broken/raw.h5ad", "results/user/umaps.png", recommended]
    result = run_snakemake(tmp_path, "--cores", "2", "--keep-going", *targets, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"sclatent error: dataset 'broken': broken/barcodes\.tsv: 59 rows", output)
    assert "Traceback" not in output and "KeyError" not in output
    assert not (tmp_path / "results/broken/raw.h5ad").exists()
    assert (tmp_path / "results/user/umaps.png").is_file()
    row = json.loads((tmp_path / recommended).read_text())
    assert row["n_types"] == 0 and np.isnan(row["ari"])  # no labels: no label score
    assert sorted(SKIPPED.findall(output)) == [("broken", "kmeans"), ("user", "kmeans")]
