"""The documentation: every notebook renders to an HTML page offline, with its figures, and the README is in sync.

Quarto (which `nbdev_docs` needs) cannot be installed here, so the pages are rendered with nbconvert after executing
each notebook the way `nbdev_test` does (cells flagged with a skipped test flag are left out)."""
import configparser, json, runpy, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb"))

DOCS = runpy.run_path(str(ROOT / ".ci" / "docs.py"))
FIGURES = {"01_sampling.ipynb": "the UMAP view", "02_closed_form.ipynb": "the before/after bars",
           "03a_erase.ipynb": "the original/erased image grid", "05a_evaluate.ipynb": "the evaluation grid"}

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The offline site, built once by .ci/docs.py (it executes every notebook)."
    out = tmp_path_factory.mktemp("site")
    DOCS["build"](out)
    return out

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_page_renders_with_figures(nb, site):
    page = site / DOCS["page_name"](nb)
    html = page.read_text(encoding="utf-8")
    import nbformat
    assert DOCS["title"](nbformat.read(str(nb), as_version=4)) in html
    assert "https://cdn" not in html and 'src="http' not in html, "the page would need the internet"
    if nb.name in FIGURES: assert html.count("data:image/png;base64") >= 1, f"{FIGURES[nb.name]} is missing"
    for img in re.findall(r'<img[^>]*src="(?!data:)([^"]+)"', html): assert (site / img).exists(), img

def _chromium():
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser")

def test_site_opens_in_a_headless_browser(site):
    "Every page loads in headless Chromium with all of its figures, and the sidebar links every page."
    import subprocess
    exe = _chromium()
    assert exe, "chromium is not installed (.ci/run installs Debian's `chromium`)"
    index = (site / "index.html").read_text(encoding="utf-8")
    for nb in NBS:
        name = DOCS["page_name"](nb)
        assert f'href="{name}"' in index, name
        r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-dev-shm-usage", "--virtual-time-budget=10000", "--dump-dom", (site / name).as_uri()],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r'data-figures="(\d+)/(\d+)"', r.stdout)
        assert m, f"{name}: the page did not finish loading: {r.stderr[-500:]}"
        loaded, total = map(int, m.groups())
        assert loaded == total, f"{name}: {total - loaded} of {total} figures did not load"
        if nb.name in FIGURES or nb.name == "index.ipynb": assert total >= 1, name

def test_every_notebook_is_in_the_sidebar_and_exports_its_module():
    sidebar = (ROOT / "nbs" / "sidebar.yml").read_text()
    for nb in NBS:
        assert nb.name in sidebar, f"{nb.name} is not in nbs/sidebar.yml"
        cells = json.loads(nb.read_text())["cells"]
        exp = [l for c in cells for l in "".join(c["source"]).splitlines() if l.startswith("#| default_exp")]
        if nb.name != "index.ipynb":
            assert len(exp) == 1, nb.name
            assert (ROOT / "realera" / (exp[0].split()[-1].replace(".", "/") + ".py")).exists()

def test_readme_is_in_sync_with_index():
    mod = runpy.run_path(str(ROOT / ".ci" / "readme.py"))
    assert (ROOT / "README.md").read_text(encoding="utf-8") == mod["render"]()
