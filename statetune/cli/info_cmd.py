"""``statetune info [ALG] [--data PATH --target Y]``: algorithms and their search spaces.

Spaces may be bounded by the state (``alpha`` by the columns' scatter, ``n_components`` by the
column count). Without ``--data`` the ranges shown are those of fixed reference rows (not test
data: 100 rows of 4 unit-variance count columns and a 0/1 target, or a random walk for series),
and each parameter whose range moves with the data is marked, with how it moves: with the
data's scale (measured by scaling the rows by 100), with the number of feature columns
(measured by adding a column) or with the rows a state holds (measured on ten times the rows). With ``--data`` one pass computes the states a ``tune`` on that
data would (same folds and seed) and the ranges shown are the ones its study would search.

Example
-------
>>> from statetune.cli.info_cmd import how_bounds_move
>>> how_bounds_move("ridge")["alpha"]
'bounds scale with the square of the data (its variance); changes with the rows the state holds'
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from statetune.cli._common import EXIT_OK, source_from_path

__all__ = ["how_bounds_move", "run_info", "space_doc"]

#: The reference states ``info`` describes spaces on: (columns, scale) of the rows. The first
#: is shown; a bound that differs on the second moves with the data's scale, on the third with
#: its width, on the fourth (ten times the rows) with the rows in the state (a sample's size).
_REFERENCES = ((4, 1.0), (4, 100.0), (5, 1.0), (4, 1.0))
_ROWS = (100, 100, 100, 1_000)


def _reference_state(alg: Any, n_features: int, scale: float, rows: int = 100) -> Any:
    """A state of ``alg``'s kind on fixed rows whose values are multiplied by ``scale``.

    The rows suit moment, class and count states alike: Poisson(1) counts (non-negative,
    unit variance) and a 0/1 target that depends on them.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    if not alg.model.for_rows:  # forecasters learn from series only
        state = alg.make_state(0, True)
        state.update(scale * np.cumsum(rng.normal(size=200)))
        return state
    X = rng.poisson(1.0, size=(rows, n_features)).astype(np.float64)
    y = (X[:, 0] > X[:, 1]).astype(np.float64)
    state = alg.make_state(n_features, True)
    state.update(scale * X, scale * y)
    return state


def _reference_spaces(name: str) -> list[dict[str, Any]]:
    from statetune.algorithms import get_algorithm

    alg = get_algorithm(name)
    return [
        alg.search_space(_reference_state(alg, d, k, n))
        for (d, k), n in zip(_REFERENCES, _ROWS, strict=True)
    ]


def _scale_text(ratio: float) -> str:
    power = math.log(ratio) / math.log(_REFERENCES[1][1])
    if abs(power - 2) < 0.1:
        return "bounds scale with the square of the data (its variance)"
    if abs(power - 1) < 0.1:
        return "bounds scale with the data"
    return f"bounds scale with the data to the power {power:.2g}"


def how_bounds_move(name: str) -> dict[str, str]:
    """``{param: how its range follows the data}`` for the parameters whose range moves."""
    from statetune.algorithms.params import CategoricalParam

    shown, scaled, wider, longer = _reference_spaces(name)
    width = _REFERENCES[0][0]
    out = {}
    for p, dist in shown.items():
        notes = []
        if scaled.get(p) != dist:
            if isinstance(dist, CategoricalParam) or dist.high <= 0:
                notes.append("changes with the data's scale")
            else:
                notes.append(_scale_text(scaled[p].high / dist.high))
        if wider.get(p) != dist:
            if (
                not isinstance(dist, CategoricalParam)
                and dist.high == width
                and wider[p].high == width + 1
            ):
                notes.append("the upper bound is the number of feature columns")
            else:
                notes.append("changes with the number of feature columns")
        if longer.get(p) != dist:
            notes.append("changes with the rows the state holds")
        if notes:
            out[p] = "; ".join(notes)
    return out


def space_doc(name: str, space: dict[str, Any] | None = None) -> str:
    """One line: each parameter's range, marking those whose bounds follow the data.

    ``space``: the space on the user's states; default: on the first reference state.
    """
    from statetune.algorithms.params import describe_space

    shown, *others = _reference_spaces(name)
    moves = [p for p in shown if any(other.get(p) != shown[p] for other in others)]
    return "; ".join(f"{p}: {text}" for p, text in describe_space(space or shown, moves).items())


def _on_data(args: argparse.Namespace, names: list[str]) -> Any:
    import statetune as st
    from statetune.cli.tune_cmd import DEFAULT_ALGORITHMS

    source = source_from_path(args.data, args.target, args.weight, args.series, args.time)
    if not names:
        if source.schema.is_series:
            names = DEFAULT_ALGORITHMS["forecast"]
        elif source.schema.target_is_labels:
            names = DEFAULT_ALGORITHMS["classification"]
        else:
            names = DEFAULT_ALGORITHMS["regression"]
    states = st.compute_states(source, names, folds=args.cv, seed=args.seed, max_lag=args.max_lag)
    return states, names


def run_info(args: argparse.Namespace) -> int:
    from statetune.algorithms import available_algorithms, get_algorithm

    if args.data is None and (args.target or args.weight or args.series or args.time):
        raise ValueError("--target, --weight, --series and --time describe --data; pass --data.")
    names = [args.algorithm] if args.algorithm else []
    states = None
    if args.data is not None:
        states, names = _on_data(args, names)
        print(
            f"search spaces a study on {args.data!r} searches ({states.n_rows:,} rows, "
            f"{states.schema.n_features} features, {states.n_folds} folds):"
        )
    for name in names or available_algorithms():
        alg = get_algorithm(name)
        print(f"{name}: {alg.description}")
        print(f"  state: {alg.state_kind}   task: {alg.task}   metrics: {', '.join(alg.metrics)}")
        print(f"  hyperparameters: {', '.join(sorted(alg.model().get_params()))}")
        space = None if states is None else states.search_space(name)
        print(f"  search space: {space_doc(name, space)}")
        moves = how_bounds_move(name)
        if moves and states is None:
            print("  bounds from the data: " + "; ".join(f"{p}: {t}" for p, t in moves.items()))
    if states is None:
        print(
            "Ranges are those of a small reference sample; ranges marked 'bounds from the data' "
            "follow each dataset's state: `statetune info ALG --data PATH --target Y` shows them "
            "on your data."
        )
    return EXIT_OK
