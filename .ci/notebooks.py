"""Run every notebook once, as `nbdev_test` runs it, and keep what it ran for the documentation.

This *is* `nbdev_test` (the same function, flags, parallel workers and per-notebook progress lines, `--do_print`
and `--timing` switched on); the only addition is that each notebook that ran without error is written, with its
outputs, to `_build/executed/` and stamped with the SHA-256 of its source. `.ci/docs.py` builds the site from those
files when their stamp matches the source, so one test run executes every notebook once, not twice.

    python .ci/notebooks.py                 # all notebooks (what `bash .ci/test` runs)
    python .ci/notebooks.py nbs/01_sampling.ipynb
    nbdev_docs --path _build/executed       # then, where Quarto is installed: the site with every output
"""
import hashlib, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = Path(os.environ.get("REALERA_EXECUTED", ROOT / "_build" / "executed"))

def source_hash(nb_path) -> str:
    return hashlib.sha256(Path(nb_path).read_bytes()).hexdigest()

def executed_path(nb_path) -> Path:
    return EXECUTED / Path(nb_path).name

def fresh(nb_path) -> bool:
    "Whether `_build/executed/` holds this notebook as it is now (run after its last edit)."
    import json
    p = executed_path(nb_path)
    if not p.exists(): return False
    return json.loads(p.read_text(encoding="utf-8"))["metadata"].get("realera_source_sha256") == source_hash(nb_path)

def _keep_executed():
    "Make every `CaptureShell.run_all` (what nbdev's `test_nb` calls) write its notebook once it ran without error."
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    run_all = CaptureShell.run_all
    def run_all_and_keep(self, nb, *args, **kwargs):
        res = run_all(self, nb, *args, **kwargs)
        src = Path(self._realera_source)
        keep = read_nb(src)   # the source as written (nbdev's test pass strips the `#|` directives the docs need)
        for cell in nb.cells:
            if cell.cell_type == "code":
                keep.cells[cell.idx_].outputs = cell.get("outputs", [])
                keep.cells[cell.idx_].execution_count = cell.get("execution_count")
        keep.metadata["realera_source_sha256"] = source_hash(src)
        EXECUTED.mkdir(parents=True, exist_ok=True)
        tmp = executed_path(src).with_suffix(".tmp")
        write_nb(keep, tmp)
        os.replace(tmp, executed_path(src))
        return res
    init = CaptureShell.__init__
    def init_and_remember(self, path=None, *args, **kwargs):
        init(self, path, *args, **kwargs)
        self._realera_source = path
    CaptureShell.run_all, CaptureShell.__init__ = run_all_and_keep, init_and_remember

def copy_site_files() -> None:
    "The site's other files (nbs/*.yml, styles.css, images/) beside the executed notebooks, so that "
    "`nbdev_docs --path _build/executed` renders them as it renders nbs/."
    import shutil
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for f in ROOT.joinpath("nbs").iterdir():
        if f.suffix in (".yml", ".css"): shutil.copyfile(f, EXECUTED / f.name)
    if (EXECUTED / "images").exists(): shutil.rmtree(EXECUTED / "images")
    shutil.copytree(ROOT / "nbs" / "images", EXECUTED / "images")

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    os.chdir(ROOT)
    _keep_executed()
    from nbdev.test import nbdev_test
    path = argv[0] if argv else None
    n = 0 if path else int(os.environ.get("REALERA_NB_WORKERS", "2"))
    copy_site_files()
    nbdev_test(path=path, n_workers=n, timing=True, do_print=True)

if __name__ == "__main__":
    main()
