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
    the eigengap per candidate k, the k asked for, and the rule in words."""
    params = record["params"]
    if record["k_given"]:
        rule = f"k = {record['k']}, given"
    else:
        rule = (
            f"k = {record['k']}: {_K_RULES[params['k_rule']]} "
            f"for k in {params['k_min']}..{params['k_max']}"
        )
    return {"ks": record["ks"], "gaps": record["gaps"], "k": record["k"], "rule": rule}
