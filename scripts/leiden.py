"""Rule leiden: Leiden communities of a latent's kNN graph."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.cluster import leiden
    from sclatent.h5io import read_matrix, write_labels

    names, connectivities = read_matrix(smk.input[0], "obsp/connectivities")
    labels = leiden(connectivities, resolution=smk.params.resolution, seed=smk.params.seed)
    write_labels(names, labels, smk.output[0])


run_rule(snakemake, main)
