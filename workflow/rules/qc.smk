rule qc:
    input:
        "results/{dataset}/raw.h5ad",
    output:
        h5ad="results/{dataset}/qc.h5ad",
        truth="results/{dataset}/truth.tsv",
        table=report(
            "results/{dataset}/qc_filters.tsv",
            caption="../report/qc_filters.rst",
            category="Quality control",
            subcategory="{dataset}",
        ),
        figure=report(
            "results/{dataset}/qc.png",
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="{dataset}",
        ),
    log:
        "logs/{dataset}/qc.log",
    benchmark:
        "results/{dataset}/benchmarks/qc.tsv"
    # every other step waits on this one: it goes first
    priority: 50
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 4),
        runtime=30,
    params:
        qc=config["qc"],
        n_neighbors=config["neighbors"]["n_neighbors"],
    script:
        "../../scripts/qc.py"
