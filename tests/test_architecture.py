"""The package's shape: data flows one way. The import graph of `realera/` (module-level imports and those inside
functions alike) has no cycle, the low floors import nothing above them, no module reaches into another's `_private`
names, and loading or erasing a model never imports the world's training code or the test helpers."""
import ast, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent / "realera"

def modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__": parts = parts[:-1]
        if parts[-1] != "_modidx": out[".".join(parts)] = f
    return out

MODS = modules()

def _resolve(name: str, f: Path, node: ast.ImportFrom) -> str:
    "The absolute module an `ImportFrom` names (relative imports resolved against `name`'s package)."
    if not node.level: return node.module or ""
    pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))

def imports(name: str, f: Path) -> list[tuple[str, list[str]]]:
    "(realera module, names imported from it) for every import in `f`, at any depth."
    out = []
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, ast.ImportFrom):
            target, names = _resolve(name, f, node), [a.name for a in node.names]
            sub = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODS]   # `from realera import world`
            out += [(s, []) for s in sub] if sub else [(target, names)]
        elif isinstance(node, ast.Import): out += [(a.name, []) for a in node.names]
    res = []
    for target, names in out:
        while target and target not in MODS: target = target.rsplit(".", 1)[0] if "." in target else ""
        if target and target != name: res.append((target, names))
    return res

def graph() -> dict[str, set[str]]:
    "Edges between modules; a package and its own submodules (`realera.world` re-exporting `.data`) are not edges."
    g = {}
    for m, f in MODS.items():
        g[m] = {t for t, _ in imports(m, f) if not (t.startswith(m + ".") or m.startswith(t + ".") or t == "realera")}
    return g

def test_the_import_graph_has_no_cycle():
    g, state, cycles = graph(), {}, []
    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for d in sorted(g[m]):
            if state.get(d) == 1: cycles.append(stack[stack.index(d):] + [d])
            elif not state.get(d): visit(d, stack)
        state[m] = 2
        stack.pop()
    for m in sorted(g):
        if not state.get(m): visit(m, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)

def test_the_checker_sees_a_cycle(tmp_path, monkeypatch):
    "The cycle test can fail: two modules importing each other, one of them inside a function, form a cycle."
    (tmp_path / "a.py").write_text("from realera.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from realera.a import y\n")
    fake = {"realera.a": tmp_path / "a.py", "realera.b": tmp_path / "b.py"}
    monkeypatch.setattr(sys.modules[__name__], "MODS", fake)
    g = {m: {t for t, _ in imports(m, f)} for m, f in fake.items()}
    assert g == {"realera.a": {"realera.b"}, "realera.b": {"realera.a"}}

BASE = {"realera.base": set(), "realera.config": {"realera.base"}, "realera.settings": {"realera.base"}}
FLOOR0 = ["realera.core", "realera.text", "realera.testing", "realera.settings", "realera.images"]

@pytest.mark.parametrize("low", sorted(BASE))
def test_the_torch_free_floor_imports_only_below_it(low):
    "base, config and settings: what the command line's help is built from; they import nothing above them."
    assert graph()[low] == BASE[low], graph()[low]

@pytest.mark.parametrize("low", FLOOR0)
def test_floor_zero_imports_only_core_and_text(low):
    assert graph()[low] <= {"realera.core", "realera.text", "realera.base", "realera.config"}, graph()[low]

def test_the_help_path_imports_no_heavy_library():
    "`realera --help` and every command's help: base, config, settings and fastcore, never torch (it costs seconds)."
    code = ("import sys; from realera.cli import COMMANDS, main, parser; [parser(c).format_help() for c in COMMANDS];"
            "import realera.base, realera.config, realera.settings;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'diffusers', 'transformers', "
            "'accelerate', 'numpy', 'PIL'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout

def test_no_private_name_crosses_a_module():
    bad = [(m, t, n) for m, f in MODS.items() for t, names in imports(m, f) for n in names
           if n.startswith("_") and not n.startswith("__")]
    assert not bad, bad

def test_only_the_world_training_uses_the_test_helpers():
    users = sorted(m for m, deps in graph().items() if "realera.testing" in deps)
    # offline training learns its tokenizer with the same BPE learner; the real-shape builders share the seeded build
    assert users == ["realera.testing_shapes", "realera.world.parts"], users

def test_loading_and_erasing_never_import_training_code():
    code = ("import sys; from realera.core import load_pipeline; from realera.erase import erase; import "
            "realera.cli, realera.world;"
            "import realera.benchmark, realera.runs, realera.tables; print(sorted(m for m in sys.modules if m in "
            "('realera.world.parts', 'realera.world.train', 'realera.testing')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout

def _notebook_of() -> dict[str, str]:
    "Module → the notebook that exports it (`#| default_exp`)."
    import json
    out = {}
    for nb in sorted((ROOT.parent / "nbs").glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            for line in "".join(c["source"]).splitlines():
                if line.startswith("#| default_exp"): out["realera." + line.split()[-1]] = nb.name
    return out

def test_notebook_numbers_follow_the_import_order():
    "A notebook only exports code that imports modules of notebooks sorted before it (00_core, 00a_…, 01_…)."
    nb, g = _notebook_of(), graph()
    bad = [(m, nb[m], d, nb[d]) for m in g for d in g[m] if m in nb and d in nb and nb[d] >= nb[m]]
    assert not bad, bad

def _ruff(*args, cwd=ROOT.parent) -> subprocess.CompletedProcess:
    "ruff (a dev requirement) with the repository's `ruff.toml`."
    from ruff.__main__ import find_ruff_bin
    cmd = [find_ruff_bin(), "check", "--config", str(ROOT.parent/"ruff.toml"), "--output-format", "concise", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)

def test_every_line_fits_and_holds_one_statement():
    """Notebooks, bench/, tests/ and .ci/: no line over 119 characters, no statements joined with `;`, no undefined
    name; the scripts import nothing they do not use (ruff.toml)."""
    r = _ruff(".")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]

def test_the_line_rules_see_a_long_line_and_a_join(tmp_path):
    """The same rules flag a long line and a `;` join in a script and in a notebook's code cell, and an unused import
    and an undefined name in a script."""
    import nbformat
    bad = "x = 1; y = 2\n" + "z = " + " + ".join(["1"] * 60) + "\n"
    (tmp_path/"a.py").write_text("import os\n" + bad + "print(nowhere)\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(bad)]), str(tmp_path/"b.ipynb"))
    out = _ruff("a.py", "b.ipynb", cwd=tmp_path).stdout
    for f, want in (("a.py", ["E501", "E702", "F401", "F821"]), ("b.ipynb", ["E501", "E702"])):
        codes = [line.split(": ", 1)[1].split()[0] for line in out.splitlines() if line.startswith(f)]
        assert sorted(codes) == want, out
