rule normalize:
    input:
        "results/{dataset}/qc.h5ad",
    output:
        norm="results/{dataset}/norm.h5ad",
        hvg="results/{dataset}/hvg.h5ad",
    log:
        "logs/{dataset}/normalize.log",
    benchmark:
        "results/{dataset}/benchmarks/normalize.tsv"
    # every other step waits on this one: it goes first
    priority: 50
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 6),
        runtime=30,
    params:
        normalize=config["normalize"],
    script:
        "../../scripts/normalize.py"
