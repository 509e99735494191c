"""Offline build of the documentation site from nbdev's own processed notebooks, for machines without Quarto.

`nbdev_docs` runs nbdev's processors over the notebooks (`nbdev_proc_nbs`: show_doc for every exported name, export
and `#| hide` cells out, front matter from the H1) and hands the result to Quarto. This script does the same
processing with the same function (`nbdev.serve_drv.main` with `FilterDefaults`), on notebooks *executed* by
`.ci/notebooks.py` (nbdev_test's run, kept), and replaces Quarto by nbconvert:

- the pages are named and titled by nbdev's front matter (`output-file`, `title`, `description`), in the order and
  sections of `nbs/sidebar.yml`, each with a sidebar linking every page (the current one marked);
- Quarto's cell options are honoured (`echo: false` hides the code, `output: false` the output, `include: false`
  both); links nbdev points at `doc_host` become relative links;
- math is typeset by MathJax 2 served from the site itself (the `jupyter-server-mathjax` package's copy), and no
  page loads anything from the internet;
- on `<body>` each page reports, once loaded in a browser, how many figures in its output areas loaded
  (`data-figures="loaded/total"`) and whether any TeX was left untypeset (`data-math="ok|raw"`).

    python .ci/docs.py _site                 # build into _site/ (seconds, once the notebooks have run)
    python .ci/docs.py _site --execute       # run first the notebooks whose executed copy is missing or stale
    python .ci/docs.py _site --proc=_proc    # render what `nbdev_proc_nbs --path _build/executed` processed
"""
import configparser, functools, hashlib, html, os, re, shutil, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
PROC = ROOT / "_build" / "proc"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402  (.ci/notebooks.py: the executed copies)

def settings() -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "settings.ini")
    return dict(cfg["DEFAULT"])

def sidebar() -> list[tuple[str, list[Path]]]:
    "Sections of `nbs/sidebar.yml` as (title, notebooks); pages before the first section have the title ''."
    import yaml
    sections = []
    for item in yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]:
        if isinstance(item, str): sections.append(("", [NBS / item]))
        else: sections.append((item["section"], [NBS / c for c in item["contents"]]))
    return sections

def pages() -> list[Path]:
    "The notebooks in sidebar order."
    return [p for _, ps in sidebar() for p in ps]

# --- nbdev's processing -------------------------------------------------------------------------------------------
def executed(nb_path: Path, run: bool = False) -> Path:
    """The executed copy of `nb_path` (`_build/executed/`); with `run`, run the notebook first if it is missing or
    stale."""
    if not notebooks.fresh(nb_path):
        if not run: raise FileNotFoundError(f"{nb_path.name} has no up-to-date executed copy in {notebooks.EXECUTED}: "
                                            "run `python .ci/notebooks.py` first, or pass --execute")
        subprocess.run([sys.executable, str(ROOT / ".ci" / "notebooks.py"), str(nb_path)], check=True, cwd=ROOT)
    return notebooks.executed_path(nb_path)

def processed(nb_path: Path, run: bool = False, src: Path | None = None) -> Path:
    "nbdev's docs processing (`nbdev_proc_nbs`'s own function) applied to the executed notebook."
    import nbdev.serve_drv, warnings
    from nbdev.processors import FilterDefaults
    # a cell nbdev's docs pass runs (any cell with an import) must run on its own: imports in cells of their own
    warnings.filterwarnings("error", message="Found cells containing imports and other code")
    src = src or executed(nb_path, run)
    PROC.mkdir(parents=True, exist_ok=True)
    dst = PROC / nb_path.name
    cwd = os.getcwd()
    os.chdir(NBS)  # show_doc cells run where nbdev runs them
    try: nbdev.serve_drv.main((Path(src), dst, FilterDefaults))
    finally: os.chdir(cwd)
    return dst

def front_matter(nb) -> dict:
    "The YAML front matter nbdev wrote into the first raw cell."
    import yaml
    c = nb.cells[0]
    if c.cell_type == "raw" and c.source.startswith("---"): return yaml.safe_load(c.source.strip().strip("-")) or {}
    return {}

@functools.cache
def site_map() -> dict:
    "notebook name -> (page name, title), from nbdev's front matter of the sources (`output-file`, `title`)."
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    out = {}
    for p in pages():
        fm = front_matter(NBProcessor(p, procs=FrontmatterProc, process=True).nb)
        name = "index.html" if p.stem == "index" else fm.get("output-file", p.stem + ".html")
        out[p.name] = (name, fm.get("title") or p.stem)
    return out

def page_name(nb_path: Path) -> str:
    "The page's file name, as Quarto names it (nbdev's `output-file`; the index is index.html)."
    return site_map()[Path(nb_path).name][0]

# --- Quarto's part, done by nbconvert -------------------------------------------------------------------------------
OPTION = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")

def quarto_cells(nb):
    "Apply Quarto's cell options (echo/output/include) and drop the option lines from the shown code."
    cells = []
    for c in nb.cells[1:] if front_matter(nb) else nb.cells:
        if c.cell_type == "markdown" and c.source.startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED"): continue
        if c.cell_type == "code":
            lines = c.source.splitlines()
            opts = dict(OPTION.match(l).groups() for l in lines if OPTION.match(l))
            c.source = "\n".join(l for l in lines if not l.startswith("#|")).strip()
            if opts.get("include") == "false": continue
            if opts.get("output") == "false": c.outputs = []
            # stderr (progress bars, library notices) belongs to the terminal, not the page: Quarto's `warning: false`
            if opts.get("warning", "false") == "false":
                c.outputs = [o for o in c.get("outputs", [])
                             if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            for o in c.get("outputs", []):   # Pandoc link attributes in show_doc's markdown, which only Quarto reads
                if "text/markdown" in o.get("data", {}):
                    o["data"]["text/markdown"] = re.sub(r'\)\{target="_blank"[^}]*\}', ")", o["data"]["text/markdown"])
            tags = c.metadata.setdefault("tags", [])
            if opts.get("echo") == "false" or not c.source: tags.append("remove_input")
        cells.append(c)
    nb.cells = cells
    return nb

STYLE = """<style>
body { margin-left: 280px !important; }
nav.realera-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 250px; box-sizing: border-box;
  overflow-y: auto; padding: 1em;
  background: #f7f7f9; border-right: 1px solid #ddd; font: 14px/1.45 system-ui, sans-serif; }
nav.realera-sidebar .site { font-weight: 600; font-size: 1.15em; display: block; margin-bottom: 0.8em; }
nav.realera-sidebar .section { margin: 0.9em 0 0.2em; color: #666; text-transform: uppercase; font-size: 0.8em; }
nav.realera-sidebar a { display: block; padding: 0.15em 0.4em; color: #2c3e50; text-decoration: none;
  border-radius: 3px; }
nav.realera-sidebar a.active { background: #2780e3; color: white; }
.realera-description { font-size: 1.15em; color: #555; margin: 0 0 1.5em; }
.jp-RenderedMarkdown pre { background: #f6f8fa; padding: 0.6em 0.8em; border-radius: 4px; white-space: pre-wrap; }
</style>"""

# the copy of MathJax 2 in `jupyter-server-mathjax` ships the STIX-Web fonts only (as Jupyter configures it)
MATHJAX_FONTS = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], imageFont: null, preferredFont: null, webFont: "STIX-Web"}});
</script>"""

CHECK = """<script>
function realeraReport() {
  var imgs = Array.prototype.slice.call(document.querySelectorAll(".jp-OutputArea-output img"));
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var text = document.querySelector("main") || document.body;
  var copy = text.cloneNode(true);
  copy.querySelectorAll("pre, code, script, style, nav").forEach(function (e) { e.remove(); });
  var raw = /Math Processing Error|\\$\\$|\\\\(frac|mathcal|lVert|sum|hat|approx|begin)\\b/.test(copy.textContent);
  document.body.setAttribute("data-math", raw ? "raw" : "ok");
  document.body.setAttribute("data-figures", ok + "/" + imgs.length);
}
window.addEventListener("load", function () {
  if (window.MathJax && MathJax.Hub) MathJax.Hub.Queue(realeraReport); else realeraReport();
});
</script>"""

def nav(current: str) -> str:
    "The sidebar: every page of `nbs/sidebar.yml` by section, `current` marked."
    titles = {page: title for page, title in site_map().values()}
    out = [f'<nav class="realera-sidebar"><a class="site" href="index.html">{html.escape(settings()["lib_name"])}</a>']
    for section, ps in sidebar():
        if section: out.append(f'<div class="section">{html.escape(section)}</div>')
        for p in ps:
            name = page_name(p)
            cls = ' class="active"' if name == current else ""
            out.append(f'<a href="{name}"{cls}>{html.escape(titles[name])}</a>')
    return "\n".join(out + ["</nav>"])

def render(proc_path: Path, name: str, mathjax: bool = True) -> str:
    "One processed notebook as the offline page `name`."
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    nb = nbformat.read(str(proc_path), as_version=4)
    fm = front_matter(nb)
    nb = quarto_cells(nb)
    title = fm.get("title") or name
    # code spans, as Quarto shows them
    desc = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(fm.get("description") or ""))
    head = f"# {title}" + (f'\n\n<p class="realera-description">{desc}</p>' if desc else "")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(head))
    exp = HTMLExporter(template_name="lab", exclude_input_prompt=True, exclude_output_prompt=True,
                       mathjax_url="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe" if mathjax else "")
    exp.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"remove_input"}, enabled=True), enabled=True)
    body, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", body)          # no CDN scripts
    body = re.sub(r"<script\b[^>]*>(?:(?!</script>).)*?https?://cdn(?:(?!</script>).)*?</script>", "", body,
                  flags=re.S)
    body = re.sub(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", "", body)
    if not mathjax: body = re.sub(r"<script[^>]*\bsrc=\"\?config[^\"]*\"[^>]*>\s*</script>", "", body)
    host = settings()["doc_host"].rstrip("/") + settings()["doc_baseurl"].rstrip("/") + "/"
    # links stay on the site
    body = body.replace(host, "")
    # a link to another notebook goes to its page, as Quarto resolves it
    page_of = {nb: page for nb, (page, _) in site_map().items()}
    body = re.sub(r'href="([\w.-]+\.ipynb)(#[^"]*)?"', lambda m: f'href="{page_of.get(m[1], m[1])}{m[2] or ""}"', body)
    body = body.replace("</head>", STYLE + "</head>", 1)
    if mathjax: body = body.replace('<script src="mathjax/', MATHJAX_FONTS + '<script src="mathjax/', 1)
    body = body.replace("<body", '<body data-figures="pending" data-math="pending"', 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav(name), body, count=1)
    return body.replace("</body>", CHECK + "</body>")

def mathjax_dir() -> Path:
    import jupyter_server_mathjax
    return Path(jupyter_server_mathjax.__file__).parent / "static"

def build(out: Path, run: bool = False, only: list[Path] | None = None, mathjax: bool = True,
          proc: Path | None = None) -> list[Path]:
    """Build the site into `out` (replaced); return the pages written. `proc`: a folder of notebooks nbdev already
    processed (`nbdev_proc_nbs --path _build/executed` writes `_proc/`), rendered as they are, not processed again."""
    out = Path(out)
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    if (NBS / "images").exists(): shutil.copytree(NBS / "images", out / "images")
    if mathjax: shutil.copytree(mathjax_dir(), out / "mathjax")
    written = []
    for p in only or pages():
        name = page_name(p)
        src = Path(proc) / p.name if proc is not None else processed(p, run)
        if not src.exists():
            raise FileNotFoundError(f"{src} is missing: run `nbdev_proc_nbs --path` on the executed notebooks")
        (out / name).write_text(render(src, name, mathjax), encoding="utf-8")
        written.append(out / name)
        print(f"built {name}", flush=True)
    return written

# --- what a page shows --------------------------------------------------------------------------------------------
class _Outputs(HTMLParser):
    "Images and text inside notebook output areas (`jp-OutputArea-output`), not the badges, the prose or the CSS."
    def __init__(self):
        super().__init__()
        self.depth, self.inside, self.images, self.text = 0, [], [], []
    def handle_data(self, data):
        if self.inside: self.text.append(data)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div":
            self.depth += 1
            if "jp-OutputArea-output" in (a.get("class") or "").split(): self.inside.append(self.depth)
        elif tag == "img" and self.inside: self.images.append(a.get("src", ""))
    def handle_endtag(self, tag):
        if tag == "div":
            if self.inside and self.inside[-1] == self.depth: self.inside.pop()
            self.depth -= 1

def figures(page_html: str) -> list[str]:
    "SHA-256 of every figure a page shows in its output areas, in order."
    f = _Outputs()
    f.feed(page_html)
    return [hashlib.sha256(s.encode()).hexdigest() for s in f.images]

def output_text(page_html: str) -> str:
    "The text a page shows in its output areas (printed lines, tables, reprs, warnings)."
    f = _Outputs()
    f.feed(page_html)
    return "".join(f.text)

if __name__ == "__main__":
    proc = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--proc=")), None)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build(Path(args[0] if args else ROOT / "_site"), run="--execute" in sys.argv, proc=proc and Path(proc))
