"""The documentation: every notebook renders to an HTML page offline, with its figures, and the README is in sync.

Quarto (which `nbdev_docs` needs) cannot be installed here, so the pages are rendered with nbconvert after executing
each notebook the way `nbdev_test` does (cells flagged with a skipped test flag are left out)."""
import configparser, json, runpy, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb"))
SKIP = configparser.ConfigParser(); SKIP.read(ROOT / "settings.ini"); SKIP = SKIP["DEFAULT"]["tst_flags"].split()

def _executable(nb):
    "Drop cells carrying a skipped test flag, as nbdev_test does."
    import nbformat
    nb = nbformat.read(str(nb), as_version=4)
    flag = re.compile(r"^#\|\s*(" + "|".join(SKIP) + r")\s*$", re.M)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and flag.search(c.source))]
    return nb

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_page_renders_with_figures(nb, tmp_path):
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor
    book = _executable(nb)
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(book, {"metadata": {"path": str(ROOT / "nbs")}})
    html, _ = HTMLExporter().from_notebook_node(book)
    page = tmp_path / nb.with_suffix(".html").name
    page.write_text(html, encoding="utf-8")
    title = next(c.source for c in book.cells if c.cell_type == "markdown").splitlines()[0].lstrip("# ")
    assert title in html
    figures = {"01_sampling.ipynb": "the UMAP view", "02_closed_form.ipynb": "the before/after bars",
               "03a_erase.ipynb": "the original/erased image grid"}
    if nb.name in figures: assert html.count("data:image/png;base64") >= 1, f"{figures[nb.name]} is missing"
    if "](images/" in "".join(c.source for c in book.cells if c.cell_type == "markdown"):
        for img in re.findall(r"\]\((images/[^)]+)\)", "".join(c.source for c in book.cells)):
            assert (ROOT / "nbs" / img).exists(), img

def test_every_notebook_is_in_the_sidebar_and_exports_its_module():
    sidebar = (ROOT / "nbs" / "sidebar.yml").read_text()
    for nb in NBS:
        assert nb.name in sidebar, f"{nb.name} is not in nbs/sidebar.yml"
        cells = json.loads(nb.read_text())["cells"]
        exp = [l for c in cells for l in "".join(c["source"]).splitlines() if l.startswith("#| default_exp")]
        if nb.name != "index.ipynb":
            assert len(exp) == 1, nb.name
            assert (ROOT / "realera" / (exp[0].split()[-1] + ".py")).exists()

def test_readme_is_in_sync_with_index():
    mod = runpy.run_path(str(ROOT / ".ci" / "readme.py"))
    assert (ROOT / "README.md").read_text(encoding="utf-8") == mod["render"]()
