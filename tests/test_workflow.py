"""The real snakemake on a tiny simulated dataset, in a temporary directory."""

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from sclatent.metrics import METRIC_COLUMNS
from sclatent.recommend import RECOMMENDED

from .conftest import run_snakemake, write_workflow_config

pytestmark = pytest.mark.workflow

# well-separated types (strong programs, no rare type) and short training, so it runs fast
TINY = {
    "seed": 0,
    "simulate": {
        "n_cells": 600,
        "n_genes": 400,
        "n_types": 4,
        "de_logfc_median": 1.5,
        "n_rare_types": 0,
    },
    "normalize": {"n_top_genes": 300},
    "pca": {"n_comps": 20},
    "latents": ["pca", "umap", "ae", "scvi"],
    "clusterings": ["leiden", "kmeans", "sccan_faithful", "sccan_improved"],
    "autoencoders": {"ae": {"max_epochs": 15}, "scvi": {"max_epochs": 10}},
}
PAIRS = {(latent, clustering) for latent in TINY["latents"] for clustering in ("leiden", "kmeans")}
PAIRS |= {("sccan", "sccan_faithful"), ("sccan", "sccan_improved")}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    write_workflow_config(workdir, TINY, [{"dataset": "tiny", "input": "simulate"}])
    run_snakemake(workdir, "--cores", "2")
    return workdir


def test_metrics_table_has_a_row_per_latent_and_clustering(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    assert set(zip(table["latent"], table["clustering"], strict=True)) == PAIRS
    assert (table["dataset"] == "tiny").all()
    assert (table["n_types"] == 4).all()
    for column in ("ari", "nmi", "ami"):
        assert table[column].between(-1, 1).all()
    assert list(table.columns) == METRIC_COLUMNS  # one schema, labelled or not


def test_k_given_and_recommended_columns(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    assert (table["k_given"] == (table["clustering"] == "kmeans")).all()
    recommended = table[table["recommended"]]
    assert list(zip(recommended["latent"], recommended["clustering"], strict=True)) == [RECOMMENDED]


def test_label_free_scores_fill_every_row(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    assert table["cluster_silhouette"].between(-1, 1).all()
    on_latents = table[table["latent"] != "sccan"]
    assert on_latents["stability"].between(-1, 1).all()
    assert table.loc[table["latent"] == "sccan", "stability"].isna().all()  # not re-run
    scores = table.set_index(["latent", "clustering"])
    # separated types: PCA's clusters are compact and found again on subsamples
    assert scores.loc[("pca", "kmeans"), "stability"] > 0.9
    assert scores.loc[("pca", "leiden"), "stability"] > 0.8
    assert scores.loc[("pca", "kmeans"), "cluster_silhouette"] > 0.1


def test_separated_simulated_types_are_recovered(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    scores = table.set_index(["latent", "clustering"])["ari"]
    assert scores["pca", "kmeans"] > 0.8
    assert scores["pca", "leiden"] > 0.8
    assert scores["ae", "kmeans"] > 0.8
    assert scores["scvi", "kmeans"] > 0.8


def test_trained_latents_record_device_and_denoising(finished_run):
    table = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    trained = table[table["latent"].isin(["ae", "scvi"])]
    assert (trained["device"] == "cpu").all()
    assert (trained["train_epochs"] >= 1).all()
    ae = table[table["latent"] == "ae"].iloc[0]
    assert ae["denoise_mae"] > 0 and -1 <= ae["denoise_pearson_r"] <= 1
    denoising = pd.read_csv(finished_run / "results/benchmark/denoising.tsv", sep="\t")
    assert set(denoising["method"]) == {"zero", "gene_mean", "pca", "ae"}
    maes = denoising.set_index("method")["mae"]
    assert maes["ae"] < maes["zero"]  # the autoencoder predicts hidden counts better than zeros
    history = pd.read_csv(finished_run / "results/tiny/models/ae/history.tsv", sep="\t")
    assert list(history.columns[:3]) == ["epoch", "train_loss", "val_loss"]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert (finished_run / "results/tiny/models/ae/loss.png").read_bytes()[:4] == b"\x89PNG"


def test_deliverable_holds_latents_and_clusterings(finished_run):
    adata = ad.read_h5ad(finished_run / "results/tiny/tiny.h5ad")
    assert adata.obsm["X_pca"].shape == (adata.n_obs, 20)
    assert adata.obsm["X_umap"].shape == (adata.n_obs, 2)
    assert adata.obsm["X_ae"].shape[0] == adata.obsm["X_scvi"].shape[0] == adata.n_obs
    columns = {c if latent == "sccan" else f"{latent}_{c}" for latent, c in PAIRS}
    assert columns <= set(adata.obs.columns)
    assert "counts" in adata.layers and "highly_variable" in adata.var
    assert adata.obs["truth"].nunique() == 4


def test_deliverable_opens_in_scanpy_without_recomputing(finished_run):
    import scanpy as sc
    from sklearn.metrics import adjusted_rand_score

    adata = ad.read_h5ad(finished_run / "results/tiny/tiny.h5ad")
    for latent in TINY["latents"]:
        assert adata.obsm[f"X_{latent}"].shape[0] == adata.n_obs
        if latent != "umap":
            assert adata.obsm[f"X_umap_{latent}"].shape == (adata.n_obs, 2)
    np.testing.assert_array_equal(adata.obsm["X_scVI"], adata.obsm["X_scvi"])
    np.testing.assert_array_equal(adata.obsm["X_umap_pca"], adata.obsm["X_umap"])
    assert adata.varm["PCs"].shape == (adata.n_vars, 20)
    assert not adata.varm["PCs"][~adata.var["highly_variable"].to_numpy()].any()
    assert len(adata.uns["pca"]["variance_ratio"]) == 20
    neighbors = adata.uns["neighbors"]
    assert neighbors["params"]["method"] == "umap" and neighbors["params"]["n_neighbors"] == 15
    assert neighbors["params"]["use_rep"] in adata.obsm
    assert adata.obsp["connectivities"].shape == (adata.n_obs, adata.n_obs)
    assert {"n_genes_by_counts", "total_counts", "pct_counts_mt"} <= set(adata.obs.columns)
    assert "mt" in adata.var
    assert adata.uns["rank_genes_groups"]["params"]["groupby"] == "sclatent_cluster"
    stored = {slot: set(getattr(adata, slot)) for slot in ("obsm", "obsp", "varm")}

    sc.pl.umap(adata, color="sclatent_cluster", show=False)
    sc.tl.leiden(adata, key_added="again")  # on the stored graph
    sc.pl.rank_genes_groups_dotplot(adata, n_genes=3, show=False)
    assert {slot: set(getattr(adata, slot)) for slot in stored} == stored  # nothing recomputed
    assert "dendrogram_sclatent_cluster" in adata.uns
    assert adjusted_rand_score(adata.obs["again"], adata.obs["sclatent_cluster"]) > 0.9


def test_markers_name_what_each_cluster_expresses(finished_run):
    results = finished_run / "results/tiny"
    sizes = pd.read_csv(results / "cluster_sizes.tsv", sep="\t", dtype={"cluster": str})
    adata = ad.read_h5ad(results / "tiny.h5ad")
    assert list(sizes["cluster"]) == list(adata.obs["sclatent_cluster"].cat.categories)
    assert sizes["cells"].sum() == adata.n_obs
    assert sizes["fraction"].sum() == pytest.approx(1.0)
    markers = pd.read_csv(results / "markers.tsv", sep="\t", dtype={"cluster": str})
    assert set(markers["cluster"]) == set(sizes["cluster"])
    assert (markers.groupby("cluster").size() == 25).all()  # the schema default
    assert set(markers["gene"]) <= set(adata.var_names)
    top = markers[markers["rank"] == 1]
    assert (top["pct_in"] > top["pct_out"]).all() and (top["logfoldchange"] > 0).all()
    assert (top["pval_adj"] < 1e-3).all()
    assert (results / "markers.png").read_bytes()[:4] == b"\x89PNG"


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
        "The recommended clustering on each dataset",
        "Winner per dataset",
        "Methods that estimate k, across datasets",
        "Upper bound: methods told the true number of types",
        "Structure kept",
        "Datasets: the recommended clusters and what they are",
        "Cost",
        "Software and hardware",
    ):
        assert f"{heading}" in page
    assert "Recommended clustering: <b>sccan + sccan_improved</b>" in page
    assert "chosen leave-one-dataset-out over 11 public labelled datasets" in page
    assert "PCA+Leiden ARI" in page and "pca + leiden" in page
    assert "The same ARIs as a table" in page and "<th>tiny</th>" in page  # methods x datasets
    assert "<h3 id='dataset-tiny'>tiny</h3>" in page and "top markers" in page
    # heatmap, structure, cost, and the dataset's recommended view and marker dotplot
    assert page.count("data:image/png;base64,") == 5


def test_recommended_view_shows_the_clusters_and_the_eigengaps(finished_run):
    metrics = pd.read_csv(finished_run / "results/benchmark/metrics.tsv", sep="\t")
    chosen = metrics[metrics["recommended"]]
    pairs = list(zip(chosen["latent"], chosen["clustering"], strict=True))
    assert pairs == [("sccan", "sccan_improved")]
    assert chosen["n_clusters"].iloc[0] == 4  # four well-separated simulated types
    record = json.loads((finished_run / "results/tiny/sccan/sccan_improved.json").read_text())
    assert record["k"] == 4 and record["ks"][int(np.argmax(record["gaps"]))] == 4
    # the k rule read the Tracy-Widom count of hvg.h5ad: four types, four signal directions
    assert record["params"]["k_rule"] == "gap_or_count" and record["k_count"] == 4
    assert chosen["k_tracy_widom"].iloc[0] == 4
    assert (finished_run / "results/tiny/recommended.png").read_bytes()[:4] == b"\x89PNG"


def test_snakemake_report_holds_every_section(finished_run):
    result = run_snakemake(finished_run, "--report", "report.html")
    assert "Report created" in result.stderr + result.stdout
    report = (finished_run / "report.html").read_text()
    for category in (
        "Quality control",
        "Latent spaces",
        "Clusters",
        "Benchmark",
        "Software and hardware",
    ):
        assert category in report
    for name in (
        "qc.png",
        "umaps.png",
        "markers.png",
        "markers.tsv",
        "cluster_sizes.tsv",
        "metrics.tsv",
        "ari_heatmap.png",
        "structure.png",
        "cost.png",
        "summary.html",
        "environment.yaml",
    ):
        assert name in report
