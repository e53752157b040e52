"""The GitHub Actions workflow: least privilege, Pages only from a green main, a site per PR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / ".github" / "workflows" / "ci.yml"
MAIN_ONLY = "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(CI.read_text(encoding="utf-8"))


def test_the_workflow_reads_by_default_and_only_the_deploy_job_may_write() -> None:
    flow = _workflow()
    assert flow["permissions"] == {"contents": "read"}
    for name, job in flow["jobs"].items():
        if name == "deploy":
            assert job["permissions"] == {"pages": "write", "id-token": "write"}, job
        else:
            assert "permissions" not in job, f"job {name} widens the workflow's permissions"


def test_pages_are_deployed_only_after_the_checks_of_a_push_to_main() -> None:
    jobs = _workflow()["jobs"]
    deploy = jobs["deploy"]
    assert deploy["needs"] == "checks" and deploy["if"] == MAIN_ONLY
    assert deploy["environment"]["name"] == "github-pages"
    uses = [s.get("uses", "") for s in deploy["steps"]]
    assert any(u.startswith("actions/deploy-pages@") for u in uses), uses
    steps = jobs["checks"]["steps"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert (
        len(upload) == 1 and upload[0]["if"] == MAIN_ONLY and upload[0]["with"]["path"] == "site/"
    )
    # The Pages site is built after the tests passed (its "last green run" boxes name this run).
    names = [s.get("name", "") for s in steps]
    assert names.index("Site for GitHub Pages, after the green run") < names.index(
        "Upload the site for GitHub Pages"
    )
    assert names.index("Every check (lint, tests, strict build, browser)") < names.index(
        "Site for GitHub Pages, after the green run"
    )


def test_every_pull_request_gets_the_built_site_linked_in_its_summary() -> None:
    steps = _workflow()["jobs"]["checks"]["steps"]
    keep = next(s for s in steps if s.get("id") == "site-artifact")
    assert keep["if"] == "always()" and keep["with"]["path"] == "site/"
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert "steps.site-artifact.outputs.artifact-url" in summary["env"]["URL"]
    assert "$URL" in summary["run"]
