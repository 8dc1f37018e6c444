"""The clustering sclatent recommends on every dataset, labelled or not, and the evidence for
the number of clusters it chose.

The recommendation is scCAN's network fusion in the improved flavour: its defaults were chosen
leave-one-dataset-out over the labelled datasets in ../shared/data (benchmarks/accuracy.py,
docs/accuracy.md), as was every alternative it was compared with.
"""

from __future__ import annotations

# (latent, clustering) of the recommended row of metrics.tsv
RECOMMENDED = ("sccan", "sccan_improved")

# the labelled datasets the defaults were chosen on (leave-one-dataset-out)
CHOSEN_ON = (
    "blakeley_human_embryo",
    "camp_fetal_cortex",
    "cbmc_citeseq_top2000",
    "deng_subset_mouse_embryo",
    "kolodziejczyk_mesc_subset",
    "mouse_bladder_2100",
    "paul15_myeloid",
    "pbmc68k_reduced",
    "pbmc_10x_4k_top2000",
    "tian_celseq2_5cellline",
    "tian_dropseq_3cellline",
)

_K_RULES = {
    "best": "the largest eigengap",
    "min_best_second": "the smaller k of the two largest eigengaps",
    "max_best_second": "the larger k of the two largest eigengaps",
}


def k_evidence(record: dict) -> dict:
    """What the recommended clustering's k rests on, from its scCAN record (sccan/{c}.json):
    the eigengap per candidate k, the k asked for, the Tracy-Widom count when the rule read
    one (else None), and the rule in words."""
    import numpy as np

    from sclatent.sccan.spectral import gap_or_count

    params = record["params"]
    count = record.get("k_count")
    span = f"for k in {params['k_min']}..{params['k_max']}"
    if record["k_given"]:
        rule, count = f"k = {record['k']}, given", None
    elif params["k_rule"] == "gap_or_count" and count is not None:
        ratio = params["dominant_gap_ratio"]
        _, clear = gap_or_count(np.asarray(record["ks"]), np.asarray(record["gaps"]), count, ratio)
        if clear:
            rule = f"k = {record['k']}: the largest eigengap {span}, at least {ratio:g} x the next"
        else:
            rule = (
                f"k = {record['k']}: no eigengap {ratio:g} x the next, so the largest "
                f"within ±1 of the Tracy-Widom count {count}"
            )
    else:
        rule = f"k = {record['k']}: {_K_RULES[params['k_rule']]} {span}"
    return {
        "ks": record["ks"],
        "gaps": record["gaps"],
        "k": record["k"],
        "count": count,
        "rule": rule,
    }
