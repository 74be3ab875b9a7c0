"""The README's example must run and print what the README says it prints."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_prints_what_it_claims():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = blocks[0]
    claimed = re.search(r"print\(.*\)\s+# (\S+)", example).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    assert out.getvalue().strip() == claimed


def test_readme_lists_the_make_targets_that_exist():
    makefile = (README.parent / "Makefile").read_text()
    for target in re.findall(r"`make ([\w-]+)`", README.read_text()):
        assert re.search(rf"^{target}:", makefile, flags=re.M), f"README mentions make {target}"
