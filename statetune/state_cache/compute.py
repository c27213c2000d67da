"""Cache-aware passes: :func:`cached_pass` reads only what the cache lacks, :func:`extend` and
:func:`update_entry` append new data without rereading old rows. They take slots (role and
state spec) and know nothing of algorithms (``st.compute_states`` and ``st.update`` in
:mod:`statetune.validation` turn names into slots).

Lineage rules for :func:`cached_pass` (per cached entry): the request's segments equal the
lineage -> no read; the lineage is a prefix -> read the new segments only, starting at the
cached row count (so folds of old rows never move); anything else (an old segment changed or
removed) -> say so and rebuild, or raise with ``strict=True``.

:func:`extend` absorbs every segment of the new source whose fingerprint the lineage lacks, in
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

import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from statetune.data.source import Segment, Source
from statetune.data.tables import read_as
from statetune.engine import FoldConfig, FoldStates, PassOptions, Slot, run_pass
from statetune.engine.cursor import Checkpointer, Cursor
from statetune.engine.slots import HELD_OUT_SAMPLE, MODEL
from statetune.engine.time_folds import TimeFolds, folds_from_json
from statetune.state_cache.cache import DEFAULT_FOLDER, Entry, StateCache, entry_key, entry_spec
from statetune.state_cache.format import CorruptEntryError, StateCacheWarning
from statetune.state_cache.report import CacheReport, lineage_rows
from statetune.states.capabilities import Epochs, Ordered, Sampling
from statetune.states.spec import StateSpec

__all__ = [
    "CacheReport",
    "StateCacheWarning",
    "cached_pass",
    "cached_pass_reported",
    "extend",
    "save_states",
    "series_group",
    "update_entry",
    "update_entry_reported",
]


def _check_rows(states: Mapping[Slot, Sequence[Any]], lineage: Sequence[Mapping[str, Any]]) -> None:
    """The states must hold exactly the rows their lineage lists (never save anything else).

    In a series pass only the ordered states count values: a sample of lag rows does not
    (values without ``max_lag`` predecessors make no lag row)."""
    expected = sum(int(r["n_rows"]) for r in lineage)
    series = any(slot.spec.has(Ordered) for slot in states)
    for slot, fold_states in states.items():
        if series and not slot.spec.has(Ordered):
            continue
        got = sum(s.n_rows for s in fold_states)
        if got != expected:
            raise RuntimeError(
                f"The {slot} states must hold the {expected} rows of their lineage, but hold "
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


def _rereads(slot: Slot) -> bool:
    """The slot's state reads its rows several times (``Epochs``): new rows cannot be
    appended to it alone."""
    return slot.spec.has(Epochs) and int(slot.spec.kwargs().get("epochs", 1)) > 1


def _plan(entry: Entry | None, segs: list[Segment], rereads: bool = False) -> tuple[str, int, str]:
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
        if rereads:
            return "rebuild", 0, "states learned over several epochs reread every row"
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


def cached_pass(
    source: Source,
    slots: Sequence[Slot],
    folds: FoldConfig | TimeFolds,
    options: PassOptions | None = None,
    *,
    cache: StateCache | str,
    strict: bool = False,
    checkpoint_rows: int | None = 5_000_000,
    checkpoint_seconds: float | None = 60.0,
) -> FoldStates:
    """The fold states of ``slots`` over ``source``, reading only the segments the cache lacks
    (see the module doc for the lineage rules); one entry per slot.

    Parameters
    ----------
    cache : StateCache or path
        Where states persist.
    strict : bool, default False
        Raise instead of rebuilding when a cached lineage no longer matches the source.
    checkpoint_rows, checkpoint_seconds : optional
        Save the running pass every so many rows or seconds (and on Ctrl-C); a killed pass
        resumes from its last checkpoint when called again.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from statetune.data import from_arrays
    >>> from statetune.engine import MODEL, FoldConfig, Slot
    >>> from statetune.states.spec import StateSpec
    >>> slot = Slot(MODEL, StateSpec.of("moments", n_features=6, has_target=True))
    >>> src = from_arrays(np.eye(6), np.arange(6.0))
    >>> cached_pass(src, [slot], FoldConfig(2), cache=tempfile.mkdtemp()).n_rows
    6
    """
    return cached_pass_reported(
        source,
        slots,
        folds,
        options,
        cache=cache,
        strict=strict,
        checkpoint_rows=checkpoint_rows,
        checkpoint_seconds=checkpoint_seconds,
    )[0]


def cached_pass_reported(
    source: Source,
    slots: Sequence[Slot],
    folds: FoldConfig | TimeFolds,
    options: PassOptions | None = None,
    *,
    cache: StateCache | str,
    strict: bool = False,
    checkpoint_rows: int | None = 5_000_000,
    checkpoint_seconds: float | None = 60.0,
) -> tuple[FoldStates, CacheReport]:
    """:func:`cached_pass`, and a :class:`CacheReport` of the rows it read and the rows it
    took from the cache (also logged).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from statetune.data import from_arrays
    >>> from statetune.engine import MODEL, FoldConfig, Slot
    >>> from statetune.states.spec import StateSpec
    >>> slot = Slot(MODEL, StateSpec.of("moments", n_features=6, has_target=True))
    >>> src, folder = from_arrays(np.eye(6), np.arange(6.0)), tempfile.mkdtemp()
    >>> print(cached_pass_reported(src, [slot], FoldConfig(2), cache=folder)[1])
    cache build: 6 rows read (1 segment), 0 rows from the cache (0 segments)
    >>> print(cached_pass_reported(src, [slot], FoldConfig(2), cache=folder)[1])
    cache hit: 0 rows read (0 segments), 6 rows from the cache (1 segment)
    """
    options = options or PassOptions()
    cache = cache if isinstance(cache, StateCache) else StateCache(cache)
    slots = list(dict.fromkeys(slots))
    segs = _fingerprinted(source)
    specs = {slot: entry_spec(slot, source.schema, folds) for slot in slots}
    keys = {slot: entry_key(spec) for slot, spec in specs.items()}
    entries = {slot: _load(cache, key) for slot, key in keys.items()}
    if all(_plan(entries[k], segs)[0] == "hit" for k in keys):
        cache.clear_checkpoints_of(list(keys.values()))  # left by a pass killed after saving
        result = _from_entries(source, folds, entries)  # type: ignore[arg-type]
        return result, _hit(result).log()
    report = None
    with ExitStack() as stack:
        for slot in sorted(keys, key=keys.__getitem__):
            stack.enter_context(cache.lock(keys[slot]))
        entries = {slot: _load(cache, key) for slot, key in keys.items()}  # built meanwhile?
        plans = {slot: _plan(entries[slot], segs, _rereads(slot)) for slot in keys}
        for slot, (status, _, why) in plans.items():
            if status == "rebuild":
                if strict:
                    raise ValueError(
                        f"The cached {slot.spec.kind!r} states must extend to this source "
                        f"(strict=True), but {why}."
                    )
                warnings.warn(
                    f"Cached {slot.spec.kind!r} states rebuilt: {why}.",
                    StateCacheWarning,
                    stacklevel=3,
                )
        # One pass serves every slot: when the slots do not all stand at the same point (one
        # entry missing or changed while another is current), all of them are rebuilt.
        starts = {
            reuse if status in ("extend", "hit") else 0 for status, reuse, _ in plans.values()
        }
        reuse = starts.pop() if len(starts) == 1 else 0
        todo_slots = [k for k in keys if plans[k][0] != "hit" or reuse == 0]
        if all(status == "hit" for status, _, _ in plans.values()):
            todo_slots = []  # another process built them while we waited for the lock
        if todo_slots:
            start = _start_cursor(entries, todo_slots, reuse)
            todo = [s.key for s in segs[reuse:]]
            pass_key = entry_key({"pass": sorted(keys[k] for k in todo_slots), "reuse": reuse})
            names = {keys[k]: k for k in todo_slots}
            resumed = _resume(cache, pass_key, start, segs, names)
            if resumed is not None:
                start, todo = resumed
            action = "resumed" if resumed is not None else _action(plans, todo_slots, reuse)
            from_cache = 0 if start is None else _cursor_rows(start)
            checkpointer = Checkpointer(
                _saver(cache, pass_key, {keys[k]: specs[k] for k in todo_slots}, keys),
                checkpoint_rows,
                checkpoint_seconds,
            )
            result = run_pass(
                source,
                todo_slots,
                folds,
                options,
                segments=todo,
                start=start,
                checkpoint=checkpointer if (checkpoint_rows or checkpoint_seconds) else None,
            )
            _check_rows(result.fold_states, result.lineage)
            for slot in todo_slots:
                entries[slot] = cache.store(
                    keys[slot], specs[slot], result.fold_states[slot], result.lineage
                )
            cache.clear_checkpoint(pass_key)
            n_done = 0 if start is None else len(start.lineage)
            report = CacheReport(
                action,
                rows_read=lineage_rows(result.lineage) - from_cache,
                rows_from_cache=from_cache,
                segments_read=len(result.lineage) - n_done,
                segments_from_cache=n_done,
            )
    final = _from_entries(source, folds, entries)  # type: ignore[arg-type]
    return final, (report or _hit(final)).log()


def _hit(states: FoldStates) -> CacheReport:
    """Every state from the cache."""
    rows = lineage_rows(states.lineage)
    return CacheReport("hit", 0, rows, 0, len(states.lineage))


def _action(plans: Mapping[Slot, tuple[str, int, str]], todo: list[Slot], reuse: int) -> str:
    if reuse > 0:
        return "extend"
    statuses = {plans[slot][0] for slot in todo}
    return "rebuild" if "rebuild" in statuses or "extend" in statuses else "build"


def _cursor_rows(cursor: Cursor) -> int:
    """Rows a cursor has absorbed: its whole segments and the part of the current one."""
    partial = 0 if cursor.partial is None else int(cursor.partial["n_rows"])
    return lineage_rows(cursor.lineage) + partial


def _saver(
    cache: StateCache,
    pass_key: str,
    specs: Mapping[str, Any],
    keys: Mapping[Slot, str],
) -> Callable[[Cursor], None]:
    """Save a cursor with its states named by their entry keys (the checkpoint's names)."""

    def save(cursor: Cursor) -> None:
        named = {keys[slot]: states for slot, states in cursor.states.items()}
        cache.save_checkpoint(
            pass_key, specs, Cursor(named, cursor.lineage, cursor.position, cursor.partial)
        )

    return save


def _start_cursor(
    entries: Mapping[Slot, Entry | None], slots: list[Slot], reuse: int
) -> Cursor | None:
    if reuse == 0:
        return None
    first = entries[slots[0]]
    assert first is not None
    states = {k: [s.copy() for s in entries[k].fold_states] for k in slots}  # type: ignore[union-attr]
    return Cursor(states, [dict(r) for r in first.lineage], first.n_rows)


def _resume(
    cache: StateCache,
    pass_key: str,
    start: Cursor | None,
    segs: list[Segment],
    names: Mapping[str, Slot],
) -> tuple[Cursor, list[str]] | None:
    """A checkpoint of this very pass whose lineage matches the source: continue from it
    (``names``: entry key -> slot, the names its states were saved under)."""
    saved = cache.load_checkpoint(pass_key)
    if saved is None:
        return None
    _, cursor = saved
    base = 0 if start is None else len(start.lineage)
    n = len(cursor.lineage)
    if (
        set(cursor.states) != set(names)
        or n < base
        or n > len(segs)
        or not all(_same(r, s) for r, s in zip(cursor.lineage, segs, strict=False))
    ):
        cache.clear_checkpoint(pass_key)
        return None
    if cursor.partial is not None:
        if n >= len(segs) or not _same(cursor.partial, segs[n]):
            cache.clear_checkpoint(pass_key)
            return None
    states = {names[name]: fold_states for name, fold_states in cursor.states.items()}
    resumed = Cursor(states, cursor.lineage, cursor.position, cursor.partial)
    return resumed, [s.key for s in segs[n:]]


def _from_entries(
    source: Source, folds: FoldConfig | TimeFolds, entries: Mapping[Slot, Entry]
) -> FoldStates:
    first = next(iter(entries.values()))
    result = FoldStates(
        source.schema,
        folds,
        {slot: e.fold_states for slot, e in entries.items()},
        fingerprint=source.fingerprint(),
        lineage=first.lineage,
    )
    if result.n_rows < folds.n_folds:
        raise ValueError(
            f"`folds <= n_rows` must hold, but got folds={folds.n_folds}, n_rows={result.n_rows}."
        )
    return result


def slot_of(spec: Mapping[str, Any]) -> Slot:
    """The slot an entry spec was written for (in entries written before roles, the only
    sampling state was the pass's held-out sample)."""
    state = StateSpec.of(str(spec["kind"]), **dict(spec.get("state_params") or {}))
    if "role" not in spec:
        return Slot(HELD_OUT_SAMPLE if state.has(Sampling) else MODEL, state)
    return Slot(str(spec["role"]), state)


def update_entry(
    key: str,
    new_source: Source,
    *,
    cache: StateCache | str | None = None,
    options: PassOptions | None = None,
) -> FoldStates:
    """Extend the cache entry ``key`` (or unique key prefix) with the rows of ``new_source`` it
    has not absorbed, and save it back (series: with the entries its pass built alongside;
    see :func:`series_group`).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from statetune.data import from_arrays
    >>> from statetune.engine import MODEL, FoldConfig, Slot
    >>> from statetune.states.spec import StateSpec
    >>> slot = Slot(MODEL, StateSpec.of("moments", n_features=2, has_target=True))
    >>> cache = StateCache(tempfile.mkdtemp())
    >>> _ = cached_pass(from_arrays(np.eye(4)[:, :2], np.ones(4)), [slot], FoldConfig(2), cache=cache)
    >>> update_entry(cache.keys()[0], from_arrays(np.ones((3, 2)), np.ones(3)), cache=cache).n_rows
    7
    """
    return update_entry_reported(key, new_source, cache=cache, options=options)[0]


def update_entry_reported(
    key: str,
    new_source: Source,
    *,
    cache: StateCache | str | None = None,
    options: PassOptions | None = None,
) -> tuple[FoldStates, CacheReport]:
    """:func:`update_entry`, and a :class:`CacheReport` (also logged): the entry's rows came
    from the cache, the new ones were read."""
    store = cache if isinstance(cache, StateCache) else StateCache(cache or DEFAULT_FOLDER)
    keys = series_group(store, store.resolve(key))
    with ExitStack() as stack:
        for k in keys:
            stack.enter_context(store.lock(k))
        entries = [store.load(k) for k in keys]
        states = _from_entry(entries, new_source)
        result = extend(states, new_source, options)
        for k, entry in zip(keys, entries, strict=True):
            store.save(k, entry.spec, result.fold_states[slot_of(entry.spec)], result.lineage)
    return result, _grown(states, result, "extend").log()


def _grown(old: FoldStates, new: FoldStates, action: str, cached: bool = True) -> CacheReport:
    """``new`` = ``old`` plus the rows read; ``old``'s rows came from the cache if ``cached``."""
    before, n_before = lineage_rows(old.lineage), len(old.lineage)
    read = lineage_rows(new.lineage) - before
    return CacheReport(
        action if read else "hit",
        rows_read=read,
        rows_from_cache=before if cached else 0,
        segments_read=len(new.lineage) - n_before,
        segments_from_cache=n_before if cached else 0,
    )


def save_states(
    states: FoldStates, new_source: Source, cache: StateCache | str
) -> tuple[FoldStates, CacheReport]:
    """``states`` extended with the rows of ``new_source`` they lack (:func:`extend`) and saved
    into ``cache``, one entry per slot, under the keys a cached pass over the same data would
    use (so a later ``compute_states(..., cache=cache)`` over that data finds them). Every
    segment of the lineage needs a fingerprint: states computed without a cache have none
    for in-memory data and are refused (nothing is saved)."""
    store = cache if isinstance(cache, StateCache) else StateCache(cache)
    _fingerprinted(new_source)  # the lineage records the new segments' fingerprints
    result = extend(states, new_source)
    missing = [r["key"] for r in result.lineage if not r.get("fingerprint")]
    if missing:
        raise ValueError(
            "States saved into a cache must have a fingerprint for every segment of their "
            f"lineage, but {len(missing)} segment(s) have none ({missing[0]!r} first: rows "
            "absorbed by a pass without a cache, which does not hash in-memory data); nothing "
            "was saved. Compute the states with `cache=` from the start, or update without it."
        )
    specs = {slot: entry_spec(slot, result.schema, result.folds) for slot in result.fold_states}
    keys = {slot: entry_key(spec) for slot, spec in specs.items()}
    with ExitStack() as stack:
        for key in sorted(keys.values()):
            stack.enter_context(store.lock(key))
        for slot, key in keys.items():
            store.store(key, specs[slot], result.fold_states[slot], result.lineage)
    report = _grown(states, result, "saved", cached=False)
    if report.action == "hit":  # nothing new, but the states were saved all the same
        report = CacheReport("saved", 0, 0, 0, 0)
    return result, report.log()


def series_group(cache: StateCache, key: str) -> list[str]:
    """``[key]``, or for series data the keys of the entries one pass built together with it
    (same schema, folds and lineage, and rows of the same width: a ``max_lag=4`` pass and a
    ``max_lag=6`` pass never mix), the ordered state first: a sample of lag rows can only be
    extended together with the lagged moments that know each series' count and last values."""
    entry = cache.load(key)
    if entry.spec["folds"].get("scheme") != TimeFolds().to_json()["scheme"]:
        return [key]

    def width(spec: Mapping[str, Any]) -> int:
        return int(slot_of(spec).spec.build().n_features)

    group = []
    for other in cache.keys():
        try:
            e = cache.load(other)
        except (KeyError, CorruptEntryError):
            continue
        same = all(e.spec[f] == entry.spec[f] for f in ("schema", "folds"))
        if same and e.lineage == entry.lineage and width(e.spec) == width(entry.spec):
            ordered = slot_of(e.spec).spec.has(Ordered)
            group.append((not ordered, other))
    group.sort()
    if not group or group[0][0]:
        raise ValueError(
            f"Cache entry {key!r} holds a sample of series lag rows, which extends only together "
            "with the lagged moments its pass built, but that entry is not in the cache; "
            "rebuild with compute_states."
        )
    return [k for _, k in group]


def _from_entry(entries: Sequence[Entry], source: Source) -> FoldStates:
    from statetune.data.schema import Schema

    entry = entries[0]
    schema = Schema.from_json(entry.spec["schema"])
    new = read_as(source, schema).schema
    if new.target != schema.target or new.weight != schema.weight:
        raise ValueError(
            f"The new data must keep the cached target and weight columns "
            f"({schema.target!r}, {schema.weight!r}), but has ({new.target!r}, {new.weight!r})."
        )
    schema.check(new.features, new.dtypes, "the new data")
    folds = folds_from_json(entry.spec["folds"])
    fold_states = {slot_of(e.spec): e.fold_states for e in entries}
    return FoldStates(schema, folds, fold_states, lineage=entry.lineage)


def extend(states: FoldStates, source: Source, options: PassOptions | None = None) -> FoldStates:
    """``states`` plus the rows of ``source`` they have not absorbed (a new object; ``states``
    is not changed): segments whose fingerprint the lineage holds are skipped, the others are
    read at row positions after the rows already absorbed (a table's new rows through the
    states' encoding, when it covers theirs: :func:`~statetune.data.tables.read_as`)."""
    source = read_as(source, states.schema)
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
        unknown = [
            r
            for r in states.lineage
            if r["key"] == seg.key and r.get("fingerprint") is None and _is_memory(seg)
        ]
        if any(int(r["n_rows"]) == seg.n_rows for r in unknown):
            warnings.warn(
                f"These {seg.n_rows} in-memory rows are absorbed as new rows, but the states "
                f"also hold {seg.n_rows} in-memory rows absorbed without a fingerprint (a pass "
                "without a cache does not hash arrays), so whether they are the same rows "
                "cannot be told; compute the states with a cache to have repeats recognized.",
                StateCacheWarning,
                stacklevel=3,
            )
        new.append(seg.key)
    if not new:
        return states
    start = Cursor(
        {k: [s.copy() for s in v] for k, v in states.fold_states.items()},
        states.lineage,
        states.n_rows,
    )
    options = (options or PassOptions()).replace(every=None, callback=None)
    result = run_pass(
        source, list(states.fold_states), states.folds, options, segments=new, start=start
    )
    _check_rows(result.fold_states, result.lineage)
    return result


def _is_memory(seg: Segment) -> bool:
    """In-memory segments share a label ("array", "DataFrame"); new arrays are new data."""
    return seg.key in ("array", "DataFrame", "batches")
