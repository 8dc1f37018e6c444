"""Every rule's conda env provides every third-party import its script makes (read statically).

For each rule, the checker reads the `conda:` and `script:` of the .smk file, follows the
script's imports (top-level and inside functions) through every sclatent module it reaches,
recursively, maps the third-party import names to conda-forge package names and adds the
requirements that imports do not show (libraries that import a dependency lazily on the code
path sclatent takes). Every env must list them, pin versions that match requirements.lock and
use the conda-forge, bioconda and nodefaults channels.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

SRC = REPO / "src"
PACKAGE = "sclatent"
CHANNELS = ["conda-forge", "bioconda", "nodefaults"]

# import name -> conda-forge package, where the two differ
CONDA_NAME = {
    "sklearn": "scikit-learn",
    "skmisc": "scikit-misc",
    "yaml": "pyyaml",
    "igraph": "python-igraph",
    "torch": "pytorch",
    "umap": "umap-learn",
    "scvi": "scvi-tools",
    "matplotlib": "matplotlib-base",  # matplotlib without the Qt/Tk GUI backends
}
# conda-forge package -> its name in requirements.lock, where the two differ
LOCK_NAME = {
    "python-igraph": "igraph",
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
}

# Requirements no import shows: a library imports them lazily on the code path that sclatent
# takes (the source pattern), or they are pinned for a reason. Checked to still hold below.
IMPLIED = [
    # scanpy imports skmisc.loess only inside the seurat_v3 HVG flavour
    ("sclatent.preprocess", 'flavor="seurat_v3"', ("scikit-misc",)),
    # sclatent.embed and sclatent.cluster import pynndescent, umap-learn and igraph
    # themselves, so their imports show them
    # loom input is read with h5py (sclatent.io._read_loom), so loompy is not implied
]


# ---- the checker ---------------------------------------------------------------------------


@dataclass
class RuleEnv:
    rule: str
    smk: Path
    conda: Path | None
    script: Path | None
    runs_code: bool


RULE_HEADER = re.compile(r"^(?:rule|checkpoint) (\w+):\s*$", re.MULTILINE)


def directive(block: str, name: str) -> str | None:
    """The string value of a directive in a snakefmt-formatted rule block."""
    match = re.search(rf"^    {name}:\s*\n\s+(.+?),?\s*$", block, re.MULTILINE)
    if not match:
        return None
    value = match[1]
    literal = re.fullmatch(r'"([^"]+)"', value)
    if not literal:
        raise AssertionError(f"{name}: {value} is not a literal path (the checker reads literals)")
    return literal[1]


def workflow_rules(snakefiles: list[Path]) -> list[RuleEnv]:
    rules = []
    for smk in snakefiles:
        text = smk.read_text()
        headers = list(RULE_HEADER.finditer(text))
        for header, following in zip(headers, [*headers[1:], None], strict=False):
            block = text[header.end() : following.start() if following else len(text)]
            conda, script = directive(block, "conda"), directive(block, "script")
            rules.append(
                RuleEnv(
                    rule=header[1],
                    smk=smk,
                    conda=(smk.parent / conda).resolve() if conda else None,
                    script=(smk.parent / script).resolve() if script else None,
                    runs_code=bool(
                        re.search(r"^    (script|shell|notebook|wrapper|run):", block, re.M)
                    ),
                )
            )
    return rules


def is_guard(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if "x" in sys.modules:`: imports there add no requirement."""
    if isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING"):
        return True
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.ops[0], ast.In)
        and ast.unparse(test.comparators[0]) == "sys.modules"
    )


def runtime_nodes(tree: ast.AST):
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and is_guard(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def module_path(module: str, src: Path) -> Path | None:
    base = src.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path, module: str | None) -> set[str]:
    """Absolute names of everything the file imports (a `from m import x` gives m and m.x)."""
    package = module if path.name == "__init__.py" else (module or "").rpartition(".")[0]
    names = set()
    for node in runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def follow_imports(script: Path, src: Path, package: str = PACKAGE):
    """Third-party import names (-> the files importing them) and the package modules reached."""
    third_party: dict[str, set[str]] = {}
    visited: set[str] = set()
    pending = [(script, None)]
    while pending:
        path, module = pending.pop()
        for name in imported_names(path, module):
            top = name.partition(".")[0]
            if top != package:
                if top and top not in sys.stdlib_module_names:
                    third_party.setdefault(top, set()).add(str(path))
                continue
            parts = name.split(".")
            # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            for depth in range(1, len(parts) + 1):
                candidate = ".".join(parts[:depth])
                found = module_path(candidate, src)
                if found and candidate not in visited:
                    visited.add(candidate)
                    pending.append((found, candidate))
    return third_party, visited


def required_packages(script: Path, src: Path = SRC, implied=IMPLIED) -> dict[str, str]:
    """conda package -> why the script needs it."""
    third_party, modules = follow_imports(script, src)
    needed = {
        CONDA_NAME.get(name, name): f"import {name} in {', '.join(sorted(files))}"
        for name, files in third_party.items()
    }
    for module, _pattern, packages in implied:
        if module in modules:
            for package in packages:
                needed.setdefault(package, f"implied by {module}")
    return needed


SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")


def env_dependencies(env_file: Path) -> dict[str, str]:
    """conda package -> its version spec, from an env file."""
    env = yaml.safe_load(env_file.read_text())
    specs = {}
    for entry in env.get("dependencies", []):
        if not isinstance(entry, str):
            raise AssertionError(f"{env_file.name}: non-conda entry {entry!r} (pip: is not used)")
        name, version = SPEC.match(entry.strip()).groups()
        specs[name] = version.strip()
    return specs


def missing_packages(script: Path, env_file: Path, src: Path = SRC) -> dict[str, str]:
    listed = env_dependencies(env_file)
    return {
        package: why
        for package, why in required_packages(script, src).items()
        if package not in listed
    }


# ---- the workflow's rules and envs ---------------------------------------------------------

SNAKEFILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
RULES = workflow_rules(SNAKEFILES)
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def test_rules_were_found():
    assert {"pca", "leiden", "ingest"} <= {rule.rule for rule in RULES}


@pytest.mark.parametrize("rule", [r for r in RULES if r.runs_code], ids=lambda r: r.rule)
def test_every_rule_has_an_env_providing_its_scripts_imports(rule):
    assert rule.conda, f"rule {rule.rule} ({rule.smk.name}) has no conda: directive"
    assert rule.conda.is_file(), f"rule {rule.rule}: {rule.conda} does not exist"
    if rule.script is None:
        pytest.skip(f"rule {rule.rule} runs no Python script")
    missing = missing_packages(rule.script, rule.conda)
    assert not missing, f"rule {rule.rule}: {rule.conda.name} lacks {missing}"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_uses_the_channels_and_pins_every_version(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] == CHANNELS
    for name, version in env_dependencies(env_file).items():
        assert re.match(r"^==?\d", version), f"{env_file.name}: {name} is not pinned ({version!r})"


def lock_versions() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_versions_match_the_lock(env_file):
    lock = lock_versions()
    checked = 0
    for name, spec in env_dependencies(env_file).items():
        locked = lock.get(LOCK_NAME.get(name, name))
        if locked:
            version = re.match(r"^==?([^=\s]+)", spec)[1]
            assert version == locked, f"{env_file.name}: {name} {version}, lock {locked}"
            checked += 1
    assert checked, f"{env_file.name}: no package found in requirements.lock"


@pytest.mark.parametrize("implied", IMPLIED, ids=lambda i: f"{i[0]}:{i[2][0]}")
def test_implied_requirements_still_follow_from_the_code(implied):
    module, pattern, _ = implied
    assert pattern in module_path(module, SRC).read_text(), (
        f"{module} no longer contains {pattern!r}: update IMPLIED in tests/test_envs.py"
    )


@pytest.mark.parametrize("env_name", ["torch.yaml", "scvi.yaml"])
def test_torch_envs_ask_for_a_cuda_build(env_name):
    specs = env_dependencies(REPO / "envs" / env_name)
    build = specs["pytorch"].split("=")[-1]
    assert "cuda" in build, f"{env_name}: pytorch {specs['pytorch']} is not a CUDA build"
    assert "cuda-version" in specs


# ---- the checker on synthetic cases ------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_checker_flags_torch_added_to_a_scanpy_env_script(tmp_path):
    script = write(tmp_path / "pca.py", (REPO / "scripts" / "pca.py").read_text())
    scanpy_env = REPO / "envs" / "scanpy.yaml"
    assert missing_packages(script, scanpy_env) == {}
    write(script, script.read_text() + "\nimport torch\n")
    assert set(missing_packages(script, scanpy_env)) == {"pytorch"}


def test_checker_follows_package_modules_and_skips_guarded_imports(tmp_path):
    src = tmp_path / "src"
    write(src / "sclatent" / "__init__.py", "")
    write(src / "sclatent" / "deep" / "__init__.py", "from .model import fit\n")
    write(
        src / "sclatent" / "deep" / "model.py",
        "import numpy as np\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import pandas\n"
        "def fit():\n    from sklearn.cluster import KMeans\n"
        "    from ..helpers import threads\n",
    )
    write(
        src / "sclatent" / "helpers.py",
        "import sys\ndef threads():\n    if 'torch' in sys.modules:\n        import torch\n"
        "    import yaml\n",
    )
    write(src / "sclatent" / "unused.py", "import scvi\n")
    script = write(tmp_path / "fit.py", "from sclatent.deep import fit\n")
    needed = required_packages(script, src, implied=[])
    assert set(needed) == {"numpy", "scikit-learn", "pyyaml"}
    assert "helpers.py" in needed["pyyaml"]


def test_checker_adds_implied_requirements(tmp_path):
    src = tmp_path / "src"
    write(src / "sclatent" / "__init__.py", "")
    write(src / "sclatent" / "cluster.py", "def leiden(g):\n    import scanpy as sc\n")
    script = write(tmp_path / "leiden.py", "from sclatent.cluster import leiden\n")
    env = write(tmp_path / "env.yaml", "dependencies:\n  - scanpy =1.11.5\n")
    implied = [("sclatent.cluster", "sc.tl.leiden(", ("leidenalg", "python-igraph"))]
    needed = required_packages(script, src, implied)
    assert set(needed) == {"scanpy", "leidenalg", "python-igraph"}
    listed = env_dependencies(env)
    assert set(needed) - set(listed) == {"leidenalg", "python-igraph"}


def test_rule_parser_reads_conda_and_script(tmp_path):
    smk = write(
        tmp_path / "workflow" / "rules" / "x.smk",
        'rule a:\n    output:\n        "a",\n    conda:\n        "../../envs/e.yaml"\n'
        '    script:\n        "../../scripts/a.py"\n\n\n'
        'rule b:\n    output:\n        "b",\n    shell:\n        "touch {output}"\n',
    )
    a, b = workflow_rules([smk])
    assert (a.rule, a.conda, a.script) == ("a", tmp_path / "envs/e.yaml", tmp_path / "scripts/a.py")
    assert (b.rule, b.conda, b.script, b.runs_code) == ("b", None, None, True)
