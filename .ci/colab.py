"""Write every notebook's Colab badge and install cell from settings.ini (`--check`: fail if any is out of date).

The repository the project is published at is one setting, `git_url` in settings.ini. Every notebook but the index
starts with a badge that opens it in Colab from that repository and a `#| colab` cell (skipped by `nbdev_test`) that
installs realera there: from a wheel uploaded next to the notebook (`python -m build` writes
`dist/realera-<version>-py3-none-any.whl`, the embedded world inside) when there is one, else from `git_url`. The
index carries the badge (it becomes the README's) and a hidden install cell.

    python .ci/colab.py            # after changing git_url (or the branch)
    python .ci/colab.py --check    # what the tests run
"""
import configparser, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
BADGE_MARK, INSTALL_MARK = "colab.research.google.com", "#| colab"

def settings() -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "settings.ini")
    return dict(cfg["DEFAULT"])

def repository() -> tuple[str, str, str]:
    "(owner, name, branch) of settings.ini's `git_url`, which must be a GitHub repository URL."
    s = settings()
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", s["git_url"].strip())
    if not m:
        sys.exit(f"settings.ini: git_url = {s['git_url']!r} is not https://github.com/OWNER/REPO; Colab opens "
                 "GitHub notebooks only")
    return m.group(1), m.group(2), s.get("branch", "main")

def badge_url(nb_name: str) -> str:
    owner, name, branch = repository()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/nbs/{nb_name}"

def badge(nb_name: str) -> str:
    if nb_name == "index.ipynb":
        return (f"[![Open in Colab](images/colab.svg)]({badge_url(nb_name)}) opens this page as a notebook in Colab; "
                "every tutorial notebook has the same badge at its top (Runtime → Change runtime type → GPU for real "
                "Stable Diffusion weights). "
                "**The badges work once the repository is published** at `git_url` in `settings.ini` (see "
                "*Publishing* below). Until "
                "then, build a wheel from a clone (`pip wheel . --no-deps -w dist`: the embedded world, the configs "
                "and every stored "
                "result the notebooks show are inside), upload it and a notebook to Colab, and run the notebook's "
                "first cell: it "
                "installs from the wheel.")
    return (f"[![Open in Colab](images/colab.svg)]({badge_url(nb_name)}) On Colab, run the next cell first "
            "(Runtime → Change runtime type → GPU for the cells that load real Stable Diffusion weights).")

def install_source(hidden: bool = False) -> str:
    git = settings()["git_url"].strip()
    # `eval: false`: neither nbdev_test nor nbdev's docs pass (which runs every cell with an import) runs it
    return "\n".join([INSTALL_MARK, "#| eval: false"] + (["#| hide"] if hidden else []) + [
        "# Colab: install realera from a wheel uploaded next to this notebook (`python -m build` writes",
        "# dist/realera-<version>-py3-none-any.whl, the embedded world inside), else from the repository",
        "import glob, subprocess, sys",
        "wheels = sorted(glob.glob('realera-*.whl'))",
        "subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',",
        f"                wheels[-1] if wheels else 'realera @ git+{git}'], check=True)"])

def _lines(s: str) -> list[str]: return s.splitlines(keepends=True)

def synced(nb: dict, nb_name: str) -> dict:
    "The notebook with its badge (cell 1) and install cell (cell 2), replacing older ones wherever they were."
    cells = [c for c in nb["cells"]
             if not (c["cell_type"] == "markdown" and BADGE_MARK in "".join(c["source"]))
             and not (c["cell_type"] == "code" and "".join(c["source"]).startswith(INSTALL_MARK))]
    install = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": _lines(install_source(hidden=nb_name == "index.ipynb"))}
    cells[1:1] = [{"cell_type": "markdown", "metadata": {}, "source": _lines(badge(nb_name))}, install]
    return {**nb, "cells": cells}

def _content(nb) -> list:
    "What a reader sees of the cells (nbdev_clean may add ids and metadata)."
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]

def notebooks() -> list[Path]: return sorted(NBS.glob("*.ipynb"))

def main(check: bool = False) -> int:
    stale = []
    for p in notebooks():
        nb = json.loads(p.read_text(encoding="utf-8"))
        new = synced(nb, p.name)
        if _content(new) != _content(nb):
            stale.append(p.name)
            if not check: p.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if check and stale:
        print(f"Colab badges/install cells out of date with settings.ini's git_url in {stale}: run "
              "`python .ci/colab.py`")
        return 1
    print(("checked " if check else "wrote ") + f"{len(notebooks())} notebooks against {settings()['git_url']}")
    return 0

if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
