"""What the models finalized from one member of a linear bank share (``linear_learner``'s
classifier and regressor): the state they are made from, exact by class (a classifier bank
never serves the regressor, nor the other way round), the member chosen by its
hyperparameters, and the search space, which is the bank's grid.

Example
-------
>>> from statetune.states import LinearRegressionBank
>>> from statetune.algorithms.linear_learner_regressor import LinearLearnerRegressor
>>> sorted(LinearLearnerRegressor.search_space(LinearRegressionBank(2, alpha=[1e-3])))
['alpha', 'average', 'eta0', 'l1', 'loss']
"""

from __future__ import annotations

from typing import Any

from statetune.algorithms._checks import check_bool
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms.params import CategoricalParam, Param
from statetune.states.spec import StateSpec

__all__ = ["BankMember"]


class BankMember(StateEstimator):
    """Mixin of a model that reads one member (``loss``, ``alpha``, ``l1``, ``eta0``; its
    iterate average or last iterate: ``average``) of a bank of ``state_class``."""

    loss: str
    alpha: float
    l1: float
    eta0: float
    average: bool
    _member: int

    @classmethod
    def make_state(cls, n_features: int, has_target: bool, **state_params: Any) -> Any:
        """A bank of the grid given by ``state_params`` (``loss``, ``alpha``, ``l1``,
        ``eta0`` lists, ``batch_size``, ``epochs``); see the bank class."""
        return cls.state_class(n_features, has_target, **state_params)

    def _fit_state(self, n_features: int) -> Any:
        """``fit``/``partial_fit`` train a bank of one member, this model's own ``loss``,
        ``alpha``, ``l1``, ``eta0`` (any values, not only the default grid's: as a
        scikit-learn estimator in ``GridSearchCV``)."""
        return self.state_class(
            n_features,
            True,
            loss=[self.loss],
            alpha=[self.alpha],
            l1=[self.l1],
            eta0=[self.eta0],
        )

    @classmethod
    def accepts(cls, spec: StateSpec) -> bool:
        return spec.state_class is cls.state_class

    def _takes(self, state: Any) -> bool:
        return type(state) is self.state_class

    def _check_member(self, state: Any) -> None:
        """Check ``average`` and find the member (the error lists the grid)."""
        check_bool("average", self.average)
        self._member = state.member_index(self.loss, self.alpha, self.l1, self.eta0)

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        raise ValueError(
            f"{type(self).__name__} scores `{metric}` on the held-out sample of rows only (SGD "
            "models have no exact held-out statistic)."
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = False
        return tags

    @classmethod
    def search_space(cls, state: Any) -> dict[str, Param]:
        return {
            "loss": CategoricalParam(tuple(state.loss)),
            "alpha": CategoricalParam(tuple(state.alpha)),
            "l1": CategoricalParam(tuple(state.l1)),
            "eta0": CategoricalParam(tuple(state.eta0)),
            "average": CategoricalParam((True, False)),
        }
