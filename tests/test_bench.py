"""The benchmark scripts' quick modes: what CI can afford of bench/world_erase.py and bench/world_tradeoff.py."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_world_erase_quick(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"world_erase.py"), "--quick", "--workers", "1", "--out", str(tmp_path/"b"),
                        "--rows", '{"closed form + associated names": ["closed form (variant 1)", {"also": "associated"}]}'],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for t in ("**Table 1**", "**Acc_g by kind of name**", "**Paired differences**", "| **average** | UCE (2023 recipe) |",
              "| **average** | closed form + associated names |"):
        assert t in r.stdout, t
    assert (tmp_path/"b"/"results.json").is_file() and (tmp_path/"b"/"tables.md").is_file()

def test_world_erase_rejects_unknown_row_method(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"world_erase.py"), "--quick", "--workers", "1", "--out", str(tmp_path/"b"),
                        "--rows", '{"x": ["MACE", {}]}'], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "unknown methods ['MACE']" in r.stderr and not (tmp_path/"b").exists()

def test_world_tradeoff_quick(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"world_tradeoff.py"), "--quick", "--workers", "1", "--out", str(tmp_path/"t")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for t in ("| method · knob |", "| original |", "| ESD-x · steps=25 |", "| RealEra (full) · d1=1.1,d2=1.6,s1=0.7,s2=0.3 |"):
        assert t in r.stdout, t
    assert (tmp_path/"t"/"tradeoff.png").stat().st_size > 10_000
