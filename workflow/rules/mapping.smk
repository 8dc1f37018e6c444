rule map_cells:
    input:
        unpack(get_mapping_input),
    output:
        labels=report(
            "results/mapping/{query}/labels.tsv",
            caption="../report/mapping.rst",
            category="Mapping",
            labels={"query": "{query}"},
        ),
        latent="results/mapping/{query}/latent.h5ad",
    log:
        "logs/mapping/{query}.log",
    benchmark:
        "results/mapping/{query}/benchmark.tsv"
    wildcard_constraints:
        query="|".join(MAPPINGS) or "(?!)",
    conda:
        "../../envs/scvi.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb(3000, 6),
        runtime=60,
    params:
        query=get_mapping_query,
        neighbors=config["mapping"]["neighbors"],
        min_confidence=config["mapping"]["min_confidence"],
        min_shared_genes=config["mapping"]["min_shared_genes"],
    script:
        "../../scripts/map_cells.py"
