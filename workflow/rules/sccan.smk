rule sccan:
    input:
        counts="results/{dataset}/qc.h5ad",
    output:
        latents="results/{dataset}/sccan/{flavour}/latents.h5ad",
    log:
        "logs/{dataset}/sccan/{flavour}.log",
    benchmark:
        "results/{dataset}/benchmarks/sccan/{flavour}.tsv"
    wildcard_constraints:
        flavour="faithful|improved",
    # long steps start first: short ones fill the gaps and the run does not end on one
    priority: 30
    conda:
        "../../envs/torch.yaml"
    threads: threads_from(50)
    resources:
        gpu=1,
        mem_mb=mem_mb(3000, 6),
        runtime=240,
    params:
        sccan_params=get_sccan_params,
        seed=config["seed"],
        device=config["training"]["device"],
    script:
        "../../scripts/sccan_latents.py"


rule sccan_cluster:
    input:
        unpack(get_sccan_cluster_input),
    output:
        clusters="results/{dataset}/clusters/sccan.{clustering}.tsv",
        record="results/{dataset}/sccan/{clustering}.json",
    log:
        "logs/{dataset}/clusters/sccan.{clustering}.log",
    benchmark:
        "results/{dataset}/benchmarks/clusters/sccan.{clustering}.tsv"
    wildcard_constraints:
        clustering="|".join(SCCAN_CLUSTERINGS),
    # long steps start first: short ones fill the gaps and the run does not end on one
    priority: 30
    conda:
        "../../envs/torch.yaml"
    # fusion is mostly one core on a small dataset: leave the other to training
    threads: threads_from(50)
    resources:
        mem_mb=mem_mb(4000, 4),
        runtime=120,
    params:
        flavour=get_sccan_flavour,
        sccan_params=get_sccan_params,
        view_latents=get_sccan_view_latents,
        k_given=get_sccan_k_given,
        seed=config["seed"],
    script:
        "../../scripts/sccan_cluster.py"
