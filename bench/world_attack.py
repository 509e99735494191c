"""The attack benchmark on the embedded world (realera.attack): every attack (prompts, RECE, soft prompt, its
teacher form, UnlearnDiffAtk typed) against every method of the erasure benchmark that changes weights and against
RealEra hardened, on the five test classes; each method's attack success rate pooled over classes and attack seeds
(95% bootstrap intervals) beside its plain prompt's rate and what the erase costs (Acc_s, H_o from the erasure
benchmark's results).

    python bench/world_attack.py                         # one process
    # two processes (CPU or GPUs): cells shared out
    accelerate launch --multi_gpu --num_processes 2 bench/world_attack.py
    python bench/world_attack.py --quick                 # a smoke run: what CI runs
    python bench/world_attack.py --methods "closed form (variant 1)" --attacks prompts soft \
        --rows '{"closed form + discover 8, protect 16":
                 ["closed form (variant 1)", {"discover": 8, "discover_protect": 16}]}'

(`--multi_gpu` is accelerate's name for "torchrun-style processes"; on a machine without CUDA each process runs on
the CPU, one thread.) Resumes from OUT: every finished attack is kept. Writes OUT/results.json, OUT/table.md,
OUT/figure.png.
"""
import argparse, json, time
from pathlib import Path

import torch

from realera.attack import ATTACKS, AttackConfig, attack, default_prompts, plain_prompt, protocol_judge
from realera.tables import attack_figure, attack_table
from realera.merges import merge_attacks, merge_into
from realera.methods import TEST_CLASSES, apply_method, method_rows
from realera.statistics import bootstrap_rows
from realera.base import atomic_path, marker_state, my_share, processes, read_json, write_json
from realera.settings import model_settings
from realera.world.model import load_world

HARDEN = 2   # rounds: the best H_o on the tuning classes circle and cross (05b_attack)
METHOD_LIST = ["original", "UCE (2023 recipe)", "UCE (2025 recipe)", "ESD-x", "ESD-u", "closed form (variant 1)",
               "+ noise alignment (variant 2)", "+ neighbor mining (variant 3)", "RealEra (full)"]
EXTRA = {f"RealEra (full) + hardening (R = {HARDEN})": ["RealEra (full)", {"harden": HARDEN}]}
QUICK = dict(classes=["ring"], methods=["original", "closed form (variant 1)"], extra={}, n=2, seeds=1, iterations=2,
             steps=4)
BENCHMARKS = ["realera/assets/results/world_benchmark.json", "realera/assets/results/world_attempts.json"]

def slug(s: str) -> str: return "".join(ch if ch.isalnum() else "_" for ch in s.lower()).strip("_")

def stats_from(paths: list[str], labels: list[str], classes: list[str]) -> dict:
    "Acc_s and H_o (estimate, low, high) of each label found in an erasure benchmark's results, over `classes`."
    out = {}
    for p in paths:
        if not Path(p).exists(): continue
        res = read_json(Path(p))
        found = [l for l in labels if l in res["rows"] and l not in out and all(c in res["cells"] for c in classes)]
        if found:
            rows = bootstrap_rows(res, found, classes=classes)
            out.update({l: dict(acc_s=rows[l]["acc_s"], h_o=rows[l]["h_o"]) for l in found})
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-attack")
    ap.add_argument("--classes", nargs="+", default=TEST_CLASSES)
    ap.add_argument("--methods", nargs="+", default=METHOD_LIST)
    ap.add_argument("--attacks", nargs="+", default=list(ATTACKS))
    ap.add_argument("--n", type=int, default=10, help="images per attacked prompt and attack seed")
    ap.add_argument("--seeds", type=int, default=2, help="soft attack seeds")
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument(
        "--benchmark", nargs="*", default=BENCHMARKS, help="erasure benchmark results to take Acc_s and H_o from"
    )
    ap.add_argument("--rows", default=None,
                    help='JSON: label -> [method, settings], rows in place of the hardening row')
    ap.add_argument("--quick", action="store_true", help="a smoke run: " + json.dumps(QUICK))
    ap.add_argument("--merge-into", default=None,
                    help="a stored result (realera/assets/results/world_attack.json) to add this run's attacks to, "
                         "after checking the plain prompt's hits (realera.merges.merge_attacks)")
    ap.add_argument("--replace", nargs="+", default=[], help="with --merge-into: methods whose stored records "
                                                             "this run's replace "
                    "whole (a method today's libraries no longer reproduce, run again with every stored attack)")
    ap.add_argument("--skip-unpaired", action="store_true", help="with --merge-into: leave out (and list) a "
                                                                 "method and class "
                    "whose plain-prompt hits differ from the stored ones, instead of failing")
    a = ap.parse_args()
    torch.set_num_threads(1)
    state = processes(hours=6)
    kw = dict(classes=a.classes, methods=a.methods, extra=json.loads(a.rows) if a.rows else EXTRA, n=a.n,
              seeds=a.seeds, iterations=a.iterations, steps=a.steps)
    if a.quick: kw.update(QUICK)
    bad = [m for m in a.attacks if m not in ATTACKS]
    if bad: raise SystemExit(f"unknown attacks {bad}; allowed: {list(ATTACKS)}")
    rows = method_rows(kw["methods"], None, kw["extra"])
    cfgs = {m: AttackConfig(m, n=kw["n"], seeds=kw["seeds"], iterations=kw["iterations"], steps=kw["steps"])
            for m in a.attacks}
    settings, world, out, t = model_settings(None), load_world(), Path(a.out), time.time()
    marker = out/"settings.json"
    out.mkdir(parents=True, exist_ok=True)
    if state.is_main_process:
        if marker_state(marker, kw) == "other":
            raise SystemExit(f"{out} holds an attack benchmark with other settings; use another --out")
        write_json(marker, kw)
    state.wait_for_everyone()
    cells = [(c, label) for c in kw["classes"] for label in rows]
    cache = {}   # what repeats between attacks, drawn once per process: each model's plain images, the targets
    for _, (c, label) in my_share(cells, state):
        kind, ps = rows[label]
        d = out/c/slug(label)
        todo = [m for m in a.attacks if not (d/m/"attack.json").exists()]
        if not todo: continue
        t0 = time.time()
        pipe = apply_method(load_world(), kind, c, ps, 0, settings)
        judge, proto = protocol_judge("world", c, "world")
        print(f"[{state.process_index}] {c} / {label}: erased in {time.time() - t0:.0f} s", flush=True)
        for m in todo:
            r = attack(pipe, c, cfgs[m], original=world, judge=judge, prompt=plain_prompt(proto),
                       prompts=default_prompts(proto), out=d/m, progress=False, cache=cache)
            print(f"[{state.process_index}] {c} / {label} / {m}: ASR {r['asr']['mean']:.0f} (plain "
                  f"{r['no_attack']['mean']:.0f}) "
                  f"in {r['seconds']:.0f} s", flush=True)
    state.wait_for_everyone()
    if not state.is_main_process: return
    records = {label: {c: {m: read_json(out/c/slug(label)/m/"attack.json") for m in a.attacks} for c in kw["classes"]}
               for label in rows}
    stats = stats_from(a.benchmark, list(rows), kw["classes"])
    keep = ("method", "concept", "prompt", "seed", "protocol", "no_attack", "asr", "hard", "curve", "seconds")
    # the typed attack's found prompts, as users ask for them
    kept = lambda r: {**{k: r[k] for k in keep if k in r},
                      **(
        {"prompts": [x["typed_prompt"] for x in r["attempts"]]} if r["method"] == "unlearndiff" else {})}
    res = dict(settings=dict(kw, attacks=a.attacks, rows=rows), stats=stats,
               records={l: {c: {m: kept(r) for m, r in by.items()} for c, by in rc.items()}
                        for l, rc in records.items()})
    write_json(out/"results.json", res)
    if a.merge_into:   # the table below then shows every attack of the stored result
        res = merge_into(a.merge_into, res, merge_attacks, skip_unpaired=a.skip_unpaired, replace=a.replace)
        records, stats = res["records"], res.get("stats", stats)
        print(f"merged into {a.merge_into}: attacks {res['settings']['attacks']}; left out, unpaired: "
              f"{res.get('unpaired', [])}")
    table = attack_table(records, stats)
    with atomic_path(out/"table.md") as tmp: tmp.write_text(table + "\n")
    if stats: attack_figure(records, stats).savefig(out/"figure.png", dpi=100, bbox_inches="tight")
    print(table)
    secs = [r["seconds"] for rc in records.values() for by in rc.values() for r in by.values()]
    print(
        f"\nattack seconds: {sum(secs):.0f} in all; wall {time.time() - t:.0f} s on {state.num_processes} process(es)")

if __name__ == "__main__":
    main()
