"""A token program for `oauth2_provider = "command"` tests: `python token_program.py DIR`.

DIR/tokens holds one token a line: each run prints the first and drops it, unless it is the
last (which is printed again and again). DIR/fail, when it exists, makes the run print its
text to stderr and exit 3. Every run appends a line to DIR/runs, for the tests to count.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(directory: Path) -> int:
    with (directory / "runs").open("a") as runs:
        runs.write("run\n")
    fail = directory / "fail"
    if fail.exists():
        print(fail.read_text().strip(), file=sys.stderr)
        return 3
    tokens = (directory / "tokens").read_text().split()
    print(tokens[0])
    if len(tokens) > 1:
        (directory / "tokens").write_text("\n".join(tokens[1:]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
