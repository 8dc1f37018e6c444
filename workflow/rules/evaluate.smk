rule score_latent:
    input:
        latent="results/{dataset}/embed/{latent}.h5ad",
        graph="results/{dataset}/graph/{latent}.h5ad",
        hvg="results/{dataset}/hvg.h5ad",
        truth="results/{dataset}/truth.tsv",
    output:
        "results/{dataset}/metrics/latent/{latent}.json",
    log:
        "logs/{dataset}/metrics/latent/{latent}.log",
    benchmark:
        "results/{dataset}/benchmarks/metrics/latent/{latent}.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: threads_from(100)
    resources:
        mem_mb=mem_mb(2000, 2),
        runtime=30,
    params:
        k=config["neighbors"]["n_neighbors"],
        seed=config["seed"],
    script:
        "../../scripts/score_latent.py"


rule score_clustering:
    input:
        unpack(get_cost_benchmarks),
        unpack(get_label_free_input),
        clusters="results/{dataset}/clusters/{latent}.{clustering}.tsv",
        truth="results/{dataset}/truth.tsv",
    output:
        "results/{dataset}/metrics/{latent}.{clustering}.json",
    log:
        "logs/{dataset}/metrics/{latent}.{clustering}.log",
    benchmark:
        "results/{dataset}/benchmarks/metrics/{latent}.{clustering}.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1500, 4),
        runtime=60,
    params:
        seed=config["seed"],
        resolution=config["leiden"]["resolution"],
        n_init=config["kmeans"]["n_init"],
        sccan=get_sccan_scoring,
    script:
        "../../scripts/score_clustering.py"


rule gather_metrics:
    input:
        get_all_metrics,
    output:
        report(
            "results/benchmark/metrics.tsv",
            caption="../report/metrics.rst",
            category="Benchmark",
        ),
    log:
        "logs/benchmark/gather_metrics.log",
    benchmark:
        "results/benchmark/benchmarks/gather_metrics.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        recommended=RECOMMENDED,
    script:
        "../../scripts/gather_metrics.py"


rule deliverable:
    input:
        unpack(get_deliverable_input),
        norm="results/{dataset}/norm.h5ad",
        clusters=get_dataset_clusterings,
    output:
        "results/{dataset}/{dataset}.h5ad",
    log:
        "logs/{dataset}/deliverable.log",
    benchmark:
        "results/{dataset}/benchmarks/deliverable.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 3),
        runtime=30,
    params:
        latents=delivered_latents(),
        laid_out=laid_out_latents(),
        recommended_latent=get_recommended_latent,
    script:
        "../../scripts/deliverable.py"
