"""``itest-shared compare`` and ``bench-ab``: what a worktree broke or slowed down, and A/B runs.

.. versionadded:: 2.2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ._common import PROG, _named_store, _positive_int, _UsageError

# pytest's exit statuses that end a bench-ab: interrupted, internal error, usage
# error, no tests collected. 0 and 1 (tests failed) are results to compare.
_PYTEST_BROKEN = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _effect(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a factor >= 1.0 (1.10: 10%), got {text!r}")
    return value


def _add_verdict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="output format (default: markdown)",
    )
    parser.add_argument(
        "--min-effect",
        metavar="FACTOR",
        type=_effect,
        default=1.10,
        help="the smallest ratio called a change (default: 1.10, 10%% slower or faster)",
    )
    parser.add_argument(
        "--alpha",
        metavar="P",
        type=_fraction,
        default=0.05,
        help="significance level after Holm's correction (default: 0.05)",
    )
    parser.add_argument(
        "--allow-env-mismatch",
        action="store_true",
        help="call timings regressions even when the two sides ran on different hosts,"
        " Pythons or CPUs",
    )


def add_compare(commands: Any) -> None:
    """Add the ``compare`` and ``bench-ab`` subcommands to ``commands`` (argparse subparsers)."""
    compare = commands.add_parser(
        "compare",
        help="what a worktree broke, fixed or slowed down, against another",
        description=(
            "Compare CANDIDATE with BASELINE, each a worktree (its path, branch or label) or a"
            " run id, across the STOREs read as one: newly failing and passing tests, flaky"
            " tests, timings (Mann-Whitney with Holm's correction, Hodges-Lehmann ratio),"
            " new errors and leaks. Exit status 0 when nothing regressed, 1 on a"
            " regression, 2 on a usage error."
        ),
    )
    compare.add_argument("baseline", metavar="BASELINE", help="worktree or run id")
    compare.add_argument("candidate", metavar="CANDIDATE", help="worktree or run id")
    compare.add_argument(
        "stores",
        nargs="*",
        metavar="STORE",
        help="store directories, read as one (default: the store every worktree of the"
        " current repository shares)",
    )
    compare.add_argument(
        "--last", metavar="N", type=_positive_int, help="only the newest N runs of each side"
    )
    _add_verdict_options(compare)

    bench = commands.add_parser(
        "bench-ab",
        usage=f"{PROG} bench-ab [options] WORKTREE_A WORKTREE_B [-- PYTEST_ARGS ...]",
        help="run the same tests in two worktrees alternately, then compare",
        description=(
            "Run `python -m pytest -p itest_shared.fixtures --itest-record PYTEST_ARGS` in"
            " WORKTREE_A, then in"
            " WORKTREE_B, ROUNDS times (A B A B ...), each in its own worktree, so that the"
            " machine's load and heat bias neither side; then print the comparison of B"
            " against A, as `compare` does, with its exit status."
        ),
    )
    bench.add_argument("worktree_a", metavar="WORKTREE_A", help="baseline: a path or branch")
    bench.add_argument("worktree_b", metavar="WORKTREE_B", help="candidate: a path or branch")
    # PYTEST_ARGS (after --) are taken off before parsing: split_pytest_args.
    bench.add_argument(
        "--rounds", metavar="N", type=_positive_int, default=5, help="rounds (default: 5)"
    )
    bench.add_argument(
        "--store",
        metavar="DIR",
        help="the store to record to (default: the store WORKTREE_A's repository shares)",
    )
    _add_verdict_options(bench)


def _stores(names: list[str]) -> list[Path]:
    if not names:
        from ..coordination import shared_directory  # deferred: see cli/__init__.py

        names = [str(shared_directory())]
    return [_named_store(name) for name in names]


def _show(document: dict[str, Any], args: argparse.Namespace, out: TextIO) -> int:
    from ..report import render_comparison_markdown, render_json  # deferred: see __init__

    if args.format == "json":
        out.write(render_json(document))
    else:
        out.write(render_comparison_markdown(document))
    return 1 if document["verdict"] == "regressed" else 0


def _compare_sides(
    stores: list[Path], baseline: str, candidate: str, last: int | None, args: argparse.Namespace
) -> dict[str, Any]:
    from ..report import ReportError, build_comparison  # deferred: see cli/__init__.py

    try:
        return build_comparison(
            stores,
            baseline,
            candidate,
            last=last,
            alpha=args.alpha,
            min_effect=args.min_effect,
            allow_env_mismatch=args.allow_env_mismatch,
        )
    except ReportError as error:
        raise _UsageError(str(error)) from None


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    stores = _stores(args.stores)
    document = _compare_sides(stores, args.baseline, args.candidate, args.last, args)
    return _show(document, args, out)


def _worktree_path(spec: str) -> Path:
    """A worktree by its path, or by the branch or folder name `git worktree list` shows."""
    path = Path(spec)
    if path.is_dir():
        from ..coordination import current_worktree  # deferred: see cli/__init__.py

        return Path(current_worktree(path.resolve()).path)
    listed = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], capture_output=True, text=True, check=False
    )
    found: list[Path] = []
    current: Path | None = None
    for line in listed.stdout.splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree "))
        elif current is not None and (
            line == f"branch refs/heads/{spec}" or (line == "" and current.name == spec)
        ):
            found.append(current)
    if current is not None and current.name == spec and current not in found:
        found.append(current)
    if len(set(found)) != 1:
        raise _UsageError(
            f"worktree {spec!r}: no such directory, and {len(set(found))} worktrees of this"
            " repository have that branch or folder name"
        )
    return found[0]


def split_pytest_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """``argv`` without the pytest arguments of ``bench-ab ... -- PYTEST_ARGS``, and those."""
    if "bench-ab" in argv and "--" in argv[argv.index("bench-ab") :]:
        cut = argv.index("--", argv.index("bench-ab"))
        return argv[:cut], argv[cut + 1 :]
    return argv, []


def _bench_ab(args: argparse.Namespace, out: TextIO) -> int:
    pytest_args: list[str] = args.pytest_args
    first, second = _worktree_path(args.worktree_a), _worktree_path(args.worktree_b)
    if first == second:
        raise _UsageError(f"WORKTREE_A and WORKTREE_B are the same worktree: {first}")
    if args.store is not None:
        store = Path(args.store).absolute()
    else:
        from ..coordination import shared_directory  # deferred: see cli/__init__.py

        store = shared_directory(first)
    # -p: the plugin records even in a worktree whose conftest does not load it
    # (loaded there too, it is the same plugin, registered once).
    plugin = ["-p", "itest_shared.fixtures"]
    command = [sys.executable, "-m", "pytest", *plugin, f"--itest-record={store}", *pytest_args]
    started = 0
    for round_ in range(1, args.rounds + 1):
        for side, worktree in (("A", first), ("B", second)):
            # Run ids start with the UTC second: one run a second keeps them in order.
            while int(time.time()) == started:
                time.sleep(1 - time.time() % 1 + 0.001)
            started = int(time.time())
            where = f"round {round_}/{args.rounds}, {side}: {worktree}"
            print(f"{PROG}: bench-ab {where}", file=sys.stderr)
            done = subprocess.run(command, cwd=worktree, stdout=subprocess.DEVNULL, check=False)
            if done.returncode in _PYTEST_BROKEN:
                raise _UsageError(
                    f"pytest in {worktree} ended with status {done.returncode}"
                    f" ({_PYTEST_BROKEN[done.returncode]}): {' '.join(command[1:])}"
                )
    document = _compare_sides([store], str(first), str(second), args.rounds, args)
    return _show(document, args, out)
