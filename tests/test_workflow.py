"""The real snakemake on a tiny simulated dataset, in a temporary directory."""

import anndata as ad
import pandas as pd
import pytest

from .conftest import run_snakemake, write_workflow_config

pytestmark = pytest.mark.workflow

TINY = {
    "seed": 0,
    "simulate": {"n_cells": 600, "n_genes": 400, "n_types": 4},
    "normalize": {"n_top_genes": 300},
    "pca": {"n_comps": 20},
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    write_workflow_config(workdir, TINY, [{"dataset": "tiny", "input": "simulate"}])
    run_snakemake(workdir, "--cores", "2")
    return workdir


def test_metrics_table_has_a_row_per_latent_and_clustering(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    assert set(zip(table["latent"], table["clustering"], strict=True)) == {
        ("pca", "leiden"),
        ("pca", "kmeans"),
        ("umap", "leiden"),
        ("umap", "kmeans"),
    }
    assert (table["dataset"] == "tiny").all()
    assert (table["n_types"] == 4).all()
    for column in ("ari", "nmi", "ami"):
        assert table[column].between(-1, 1).all()


def test_separated_simulated_types_are_recovered(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    scores = table.set_index(["latent", "clustering"])["ari"]
    assert scores["pca", "kmeans"] > 0.8
    assert scores["pca", "leiden"] > 0.8


def test_deliverable_holds_latents_and_clusterings(finished_run):
    adata = ad.read_h5ad(finished_run / "results/tiny/tiny.h5ad")
    assert adata.obsm["X_pca"].shape == (adata.n_obs, 20)
    assert adata.obsm["X_umap"].shape == (adata.n_obs, 2)
    assert {"pca_leiden", "pca_kmeans", "umap_leiden", "umap_kmeans"} <= set(adata.obs.columns)
    assert "counts" in adata.layers and "highly_variable" in adata.var
    assert adata.obs["truth"].nunique() == 4


def test_qc_outputs_and_logs_exist(finished_run):
    filters = pd.read_csv(finished_run / "results/tiny/qc_filters.tsv", sep="\t")
    assert "all_cell_filters" in set(filters["filter"])
    assert (finished_run / "results/tiny/qc.png").read_bytes()[:4] == b"\x89PNG"
    assert (finished_run / "logs/tiny/ingest.log").stat().st_size > 0
    assert (finished_run / "results/tiny/benchmarks/embed/pca.tsv").exists()


def test_second_run_has_nothing_to_do(finished_run):
    result = run_snakemake(finished_run, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_bad_config_key_fails_at_start_with_one_line(finished_run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("qc:\n  max_pct_mitoo: 10\n")
    result = run_snakemake(finished_run, "--cores", "1", "--configfile", str(bad), check=False)
    assert result.returncode != 0
    assert "sclatent: config: unknown key 'max_pct_mitoo' in 'qc'" in result.stderr


def test_summary_page_names_winner_and_baseline(finished_run):
    page = (finished_run / "results/benchmark/summary.html").read_text()
    for heading in (
        "Winner per dataset",
        "Methods across datasets",
        "Structure kept",
        "Cost",
        "Software and hardware",
    ):
        assert f"{heading}" in page
    assert "PCA+Leiden ARI" in page and "pca + leiden" in page
    assert page.count("data:image/png;base64,") == 3


def test_snakemake_report_holds_every_section(finished_run):
    result = run_snakemake(finished_run, "--report", "report.html")
    assert "Report created" in result.stderr + result.stdout
    report = (finished_run / "report.html").read_text()
    for category in ("Quality control", "Latent spaces", "Benchmark", "Software and hardware"):
        assert category in report
    for name in (
        "qc.png",
        "umaps.png",
        "metrics.tsv",
        "ari_heatmap.png",
        "structure.png",
        "cost.png",
        "summary.html",
        "environment.yaml",
    ):
        assert name in report
