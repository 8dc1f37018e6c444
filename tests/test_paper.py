"""Paper mode: config/paper.yaml over the local copies of the datasets in ../shared/data."""

import pandas as pd
import pytest
import yaml

from .conftest import REPO, run_snakemake

pytestmark = pytest.mark.workflow

PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
SHEET = pd.read_csv(REPO / PAPER["datasets"], sep="\t")


def paper_workdir(workdir, datasets=None, **overrides):
    """config/paper.yaml in workdir, its sheet's local paths made absolute."""
    sheet = SHEET if datasets is None else SHEET[SHEET["dataset"].isin(datasets)]
    sheet = sheet.assign(input=[str((REPO / path).resolve()) for path in sheet["input"]])
    (workdir / "config").mkdir()
    sheet.to_csv(workdir / "config" / "datasets.tsv", sep="\t", index=False)
    config = PAPER | {
        "datasets": "config/datasets.tsv",
        "references": str(REPO / PAPER["references"]),
        **overrides,
    }
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def test_paper_sheet_lists_the_shared_datasets_with_checksums(shared_data):
    assert set(SHEET["dataset"]) == {path.stem for path in shared_data.glob("*.h5ad")}
    assert SHEET["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert (SHEET["label_column"] == "cell_type").all()


def test_paper_config_plans_every_method_on_every_dataset(shared_data, tmp_path):
    workdir = paper_workdir(tmp_path)
    plan = run_snakemake(workdir, "--cores", "2", "--dry-run").stdout
    for dataset in SHEET["dataset"]:
        assert f"results/{dataset}/raw.h5ad" in plan, dataset
        assert f"results/{dataset}/metrics/sccan.sccan_improved.json" in plan, dataset
    for rule in ("train_autoencoder", "train_scvi", "sccan", "summary"):
        assert f"rule {rule}:" in plan, rule


def test_paper_summary_shows_published_figures_beside_ours(shared_data, tmp_path):
    dataset = "pbmc_10x_4k_top2000"
    # the recommended clustering always runs; fusing PCA alone spares training nbae and scVI
    workdir = paper_workdir(
        tmp_path,
        [dataset],
        latents=["pca"],
        clusterings=["kmeans"],
        sccan={"improved": {"views": ["pca"]}},
    )
    run_snakemake(workdir, "--cores", "2", "results/benchmark/summary.html")
    metrics = pd.read_csv(workdir / "results/benchmark/metrics.tsv", sep="\t")
    assert set(metrics["dataset"]) == {dataset} and set(metrics["n_types"]) == {8}
    assert set(metrics["n_cells"]) == {4271}  # the paper config keeps every labelled cell
    ours = metrics.set_index(["latent", "clustering"])["ari"].loc[("pca", "kmeans")]
    assert ours > 0.5
    page = (workdir / "results/benchmark/summary.html").read_text()
    assert "Published figures beside ours" in page
    assert "0.78" in page and "scDeepCluster (Keras, official repo)" in page
    assert f"{ours:.2f}" in page


def test_a_local_copy_that_differs_from_its_checksum_is_refused(shared_data, tmp_path):
    dataset = "blakeley_human_embryo"
    workdir = paper_workdir(tmp_path, [dataset])
    sheet = pd.read_csv(workdir / "config" / "datasets.tsv", sep="\t")
    sheet["sha256"] = "0" * 64
    sheet.to_csv(workdir / "config" / "datasets.tsv", sep="\t", index=False)
    result = run_snakemake(workdir, "--cores", "1", f"results/{dataset}/raw.h5ad", check=False)
    assert result.returncode != 0
    assert f"dataset '{dataset}'" in result.stderr and "expected 000" in result.stderr
    assert not (workdir / f"results/{dataset}/raw.h5ad").exists()
