import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import subprocess, sys
from pathlib import Path
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

ROOT = Path(__file__).resolve().parents[1]

def run_bench(script: str, *args, timeout: int = 900, ok: bool = True, expect=()) -> subprocess.CompletedProcess:
    """Run bench/<script> with `args`; assert it succeeded (or failed, `ok=False`) and that stdout holds every string
    of `expect`."""
    r = subprocess.run([sys.executable, str(ROOT/"bench"/script), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert (r.returncode == 0) == ok, (r.returncode, r.stderr[-3000:])
    for t in expect: assert t in r.stdout, t
    return r

def launch_two(*args, timeout: int = 900) -> subprocess.CompletedProcess:
    """`args` (a script and its arguments) under `accelerate launch` with two CPU processes, one thread each; asserts
    success."""
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                        "--num_cpu_threads_per_process", "1", *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r
