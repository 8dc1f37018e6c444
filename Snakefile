from snakemake.utils import min_version

min_version("9.1")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/normalize.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/autoencoder.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/sccan.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/markers.smk"
include: "workflow/rules/recommend.smk"
include: "workflow/rules/mapping.smk"
include: "workflow/rules/report.smk"


# Quick steps run where Snakemake runs, not as cluster jobs, which would wait in the queue
# longer than they work: gathering and plotting the tables, the summary page, the software
# record (fetch_input, which needs the network, is local too: workflow/rules/ingest.smk).
localrules:
    gather_metrics,
    gather_denoising,
    plot_benchmark,
    environment,
    summary,


rule all:
    default_target: True
    input:
        get_final_output(),
