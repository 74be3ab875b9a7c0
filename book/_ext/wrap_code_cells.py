"""Wrap the code cells of MyST chapters to the book's column (``bpkit.plot.CODE_LINE_LIMIT``).

    .venv/bin/python book/_ext/wrap_code_cells.py chapters/07_cnn.md [--from HEADING --to HEADING]

A maintainer's tool, not part of the build (tests/test_book_code.py only measures). For each line
longer than the limit, in cells whose input the page shows:

1. a trailing comment aligned with many spaces keeps two spaces, if that fits;
2. else the trailing comment moves onto its own line above the code, wrapped if it is long;
3. a long full-line comment is wrapped;
4. a long code line is handed to ``ruff format --range`` (``pip install ruff`` in your venv;
   without ruff the line is reported and left alone), which breaks it inside its brackets.

What is still too long is listed for a hand edit (long strings, for instance). ``--from``/``--to``
limit the work to the part of a chapter between two headings (a chapter shared with another branch).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bpkit.plot import CODE_LINE_LIMIT  # noqa: E402

CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", re.S | re.M)


def _comment_col(line):
    """Column of the trailing ``#`` comment of a one-line statement (None when there is none)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line.lstrip() + "\n").readline):
            if tok.type == tokenize.COMMENT:
                return tok.start[1] + len(line) - len(line.lstrip())
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    for m in re.finditer(r"\s#\s", line):           # a continuation line: the last " # " outside quotes
        before = line[:m.start()]
        if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return m.start() + 1
    return None


def wrap_comments(lines, limit):
    out = []
    for line in lines:
        if len(line) <= limit:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        if line.lstrip().startswith("#"):
            text = line.lstrip()[1:].strip()
            out += [indent + "# " + t for t in textwrap.wrap(text, limit - len(indent) - 2)]
            continue
        col = _comment_col(line)
        if col is None:
            out.append(line)
            continue
        code, comment = line[:col].rstrip(), line[col:].strip()
        if len(code) + 2 + len(comment) <= limit:
            out.append(f"{code}  {comment}")
        elif len(code) <= limit:
            text = comment[1:].strip()
            out += [indent + "# " + t for t in textwrap.wrap(text, limit - len(indent) - 2)] + [code]
        else:
            out.append(line)
    return out


STRING_LINE = re.compile(r"""^(\s*)([rfRF]?)(["'])((?:(?!\3).)*)\3(\s*[,)\]]*\s*)$""")
DOC_LINE = re.compile(r'^(\s*)"""(.*)"""\s*$')


def _split_at(text, width):
    """The last space at or before ``width`` outside ``{...}`` (None if there is none)."""
    depth, best = 0, None
    for k, ch in enumerate(text[:width]):
        depth += (ch == "{") - (ch == "}")
        if ch == " " and depth == 0 and k > 0:
            best = k + 1
    return best


def split_strings(lines, limit):
    """Split a string alone on its line into adjacent strings, and wrap a long one-line docstring."""
    out = []
    for line in lines:
        m, d = STRING_LINE.match(line), DOC_LINE.match(line)
        if len(line) > limit and d:
            indent = d.group(1)
            wrapped = textwrap.wrap(d.group(2), limit - len(indent) - 3)
            out += [indent + '"""' + wrapped[0]] + [indent + w for w in wrapped[1:]]
            out[-1] += '"""'
            continue
        while m and len(line) > limit:
            indent, prefix, q, text, tail = m.groups()
            cut = _split_at(text, limit - len(indent) - len(prefix) - 2)
            if cut is None:
                break
            head, rest = text[:cut], text[cut:]
            hp = prefix if "{" in head else prefix.replace("f", "").replace("F", "")
            rp = prefix if "{" in rest else prefix.replace("f", "").replace("F", "")
            out.append(f"{indent}{hp}{q}{head}{q}")
            line = f"{indent}{rp}{q}{rest}{q}{tail}"
            m = STRING_LINE.match(line)
        out.append(line)
    return out


def ruff_lines(source, limit):
    """``source`` with its over-long code lines formatted by ruff (only those statements)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        return source
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cell.py"
        path.write_text(source)
        for _ in range(20):
            lines = path.read_text().splitlines()
            long = [i + 1 for i, line in enumerate(lines) if len(line) > limit]
            done = True
            for n in reversed(long):
                before = path.read_text()
                subprocess.run([ruff, "format", "--quiet", "--isolated", "--line-length", str(limit),
                                "--range", f"{n}:1-{n}:{len(lines[n - 1]) + 1}", str(path)],
                               capture_output=True, text=True)
                done = done and path.read_text() == before
            if done:
                break
        return path.read_text()


def wrap(text, limit, start=0, end=None):
    end = len(text) if end is None else end
    pieces, last = [], 0
    for m in CELL.finditer(text):
        if not (start <= m.start() < end):
            continue
        body = m.group(1)
        head = ""
        if body.startswith("---\n"):
            k = body.index("\n---\n", 4) + 5
            head, body = body[:k], body[k:]
        else:
            h = re.match(r"(?:^:[\w-]+:.*\n)*\n?", body, re.M).group(0)
            head, body = h, body[len(h):]
        if re.search(r"remove-(input|cell)", head) or not any(len(x) > limit for x in body.splitlines()):
            continue
        new = "\n".join(wrap_comments(body.splitlines(), limit)) + "\n"
        if any(len(x) > limit for x in new.splitlines()) and "%" not in new.split("\n", 1)[0]:
            try:
                compile(new, "cell", "exec")
                new = ruff_lines(new, limit)
                split = "\n".join(split_strings(new.splitlines(), limit)) + "\n"
                compile(split, "cell", "exec")           # a string split outside brackets stays as it was
                new = split
            except SyntaxError:
                pass
        pieces.append(text[last:m.start(1)] + head + new)
        last = m.end(1)
    return "".join(pieces) + text[last:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--from", dest="start", help="heading where to begin (a line of the chapter)")
    parser.add_argument("--to", dest="end", help="heading where to stop (not included)")
    parser.add_argument("--limit", type=int, default=CODE_LINE_LIMIT)
    args = parser.parse_args(argv)
    for path in args.chapters:
        text = path.read_text(encoding="utf-8")
        start = text.index(args.start) if args.start else 0
        end = text.index(args.end) if args.end else None
        path.write_text(wrap(text, args.limit, start, end), encoding="utf-8")
    print("now: .venv/bin/python -m pytest -q tests/test_book_code.py -k wider  (lists what is left)")

if __name__ == "__main__":
    main()
