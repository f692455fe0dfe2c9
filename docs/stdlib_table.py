#!/usr/bin/env python3
"""Rewrites the "Indicators (the stdlib)" section at the end of docs/language.md from the doc
comments of stdlib/*.btl: one table per file, a row per function with its signature and the
first sentence of its comment. Run from the repository root after changing the stdlib
(tests/indicators.rs checks that every function is listed)."""
import glob
import re

rows = []
for f in sorted(glob.glob("stdlib/*.btl")):
    lines = open(f).read().split("\n")
    family = lines[0].lstrip("/ ").rstrip(".")
    items, doc = [], []
    for line in lines:
        if line.startswith("///"):
            doc.append(line[3:].strip())
        elif line.startswith("fn "):
            sig = line[3:].split("{")[0].strip()
            text = " ".join(d for d in doc if not d.startswith("Warm-up") and not d.startswith("`let"))
            m = re.match(r"(.+?[.])(\s|$)", text)
            first = (m.group(1) if m else text).rstrip(".").replace("|", "\\|")
            items.append((sig, first))
            doc = []
        else:
            doc = []
    rows.append((f.split("/")[-1], family, items))

out = ["## Indicators (the stdlib)", "",
       "The files in `stdlib/` are written in btl and documented there (each function's comment gives",
       "its definition and warm-up; `btl lsp` shows it on hover). Every function, by file",
       "(`docs/stdlib_table.py` writes this section):", ""]
for name, family, items in rows:
    out += [f"### `{name}`: {family}", "", "| function | what |", "|---|---|"]
    out += [f"| `{sig}` | {first} |" for sig, first in items]
    out.append("")
path = "docs/language.md"
text = open(path).read()
text = text[: text.index("## Indicators (the stdlib)")] + "\n".join(out)
open(path, "w").write(text.rstrip() + "\n")
