"""dbt through dagster-dbt: sources map to the raw assets, models are grouped by folder, dbt
tests become asset checks. The manifest is prepared once (dbt parse) and reused, so loading
the definitions does not parse the project unless a dbt file changed."""

import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.raw_assets import FULL_REFRESH_TAG
from pipelines.warehouse import Warehouse

MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26),
                                               warn_window=timedelta(hours=2))
SNAPSHOT_KEY = dg.AssetKey(["serving", "warehouse_snapshot"])
DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, PATH or not


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse only when the manifest is missing, older than a dbt source file, or was parsed
    for another warehouse folder (dbt's partial parsing needs the same rendered profile)."""
    from pipelines.snapshot import ENV_DIR, warehouse_dir

    os.environ.setdefault(ENV_DIR, str(warehouse_dir()))
    manifest = project.manifest_path
    stamp = manifest.with_name(".ehb_warehouse_dir")
    if manifest.exists() and stamp.exists() and stamp.read_text() == os.environ[ENV_DIR]:
        built = manifest.stat().st_mtime
        sources = [p for d in ("models", "macros", "tests") for p in (DBT_DIR / d).rglob("*")
                   if p.is_file()] + [DBT_DIR / "dbt_project.yml", DBT_DIR / "profiles.yml"]
        if all(p.stat().st_mtime <= built for p in sources):
            return manifest
    bin_dir = str(Path(DBT_EXECUTABLE).parent)  # the preparer runs plain `dbt`
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    project.preparer.prepare(project)
    stamp.write_text(os.environ[ENV_DIR])
    return manifest


class EhbDbtCliResource(DbtCliResource):
    """DbtCliResource without two start-up costs we do not use (measured ~10 s per run):
    `dbt --version` in a subprocess (dbt-core is installed beside us: read its version) and an
    in-process dbt adapter, needed only to fetch column metadata or row counts."""

    @property
    def _cli_version(self):
        from importlib.metadata import version as dist_version

        from packaging.version import parse

        return parse(dist_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    return EhbDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


class EhbTranslator(DagsterDbtTranslator):
    def get_asset_key(self, props: Mapping[str, Any]) -> dg.AssetKey:
        if props["resource_type"] == "source":
            return dg.AssetKey(["raw", props["name"]])
        return dg.AssetKey([props["fqn"][1], props["name"]])  # staging/intermediate/marts

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.key.path[0] == "marts":  # marts must be rebuilt at least daily
            return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec

    def get_group_name(self, props: Mapping[str, Any]) -> str | None:
        fqn = props["fqn"]
        if fqn[1] == "marts" and len(fqn) > 3:
            return f"marts_{fqn[2]}"
        return fqn[1]


@dbt_assets(manifest=ensure_manifest(), project=dbt_project,
            dagster_dbt_translator=EhbTranslator())
def ehb_dbt(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    """`dbt build`, minus everything downstream of a raw table whose quarantine is open; the
    full-refresh job (nightly) rebuilds the incremental marts from scratch."""
    warehouse.dir()  # sets EHB_WAREHOUSE_DIR for the dbt subprocess
    args = ["build"]
    if context.run.tags.get(FULL_REFRESH_TAG) == "true":
        args.append("--full-refresh")
    blocked = warehouse.blocked_tables()
    if blocked:
        context.log.warning(f"quarantine open for {blocked}: their downstream models are skipped")
        # One argument, space-separated (a union): dagster-dbt appends its own --select after
        # it, and dbt takes only the first word of a multi-word --exclude as the option's.
        args += ["--exclude", " ".join(f"source:ehb.{t}+" for t in sorted(blocked))]
    yield from dbt.cli(args, context=context).stream()
    # Publish here rather than in a downstream asset: Dagster skips a downstream step when any
    # upstream output was not produced, and a quarantine must block only its own marts.
    from pipelines.snapshot import publish

    path = publish(warehouse.build_file(), warehouse.dir() / "snapshot.duckdb")
    yield dg.AssetMaterialization(
        asset_key=SNAPSHOT_KEY,
        metadata={"path": str(path), "bytes": path.stat().st_size,
                  "blocked_sources": ", ".join(blocked) or "none"})
