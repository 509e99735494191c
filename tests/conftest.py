import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import pytest, torch

torch.set_num_threads(1)

@pytest.fixture(scope="session")
def pipe():
    from realera.testing import tiny_pipeline
    return tiny_pipeline(seed=0)
