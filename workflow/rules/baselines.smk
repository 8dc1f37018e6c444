rule pca:
    input:
        "results/{dataset}/hvg.h5ad",
    output:
        "results/{dataset}/embed/pca.h5ad",
    log:
        "logs/{dataset}/embed/pca.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/pca.tsv"
    # every other step waits on this one: it goes first
    priority: 50
    conda:
        "../../envs/scanpy.yaml"
    threads: threads_from(100)
    resources:
        mem_mb=mem_mb(2000, 3),
        runtime=60,
    params:
        pca=config["pca"],
    script:
        "../../scripts/pca.py"


rule knn_graph:
    input:
        "results/{dataset}/embed/{latent}.h5ad",
    output:
        intermediate("results/{dataset}/graph/{latent}.h5ad"),
    log:
        "logs/{dataset}/graph/{latent}.log",
    benchmark:
        "results/{dataset}/benchmarks/graph/{latent}.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: threads_from(4)
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=60,
    params:
        n_neighbors=config["neighbors"]["n_neighbors"],
        seed=config["seed"],
    script:
        "../../scripts/knn_graph.py"


rule umap:
    input:
        "results/{dataset}/graph/pca.h5ad",
    output:
        "results/{dataset}/embed/umap.h5ad",
    log:
        "logs/{dataset}/embed/umap.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/umap.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=120,
    params:
        umap=config["umap"],
        seed=config["seed"],
    script:
        "../../scripts/umap.py"
