"""Rule kmeans: k-means on a latent with k = the number of known cell types."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.cluster import kmeans
    from sclatent.h5io import load_latent, read_labels, write_labels

    names, latent = load_latent(smk.input.latent, smk.wildcards.latent)
    k = read_labels(smk.input.truth, "truth").nunique()
    labels = kmeans(latent, k, seed=smk.params.seed, n_init=smk.params.n_init)
    write_labels(names, labels, smk.output[0])


run_rule(snakemake, main)
