"""The window lists of the sweep peers' command lines (bench/sweep/*_sweep.py, *_opt.py)."""
import sys


def parse_list(text):
    """'5..14' -> 5..14 inclusive; '20..200:20' -> 20, 40, ..., 200; '10,20,30' -> as given."""
    if ".." in text:
        lo, rest = text.split("..", 1)
        hi, step = rest.split(":", 1) if ":" in rest else (rest, "1")
        out = list(range(int(lo), int(hi) + 1, int(step)))
    else:
        out = [int(x) for x in text.split(",") if x.strip()]
    if not out or min(out) < 1:
        sys.exit(f"bad window list {text!r}")
    return out
