"""Shared fixtures: the ipsecsim binary and the shipped scenarios, run once."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.scn"))


def ipsecsim_path():
    return os.environ.get("IPSECSIM", str(ROOT / "ipsecsim"))


@pytest.fixture(scope="session")
def ipsecsim():
    path = ipsecsim_path()
    assert os.access(path, os.X_OK), f"build ipsecsim first ({path})"
    return path


def run(ipsecsim, *args, cwd=None):
    return subprocess.run([ipsecsim, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="session")
def scenario_runs(ipsecsim, tmp_path_factory):
    """Every shipped scenario run once; name -> output directory."""
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for scn in SCENARIOS:
        d = base / scn.stem
        r = run(ipsecsim, "run", "-o", d, scn)
        assert r.returncode == 0, r.stdout + r.stderr
        out[scn.stem] = d
    return out
