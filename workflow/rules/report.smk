rule umap_layout:
    input:
        "results/{dataset}/graph/{latent}.h5ad",
    output:
        intermediate("results/{dataset}/umap2d/{latent}.h5ad"),
    log:
        "logs/{dataset}/umap2d/{latent}.log",
    benchmark:
        "results/{dataset}/benchmarks/umap2d/{latent}.tsv"
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


rule plot_umaps:
    input:
        unpack(get_umap_grid_input),
    output:
        report(
            "results/{dataset}/umaps.png",
            caption="../report/umaps.rst",
            category="Latent spaces",
            subcategory="{dataset}",
        ),
    log:
        "logs/{dataset}/plot_umaps.log",
    benchmark:
        "results/{dataset}/benchmarks/plot_umaps.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 4),
        runtime=30,
    params:
        latents=get_drawn_latents,
        borrowed_layouts={"sccan": SCCAN_LAYOUT},
    script:
        "../../scripts/plot_umaps.py"


rule plot_benchmark:
    input:
        "results/benchmark/metrics.tsv",
    output:
        heatmap=report(
            "results/benchmark/ari_heatmap.png",
            caption="../report/ari_heatmap.rst",
            category="Benchmark",
        ),
        structure=report(
            "results/benchmark/structure.png",
            caption="../report/structure.rst",
            category="Benchmark",
        ),
        cost=report(
            "results/benchmark/cost.png",
            caption="../report/cost.rst",
            category="Benchmark",
        ),
    log:
        "logs/benchmark/plot_benchmark.log",
    benchmark:
        "results/benchmark/benchmarks/plot_benchmark.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/plot_benchmark.py"


rule environment:
    output:
        report(
            "results/benchmark/environment.yaml",
            caption="../report/environment.rst",
            category="Software and hardware",
        ),
    log:
        "logs/benchmark/environment.log",
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config=config,
        workflow_dir=workflow.basedir,
    script:
        "../../scripts/environment.py"


rule summary:
    input:
        unpack(get_references),
        unpack(get_dataset_pages),
        metrics="results/benchmark/metrics.tsv",
        environment="results/benchmark/environment.yaml",
        heatmap="results/benchmark/ari_heatmap.png",
        structure="results/benchmark/structure.png",
        cost="results/benchmark/cost.png",
    output:
        report(
            "results/benchmark/summary.html",
            caption="../report/summary.rst",
            category="Benchmark",
        ),
    log:
        "logs/benchmark/summary.log",
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        datasets=list(DATASETS.index),
    script:
        "../../scripts/summary.py"
