"""What the command line's thread choice (`realera.base.cli_threads`) buys on a busy machine: the README's erase
(`realera erase --concept star --variant full`, the embedded world) idle, then with one busy process per core running
beside it, once with torch's threads fixed to every core (`REALERA_THREADS`) and once as the CLI chooses them.

    python bench/cli_threads.py            # ≈ 3 min on 2 cores; prints a table
"""
import os, subprocess, sys, tempfile, time

from realera.base import markdown_table

def erase(out: str, env: dict) -> float:
    t = time.time()
    subprocess.run(["realera", "erase", "--concept", "star", "--variant", "full", "--out", out, "--quiet"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return time.time() - t

def main():
    cores = len(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "REALERA_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    rows = []
    with tempfile.TemporaryDirectory() as d:
        erase(f"{d}/warm", env)                                   # file caches warm
        rows.append(("idle", "chosen (cli_threads)", erase(f"{d}/idle", env)))
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
        try:
            time.sleep(65)                                        # the one-minute load average sees them
            rows.append((f"{cores} busy processes", f"{cores} (REALERA_THREADS)",
                         erase(f"{d}/fixed", {**env, "REALERA_THREADS": str(cores)})))
            rows.append((f"{cores} busy processes", "chosen (cli_threads)", erase(f"{d}/chosen", env)))
        finally:
            for p in busy: p.kill()
    print(markdown_table((f"machine ({cores} cores)", "torch threads", "erase seconds"),
                         [(where, threads, f"{s:.1f}") for where, threads, s in rows]))

if __name__ == "__main__": main()
