"""The generated files are in sync with their sources: `realera/` is what `nbdev_export` writes from the notebooks, the
notebooks are committed clean (`nbdev_clean`), and the site's settings live once, in the top-level `_quarto.yml`.
Checked on a copy of the tracked files, so running the tests never rewrites a developer's tree."""
import filecmp, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def _tracked() -> list[str]:
    r = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: pytest.skip("not a git checkout")
    return [f for f in r.stdout.splitlines() if (ROOT / f).exists() or (ROOT / f).is_symlink()]

def _copy(files, dest: Path) -> None:
    "The tracked files but the package's weights (not generated, large) into `dest`, links kept as links."
    for f in files:
        if f.startswith("realera/assets/"): continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f, follow_symlinks=False)

def test_export_and_clean_change_nothing(tmp_path):
    files = _tracked()
    _copy(files, tmp_path)
    for cmd in (["nbdev_export"], ["nbdev_clean"]):
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
    changed = [f for f in files if not f.startswith("realera/assets/") and not (tmp_path / f).is_symlink()
               and not filecmp.cmp(ROOT / f, tmp_path / f, shallow=False)]
    new = [str(p.relative_to(tmp_path)) for p in (tmp_path / "realera").rglob("*.py")
           if str(p.relative_to(tmp_path)) not in files]
    assert not changed and not new, (f"nbdev_export / nbdev_clean would change {changed}, add {new}: export or "
                                     "clean and commit")

def test_quarto_settings_live_at_the_top_level():
    top, nbs = ROOT / "_quarto.yml", ROOT / "nbs" / "_quarto.yml"
    assert top.is_file() and not top.is_symlink()
    assert nbs.resolve() == top.resolve(), "nbs/_quarto.yml (where nbdev looks) must be a link to the top-level file"
    assert nbs.read_text() == top.read_text() and "project:" in top.read_text()

def test_no_cell_mixes_imports_and_other_code():
    """nbdev's docs pass runs every cell with an import on its own and warns when such a cell holds other code; the
    offline site builder (.ci/docs.py) stops on that warning. Checked here with nbdev's own rule, in seconds, before
    the site is built."""
    import warnings
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval
    mixed = []
    for p in sorted((ROOT / "nbs").glob("*.ipynb")):
        if "#| default_exp" not in p.read_text(): continue   # a page without exports gets no docs pass (index)
        for i, c in enumerate(NBProcessor(p).nb.cells):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                _do_eval(c)
            if w: mixed.append(f"{p.name} cell {i}: {c.source[:60]!r}")
    assert not mixed, f"cells with imports and other code (move the imports to an import cell): {mixed}"
