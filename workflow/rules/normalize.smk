rule normalize:
    input:
        "results/{dataset}/qc.h5ad",
    output:
        norm="results/{dataset}/norm.h5ad",
        hvg="results/{dataset}/hvg.h5ad",
    params:
        normalize=config["normalize"],
    log:
        "logs/{dataset}/normalize.log",
    benchmark:
        "results/{dataset}/benchmarks/normalize.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 6),
        runtime=30,
    conda:
        "../../envs/scanpy.yaml"
    script:
        "../../scripts/normalize.py"
