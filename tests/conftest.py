import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import subprocess, sys
import pytest, torch

torch.set_num_threads(1)

@pytest.fixture(scope="session")
def pipe():
    from realera.testing import tiny_pipeline
    return tiny_pipeline(seed=0)

@pytest.fixture
def run_offline():
    """Run Python `code` in a fresh interpreter with the hub switched off and one thread; fail with its stderr if it
    fails."""
    def run(code: str):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr.decode()[-2000:]
    return run
