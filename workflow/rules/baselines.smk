rule pca:
    input:
        "results/{dataset}/hvg.h5ad",
    output:
        "results/{dataset}/embed/pca.h5ad",
    params:
        pca=config["pca"],
    log:
        "logs/{dataset}/embed/pca.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/pca.tsv"
    threads: 2
    resources:
        mem_mb=mem_mb(2000, 3),
        runtime=60,
    conda:
        "../../envs/scanpy.yaml"
    script:
        "../../scripts/pca.py"


rule knn_graph:
    input:
        "results/{dataset}/embed/{latent}.h5ad",
    output:
        "results/{dataset}/graph/{latent}.h5ad",
    params:
        n_neighbors=config["neighbors"]["n_neighbors"],
        seed=config["seed"],
    log:
        "logs/{dataset}/graph/{latent}.log",
    benchmark:
        "results/{dataset}/benchmarks/graph/{latent}.tsv"
    threads: 2
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=60,
    conda:
        "../../envs/scanpy.yaml"
    script:
        "../../scripts/knn_graph.py"


rule umap:
    input:
        "results/{dataset}/graph/pca.h5ad",
    output:
        "results/{dataset}/embed/umap.h5ad",
    params:
        umap=config["umap"],
        seed=config["seed"],
    log:
        "logs/{dataset}/embed/umap.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/umap.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=120,
    conda:
        "../../envs/scanpy.yaml"
    script:
        "../../scripts/umap.py"
