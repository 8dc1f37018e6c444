"""Rule fetch_input: download a dataset's input from its public URL, checksum verified."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.fetch import download

    source = smk.params.source
    what = f"dataset '{source['dataset']}'"
    download(source["url"], smk.output[0], source.get("sha256"), what)


run_rule(snakemake, main)
