"""Rule ingest: read (or simulate) a dataset's counts into results/{dataset}/raw.h5ad."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.h5io import write_h5ad

    spec = smk.params.spec
    if spec["format"] == "simulate":
        from sclatent.simulate import SimulationParams, simulate_from_params

        params = SimulationParams.from_dict(spec["simulate"])
        adata = simulate_from_params(params, threads=smk.threads)
    else:
        from sclatent.fetch import verify_checksum
        from sclatent.io import read_counts

        if spec.get("sha256"):
            verify_checksum(smk.input.counts, spec["sha256"], f"dataset '{spec['dataset']}'")
        adata = read_counts(
            smk.input.counts,
            fmt=spec["format"],
            orientation=spec["orientation"],
            label_column=spec.get("label_column"),
            labels_table=smk.input.get("labels_table"),
            counts_layer=spec.get("counts_layer"),
            allow_non_integer=spec["allow_non_integer"],
            dataset=spec["dataset"],
        )
    adata.uns["dataset"] = spec["dataset"]
    write_h5ad(adata, smk.output[0])


run_rule(snakemake, main)
