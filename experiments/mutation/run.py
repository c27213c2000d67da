"""Mutation run over states/, engine/folds.py, engine/time_folds.py and the solving code of
algorithms/ (issue 17): per module, a seeded sample of mutants (``mutate.py``), each run against
that module's test files; the table goes to ``results/mutation.md``.

Each mutant runs in a forked child of a parent that has already imported numpy, scipy, pandas,
scikit-learn, hypothesis and pytest (but not statetune): the child serves the mutated source for
the one module through an import hook, runs ``pytest -x`` on the module's tests and reports the
exit status. Killed = a test failed (or errored); survived = all passed; timeout = killed by the
clock (``max(90 s, 4 x`` the clean run ``)``). With ``MUTATION_CONTRACTS=1`` a mutant of states/ or
algorithms/ that survives its module's tests runs again against ``tests/test_contracts.py`` (the
registry-wide laws; slow, so only for survivors, and off by default). Mutants named in ``equivalents.txt`` with a reason
are counted as equivalent, not survived.

Usage::

    python experiments/mutation/run.py                    # every module, then the table
    python experiments/mutation/run.py --only moments.py  # modules whose path ends so
    python experiments/mutation/run.py --table            # the table from saved results
    python experiments/mutation/run.py --survivors        # rerun saved survivors only

Example
-------
``make mutation`` runs all of it (tens of minutes on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from mutate import Mutant, mutants, render  # noqa: E402

__all__ = ["MODULES", "main"]

SEED = 17
SAMPLE = 8  # mutants per module at most (seeded sample when a module has more)
OUT = ROOT / "results" / "mutation"

_ST = "tests/states_tests/"
_AL = "tests/algorithms_tests/"
_CONTRACTS = "tests/test_contracts.py"
_LAGGED = [
    _ST + "test_lagged_moments.py",
    _ST + "test_lagged_moments_time.py",
    _ST + "test_lagged_moments_vectorized.py",
]
_LINEAR = [
    _AL + "test_exactness.py",
    _AL + "test_scaled_features.py",
    _AL + "test_errors.py",
    _AL + "test_table_preprocessing.py",  # tables: imputed, one-hot designs, predict
]


def _mutant_tests(module: str) -> list[str]:
    """The ``test_mutants_*`` files of the module's area (``tests/<area>_tests/``), then the
    module itself (its doctests)."""
    area = ROOT / "tests" / (module.split("/")[0] + "_tests")
    found = sorted(str(p.relative_to(ROOT)) for p in area.glob("test_mutants_*.py"))
    return [*found, f"statetune/{module}"]


# module (relative to statetune/) -> test files, fastest and most specific first (-x stops early)
MODULES: dict[str, list[str]] = {
    "states/_base.py": [_ST + "test_moments.py", _ST + "test_subtract.py", _CONTRACTS],
    "states/_labels.py": [
        _ST + "test_class_counts.py",
        _ST + "test_class_moments.py",
        _AL + "test_classifiers.py",
        _AL + "test_naive_bayes_counts.py",
    ],
    "states/_series_records.py": [
        *_LAGGED,
        "tests/engine_tests/test_series_pass.py",
        _AL + "test_autoregressive.py",
    ],
    "states/class_counts.py": [
        _ST + "test_class_counts.py",
        _AL + "test_naive_bayes_counts.py",
        _ST + "test_subtract.py",
    ],
    "states/class_moments.py": [
        _ST + "test_class_moments.py",
        _AL + "test_classifiers.py",
        _ST + "test_subtract.py",
    ],
    "states/lagged_moments.py": [*_LAGGED, _AL + "test_autoregressive.py"],
    "states/moments.py": [
        _ST + "test_moments.py",
        _ST + "test_subtract.py",
        _AL + "test_exactness.py",
    ],
    "states/reservoir.py": [_ST + "test_reservoir.py"],
    "states/spec.py": ["tests/test_contract_declarations.py", _CONTRACTS],
    "states/target_summary.py": [_AL + "test_baseline.py"],
    "engine/folds.py": ["tests/engine_tests/test_folds.py", "tests/engine_tests/test_pass.py"],
    "engine/time_folds.py": [
        "tests/engine_tests/test_time_grid.py",
        "tests/engine_tests/test_time_windows.py",
    ],
    "algorithms/linear.py": _LINEAR,
    "algorithms/_scaled_solve.py": _LINEAR,
    "algorithms/_gram_cd.py": _LINEAR,
    "algorithms/sparse_linear.py": _LINEAR,
    "algorithms/pcr.py": _LINEAR,
    "algorithms/_eigen.py": [*_LINEAR, "tests/engine_tests/test_validation.py"],
    "algorithms/_graded_eigh.py": [*_LINEAR, "tests/engine_tests/test_validation.py"],
    "algorithms/decomposition.py": [
        "tests/engine_tests/test_validation.py",
        _AL + "test_estimator_checks.py",
    ],
    "algorithms/gaussian_nb.py": [
        _AL + "test_classifiers.py",
        _AL + "test_classifier_sample_score.py",
    ],
    "algorithms/ridge_classifier.py": [
        _AL + "test_classifiers.py",
        _AL + "test_classifier_sample_score.py",
    ],
    "algorithms/naive_bayes_counts.py": [_AL + "test_naive_bayes_counts.py"],
    "algorithms/autoregressive.py": [
        _AL + "test_autoregressive.py",
        _AL + "test_autoregressive_seasonal.py",
        _AL + "test_autoregressive_validation.py",
    ],
    "algorithms/_lag_algebra.py": [
        _AL + "test_autoregressive.py",
        _AL + "test_baseline.py",
        _AL + "test_autoregressive_validation.py",
        _AL + "test_autoregressive_seasonal.py",
    ],
    "algorithms/baseline.py": [_AL + "test_baseline.py"],
}


class _Serve(importlib.abc.MetaPathFinder):
    """Serve ``source`` as the code of module ``name`` (no bytecode cache)."""

    def __init__(self, name: str, path: str, source: str) -> None:
        self.name, self.path, self.source = name, path, source

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != self.name:
            return None
        loader = _Loader(fullname, self.path)
        loader.source = self.source
        return importlib.util.spec_from_file_location(fullname, self.path, loader=loader)


class _Loader(importlib.machinery.SourceFileLoader):
    source = ""

    def get_code(self, fullname):  # type: ignore[no-untyped-def]
        return compile(self.source, self.path, "exec")


def _preload() -> None:
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pytest  # noqa: F401
    import scipy.linalg
    import scipy.optimize  # noqa: F401
    import sklearn.linear_model
    import sklearn.naive_bayes
    import sklearn.utils.estimator_checks  # noqa: F401
    import statsmodels.api  # noqa: F401


def _run_child(module: str, source: str | None, tests: list[str], limit: float) -> str:
    """Fork, run the tests against ``source`` (None = the clean module); the outcome."""
    hypo = tempfile.mkdtemp(prefix="mut-hypo-")
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.chdir(ROOT)
            os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = hypo
            sys.dont_write_bytecode = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if source is not None:
                name = "statetune." + module[:-3].replace("/", ".")
                path = str(ROOT / "statetune" / module)
                sys.meta_path.insert(0, _Serve(name, path, source))
            import pytest

            args = ["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-m", "not slow"]
            # plain asserts: pytest's rewriting hook would import the module (an initial path,
            # for its doctests) from disk ahead of the hook serving the mutant
            args += ["--doctest-modules", "--assert=plain"]
            rc = pytest.main([*args, *tests])
            os._exit(int(rc))
        except BaseException:
            os._exit(3)
    start = time.monotonic()
    outcome = ""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            outcome = "survived" if code == 0 else "killed"
            break
        if time.monotonic() - start > limit:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            outcome = "timeout"
            break
        time.sleep(0.05)
    shutil.rmtree(hypo, ignore_errors=True)
    return outcome


def _equivalents() -> dict[str, str]:
    """``module key  # reason`` lines of equivalents.txt -> {"module key": reason}."""
    out: dict[str, str] = {}
    for raw in (HERE / "equivalents.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition(" #")  # keys may hold "#2"
        module, key = entry.split()
        if not reason.strip():
            raise ValueError(f"equivalents.txt: the entry {entry.strip()!r} gives no reason")
        out[f"{module} {key}"] = reason.strip()
    return out


def sample(module: str, k: int = SAMPLE, skip: int = 0) -> tuple[str, list[Mutant], int]:
    """The module's source, ``k`` of its mutants (seeded; a smaller ``k`` draws a prefix of a
    larger one's draw) less the first ``skip`` of that draw (mutants earlier runs have seen:
    ``--sample 40 --skip 30`` is a fresh sample of 10), and its total mutant count."""
    source = (ROOT / "statetune" / module).read_text()
    every = mutants(source)
    rng = random.Random(SEED ^ zlib.crc32(module.encode()))
    draw = rng.sample(every, min(k, len(every)))
    chosen = sorted(draw[skip:], key=lambda m: m.index)
    return source, chosen, len(every)


CONTRACTS_STAGE = os.environ.get("MUTATION_CONTRACTS") == "1"


def _second_stage(module: str) -> list[str]:
    """Slower tests run only on the first stage's survivors (the registry-wide contracts),
    when ``MUTATION_CONTRACTS=1``."""
    if (
        CONTRACTS_STAGE
        and module.startswith(("states/", "algorithms/"))
        and _CONTRACTS not in MODULES[module]
    ):
        return [_CONTRACTS]
    return []


def _run_mutant(module: str, source: str, limit: float) -> str:
    """The mutant against the module's tests, then its survivors against the second stage."""
    outcome = _run_child(module, source, [*MODULES[module], *_mutant_tests(module)], limit)
    if outcome == "survived" and _second_stage(module):
        outcome = _run_child(module, source, _second_stage(module), max(limit, 240.0))
    return outcome


def run_module(module: str, k: int = SAMPLE, skip: int = 0) -> dict[str, object]:
    tests = [*MODULES[module], *_mutant_tests(module)]
    source, chosen, total = sample(module, k, skip)
    t0 = time.monotonic()
    clean = _run_child(module, None, [*tests, *_second_stage(module)], 900.0)
    base = time.monotonic() - t0
    if clean != "survived":
        raise RuntimeError(f"{module}: the clean module fails its tests ({clean}); fix that first")
    limit = max(90.0, 4 * base)
    rows = []
    for m in chosen:
        t = time.monotonic()
        outcome = _run_mutant(module, render(source, m.index), limit)
        rows.append({**m.__dict__, "key": m.key, "outcome": outcome})
        print(f"  {module} {m.key:40s} {outcome:8s} {time.monotonic() - t:5.1f}s", flush=True)
    result = {"module": module, "total": total, "clean_seconds": base, "mutants": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / (module.replace("/", "__") + ".json")).write_text(json.dumps(result, indent=1))
    if skip:  # a fresh sample: its first pass is kept beside the running result
        (OUT / "fresh").mkdir(exist_ok=True)
        (OUT / "fresh" / (module.replace("/", "__") + f".{k}-{skip}.json")).write_text(
            json.dumps(result, indent=1)
        )
    return result


def rerun_survivors(module: str) -> None:
    """Run the saved survivors of ``module`` again (after new tests); update the saved result."""
    f = OUT / (module.replace("/", "__") + ".json")
    if not f.exists():
        return
    r = json.loads(f.read_text())
    source = (ROOT / "statetune" / module).read_text()
    every = mutants(source)
    limit = max(90.0, 4 * float(r["clean_seconds"]))
    eq = _equivalents()
    for row in r["mutants"]:
        if row["outcome"] != "survived" or f"{module} {row['key']}" in eq:
            continue
        m = every[row["index"]] if row["index"] < len(every) else None
        if m is None or m.key.split("#")[0] != row["key"].split("#")[0]:
            raise RuntimeError(f"{module}: mutant {row['key']} no longer exists (module edited)")
        row["key"] = m.key
        row["outcome"] = _run_mutant(module, render(source, m.index), limit)
        print(f"  {module} {m.key:40s} {row['outcome']} (rerun)", flush=True)
    f.write_text(json.dumps(r, indent=1))


def table() -> str:
    eq = _equivalents()
    head = (
        "| module | mutants (of all) | killed | timeout | survived | equivalent | kill rate |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines, survivors = [], []
    sums = [0, 0, 0, 0, 0, 0]
    for module in MODULES:
        f = OUT / (module.replace("/", "__") + ".json")
        if not f.exists():
            lines.append(f"| {module} | not run | | | | | |")
            continue
        r = json.loads(f.read_text())
        k = t = s = e = 0
        for m in r["mutants"]:
            if f"{module} {m['key']}" in eq:
                e += 1
            elif m["outcome"] == "killed":
                k += 1
            elif m["outcome"] == "timeout":
                t += 1
            else:
                s += 1
                survivors.append(f"- `{module} {m['key']}` (line {m['line']})")
        n = len(r["mutants"])
        rate = f"{(k + t) / (n - e):.0%}" if n > e else "-"
        lines.append(f"| {module} | {n} ({r['total']}) | {k} | {t} | {s} | {e} | {rate} |")
        for i, v in enumerate((n, r["total"], k, t, s, e)):
            sums[i] += v
    n, total, k, t, s, e = sums
    lines.append(
        f"| **all** | {n} ({total}) | {k} | {t} | {s} | {e} | {(k + t) / max(n - e, 1):.0%} |"
    )
    body = head + "\n".join(lines) + "\n"
    if survivors:
        body += "\nSurvivors (neither killed nor listed as equivalent):\n\n" + "\n".join(survivors)
    return body + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="module path suffixes to run")
    ap.add_argument("--table", action="store_true", help="only print the table")
    ap.add_argument("--sample", type=int, default=SAMPLE, help="mutants per module at most")
    ap.add_argument("--skip-done", action="store_true", help="skip modules with saved results")
    ap.add_argument(
        "--skip", type=int, default=0, help="leave out the first N of each draw (seen before)"
    )
    ap.add_argument(
        "--survivors", action="store_true", help="rerun only the saved survivors (new tests)"
    )
    a = ap.parse_args(argv)
    if a.survivors:
        _preload()
        for module in MODULES:
            if a.only is None or any(module.endswith(s) for s in a.only):
                rerun_survivors(module)
    elif not a.table:
        _preload()
        for module in MODULES:
            if a.only is None or any(module.endswith(s) for s in a.only):
                if a.skip_done and (OUT / (module.replace("/", "__") + ".json")).exists():
                    continue
                print(f"{module}:", flush=True)
                run_module(module, a.sample, a.skip)
    text = table()
    print(text)
    if not a.only:
        (ROOT / "results" / "mutation.md").write_text(_HEADER + text)
    return 0


_HEADER = f"""# Mutation testing (issue 17)

`make mutation` (`experiments/mutation/run.py`): own AST mutator (`experiments/mutation/mutate.py`:
comparison, arithmetic, dropped operand, integer +1, slice bound +1, dropped unary minus / `not`,
`and`/`or`, `return None`, in-place update and assignment/call statements dropped), at most
{SAMPLE} mutants per module (`--sample`; the table says how many were run) drawn with
`random.Random({SEED} ^ crc32(module))`. Each mutant runs in a forked child against the module's
test files (listed in `run.py`), the `test_mutants_*` files of its area (`tests/<area>_tests/`) and
the module's doctests, with `pytest -x`; killed = a test failed, timeout = over max(90 s, 4 x the
clean run). Equivalent mutants are listed with a one-line reason in
`experiments/mutation/equivalents.txt`; the kill rate is (killed + timeout) / (mutants -
equivalent). `--survivors` reruns the saved survivors (after new tests).

"""

if __name__ == "__main__":
    raise SystemExit(main())
