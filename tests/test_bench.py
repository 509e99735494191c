"""The benchmark scripts' quick modes: what CI can afford of bench/world_erase.py and bench/world_tradeoff.py."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_world_erase_quick(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"world_erase.py"), "--quick", "--workers", "1", "--out", str(tmp_path/"b")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for t in ("**Table 1**", "**Acc_g by kind of name**", "**Paired differences**", "| **average** | UCE (2023 recipe) |"):
        assert t in r.stdout, t
    assert (tmp_path/"b"/"results.json").is_file() and (tmp_path/"b"/"tables.md").is_file()
