"""Cache-aware passes: ``compute_states(..., cache=)`` reads only what the cache lacks, and
``update(states_or_key, new_source)`` appends new data without rereading old rows.

Lineage rules for ``compute_states`` (per cached entry): the request's segments equal the
lineage -> no read; the lineage is a prefix -> read the new segments only, starting at the
cached row count (so folds of old rows never move); anything else (an old segment changed or
removed) -> say so and rebuild, or raise with ``strict=True``.

``update`` absorbs every segment of the new source whose fingerprint the lineage lacks, in
order; old segments may be gone or unreadable. A segment whose key is in the lineage with a
different fingerprint (a modified old file) is an error: the states cannot forget its old rows.

Example
-------
>>> import numpy as np, tempfile, statetune as st
>>> cache = st.StateCache(tempfile.mkdtemp())
>>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
>>> a = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2, cache=cache)
>>> b = st.update(a, st.from_arrays(X[:10] + 1, y[:10]))
>>> a.n_rows, b.n_rows
(100, 110)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from statetune.algorithms import get_algorithm
from statetune.data.source import Segment, Source
from statetune.engine import FoldConfig, StateSet
from statetune.engine import compute_states as engine_compute_states
from statetune.engine.accumulate import _make as make_state
from statetune.engine.cursor import Checkpointer, Cursor
from statetune.engine.pass_ import kinds_for
from statetune.engine.time_folds import TimeFolds, fold_scheme, folds_from_json
from statetune.state_cache.cache import DEFAULT_FOLDER, Entry, StateCache, entry_key, entry_spec
from statetune.state_cache.format import CorruptEntryError, StateCacheWarning
from statetune.states import state_class

__all__ = ["StateCacheWarning", "compute_states", "series_group", "update"]


def _specs(
    source: Source,
    algorithms: Sequence[str],
    folds: Any,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The entry spec of every state the algorithms need (their own and any sample)."""
    schema = source.schema
    out = {}
    for kind, maker in kinds_for(algorithms, schema, max_lag=max_lag, metrics=metrics).items():
        state = make_state(maker, schema, folds)
        out[kind] = entry_spec(kind, state.params(), schema, folds)
    return out


def _maker(kind: str, params: Mapping[str, Any]) -> Callable[..., Any]:
    """A factory rebuilding an empty state of ``kind`` from its state parameters."""
    return functools.partial(_from_params, kind, dict(params))


def _from_params(kind: str, params: dict[str, Any], schema: Any, folds: Any) -> Any:
    return state_class(kind)(**params)


def _check_rows(states: Mapping[str, Sequence[Any]], lineage: Sequence[Mapping[str, Any]]) -> None:
    """The states must hold exactly the rows their lineage lists (never save anything else).

    The lag-row samples of series data are not checked: values without ``max_lag``
    predecessors make no lag row."""
    expected = sum(int(r["n_rows"]) for r in lineage)
    series = "lagged_moments" in states
    for kind, fold_states in states.items():
        if series and kind == "reservoir":
            continue
        got = sum(s.n_rows for s in fold_states)
        if got != expected:
            raise RuntimeError(
                f"The {kind!r} states must hold the {expected} rows of their lineage, but hold "
                f"{got}; nothing was saved (please report this)."
            )


def _fingerprinted(source: Source) -> list[Segment]:
    segs = source.segments()
    if any(s.fingerprint is None for s in segs):
        raise ValueError(
            "A cached pass needs segments with fingerprints, but this source (an iterable of "
            "batches) has none: compute its states without `cache`, then append new batches "
            "with st.update(states, st.from_batches(...))."
        )
    return segs


def _same(record: Mapping[str, Any], seg: Segment) -> bool:
    return record["key"] == seg.key and record["fingerprint"] == seg.fingerprint


def _plan(entry: Entry | None, segs: list[Segment]) -> tuple[str, int, str]:
    """(status, number of cached segments reused, explanation)."""
    if entry is None:
        return "build", 0, "no cached entry"
    lin = entry.lineage
    n = 0
    while n < min(len(lin), len(segs)) and _same(lin[n], segs[n]):
        n += 1
    if n == len(lin) == len(segs):
        return "hit", n, "unchanged"
    if n == len(lin):
        return "extend", n, f"{len(segs) - n} new segment(s)"
    if n < len(segs) and lin[n]["key"] == segs[n].key:
        why = f"segment {n} ({lin[n]['key']!r}) changed since it was cached"
    elif lin[n]["key"] not in {s.key for s in segs}:
        why = f"segment {n} ({lin[n]['key']!r}) was removed"
    else:
        why = f"segment {n} ({lin[n]['key']!r}) no longer comes at that place"
    return "rebuild", 0, why


def _load(cache: StateCache, key: str) -> Entry | None:
    try:
        return cache.load(key)
    except KeyError:
        return None
    except CorruptEntryError as err:
        warnings.warn(f"{err} It is ignored and rebuilt.", StateCacheWarning, stacklevel=4)
        return None


def compute_states(
    source: Source,
    algorithms: Sequence[str],
    folds: int | FoldConfig | TimeFolds = 5,
    *,
    cache: StateCache | str | None = None,
    strict: bool = False,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    callback: Callable[[StateSet], Any] | None = None,
    progress: Callable[[int], Any] | None = None,
    checkpoint_rows: int | None = 5_000_000,
    checkpoint_seconds: float | None = 60.0,
    executor: Any = None,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
) -> StateSet:
    """One pass computing every state ``algorithms`` need, per fold; with ``cache``, only the
    segments the cache lacks are read (see the module doc for the lineage rules).

    Parameters
    ----------
    cache : StateCache or path, optional
        Where states persist. Without it this is the plain pass of
        :func:`statetune.engine.compute_states`.
    strict : bool, default False
        Raise instead of rebuilding when a cached lineage no longer matches the source.
    checkpoint_rows, checkpoint_seconds : optional
        With a cache, save the running pass every so many rows or seconds (and on Ctrl-C); a
        killed pass resumes from its last checkpoint when called again.

    Other parameters are those of :func:`statetune.engine.compute_states`.

    Examples
    --------
    >>> import numpy as np, tempfile, statetune as st
    >>> cache = st.StateCache(tempfile.mkdtemp())
    >>> src = st.from_arrays(np.eye(6), np.arange(6.0))
    >>> st.compute_states(src, ["ridge"], folds=2, cache=cache).n_rows
    6
    """
    fold_cfg = fold_scheme(folds, seed, isinstance(source, Source) and source.schema.is_series)
    kw: dict[str, Any] = {
        "n_jobs": n_jobs,
        "backend": backend,
        "every": every,
        "callback": callback,
        "progress": progress,
        "executor": executor,
    }
    if cache is None:
        kw.update(max_lag=max_lag, metrics=metrics)
    if cache is None:
        return engine_compute_states(source, algorithms, fold_cfg, **kw)
    cache = cache if isinstance(cache, StateCache) else StateCache(cache)
    names = [algorithms] if isinstance(algorithms, str) else list(algorithms)
    segs = _fingerprinted(source)
    specs = _specs(source, names, fold_cfg, max_lag, metrics)
    keys = {kind: entry_key(spec) for kind, spec in specs.items()}
    entries = {kind: _load(cache, key) for kind, key in keys.items()}
    if all(_plan(entries[k], segs)[0] == "hit" for k in keys):
        cache.clear_checkpoints_of(list(keys.values()))  # left by a pass killed after saving
        return _stateset(source, names, fold_cfg, entries)  # type: ignore[arg-type]
    with ExitStack() as stack:
        for kind in sorted(keys):
            stack.enter_context(cache.lock(keys[kind]))
        entries = {kind: _load(cache, key) for kind, key in keys.items()}  # built meanwhile?
        plans = {kind: _plan(entries[kind], segs) for kind in keys}
        for kind, (status, _, why) in plans.items():
            if status == "rebuild":
                if strict:
                    raise ValueError(
                        f"The cached {kind!r} states must extend to this source (strict=True), "
                        f"but {why}."
                    )
                warnings.warn(
                    f"Cached {kind!r} states rebuilt: {why}.", StateCacheWarning, stacklevel=2
                )
        # One pass serves every kind: when the kinds do not all stand at the same point (one
        # entry missing or changed while another is current), all of them are rebuilt.
        starts = {
            reuse if status in ("extend", "hit") else 0 for status, reuse, _ in plans.values()
        }
        reuse = starts.pop() if len(starts) == 1 else 0
        todo_kinds = [k for k in keys if plans[k][0] != "hit" or reuse == 0]
        if all(status == "hit" for status, _, _ in plans.values()):
            todo_kinds = []  # another process built them while we waited for the lock
        groups = {reuse: todo_kinds} if todo_kinds else {}
        for reuse, kinds in groups.items():
            start = _start_cursor(entries, kinds, reuse)
            todo = [s.key for s in segs[reuse:]]
            pass_key = entry_key({"pass": sorted(keys[k] for k in kinds), "reuse": reuse})
            resumed = _resume(cache, pass_key, start, segs)
            if resumed is not None:
                start, todo = resumed
            makers = {k: _maker(k, specs[k]["state_params"]) for k in kinds}
            checkpointer = Checkpointer(
                _saver(cache, pass_key, {k: specs[k] for k in kinds}),
                checkpoint_rows,
                checkpoint_seconds,
            )
            result = engine_compute_states(
                source,
                names,
                fold_cfg,
                segments=todo,
                start=start,
                checkpoint=checkpointer if (checkpoint_rows or checkpoint_seconds) else None,
                state_kinds=makers,
                **kw,
            )
            _check_rows(result.fold_states, result.lineage)
            for kind in kinds:
                entries[kind] = cache.store(
                    keys[kind], specs[kind], result.fold_states[kind], result.lineage
                )
            cache.clear_checkpoint(pass_key)
    return _stateset(source, names, fold_cfg, entries)  # type: ignore[arg-type]


def _saver(cache: StateCache, pass_key: str, specs: Mapping[str, Any]) -> Callable[[Cursor], None]:
    def save(cursor: Cursor) -> None:
        cache.save_checkpoint(pass_key, specs, cursor)

    return save


def _start_cursor(
    entries: Mapping[str, Entry | None], kinds: list[str], reuse: int
) -> Cursor | None:
    if reuse == 0:
        return None
    first = entries[kinds[0]]
    assert first is not None
    states = {k: [s.copy() for s in entries[k].fold_states] for k in kinds}  # type: ignore[union-attr]
    return Cursor(states, [dict(r) for r in first.lineage], first.n_rows)


def _resume(
    cache: StateCache, pass_key: str, start: Cursor | None, segs: list[Segment]
) -> tuple[Cursor, list[str]] | None:
    """A checkpoint of this very pass whose lineage matches the source: continue from it."""
    saved = cache.load_checkpoint(pass_key)
    if saved is None:
        return None
    _, cursor = saved
    base = 0 if start is None else len(start.lineage)
    n = len(cursor.lineage)
    if (
        n < base
        or n > len(segs)
        or not all(_same(r, s) for r, s in zip(cursor.lineage, segs, strict=False))
    ):
        cache.clear_checkpoint(pass_key)
        return None
    if cursor.partial is not None:
        if n >= len(segs) or not _same(cursor.partial, segs[n]):
            cache.clear_checkpoint(pass_key)
            return None
    return cursor, [s.key for s in segs[n:]]


def _stateset(
    source: Source, names: list[str], folds: Any, entries: Mapping[str, Entry]
) -> StateSet:
    first = next(iter(entries.values()))
    result = StateSet(
        source.schema,
        folds,
        {kind: e.fold_states for kind, e in entries.items()},
        names,
        fingerprint=source.fingerprint(),
        lineage=first.lineage,
    )
    if result.n_rows < folds.n_folds:
        raise ValueError(
            f"`folds <= n_rows` must hold, but got folds={folds.n_folds}, n_rows={result.n_rows}."
        )
    return result


def update(
    states: StateSet | str,
    new_source: Source,
    *,
    cache: StateCache | str | None = None,
    n_jobs: int = 1,
    progress: Callable[[int], Any] | None = None,
) -> StateSet:
    """Append the rows of ``new_source`` that ``states`` have not absorbed yet.

    Parameters
    ----------
    states : StateSet or str
        States in memory (not changed; a new StateSet is returned), or a cache key (or unique
        key prefix) whose entry is extended and saved back.
    new_source : Source
        Its segments already in the lineage (same fingerprint) are skipped; the others are read,
        at row positions after the rows already absorbed.
    cache : StateCache or path, optional
        The cache holding the key (default ``.statetune``).

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> s = st.compute_states(st.from_arrays(np.eye(4), np.ones(4)), ["ols"], folds=2)
    >>> st.update(s, st.from_arrays(np.eye(4) * 2, np.ones(4))).n_rows
    8
    """
    if isinstance(states, StateSet):
        return _extend(states, new_source, n_jobs, progress)
    store = cache if isinstance(cache, StateCache) else StateCache(cache or DEFAULT_FOLDER)
    keys = series_group(store, store.resolve(states))
    with ExitStack() as stack:
        for key in keys:
            stack.enter_context(store.lock(key))
        entries = [store.load(key) for key in keys]
        stateset = _from_entry(entries, new_source)
        result = _extend(stateset, new_source, n_jobs, progress)
        for key, entry in zip(keys, entries, strict=True):
            kind = entry.spec["kind"]
            store.save(key, entry.spec, result.fold_states[kind], result.lineage)
    return result


def series_group(cache: StateCache, key: str) -> list[str]:
    """``[key]``, or for series data the keys of the entries one pass built together with it
    (same schema, folds and lineage, and lag rows of the same width: a ``max_lag=4`` pass and a
    ``max_lag=6`` pass never mix), lagged moments first: a sample of lag rows can only be
    extended together with the lagged moments that know each series' count and last values."""
    entry = cache.load(key)
    if entry.spec["folds"].get("scheme") != TimeFolds().to_json()["scheme"]:
        return [key]

    def width(spec: Mapping[str, Any]) -> int:
        params = spec["state_params"]
        if spec["kind"] == "lagged_moments":
            return int(params["max_lag"]) + int(params["n_exog"])
        return int(params.get("n_features", -1))

    group = []
    for other in cache.keys():
        try:
            e = cache.load(other)
        except (KeyError, CorruptEntryError):
            continue
        same = all(e.spec[f] == entry.spec[f] for f in ("schema", "folds"))
        if same and e.lineage == entry.lineage and width(e.spec) == width(entry.spec):
            group.append((e.spec["kind"] != "lagged_moments", e.spec["kind"], other))
    group.sort()
    if group[0][1] != "lagged_moments":
        raise ValueError(
            f"Cache entry {key!r} holds a sample of series lag rows, which extends only together "
            "with the lagged moments its pass built, but that entry is not in the cache; "
            "rebuild with compute_states."
        )
    return [k for _, _, k in group]


def _from_entry(entries: Sequence[Entry], source: Source) -> StateSet:
    from statetune.data.schema import Schema

    entry = entries[0]
    schema = Schema.from_json(entry.spec["schema"])
    new = source.schema
    if new.target != schema.target or new.weight != schema.weight:
        raise ValueError(
            f"The new data must keep the cached target and weight columns "
            f"({schema.target!r}, {schema.weight!r}), but has ({new.target!r}, {new.weight!r})."
        )
    schema.check(new.features, new.dtypes, "the new data")
    folds = folds_from_json(entry.spec["folds"])
    algs = [a for a in _algorithms_of(entry.spec["kind"])]
    fold_states = {e.spec["kind"]: e.fold_states for e in entries}
    return StateSet(schema, folds, fold_states, algs, lineage=entry.lineage)


def _algorithms_of(kind: str) -> list[str]:
    from statetune.algorithms import available_algorithms

    return [a for a in available_algorithms() if get_algorithm(a).state_kind == kind][:1]


def _extend(
    states: StateSet, source: Source, n_jobs: int, progress: Callable[[int], Any] | None
) -> StateSet:
    old = source.schema
    if old.target != states.schema.target or old.weight != states.schema.weight:
        raise ValueError(
            f"The new data must keep the target and weight columns ({states.schema.target!r}, "
            f"{states.schema.weight!r}), but has ({old.target!r}, {old.weight!r})."
        )
    states.schema.check(old.features, old.dtypes, "the new data")
    if (old.series, old.time) != (states.schema.series, states.schema.time):
        raise ValueError(
            f"The new data must keep the series and time columns ({states.schema.series!r}, "
            f"{states.schema.time!r}), but has ({old.series!r}, {old.time!r})."
        )
    if not states.complete:
        raise ValueError(
            "States to extend must be complete (a whole pass or a cache entry), but these are an "
            "intermediate snapshot whose last segment was read only in part; resume the pass "
            "instead (call compute_states again with the same cache)."
        )
    known = {r["fingerprint"] for r in states.lineage if r.get("fingerprint")}
    keys = {r["key"]: r["fingerprint"] for r in states.lineage}
    new = []
    for seg in source.segments():
        if seg.fingerprint is not None and seg.fingerprint in known:
            continue
        if (
            seg.key in keys
            and keys[seg.key] != seg.fingerprint
            and seg.fingerprint is not None
            and not _is_memory(seg)
        ):
            raise ValueError(
                f"Absorbed segments must not change, but {seg.key!r} differs from when it was "
                "absorbed; its old rows cannot be taken back: rebuild with compute_states."
            )
        new.append(seg.key)
    if not new:
        return states
    start = Cursor(
        {k: [s.copy() for s in v] for k, v in states.fold_states.items()},
        states.lineage,
        states.n_rows,
    )
    makers = {k: _maker(k, v[0].params()) for k, v in states.fold_states.items()}
    result = engine_compute_states(
        source,
        list(states.algorithms),
        states.folds,
        n_jobs=n_jobs,
        progress=progress,
        state_kinds=makers,
        segments=new,
        start=start,
    )
    _check_rows(result.fold_states, result.lineage)
    return result


def _is_memory(seg: Segment) -> bool:
    """In-memory segments share a label ("array", "DataFrame"); new arrays are new data."""
    return seg.key in ("array", "DataFrame", "batches")
