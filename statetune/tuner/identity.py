"""A study's identity: everything that makes its trials comparable, recorded on the study.

Two trials are comparable when they were scored on the same data (content fingerprint and
schema: features, target, weight, series layout), with the same folds (scheme, count, seed),
from states with the same state parameters (``max_lag`` of series, held-out sample size and
seed), for
the same metric and direction, over the same algorithms and search space (the space after its
defaults were bounded by the states, plus overrides). :func:`study_identity` gathers these as
JSON (the ``seed`` of :func:`statetune.tune` enters through the folds and the sample; as the
sampler's seed alone it changes which trials are asked, not what they score, so workers with
their own samplers share a study); it is stored on the study (user attribute
:data:`IDENTITY_ATTR`) and the default study name is the algorithms, the metric and its hash
(``ridge+lasso-rmse-1a2b3c4d5e6f``), so a rerun resumes exactly when nothing changed, and a
rerun with another search space, metric or data starts its own study.

Resuming a named study (``resume`` of :func:`statetune.tune`):

- ``None`` (default): resume it if its identity is this run's; start it if it does not exist
  or has no trials and no identity record (made with ``optuna.create_study``, or by another
  process that has not yet written its record: a study is created, then its identity is
  written, two storage writes); refuse if it differs, saying in what;
- ``True``: continue an existing study even in another search space (data, folds, states,
  metric, algorithms and seed must still match, and the parameter kinds must agree, as Optuna
  requires). Its trials outside the new space stay in the study but neither count toward
  ``n_trials`` nor give the best trial. The study's identity becomes this run's. Without a
  ``study_name``, the study of the same data and settings in another space is found;
- ``False``: always start a new study; refuse if the name exists.

Example
-------
>>> import numpy as np, statetune as st
>>> from statetune.tuner.identity import study_identity, default_study_name
>>> from statetune.tuner.space import build_space
>>> src = st.from_arrays(np.eye(8), np.arange(8.0))
>>> s = st.compute_states(src, ["ridge"], folds=2)
>>> space = build_space(s, ["ridge"], None)
>>> ident = study_identity(s, ["ridge"], space, "mse", False, src.fingerprint())
>>> sorted(ident)
['algorithms', 'data', 'direction', 'folds', 'metric', 'schema', 'space', 'states', 'version']
>>> default_study_name(ident) == default_study_name(dict(ident))
True
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from statetune.algorithms import get_algorithm
from statetune.tuner.space import to_optuna
from statetune.validation import StateSet

__all__ = [
    "IDENTITY_ATTR",
    "choose_study",
    "default_study_name",
    "identity_diff",
    "in_space_pruner",
    "study_identity",
]

IDENTITY_ATTR = "statetune:identity"
IDENTITY_VERSION = 1

_FIELDS = {
    "version": "identity format",
    "data": "data (content fingerprint)",
    "schema": "columns (features, target, weight, series layout)",
    "folds": "folds",
    "states": "state parameters",
    "algorithms": "algorithms",
    "metric": "metric",
    "direction": "direction",
    "space": "search space",
}


def _jsonable(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists), so identities compare equal
    whether fresh or loaded from a storage."""
    return json.loads(json.dumps(obj, sort_keys=True, default=repr))


def study_identity(
    states: StateSet,
    algorithms: Sequence[str],
    spaces: Mapping[str, Mapping[str, Any]],
    metric: str,
    maximize: bool,
    data_fingerprint: str | None = None,
) -> dict[str, Any]:
    """Everything that makes trials comparable (see the module doc), as JSON data.

    ``data_fingerprint`` is the source's content fingerprint when the caller has the source
    (a pass without a cache does not hash in-memory arrays; the study name does)."""
    from optuna.distributions import distribution_to_json

    algs = [get_algorithm(a) for a in algorithms]
    slots = list(dict.fromkeys(states.model_slot(a) for a in algorithms))
    sample = states.sample_slot()
    if sample is not None and any(metric in a.sample_metrics for a in algs):
        slots.append(sample)  # the held-out sample scores this metric
    used: dict[str, Any] = {}
    for slot in slots:  # named by kind (a role prefix only where two slots share a kind)
        name = slot.spec.kind if slot.spec.kind not in used else f"{slot.role}:{slot.spec.kind}"
        used[name] = slot.spec.kwargs()
    data: Any = data_fingerprint or states.fingerprint
    if data is None:  # an iterable source: the rows are all this run can check
        data = {"fingerprint": None, "n_rows": states.n_rows}
    return _jsonable(
        {
            "version": IDENTITY_VERSION,
            "data": data,
            "schema": states.schema.to_json(),
            "folds": states.folds.to_json(),
            "states": dict(sorted(used.items())),
            "algorithms": list(algorithms),
            "metric": metric,
            "direction": "maximize" if maximize else "minimize",
            "space": {
                name: json.loads(distribution_to_json(d)) for name, d in to_optuna(spaces).items()
            },
        }
    )


#: Longest readable part of a default study name (algorithms joined by "+", then the metric).
NAME_MAX_CHARS = 48


def _readable(identity: Mapping[str, Any]) -> str:
    """``ridge+lasso-rmse``; past :data:`NAME_MAX_CHARS`, the first algorithms and a count."""
    algs = [str(a) for a in identity.get("algorithms") or []]
    metric = str(identity.get("metric"))
    text = "+".join(algs)
    shown = len(algs)
    while shown > 1 and len(text) + len(metric) + 1 > NAME_MAX_CHARS:
        shown -= 1
        text = "+".join(algs[:shown]) + f"+{len(algs) - shown}more"
    return f"{text}-{metric}"


def default_study_name(identity: Mapping[str, Any]) -> str:
    """``<algorithms>-<metric>-<hash>`` (``ridge+lasso-rmse-1a2b3c4d5e6f``): readable in
    optuna-dashboard, and the same identity gives the same name, so a rerun resumes; data
    without a fingerprint (an iterable source) gets a fresh hash every run.

    >>> default_study_name({"algorithms": ["ridge", "lasso"], "metric": "rmse", "data": "x"})
    'ridge+lasso-rmse-fa24fe2b1462'
    """
    data = identity.get("data")
    if isinstance(data, Mapping) and data.get("fingerprint") is None:
        return f"{_readable(identity)}-{uuid.uuid4().hex[:12]}"
    key = json.dumps(identity, sort_keys=True)
    return f"{_readable(identity)}-{hashlib.blake2b(key.encode(), digest_size=6).hexdigest()}"


def _dist(d: Any) -> str:
    if not isinstance(d, Mapping):
        return "absent"
    attrs = d.get("attributes", {})
    if "choices" in attrs:
        return f"one of {attrs['choices']}"
    log = ", log" if attrs.get("log") else ""
    kind = "int" if d.get("name") == "IntDistribution" else "float"
    return f"{kind} in [{attrs.get('low')}, {attrs.get('high')}{log}]"


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def identity_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[(field, "what changed")]``; the search space per parameter."""
    out = []
    for key in _FIELDS:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            show = _dist if key == "space" else _short
            parts = [
                f"{p}: {show(a.get(p))} -> {show(b.get(p))}"
                for p in sorted(set(a) | set(b))
                if a.get(p) != b.get(p)
            ]
            out.append((key, "; ".join(parts)))
        else:
            out.append((key, f"{_short(a)} -> {_short(b)}"))
    return out


def _describe(diff: list[tuple[str, str]]) -> str:
    return "; ".join(f"{_FIELDS[k]} ({what})" for k, what in diff)


def _studies(storage: Any) -> dict[str, Any]:
    return {s.study_name: s for s in storage.get_all_studies()}


def _same_but_space(a: Any, b: Mapping[str, Any]) -> bool:
    return isinstance(a, Mapping) and not [k for k, _ in identity_diff(a, b) if k != "space"]


def _find_other_space(studies: Mapping[str, Any], identity: Mapping[str, Any]) -> str:
    """The one study of the same data and settings (any search space), for ``resume=True``
    without a name."""
    found = [
        n for n, s in studies.items() if _same_but_space(s.user_attrs.get(IDENTITY_ATTR), identity)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(
            "`resume=True` continues an existing study, but this storage holds no study of "
            "these data and settings (in any search space); leave `resume` unset to start one."
        )
    raise ValueError(
        f"`resume=True` without a study_name needs one study of these data and settings to "
        f"continue, but this storage holds {len(found)}: {', '.join(sorted(found))}; pass "
        "study_name=... (CLI --study-name) to pick one."
    )


def _check_kinds(storage: Any, study_id: int, identity: Mapping[str, Any], name: str) -> None:
    """Optuna keeps one kind of distribution per parameter name in a study."""
    from optuna.distributions import check_distribution_compatibility, json_to_distribution

    new = {p: json_to_distribution(json.dumps(d)) for p, d in identity["space"].items()}
    seen: set[str] = set()
    for t in storage.get_all_trials(study_id, deepcopy=False):
        for p, old in t.distributions.items():
            if p in new and p not in seen:
                seen.add(p)
                try:
                    check_distribution_compatibility(old, new[p])
                except ValueError:
                    raise ValueError(
                        f"Study {name!r} can continue only with parameters of the kinds its "
                        f"trials used (Optuna keeps one per name), but {p!r} was {old} and this "
                        f"run asks for {new[p]}; pass another study_name to start a new study."
                    ) from None


def choose_study(
    storage: Any,
    study_name: str | None,
    identity: Mapping[str, Any],
    resume: bool | None,
) -> tuple[str, str]:
    """The study to open and how: ``"new"``, ``"resumed"`` (same identity) or ``"adopted"``
    (resumed with ``resume=True`` in another search space, or without an identity record).

    Raises ValueError with the remedy when the study cannot be resumed as asked.
    """
    if resume not in (None, True, False):
        raise ValueError(f"`resume` must be None, True or False, but got {resume!r}.")
    studies = _studies(storage)
    name = study_name or default_study_name(identity)
    if resume is True and study_name is None and name not in studies:
        name = _find_other_space(studies, identity)
    if name not in studies:
        if resume is True:
            raise ValueError(
                f"`resume=True` continues an existing study, but this storage holds no study "
                f"{name!r}; leave `resume` unset to start it."
            )
        return name, "new"
    if resume is False:
        raise ValueError(
            f"`resume=False` starts a new study, but study {name!r} exists in this storage; "
            "pass another study_name (CLI --study-name), or leave `resume` unset to continue it."
        )
    study = studies[name]
    old = study.user_attrs.get(IDENTITY_ATTR)
    if old is None:
        legacy = {"metric": identity["metric"], "algorithms": identity["algorithms"]}
        had = {k: study.user_attrs[k] for k in legacy if k in study.user_attrs}
        if any(had[k] != legacy[k] for k in had):
            raise ValueError(
                f"A resumed study must keep its metric and algorithms, but study {name!r} has "
                f"{had} and this run asks for {legacy}; pass another study_name."
            )
        trials = storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False)
        if all(t.state.name == "WAITING" for t in trials):
            # No evaluated trials to be incomparable with (enqueued ones at most): a study
            # made with optuna.create_study, or one another statetune process created an
            # instant ago and has not yet recorded its identity on (it writes it right after
            # creating the study).
            return name, "new"
        if resume is not True:
            raise ValueError(
                f"Study {name!r} holds no record of the data and settings it was tuned with "
                "(made by an older statetune or another Optuna client), so this run cannot "
                "tell whether its trials are comparable. Pass resume=True (CLI --resume) to "
                "continue it anyway (its trials outside this search space never count toward "
                "n_trials nor give the best), or another study_name to start a new study."
            )
        _check_kinds(storage, storage.get_study_id_from_name(name), identity, name)
        return name, "adopted"
    diff = identity_diff(old, identity)
    if not diff:
        return name, "resumed"
    if [k for k, _ in diff if k != "space"]:
        raise ValueError(
            f"A resumed study must have been tuned on the same data and settings, but study "
            f"{name!r} differs in: {_describe(diff)}. Its trials are not comparable with this "
            "run's: pass another study_name (CLI --study-name) to start a new study, or leave "
            "study_name unset (the default name follows the data and settings)."
        )
    if resume is not True:
        raise ValueError(
            f"A resumed study must keep its search space, but study {name!r} was tuned in "
            f"another one ({_describe(diff)}). Pass resume=True (CLI --resume) to continue it "
            "in this space (its trials outside it stay in the study but never count toward "
            "n_trials nor give the best), or another study_name to start a new study."
        )
    _check_kinds(storage, storage.get_study_id_from_name(name), identity, name)
    return name, "adopted"


class _InSpaceView:
    """A study seen through its trials inside the current search space (for pruners)."""

    def __init__(self, study: Any, inside: Callable[[Any], bool]) -> None:
        self._study = study
        self._inside = inside

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[Any]:
        return [t for t in self._study.get_trials(deepcopy, states) if self._inside(t)]

    def _get_trials(
        self, deepcopy: bool = True, states: Any = None, use_cache: bool = False
    ) -> list[Any]:
        return [t for t in self._study._get_trials(deepcopy, states, use_cache) if self._inside(t)]

    @property
    def trials(self) -> list[Any]:
        return self.get_trials()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


def in_space_pruner(pruner: Any, inside: Callable[[Any], bool]) -> Any:
    """``pruner`` comparing a trial only with trials inside the current search space.

    A study continued with ``resume=True`` in another space keeps its older trials; against
    them (say, a better region now excluded) a median pruner would prune every new trial.
    """
    from optuna.pruners import BasePruner

    class _InSpacePruner(BasePruner):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def prune(self, study: Any, trial: Any) -> bool:
            return bool(self.inner.prune(_InSpaceView(study, inside), trial))

    return _InSpacePruner(pruner)
