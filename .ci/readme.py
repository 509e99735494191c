"""Write README.md from nbs/index.ipynb without Quarto (`--check`: fail if README.md is out of date).

Markdown cells are copied, code cells become fenced Python blocks, cells flagged `#| hide` are left out,
and image links are made relative to the repository root."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def render(nb_path: Path = ROOT/'nbs'/'index.ipynb') -> str:
    cells = json.loads(nb_path.read_text(encoding='utf-8'))['cells']
    parts = []
    for c in cells:
        src = ''.join(c['source']).strip()
        if not src or any(l.strip() == '#| hide' for l in src.split('\n') if l.startswith('#|')): continue
        if c['cell_type'] == 'markdown': parts.append(src.replace('](images/', '](nbs/images/'))
        else: parts.append('```python\n' + '\n'.join(l for l in src.split('\n') if not l.startswith('#|')) + '\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `python .ci/readme.py`')
        print('README.md is up to date')
    else:
        readme.write_text(text, encoding='utf-8')
        print(f'wrote {readme}')
