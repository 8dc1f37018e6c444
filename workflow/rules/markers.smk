rule markers:
    input:
        norm="results/{dataset}/norm.h5ad",
        clusters=get_recommended_clusters,
    output:
        table=report(
            "results/{dataset}/markers.tsv",
            caption="../report/markers_table.rst",
            category="Clusters",
            subcategory="{dataset}",
        ),
        figure=report(
            "results/{dataset}/markers.png",
            caption="../report/markers.rst",
            category="Clusters",
            subcategory="{dataset}",
        ),
        sizes=report(
            "results/{dataset}/cluster_sizes.tsv",
            caption="../report/cluster_sizes.rst",
            category="Clusters",
            subcategory="{dataset}",
        ),
        result="results/{dataset}/markers.h5ad",
    log:
        "logs/{dataset}/markers.log",
    benchmark:
        "results/{dataset}/benchmarks/markers.tsv"
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 6),
        runtime=120,
    params:
        markers=config["markers"],
    script:
        "../../scripts/markers.py"
