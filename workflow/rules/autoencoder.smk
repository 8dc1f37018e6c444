rule train_autoencoder:
    input:
        "results/{dataset}/hvg.h5ad",
    output:
        latent="results/{dataset}/embed/{model}.h5ad",
        weights="results/{dataset}/models/{model}/model.pt",
        history="results/{dataset}/models/{model}/history.tsv",
        info="results/{dataset}/models/{model}/training.json",
        curve=report(
            "results/{dataset}/models/{model}/loss.png",
            caption="../report/loss.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}"},
        ),
    log:
        "logs/{dataset}/train/{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/{model}.tsv"
    wildcard_constraints:
        model="|".join(AUTOENCODERS),
    # long steps start first: short ones fill the gaps and the run does not end on one
    priority: 20
    conda:
        "../../envs/torch.yaml"
    threads: threads_from(50)
    resources:
        gpu=1,
        mem_mb=mem_mb(3000, 8),
        runtime=240,
    params:
        model_params=get_model_params,
        seed=config["seed"],
        device=config["training"]["device"],
        budget=get_training_budget,
    script:
        "../../scripts/train_autoencoder.py"


rule train_scvi:
    input:
        "results/{dataset}/hvg.h5ad",
    output:
        latent="results/{dataset}/embed/scvi.h5ad",
        model=directory("results/{dataset}/models/scvi/model"),
        history="results/{dataset}/models/scvi/history.tsv",
        info="results/{dataset}/models/scvi/training.json",
        curve=report(
            "results/{dataset}/models/scvi/loss.png",
            caption="../report/loss.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "scvi"},
        ),
    log:
        "logs/{dataset}/train/scvi.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/scvi.tsv"
    # long steps start first: short ones fill the gaps and the run does not end on one
    priority: 30
    conda:
        "../../envs/scvi.yaml"
    threads: threads_from(50)
    resources:
        gpu=1,
        mem_mb=mem_mb(4000, 8),
        runtime=480,
    params:
        model_params=config["autoencoders"]["scvi"],
        seed=config["seed"],
        device=config["training"]["device"],
        budget=get_training_budget,
    script:
        "../../scripts/train_scvi.py"


rule mask_counts:
    input:
        "results/{dataset}/hvg.h5ad",
    output:
        intermediate("results/{dataset}/denoise/masked.h5ad"),
    log:
        "logs/{dataset}/denoise/mask_counts.log",
    benchmark:
        "results/{dataset}/benchmarks/denoise/mask_counts.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 4),
        runtime=30,
    params:
        fraction=config["denoise"]["fraction"],
        max_cells=config["denoise"]["max_cells"],
        target_sum=config["normalize"]["target_sum"],
        seed=config["seed"],
    script:
        "../../scripts/mask_counts.py"


rule denoise_baselines:
    input:
        "results/{dataset}/denoise/masked.h5ad",
    output:
        "results/{dataset}/denoise/baselines.tsv",
    log:
        "logs/{dataset}/denoise/baselines.log",
    benchmark:
        "results/{dataset}/benchmarks/denoise/baselines.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: threads_from(100)
    resources:
        mem_mb=mem_mb(2000, 4),
        runtime=60,
    params:
        pca_rank=config["denoise"]["pca_rank"],
        seed=config["seed"],
    script:
        "../../scripts/denoise_baselines.py"


rule denoise_autoencoder:
    input:
        "results/{dataset}/denoise/masked.h5ad",
    output:
        "results/{dataset}/denoise/{model}.tsv",
    log:
        "logs/{dataset}/denoise/{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/denoise/{model}.tsv"
    wildcard_constraints:
        model="|".join(AUTOENCODERS),
    # long steps start first: short ones fill the gaps and the run does not end on one
    priority: 10
    conda:
        "../../envs/torch.yaml"
    threads: threads_from(50)
    resources:
        gpu=1,
        mem_mb=mem_mb(3000, 8),
        runtime=240,
    params:
        model_params=get_model_params,
        seed=config["seed"],
        device=config["training"]["device"],
        budget=get_training_budget,
        keep=config["keep_intermediates"],
    script:
        "../../scripts/denoise_autoencoder.py"


rule gather_denoising:
    input:
        get_all_denoising,
    output:
        table=report(
            "results/benchmark/denoising.tsv",
            caption="../report/denoising.rst",
            category="Denoising",
        ),
        figure=report(
            "results/benchmark/denoising.png",
            caption="../report/denoising.rst",
            category="Denoising",
        ),
    log:
        "logs/benchmark/gather_denoising.log",
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/gather_denoising.py"
