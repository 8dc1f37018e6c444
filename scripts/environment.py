"""Rule environment: software versions, hardware, seed and the resolved config."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import yaml

    from sclatent.provenance import environment_record

    record = environment_record(dict(smk.params.config), smk.params.workflow_dir)
    Path(smk.output[0]).write_text(yaml.safe_dump(record, sort_keys=False))


run_rule(snakemake, main)
