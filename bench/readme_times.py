"""The README's time table, measured: each command of the README's quick start run as a user runs it, in a fresh
working folder, on the embedded world, one after another (run it on an idle machine; the table is only as honest as
the machine).

    # prints the table, writes realera/assets/results/readme_times.json
    python bench/readme_times.py
    python bench/readme_times.py --json OUT.json      # somewhere else

The README's table quotes these figures (tests/test_hub_ids.py checks that it does).
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEIGHBORHOOD = ["neighborhood", "--concept", "ring", "--prompt", "a photo of a ring", "--compare",
                "a photo of a hollow hoop", "--compare", "a photo of a wedding band outline", "--compare",
                "a photo of a circle", "--out", "neighborhood.png"]
# label (as the README's table names it) → realera arguments
COMMANDS = {"realera --help": ["--help"],
            "realera erase --concept ring --out erased-ring": ["erase", "--concept", "ring", "--out", "erased-ring"],
            "the same erase again (a finished folder)": ["erase", "--concept", "ring", "--out", "erased-ring"],
            "realera erase --concept ring --variant full --out erased-ring-full": [
    "erase", "--concept", "ring", "--variant", "full", "--out", "erased-ring-full"],
            "realera generate … --erased erased-ring --out samples": [
    "generate", "--prompt", "a photo of a ring", "--prompt", "a photo of a hollow hoop", "--prompt",
    "a photo of a circle", "--erased", "erased-ring", "--out", "samples"],
            "realera evaluate --erased erased-ring --out eval": ["evaluate", "--erased", "erased-ring", "--out",
                                                                 "eval"],
            "realera neighborhood --concept ring …": NEIGHBORHOOD,}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT/"realera"/"assets"/"results"/"readme_times.json"))
    a = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    rows = []
    with tempfile.TemporaryDirectory() as cwd:
        for label, args in COMMANDS.items():
            t = time.time()
            r = subprocess.run(["realera", *args], cwd=cwd, env=env, capture_output=True, text=True)
            if r.returncode != 0: sys.exit(f"{label}: exit {r.returncode}\n{r.stderr[-2000:]}")
            rows.append(dict(command=label, seconds=round(time.time() - t, 1)))
            print(f"| `{label}` | {rows[-1]['seconds']:.1f} s |", flush=True)
    out = dict(rows=rows,
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform()),
               when=time.strftime("%Y-%m-%d"))
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.json}")

if __name__ == "__main__":
    main()
