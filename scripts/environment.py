"""Rule environment: software versions, hardware, seed and the resolved config."""

from sclatent.runtime import run_rule


def main(smk):
    import yaml

    from sclatent.h5io import write_text
    from sclatent.provenance import environment_record

    record = environment_record(dict(smk.params.config), smk.params.workflow_dir)
    write_text(yaml.safe_dump(record, sort_keys=False), smk.output[0])


run_rule(snakemake, main)
