import re
import sys
from pathlib import Path

# Rule scripts import sclatent from this checkout, in whatever environment runs them.
SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from sclatent.runtime import prepare_job_environment

prepare_job_environment(SRC)

from sclatent.config import load_schema, validate
from sclatent.errors import InputError
from sclatent.recommend import RECOMMENDED
from sclatent.summary import gives_k
from sclatent.sheet import SIMULATE, missing_inputs, read_dataset_sheet, simulation_overrides

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"


def load_workflow_settings(config):
    """Validate the config and the dataset sheet; stop with one line naming the problem."""
    try:
        validate(config, load_schema(SCHEMAS / "config.schema.yaml"), "config")
        sheet = read_dataset_sheet(config["datasets"], SCHEMAS / "datasets.schema.yaml")
        problems = missing_inputs(sheet)
        if problems:
            raise InputError(f"{config['datasets']}: {problems[0]}")
        for name in sheet.index[sheet["format"] == SIMULATE]:
            simulation_params(config, sheet.loc[name])
    except InputError as error:
        raise WorkflowError(f"sclatent: {error}") from None
    return sheet


def simulation_params(config, row):
    """Simulator parameters: the config's seed, the simulate section, the sheet's overrides."""
    from sclatent.simulate import SimulationParams

    where = f"dataset '{row['dataset']}' simulate"
    params = {"seed": config["seed"]} | dict(config["simulate"])
    params |= simulation_overrides(row.get("simulate"), where)
    try:
        return SimulationParams.from_dict(params).to_dict()
    except InputError as error:
        raise InputError(f"{where}: {error}") from None


def check_model_params(config):
    """Unknown or invalid model settings stop the run before anything trains; scCAN views
    must be "vae" or latents the workflow makes."""
    from sclatent.autoencoder.params import resolve_params as autoencoder_params
    from sclatent.sccan.params import resolve_params as sccan_params

    for section, resolve in (("autoencoders", autoencoder_params), ("sccan", sccan_params)):
        for name, params in config[section].items():
            try:
                resolve(name, params)
            except InputError as error:
                raise WorkflowError(f"sclatent: config {section}.{name}: {error}") from None
    latents = load_schema(SCHEMAS / "config.schema.yaml")["properties"]["latents"]["items"]
    known = ["vae", *(latent for latent in latents["enum"] if latent != "umap")]
    for flavour, params in config["sccan"].items():
        for view in sccan_params(flavour, params)["views"]:
            if view not in known:
                raise WorkflowError(
                    f"sclatent: config sccan.{flavour}: key 'views': {view!r} is not one of: "
                    + ", ".join(known)
                )


DATASETS = load_workflow_settings(config)
check_model_params(config)


def intermediate(path):
    """A file no output needs once the run is done: removed when its last reader has finished,
    unless the config says keep_intermediates."""
    return path if config["keep_intermediates"] else temp(path)


LATENTS = config["latents"]
# the recommended clustering runs on every dataset, asked for or not: markers, the
# deliverable's sclatent_cluster and the summary's dataset sections show it
CLUSTERINGS = list(dict.fromkeys([*config["clusterings"], RECOMMENDED[1]]))
_PROPERTIES = load_schema(SCHEMAS / "config.schema.yaml")["properties"]
KNOWN_LATENTS = _PROPERTIES["latents"]["items"]["enum"]
KNOWN_CLUSTERINGS = _PROPERTIES["clusterings"]["items"]["enum"]
AUTOENCODERS = ["ae", "dae", "nbae", "zinbae"]
TRAINED_LATENTS = AUTOENCODERS + ["scvi"]
DENOISED = [m for m in LATENTS if m in AUTOENCODERS] if config["denoise"]["enabled"] else []


# inputs that do not exist locally but have a URL are fetched to their input path
DOWNLOADS = {
    row.input: row.dataset
    for row in DATASETS.itertuples()
    if isinstance(getattr(row, "url", None), str) and not Path(row.input).exists()
}


SCCAN_CLUSTERINGS = [c for c in KNOWN_CLUSTERINGS if c.startswith("sccan_")]


wildcard_constraints:
    dataset="|".join(DATASETS.index),
    latent="|".join(KNOWN_LATENTS + ["sccan"]),
    clustering="|".join(KNOWN_CLUSTERINGS),


def dataset_row(wildcards):
    return DATASETS.loc[wildcards.dataset]


def has_labels(dataset):
    row = DATASETS.loc[dataset]
    return row["format"] == SIMULATE or any(
        isinstance(row.get(key), str) for key in ("label_column", "labels_table")
    )


def log_unlabelled(datasets):
    """One line per dataset without labels at start-up: what its run leaves out."""
    from snakemake.logging import logger

    told_k = [c for c in CLUSTERINGS if gives_k(c)]
    skipped = f"skipping {', '.join(told_k)} (told the true number of types); " if told_k else ""
    for dataset in datasets.index:
        if not has_labels(dataset):
            logger.info(
                f"sclatent: dataset '{dataset}' has no labels (no label_column or labels_table): "
                f"{skipped}ARI, NMI, AMI, kNN label transfer and the silhouette of "
                "the true types are left empty in metrics.tsv"
            )


def method_pairs(dataset):
    """(latent, clustering) pairs of a dataset: Leiden and k-means on every latent; the
    scCAN flavours on their own fused latents, called 'sccan'."""
    usable = [c for c in CLUSTERINGS if not gives_k(c) or has_labels(dataset)]
    pairs = [(latent, c) for latent in LATENTS for c in usable if c not in SCCAN_CLUSTERINGS]
    return pairs + [("sccan", c) for c in usable if c in SCCAN_CLUSTERINGS]


if workflow.is_main_process:
    log_unlabelled(DATASETS)


def all_results(dataset):
    return [
        f"results/{dataset}/metrics/{latent}.{clustering}.json"
        for latent, clustering in method_pairs(dataset)
    ]


BENCHMARK_FIGURES = ["ari_heatmap", "structure", "cost"]


def get_final_output():
    outputs = [
        "results/benchmark/metrics.tsv",
        "results/benchmark/summary.html",
        "results/benchmark/environment.yaml",
    ]
    outputs += [f"results/benchmark/{name}.png" for name in BENCHMARK_FIGURES]
    if DENOISED:
        outputs += ["results/benchmark/denoising.tsv", "results/benchmark/denoising.png"]
    for dataset in DATASETS.index:
        outputs += [
            f"results/{dataset}/{dataset}.h5ad",
            f"results/{dataset}/qc.png",
            f"results/{dataset}/umaps.png",
            f"results/{dataset}/markers.tsv",
            f"results/{dataset}/markers.png",
            f"results/{dataset}/cluster_sizes.tsv",
            f"results/{dataset}/recommended.png",
        ]
    for query in MAPPINGS:
        outputs += [f"results/mapping/{query}/labels.tsv", f"results/mapping/{query}/latent.h5ad"]
    return outputs


# ---- input functions -------------------------------------------------------------------


def get_ingest_input(wildcards):
    row = dataset_row(wildcards)
    inputs = {}
    if row["format"] != SIMULATE:
        inputs["counts"] = row["input"]
    if isinstance(row.get("labels_table"), str):
        inputs["labels_table"] = row["labels_table"]
    return inputs


def get_ingest_spec(wildcards):
    row = dataset_row(wildcards)
    spec = row.dropna().to_dict()
    spec["allow_non_integer"] = bool(spec.get("allow_non_integer", False))
    if row["format"] == SIMULATE:
        spec["simulate"] = simulation_params(config, row)
    return spec


# The steps whose cost a latent or a clustering carries, as paths under benchmarks/.
LATENT_UPSTREAM = {"umap": ["embed/pca", "graph/pca"]}
CLUSTERING_UPSTREAM = {"leiden": ["graph/{latent}"]}


def get_cost_benchmarks(wildcards):
    """Snakemake benchmark files of the rules that made this latent and this clustering."""
    base = f"results/{wildcards.dataset}/benchmarks"
    if wildcards.latent == "sccan":
        flavour = sccan_flavour(wildcards.clustering)
        steps = [f"embed/{latent}" for latent in sccan_view_latents(flavour)]
        if "vae" in sccan_views(flavour):
            steps.append(f"sccan/{vae_views_owner(flavour)}")
        return {
            "latent_cost": [f"{base}/{step}.tsv" for step in steps],
            "clustering_cost": [f"{base}/clusters/sccan.{wildcards.clustering}.tsv"],
            "sccan_record": f"results/{wildcards.dataset}/sccan/{wildcards.clustering}.json",
        }
    latent_steps = LATENT_UPSTREAM.get(wildcards.latent, []) + [f"embed/{wildcards.latent}"]
    clustering_steps = [
        step.format(latent=wildcards.latent)
        for step in CLUSTERING_UPSTREAM.get(wildcards.clustering, [])
    ] + [f"clusters/{wildcards.latent}.{wildcards.clustering}"]
    inputs = {
        "latent_cost": [f"{base}/{step}.tsv" for step in latent_steps],
        "clustering_cost": [f"{base}/{step}.tsv" for step in clustering_steps],
        "latent_scores": f"results/{wildcards.dataset}/metrics/latent/{wildcards.latent}.json",
    }
    if wildcards.latent in TRAINED_LATENTS:
        inputs["training"] = f"results/{wildcards.dataset}/models/{wildcards.latent}/training.json"
    if wildcards.latent in DENOISED:
        inputs["denoising"] = f"results/{wildcards.dataset}/denoise/{wildcards.latent}.tsv"
    return inputs


def get_label_free_input(wildcards):
    """What cluster_silhouette and stability read: the latent (scCAN: its fused views) and,
    for Leiden, the kNN graph it re-runs on."""
    base = f"results/{wildcards.dataset}"
    if wildcards.latent == "sccan":
        return sccan_views_input(wildcards.dataset, sccan_flavour(wildcards.clustering))
    inputs = {"latent": f"{base}/embed/{wildcards.latent}.h5ad"}
    if wildcards.clustering == "leiden":
        inputs["graph"] = f"{base}/graph/{wildcards.latent}.h5ad"
    return inputs


def get_sccan_scoring(wildcards):
    """For scCAN rows: the flavour, its settings and the latents its views are read from."""
    if wildcards.latent != "sccan":
        return {}
    flavour = sccan_flavour(wildcards.clustering)
    return {
        "flavour": flavour,
        "params": config["sccan"][flavour],
        "view_latents": sccan_view_latents(flavour),
    }


def get_model_params(wildcards):
    return config["autoencoders"][wildcards.model]


def get_training_budget(wildcards):
    """Fraction of the automatic epoch budget: training.simulated_budget on simulated data."""
    simulated = DATASETS.loc[wildcards.dataset, "format"] == SIMULATE
    return config["training"]["simulated_budget"] if simulated else 1.0


def get_all_denoising(wildcards):
    return [
        f"results/{dataset}/denoise/{method}.tsv"
        for dataset in DATASETS.index
        for method in ["baselines"] + DENOISED
    ]


def get_all_metrics(wildcards):
    return [path for dataset in DATASETS.index for path in all_results(dataset)]


def get_dataset_clusterings(wildcards):
    return [
        f"results/{wildcards.dataset}/clusters/{latent}.{clustering}.tsv"
        for latent, clustering in method_pairs(wildcards.dataset)
    ]


def sccan_flavour(name):
    """'sccan_improved_kgiven' -> 'improved'."""
    return name.split("_")[1]


def get_sccan_flavour(wildcards):
    return sccan_flavour(wildcards.clustering)


def get_sccan_params(wildcards):
    flavour = getattr(wildcards, "flavour", None) or sccan_flavour(wildcards.clustering)
    return config["sccan"][flavour]


def get_sccan_k_given(wildcards):
    return gives_k(wildcards.clustering)


def sccan_views(flavour):
    """The views a flavour fuses: "vae" (its own VAE ensemble) and latents of the workflow."""
    from sclatent.sccan.params import resolve_params

    return resolve_params(flavour, config["sccan"][flavour])["views"]


def sccan_view_latents(flavour):
    """The workflow latents a flavour reads: its views other than "vae", and PCA, which is
    all it fuses on datasets below learned_views_min_cells cells."""
    return list(dict.fromkeys(["pca", *(v for v in sccan_views(flavour) if v != "vae")]))


def get_sccan_view_latents(wildcards):
    return sccan_view_latents(sccan_flavour(wildcards.clustering))


def sccan_views_input(dataset, flavour):
    """The files of a flavour's views: the workflow latents and, with "vae", the VAE views
    of the flavour that trains them (`vae_views_owner`)."""
    inputs = {
        "views": [
            f"results/{dataset}/embed/{latent}.h5ad" for latent in sccan_view_latents(flavour)
        ]
    }
    if "vae" in sccan_views(flavour):
        inputs["vae"] = f"results/{dataset}/sccan/{vae_views_owner(flavour)}/latents.h5ad"
    return inputs


def sccan_flavours():
    """The scCAN flavours the run clusters with, in the order of KNOWN_CLUSTERINGS."""
    return list(dict.fromkeys(sccan_flavour(c) for c in SCCAN_CLUSTERINGS if c in CLUSTERINGS))


def vae_views_owner(flavour):
    """The flavour whose sccan job trains the VAE views `flavour` fuses: the first flavour of
    the run with the same VAE settings (itself when none), so equal networks train once."""
    from sclatent.sccan.api import same_vae_views

    for other in sccan_flavours():
        if other == flavour:
            break
        if same_vae_views(flavour, config["sccan"][flavour], other, config["sccan"][other]):
            return other
    return flavour


def get_sccan_cluster_input(wildcards):
    from sclatent.sccan.params import resolve_params, uses_count

    flavour = sccan_flavour(wildcards.clustering)
    inputs = sccan_views_input(wildcards.dataset, flavour)
    if gives_k(wildcards.clustering):
        inputs["truth"] = f"results/{wildcards.dataset}/truth.tsv"
    elif uses_count(resolve_params(flavour, config["sccan"][flavour])):
        # the k rule reads the Tracy-Widom count of the log-normalised HVG matrix
        inputs["hvg"] = f"results/{wildcards.dataset}/hvg.h5ad"
    return inputs


def umap_layout_path(dataset, latent):
    """The 2-D layout a latent is drawn with; PCA's is the UMAP baseline itself."""
    if latent in ("pca", "umap"):
        return f"results/{dataset}/embed/umap.h5ad"
    return f"results/{dataset}/umap2d/{latent}.h5ad"


# scCAN has no 2-D layout of its own: its clusters are drawn on the PCA UMAP
SCCAN_LAYOUT = "pca"


def drawn_latents(dataset):
    """Rows of the UMAP grid: every latent, and 'sccan' (drawn on the PCA layout) if run."""
    return LATENTS + (["sccan"] if any(l == "sccan" for l, _ in method_pairs(dataset)) else [])


def get_drawn_latents(wildcards):
    return drawn_latents(wildcards.dataset)


def get_umap_grid_input(wildcards):
    dataset = wildcards.dataset
    return {
        "layouts": [
            umap_layout_path(dataset, SCCAN_LAYOUT if latent == "sccan" else latent)
            for latent in drawn_latents(dataset)
        ],
        "clusters": get_dataset_clusterings(wildcards),
        "metrics": all_results(dataset),
        "truth": f"results/{dataset}/truth.tsv",
    }


# The clustering the workflow recommends on every dataset, labelled or not (RECOMMENDED,
# sclatent.recommend), and the latent whose kNN graph the deliverable carries.


def recommended_clusters(dataset):
    latent, clustering = RECOMMENDED
    return f"results/{dataset}/clusters/{latent}.{clustering}.tsv"


def recommended_graph(dataset):
    """The recommended latent's kNN graph; PCA's for scCAN, whose clusters are drawn there."""
    latent = SCCAN_LAYOUT if RECOMMENDED[0] == "sccan" else RECOMMENDED[0]
    return f"results/{dataset}/graph/{latent}.h5ad"


def get_dataset_pages(wildcards):
    """Per dataset, in sheet order, what its section of the summary page shows."""
    return {
        "recommended_figures": [f"results/{d}/recommended.png" for d in DATASETS.index],
        "markers_figures": [f"results/{d}/markers.png" for d in DATASETS.index],
        "markers": [f"results/{d}/markers.tsv" for d in DATASETS.index],
        "sizes": [f"results/{d}/cluster_sizes.tsv" for d in DATASETS.index],
    }


def get_recommended_record(wildcards):
    """The scCAN record of the recommended clustering: its eigengaps and the k it chose."""
    return f"results/{wildcards.dataset}/sccan/{RECOMMENDED[1]}.json"


def get_recommended_clusters(wildcards):
    return recommended_clusters(wildcards.dataset)


def get_recommended_latent(wildcards):
    """The latent whose kNN graph the deliverable carries (its graph file is named after it)."""
    return Path(recommended_graph(wildcards.dataset)).stem


def delivered_latents():
    """Latents in the deliverable: PCA and its UMAP always (scanpy's X_pca, X_umap), then the rest."""
    return list(dict.fromkeys(["pca", "umap", *LATENTS]))


def laid_out_latents():
    """Latents given their own 2-D layout (X_umap_<latent>); the UMAP latent is its own."""
    return [latent for latent in delivered_latents() if latent != "umap"]


def get_deliverable_input(wildcards):
    dataset = wildcards.dataset
    return {
        "latents": [f"results/{dataset}/embed/{latent}.h5ad" for latent in delivered_latents()],
        "layouts": [umap_layout_path(dataset, latent) for latent in laid_out_latents()],
        "graph": recommended_graph(dataset),
        "recommended": recommended_clusters(dataset),
        "markers": f"results/{dataset}/markers.h5ad",
    }


def get_download(wildcards):
    row = DATASETS.loc[DOWNLOADS[wildcards.download]]
    return {"url": row["url"], "sha256": row.get("sha256"), "dataset": row["dataset"]}


def get_references(wildcards):
    return {"references": config["references"]} if config["references"] else {}


# ---- resources ---------------------------------------------------------------------------


def threads_from(input_mb, threads=2):
    """Threads of a step whose parallel parts pay off only on large inputs: one below
    `input_mb` MB of input, so that on 2 cores two such steps of a small dataset run side by
    side instead of one waiting for the other's idle second thread; else `threads`."""

    def request(wildcards, input):
        # evaluated when the job is ready; a dry run sees missing inputs as empty
        size_mb = sum(Path(f).stat().st_size for f in input if Path(f).is_file()) / 2**20
        return 1 if size_mb < input_mb else threads

    return request


def mem_mb(base, per_input_mb=0.0):
    """Memory request: a floor plus a multiple of the input size, growing with each retry."""

    def request(wildcards, input, attempt):
        return int((base + per_input_mb * input.size_mb) * (1 + 0.5 * (attempt - 1)))

    return request


# ---- mapping new cells onto a trained reference -----------------------------------------


def check_mappings(config):
    """The mapping queries by name; a query naming no dataset of the sheet, a clustering the
    run does not make of it, or a missing input stops the run at start-up with one line."""
    from sclatent.config import check_safe_name

    queries = {}
    for number, query in enumerate(config["mapping"]["queries"]):
        name, reference = query["name"], query["reference"]
        where = f"config mapping.queries[{number}] ({name})"
        try:
            check_safe_name(name, "query name", where)
            if name in queries:
                raise InputError(f"{where}: another query has this name")
            if reference not in DATASETS.index:
                raise InputError(
                    f"{where}: reference {reference!r} is not a dataset of "
                    f"{config['datasets']} (datasets: {', '.join(DATASETS.index)})"
                )
            known = [f"{latent}.{clustering}" for latent, clustering in method_pairs(reference)]
            if query["clusters"] not in ["recommended", *known]:
                raise InputError(
                    f"{where}: clusters {query['clusters']!r} is not a clustering of "
                    f"{reference!r} in this run (recommended, {', '.join(known)})"
                )
            if not Path(query["input"]).exists():
                raise InputError(f"{where}: input {query['input']}: no such file or directory")
        except InputError as error:
            raise WorkflowError(f"sclatent: {error}") from None
        queries[name] = query
    return queries


MAPPINGS = check_mappings(config)


def mapping_clusters(query):
    """The reference clustering a query takes: the recommended one or latent.clustering."""
    if query["clusters"] == "recommended":
        return recommended_clusters(query["reference"])
    return f"results/{query['reference']}/clusters/{query['clusters']}.tsv"


def get_mapping_input(wildcards):
    query = MAPPINGS[wildcards.query]
    base = f"results/{query['reference']}"
    latent = query["latent"]
    inputs = {
        "query": query["input"],
        # scVI: scvi-tools' save directory; autoencoders: the weights beside model.json
        "model": (
            f"{base}/models/scvi/model" if latent == "scvi" else f"{base}/models/{latent}/model.pt"
        ),
        "reference_latent": f"{base}/embed/{latent}.h5ad",
        "clusters": mapping_clusters(query),
    }
    if has_labels(query["reference"]):
        inputs["truth"] = f"{base}/truth.tsv"  # the reference's known types go along
    return inputs


def get_mapping_query(wildcards):
    return MAPPINGS[wildcards.query]
