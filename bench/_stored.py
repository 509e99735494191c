"""What the benchmark scripts share about stored results (`realera/assets/results/`): the options that add a run's
rows or fidelity columns to one, and the fidelity rerun itself (realera.merges)."""
import time

from realera.merges import fidelity_into, fidelity_note


def stored_options(ap, what: str = "result") -> None:
    "`--merge-into` and `--fidelity-into` on the argument parser `ap`; `what` names the stored file's kind."
    ap.add_argument("--merge-into", default=None,
                    help="a stored result (realera/assets/results/…json) to add this run's new rows to, after "
                         "checking that the rows both hold have the same hits (realera.merges.merge_results)")
    ap.add_argument("--fidelity-into", default=None,
                    help=f"a stored {what} (realera/assets/results/…json): draw its rows' kept prompts again (its "
                         "classes, seeds and settings; the other options are ignored) and add the fidelity columns "
                         "to it where the kept hits match (realera.merges.merge_fidelity)")


def fidelity_run(a, table, t0: float) -> bool:
    "With `--fidelity-into`: the fidelity rerun into the stored file, its `table` printed (process 0); else False."
    if not a.fidelity_into: return False
    res = fidelity_into(a.fidelity_into, a.out, **({"world": a.world} if a.world else {}))
    if res is not None:
        print(table(res), f"\n{a.fidelity_into}: {fidelity_note(res)}\nwall: {time.time() - t0:.0f} s")
    return True
