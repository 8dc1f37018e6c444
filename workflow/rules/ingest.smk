if DOWNLOADS:

    rule fetch_input:
        output:
            "{download}",
        log:
            "logs/fetch/{download}.log",
        wildcard_constraints:
            download="|".join(re.escape(path) for path in DOWNLOADS),
        # compute nodes of a cluster often have no network: download where Snakemake runs
        localrule: True
        conda:
            "../../envs/scanpy.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=60,
        params:
            source=get_download,
        script:
            "../../scripts/fetch_input.py"


rule ingest:
    input:
        unpack(get_ingest_input),
    output:
        "results/{dataset}/raw.h5ad",
    log:
        "logs/{dataset}/ingest.log",
    benchmark:
        "results/{dataset}/benchmarks/ingest.tsv"
    # every other step waits on this one: it goes first
    priority: 50
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 6),
        runtime=30,
    params:
        spec=get_ingest_spec,
    script:
        "../../scripts/ingest.py"
