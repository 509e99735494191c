"""The documentation: the site `.ci/docs.py` builds from nbdev's processed notebooks shows every figure once, typeset
math, titles from the notebooks' H1, no warnings or machine paths; it opens in a headless browser; the Colab badges and
install cells follow settings.ini; the README is in sync.

The notebooks are executed once per test run: `bash .ci/test` runs them with `python .ci/notebooks.py` (nbdev_test,
keeping what it ran) before pytest, and the site is built from those copies; a notebook whose copy is missing or stale
(pytest run alone, or after an edit) is executed here first."""
import configparser, json, os, re, runpy, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb"))
DOCS = runpy.run_path(str(ROOT / ".ci" / "docs.py"))
COLAB = runpy.run_path(str(ROOT / ".ci" / "colab.py"))

# figures each page shows in its output areas (measured; a page that loses or doubles one fails)
FIGURES = {"00c_images.ipynb": 1, "01a_neighborhood.ipynb": 1, "02_concept_edit.ipynb": 1, "03a_erase.ipynb": 1,
           "03b_export.ipynb": 1, "04_world_data.ipynb": 1, "04a_world_model.ipynb": 3, "05a_evaluate.ipynb": 1,
           "06b_tables.ipynb": 1, "index.ipynb": 1,
           "results.ipynb": 2}

@pytest.fixture(scope="module")
def proc():
    """`nbdev_docs --path _build/executed`'s preprocessing (`nbdev_proc_nbs`, no Quarto needed) of the executed
    notebooks (a missing or stale one executed first): the folder `_proc/` and the command's result."""
    subprocess.run([sys.executable, "-c", f"import runpy; D = runpy.run_path({str(ROOT / '.ci' / 'docs.py')!r}); "
                    "[D['executed'](p, True) for p in D['pages']()]"], check=True, cwd=ROOT, timeout=3600)
    executed = Path(runpy.run_path(str(ROOT / ".ci" / "notebooks.py"))["EXECUTED"])
    stub = ROOT / "_build" / "bin" / "quarto"   # nbdev would otherwise try to install Quarto (sudo, pip install -e)
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(["nbdev_proc_nbs", "--path", str(executed), "--force"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900, env=env)
    return ROOT / "_proc", r

@pytest.fixture(scope="module")
def site(tmp_path_factory, proc):
    "The offline site, built once by .ci/docs.py in its own process from what nbdev processed (`proc`)."
    folder, r = proc
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path_factory.mktemp("site") / "site"
    subprocess.run([sys.executable, str(ROOT / ".ci" / "docs.py"), str(out), f"--proc={folder}"], check=True,
                   cwd=ROOT, timeout=3600)
    return out

def h1(nb: Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    return "".join(cells[0]["source"]).splitlines()[0].removeprefix("# ").strip()

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_page_shows_its_figures_once(nb, site):
    html = (site / DOCS["page_name"](nb)).read_text(encoding="utf-8")
    figs = DOCS["figures"](html)
    assert len(figs) == FIGURES.get(nb.name, 0), (f"{nb.name}: {len(figs)} figures in its output areas, expected "
                                                  f"{FIGURES.get(nb.name, 0)}")
    assert len(set(figs)) == len(figs), f"{nb.name}: a figure is shown twice"

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_page_is_titled_offline_and_clean(nb, site):
    html = (site / DOCS["page_name"](nb)).read_text(encoding="utf-8")
    title = h1(nb)
    import html as html_lib
    shown = html_lib.unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()
    assert shown == title, f"{nb.name}: the page's <title> is {shown!r}, not its H1 {title!r}"
    assert "https://cdn" not in html and 'src="http' not in html, "the page would need the internet"
    for img in re.findall(r'<img[^>]*src="(?!data:)([^"]+)"', html): assert (site / img).exists(), img
    outputs = DOCS["output_text"](html)
    for desc in re.findall(r'<p class="realera-description">(.*?)</p>', html, re.S):
        assert "`" not in desc, f"{nb.name}: the subtitle shows raw backticks: {desc[:200]}"
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html, (f"{nb.name}: the page shows a stderr block "
                                                                           "(a progress bar or a notice)")
    for bad in ("Warning", "warn(", str(ROOT), sys.prefix, "site-packages", str(Path.home()) + "/", "/tmp/",
                "/var/folders/"):
        assert bad not in outputs, (f"{nb.name}: an output shows {bad!r}: "
                                    f"...{outputs[max(0, outputs.find(bad) - 200):outputs.find(bad) + 200]}...")

def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed (.ci/test installs Debian's `chromium`)"
    return exe

# a harness page: every page in a frame of its own; once each has reported on its <body>, the reports in #results
HARNESS = """<!doctype html><html><body><pre id="results"></pre><script>
var pages = PAGES, seen = {}, left = pages.length;
function poll(name, frame) {
  var b = frame.contentDocument && frame.contentDocument.body;
  var figs = b && b.getAttribute("data-figures"), math = b && b.getAttribute("data-math");
  if (!figs || !math || figs === "pending" || math === "pending") { setTimeout(function () { poll(name, frame); }, 50);
                                                                     return; }
  seen[name] = {figures: figs, math: math};
  if (--left === 0) document.getElementById("results").textContent = JSON.stringify(seen);
}
pages.forEach(function (name) {
  var f = document.createElement("iframe");
  f.style.width = "1200px"; f.style.height = "800px";
  f.onload = function () { poll(name, f); };
  f.src = name;
  document.body.appendChild(f);
});
</script></body></html>"""

def open_pages(site: Path, names: list[str]) -> dict:
    """Open the pages `names` of the folder `site` in one headless Chromium, each in a frame of a harness page served
    over HTTP from `site` on this machine (one browser start, not one per page); return what each reports on <body>
    once loaded (figures, math)."""
    import functools, http.server, threading
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    harness = site / "_open_pages.html"
    harness.write_text(HARNESS.replace("PAGES", json.dumps(names)), encoding="utf-8")
    try:
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))) as srv:
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            r = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                                "--disable-background-networking", "--disable-dev-shm-usage",
                                "--virtual-time-budget=60000", "--dump-dom",
                                f"http://127.0.0.1:{srv.server_port}/{harness.name}"],
                               capture_output=True, text=True, timeout=600)
            srv.shutdown()
    finally: harness.unlink()
    import html as html_lib
    found = re.search(r'<pre id="results">(.+?)</pre>', r.stdout, re.S)
    assert found, f"the pages did not all report: {r.stderr[-500:]}"
    return json.loads(html_lib.unescape(found.group(1)))

def open_page(page: Path) -> dict:
    "Open `page` in headless Chromium; return what it reports on <body> once loaded (figures, math)."
    return open_pages(page.parent, [page.name])[page.name]

def test_site_opens_in_a_headless_browser(site):
    """Every page loads with all of its figures and typeset math; the sidebar links every page; a screenshot of the
    index."""
    index = (site / "index.html").read_text(encoding="utf-8")
    reports = open_pages(site, [DOCS["page_name"](nb) for nb in NBS])
    for nb in NBS:
        name = DOCS["page_name"](nb)
        assert f'href="{name}"' in index, f"the sidebar does not link {name}"
        page = (site / name).read_text(encoding="utf-8")
        assert not re.findall(r'href="[\w.-]+\.ipynb', page), f"{name} links a notebook, not its page"
        seen = reports[name]
        want = FIGURES.get(nb.name, 0)
        assert seen["figures"] == f"{want}/{want}", (f"{name}: figures loaded/total {seen['figures']}, "
                                                     f"expected {want}/{want}")
        assert seen["math"] == "ok", f"{name}: TeX left untypeset on the page"
    shot = ROOT / "_build" / "index.png"
    shot.parent.mkdir(exist_ok=True)
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--virtual-time-budget=20000", "--window-size=1400,1000", f"--screenshot={shot}",
                    (site / "index.html").as_uri()], capture_output=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 20_000, "no screenshot of the index"

@pytest.fixture(scope="module")
def figure_notebook(tmp_path_factory):
    "A one-figure, one-formula notebook."
    import nbformat
    d = tmp_path_factory.mktemp("figure")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A figure\n\n> One figure and one formula."),
                nbformat.v4.new_markdown_cell("The formula: $$\\frac{a}{b}$$"),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2)); "
                                          "ax.plot([0, 1])\nplt.close(fig)\nfig")]
    nbformat.write(nb, str(d / "figure.ipynb"))
    return d / "figure.ipynb"

def _page(site_dir: Path, src: Path, mathjax: bool = True) -> Path:
    "One page of `src` (an executed notebook) through nbdev's processing and the site's renderer."
    site_dir.mkdir(parents=True, exist_ok=True)
    if mathjax and not (site_dir / "mathjax").exists(): shutil.copytree(DOCS["mathjax_dir"](), site_dir / "mathjax")
    proc = subprocess.run([sys.executable, "-c", f"""
import runpy, sys; from pathlib import Path
D = runpy.run_path({str(ROOT / '.ci' / 'docs.py')!r})
html = D['render'](D['processed'](Path({str(src)!r}), src=Path({str(src)!r})), 'figure.html', mathjax={mathjax})
Path({str(site_dir / 'figure.html')!r}).write_text(html)"""], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return site_dir / "figure.html"

def test_the_docs_test_notices_a_page_without_figures_or_math(figure_notebook, tmp_path):
    """Executed as the docs build executes (inline figures) the page passes; with the Agg backend (the figure becomes
    its text repr) or without MathJax (raw TeX) the same checks fail."""
    env = {**os.environ, "REALERA_EXECUTED": str(tmp_path / "inline")}
    subprocess.run([sys.executable, str(ROOT / ".ci" / "notebooks.py"), str(figure_notebook)], check=True, env=env,
                   cwd=ROOT, capture_output=True, timeout=300)
    good = _page(tmp_path / "good", tmp_path / "inline" / "figure.ipynb")
    assert len(DOCS["figures"](good.read_text())) == 1
    assert open_page(good) == dict(figures="1/1", math="ok")
    # the Agg backend: a kernel started with MPLBACKEND=Agg displays "<Figure size ... with 1 Axes>" instead
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    nb = nbformat.read(str(figure_notebook), as_version=4)
    old = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try: ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    finally:
        if old is None: os.environ.pop("MPLBACKEND")
        else: os.environ["MPLBACKEND"] = old
    nbformat.write(nb, str(tmp_path / "agg.ipynb"))
    agg = _page(tmp_path / "agg", tmp_path / "agg.ipynb")
    assert "Figure size" in agg.read_text() and DOCS["figures"](agg.read_text()) == []
    assert open_page(agg)["figures"] == "0/0"    # != the 1/1 the site test requires of a page with a figure
    raw = _page(tmp_path / "raw", tmp_path / "inline" / "figure.ipynb", mathjax=False)
    assert open_page(raw)["math"] == "raw"

# pages of prose and measured results that export nothing (nbdev's explanations)
EXPLANATIONS = ("index.ipynb", "results.ipynb")

def test_every_notebook_is_in_the_sidebar_and_exports_its_module():
    "Every notebook is in the sidebar, and every one but the explanation pages exports one module."
    sidebar = (ROOT / "nbs" / "sidebar.yml").read_text()
    assert [p.name for p in DOCS["pages"]()] == [n for n in re.findall(r"(\S+\.ipynb)", sidebar)]
    for nb in NBS:
        assert nb.name in sidebar, f"{nb.name} is not in nbs/sidebar.yml"
        cells = json.loads(nb.read_text())["cells"]
        exp = [l for c in cells for l in "".join(c["source"]).splitlines() if l.startswith("#| default_exp")]
        if nb.name not in EXPLANATIONS:
            assert len(exp) == 1, nb.name
            assert (ROOT / "realera" / (exp[0].split()[-1].replace(".", "/") + ".py")).exists()

def test_readme_is_in_sync_with_index():
    mod = runpy.run_path(str(ROOT / ".ci" / "readme.py"))
    assert (ROOT / "README.md").read_text(encoding="utf-8") == mod["render"]()

def test_colab_badges_and_install_cells_follow_git_url():
    """Every notebook has one badge and one install cell, and every Colab link anywhere points at settings.ini's
    git_url."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "settings.ini")
    git = cfg["DEFAULT"]["git_url"]
    assert COLAB["main"](check=True) == 0
    for nb in NBS:
        cells = json.loads(nb.read_text())["cells"]
        badges = [c for c in cells if "colab.research.google.com" in "".join(c["source"])]
        installs = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).startswith("#| colab")]
        assert len(badges) == 1 and len(installs) == 1, nb.name
        assert f"({COLAB['badge_url'](nb.name)})" in "".join(badges[0]["source"]), nb.name
        assert f"git+{git}'" in "".join(installs[0]["source"]), nb.name
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", readme)
    assert links == [COLAB["badge_url"]("index.ipynb")], links
    owner, name, _ = COLAB["repository"]()
    assert git.rstrip("/").endswith(f"/{owner}/{name}")

def test_nbdev_processes_the_executed_notebooks(proc):
    """`nbdev_docs --path _build/executed`'s preprocessing (`nbdev_proc_nbs`, no Quarto needed; what the site is built
    from) runs every cell with an import on its own (each must stand alone), processes every notebook, keeps the
    executed notebooks' figures and leaves this environment's realera pointing at this checkout."""
    r = proc[1]
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads((ROOT / "_proc" / "01a_neighborhood.ipynb").read_text())
    assert sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])) == FIGURES[
        "01a_neighborhood.ipynb"]
    assert (ROOT / "_proc" / "_quarto.yml").read_text() == (ROOT / "_quarto.yml").read_text()
    assert (ROOT / "_proc" / "sidebar.yml").exists()
    assert len(list((ROOT / "_proc").glob("*.ipynb"))) == len(list((ROOT / "nbs").glob("*.ipynb")))
    import realera
    assert Path(realera.__file__).resolve().parent == ROOT / "realera"

def test_ci_runs_the_readme_cpu_install_line():
    "`.ci/run` installs exactly as the README's CPU line does (`python -m pip … -q` for `pip …`)."
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"```bash\n(pip install torch[^\n]*)\n```", readme).group(1)
    install = " && ".join(c for c in line.split(" && ") if c.startswith("pip "))
    ci = next(l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.startswith("python -m pip install"))
    assert ci.replace("python -m pip", "pip").replace(" -q", "") == install
