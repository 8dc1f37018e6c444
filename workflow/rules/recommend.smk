rule recommended_view:
    input:
        layout=umap_layout_path("{dataset}", SCCAN_LAYOUT),
        clusters=get_recommended_clusters,
        truth="results/{dataset}/truth.tsv",
        record=get_recommended_record,
    output:
        report(
            "results/{dataset}/recommended.png",
            caption="../report/recommended.rst",
            category="Clusters",
            subcategory="{dataset}",
        ),
    log:
        "logs/{dataset}/recommended_view.log",
    conda:
        "../../envs/scanpy.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1500, 4),
        runtime=10,
    params:
        method=RECOMMENDED[1],
    script:
        "../../scripts/recommended_view.py"
