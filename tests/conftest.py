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

def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`realera *args` in this process (`realera.cli.main`, what the console script calls) with the hub off: its exit
    code and what it printed, as `subprocess.run` returns them, without a fresh interpreter's ~10 s of imports. The
    console script itself is tested in a subprocess elsewhere (test_cli); torch's thread count is restored after."""
    import contextlib, io
    from realera.cli import main
    out, err, threads = io.StringIO(), io.StringIO(), torch.get_num_threads()
    env = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try: code = main(list(args))
            except SystemExit as e: code = e.code if isinstance(e.code, int) else 1   # argparse's refusals
    finally:
        torch.set_num_threads(threads)
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
    return subprocess.CompletedProcess(["realera", *args], code, out.getvalue(), err.getvalue())
