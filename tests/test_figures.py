"""UMAP grid colours: clusters take the colour of the true type they match."""

import numpy as np

from sclatent.figures import category_colours, cluster_colours, umap_grid


def test_matched_cluster_takes_its_type_colour_and_the_rest_new_colours():
    truth = np.array(["A"] * 50 + ["B"] * 30 + ["C"] * 20 + [None] * 5, dtype=object)
    # cluster 7 is mostly C, 3 is A, 0 is B; A is split, so cluster 9 matches nothing
    clusters = np.array(["3"] * 40 + ["9"] * 10 + ["0"] * 30 + ["7"] * 20 + ["9"] * 5)
    types = category_colours(truth)
    colours = cluster_colours(truth, clusters, types)
    assert colours["3"] == types["A"]
    assert colours["0"] == types["B"]
    assert colours["7"] == types["C"]
    assert tuple(colours["9"])[:3] not in {tuple(c)[:3] for c in types.values()}
    assert set(colours) == {"0", "3", "7", "9"}


def test_many_unmatched_clusters_get_distinct_colours():
    truth = np.repeat(["A", "B"], 100)
    clusters = np.arange(200).astype(str)  # 200 singletons: 198 cannot be matched
    types = category_colours(truth)
    colours = cluster_colours(truth, clusters, types)
    assert len({tuple(c)[:3] for c in colours.values()}) == 200


def test_umap_grid_draws_with_and_without_truth(tmp_path):
    rng = np.random.default_rng(0)
    coords = {"pca": rng.normal(size=(60, 2))}
    truth = np.repeat(["A", "B", "C"], 20)
    clusterings = {("pca", "leiden"): np.repeat(["2", "0", "1"], 20)}
    for name, labels in (("with", truth), ("without", np.full(60, None))):
        path = tmp_path / f"{name}.png"
        umap_grid(coords, labels, clusterings, {("pca", "leiden"): 1.0}, path, "toy")
        assert path.read_bytes()[:4] == b"\x89PNG"
