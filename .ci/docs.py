"""Offline build of the documentation site: what `nbdev_docs` (Quarto) builds, for machines without Quarto.

Every notebook of `nbs/sidebar.yml`, in that order, is executed as `nbdev_test` executes it (cells flagged with a test flag
of settings.ini are left out), exported to one HTML page with nbconvert, and given a sidebar linking all pages; `index.html`
is the README's page. Scripts from the internet (require.js, MathJax CDN) are removed, so the site opens offline; each page
reports on its `<body>` how many of its figures loaded (`data-figures="loaded/total"`), which the browser test reads.

    python .ci/docs.py _docs           # build into _docs/ (about three minutes: it runs every notebook)
"""
import configparser, html, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"

def pages() -> list[Path]:
    "The notebooks in sidebar order."
    names = re.findall(r"-\s*(\S+\.ipynb)", (NBS / "sidebar.yml").read_text())
    return [NBS / n for n in names]

def skipped_flags() -> list[str]:
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]["tst_flags"].split()

def executable(nb_path: Path):
    "The notebook without the cells carrying a skipped test flag, as nbdev_test runs it."
    import nbformat
    nb = nbformat.read(str(nb_path), as_version=4)
    flag = re.compile(r"^#\|\s*(" + "|".join(skipped_flags()) + r")\s*$", re.M)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and flag.search(c.source))]
    return nb

def title(nb) -> str:
    return next(c.source for c in nb.cells if c.cell_type == "markdown").splitlines()[0].lstrip("# ").strip()

FIGURE_CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-figures", ok + "/" + imgs.length);
});
</script>"""

def render(nb_path: Path, nav: str, execute: bool = True) -> tuple[str, str]:
    "Execute one notebook and return (title, offline HTML page)."
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor
    nb = executable(nb_path)
    if execute: ExecutePreprocessor(timeout=900, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(NBS)}})
    nb.cells = [c for c in nb.cells   # hidden cells stay out of the page, as in nbdev's site
                if not (c.cell_type == "code" and re.search(r"^#\|\s*(hide|default_exp\b.*)\s*$", c.source, re.M))]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    body = re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", body)          # no CDN scripts
    body = re.sub(r"<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*?</script>", "", body, flags=re.S)
    body = re.sub(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", "", body)
    body = body.replace("<body", f"<body data-figures=\"pending\"", 1)
    body = re.sub(r"(<body[^>]*>)", r"\1" + nav, body, count=1)
    body = body.replace("</body>", FIGURE_CHECK + "</body>")
    return title(nb), body

def page_name(nb_path: Path) -> str:
    return "index.html" if nb_path.stem == "index" else nb_path.stem + ".html"

def build(out: Path, execute: bool = True) -> list[Path]:
    "Build the site into `out` (replaced); return the pages written."
    import nbformat
    out = Path(out)
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    if (NBS / "images").exists(): shutil.copytree(NBS / "images", out / "images")
    nbs = pages()
    titles = [title(nbformat.read(str(p), as_version=4)) for p in nbs]
    nav = ('<nav class="realera-sidebar" style="padding:0.5em 1em;border-bottom:1px solid #ddd;font-family:sans-serif">'
           + " · ".join(f'<a href="{page_name(p)}">{html.escape(t)}</a>' for p, t in zip(nbs, titles)) + "</nav>")
    written = []
    for p in nbs:
        _, page = render(p, nav, execute)
        (out / page_name(p)).write_text(page, encoding="utf-8")
        written.append(out / page_name(p))
        print(f"built {page_name(p)}", flush=True)
    return written

if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "_docs"))
