rule leiden:
    input:
        "results/{dataset}/graph/{latent}.h5ad",
    output:
        "results/{dataset}/clusters/{latent}.leiden.tsv",
    log:
        "logs/{dataset}/clusters/{latent}.leiden.log",
    benchmark:
        "results/{dataset}/benchmarks/clusters/{latent}.leiden.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=60,
    params:
        resolution=config["leiden"]["resolution"],
        seed=config["seed"],
    script:
        "../../scripts/leiden.py"


rule kmeans:
    input:
        latent="results/{dataset}/embed/{latent}.h5ad",
        truth="results/{dataset}/truth.tsv",
    output:
        "results/{dataset}/clusters/{latent}.kmeans.tsv",
    log:
        "logs/{dataset}/clusters/{latent}.kmeans.log",
    benchmark:
        "results/{dataset}/benchmarks/clusters/{latent}.kmeans.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: threads_from(4)
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=60,
    params:
        n_init=config["kmeans"]["n_init"],
        seed=config["seed"],
    script:
        "../../scripts/kmeans.py"
