"""The table `make run` ends with: one line per method, readable in a terminal."""

import numpy as np
import pandas as pd

from sclatent.metrics import METRIC_COLUMNS
from sclatent.overview import RECOMMENDED_MARK, main, overview


def metrics() -> pd.DataFrame:
    rows = [
        ("sim", "pca", "leiden", False, True, 0.91, 8, 0.40, 3.2, 1.1),
        ("sim", "pca", "kmeans", True, False, 0.80, 8, 0.35, 3.2, 0.4),
        ("sim", "scvi", "leiden", False, False, 0.98, 8, 0.50, 40.0, 1.0),
        ("own", "pca", "leiden", False, True, np.nan, 5, 0.30, 2.0, 1.0),
        ("own", "umap", "leiden", False, False, np.nan, 30, 0.60, 9.0, 1.0),
    ]
    names = ["dataset", "latent", "clustering", "k_given", "recommended", "ari", "n_clusters"]
    names += ["cluster_silhouette", "latent_seconds", "clustering_seconds"]
    table = pd.DataFrame(rows, columns=names).reindex(columns=METRIC_COLUMNS)
    table["n_cells"] = 1000
    table["n_types"] = np.where(table["dataset"] == "sim", 8, 0)
    return table


def test_best_first_with_k_given_and_the_recommended_row_marked():
    text = overview(metrics())
    lines = text.splitlines()
    assert lines[0] == "own: 1,000 cells, no labels"
    sim = lines.index("sim: 1,000 cells, 8 known types")
    assert "ARI" in lines[sim + 1]
    methods = [line.split()[0] for line in lines[sim + 2 : sim + 5]]
    assert methods == ["scvi", "pca", "pca"]  # by ARI, best first
    assert lines[sim + 3].split()[:6] == ["pca", "+", "leiden", "0.910", "8", "4"]
    assert lines[sim + 3].endswith(RECOMMENDED_MARK)
    assert "8 given" in lines[sim + 4]
    assert max(len(line) for line in lines) < 80  # fits a terminal


def test_a_dataset_without_labels_is_ranked_by_the_silhouette():
    lines = overview(metrics()).splitlines()
    assert "silhouette" in lines[1]
    assert lines[2].split()[:4] == ["umap", "+", "leiden", "0.600"]
    assert lines[3].endswith(RECOMMENDED_MARK)


def test_main_prints_the_table_and_the_summary_page(tmp_path, capsys):
    path = tmp_path / "metrics.tsv"
    metrics().to_csv(path, sep="\t", index=False)
    main([str(path)])
    out = capsys.readouterr().out
    assert "sim: 1,000 cells" in out
    assert out.strip().endswith(str(tmp_path / "summary.html"))
