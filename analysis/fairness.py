"""Decision thresholds per slice: minimum cost, with or without a fairness constraint.

Every strategy searches the exact set of useful thresholds. For a group of rows,
the candidates are its distinct scores plus ``+inf`` (no row positive), so every
confusion matrix that a threshold can give is reached. A row is predicted positive
when its score is at least its group's threshold. The cost of a choice is
``cost_ratio * FP + FN``, summed over the groups, where ``cost_ratio`` is the cost
of a false positive over the cost of a false negative.

Strategies (names in :data:`STRATEGIES`):

* ``custom``: the thresholds the caller gives, evaluated.
* ``single_threshold``: one threshold for every row, the one of minimum cost.
* ``group_thresholds``: each group's own minimum-cost threshold.
* ``demographic_parity``, ``equal_opportunity``, ``equal_accuracy``: one
  threshold per group such that the groups' selection rates (predicted positive
  over rows), true positive rates or accuracies are close. The search slides a
  window ``[a, a + width]`` over every rate ``a`` that some group reaches, and
  keeps only the windows in which every group has a rate. ``width`` is the
  tolerance, or the smallest gap the groups' scores allow when no choice is
  within the tolerance (accuracies of groups of different sizes are rarely
  exactly equal, so ``tolerance=0`` often needs this). In each window every
  group takes its cheapest threshold whose rate is inside, and the window with
  the lowest total cost wins. The result's ``gap`` is the gap reached, and the
  result costs no more than any choice whose gap is within ``width``. No group
  is a reference, so the result does not depend on the order of the groups.
* ``equalized_odds``: equal true positive rates and equal false positive rates.
  Deterministic thresholds can rarely achieve both, so, as fairlearn's
  ``ThresholdOptimizer`` does, each group mixes up to four thresholds at random
  (see :mod:`analysis.roc_hull`). The mix reaches the point of minimum expected
  cost in the intersection of the groups' ROC convex hulls, found exactly from
  the hulls' vertices and crossings rather than on fairlearn's grid of false
  positive rates. The rates and costs reported for it are expected values.

Ties are broken the same way every time. Among windows of equal total cost the
one with the lowest start wins, and among thresholds of equal cost the higher one
(fewer rows predicted positive).

Groups where the constrained rate is undefined take their own minimum-cost
threshold and are listed in :attr:`ThresholdResult.unconstrained`: groups without
positive rows for equal opportunity, and groups without positive or without
negative rows for equalized odds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.curves import positive_mask
from analysis.roc_hull import equalized_odds_mixes
from analysis.slices import slice_codes, slice_thresholds
from analysis.threshold_search import (
    GroupCandidates,
    cheapest,
    group_candidates,
    parity_search,
)

logger = logging.getLogger(__name__)

STRATEGIES = (
    "custom",
    "single_threshold",
    "group_thresholds",
    "demographic_parity",
    "equal_opportunity",
    "equal_accuracy",
    "equalized_odds",
)

# The rate each parity strategy equalises, as a column name of the result table.
PARITY_RATES = {
    "demographic_parity": "selection_rate",
    "equal_opportunity": "tpr",
    "equal_accuracy": "accuracy",
}

# Rates reported before and after, per group.
RESULT_RATES = ("selection_rate", "tpr", "fpr", "precision", "accuracy")


@dataclass(frozen=True)
class GroupPolicy:
    """The decision rule of one group: one threshold, or a random mix of them.

    Attributes
    ----------
    thresholds : tuple of float
        Decision thresholds. A row is positive when its score is at least the
        threshold; ``inf`` predicts no row positive.
    weights : tuple of float
        Probability of using each threshold, summing to 1. A deterministic
        policy has one threshold with weight 1.
    """

    thresholds: tuple[float, ...]
    weights: tuple[float, ...]

    @property
    def is_randomized(self) -> bool:
        """Whether the policy mixes more than one threshold."""
        return len(self.thresholds) > 1

    def describe(self) -> str:
        """Format the policy as text, for example ``"0.42 (70%), 0.38 (30%)"``."""
        if not self.is_randomized:
            return _format_threshold(self.thresholds[0])
        return ", ".join(
            f"{_format_threshold(t)} ({w:.0%})"
            for t, w in zip(self.thresholds, self.weights, strict=True)
        )


@dataclass(frozen=True)
class ThresholdResult:
    """The outcome of a threshold strategy.

    Attributes
    ----------
    strategy : str
        One of :data:`STRATEGIES`.
    policies : dict of str to GroupPolicy
        The chosen policy of each non-empty group, in slice order.
    table : pandas.DataFrame
        One row per group: ``slice``, ``count``, ``positives``,
        ``threshold_before`` and ``threshold`` (NaN for a randomized policy),
        ``policy`` (text), and for each of ``selection_rate``, ``tpr``, ``fpr``,
        ``precision``, ``accuracy`` and ``cost`` a ``<name>_before`` column at
        the current thresholds and a ``<name>`` column after. Values after an
        ``equalized_odds`` search are expected values.
    cost_ratio : float
        Cost of a false positive over the cost of a false negative.
    tolerance : float
        The requested maximum gap of the constrained rate.
    constraint : tuple of str
        Rates the strategy equalises: ``("selection_rate",)``, ``("tpr",)``,
        ``("accuracy",)``, ``("tpr", "fpr")``, or ``()`` without a constraint.
    gap : dict of str to float
        Highest minus lowest value of each constrained rate over the
        constrained groups, after.
    gap_before : dict of str to float
        The same at the current thresholds.
    total_cost : float
        ``cost_ratio * FP + FN`` summed over all groups, after.
    total_cost_before : float
        The same at the current thresholds.
    unconstrained : tuple of str
        Groups left out of the constraint because their rate is undefined; each
        got its own minimum-cost threshold.
    """

    strategy: str
    policies: dict[str, GroupPolicy]
    table: pd.DataFrame
    cost_ratio: float
    tolerance: float
    constraint: tuple[str, ...]
    gap: dict[str, float]
    gap_before: dict[str, float]
    total_cost: float
    total_cost_before: float
    unconstrained: tuple[str, ...]

    @property
    def is_randomized(self) -> bool:
        """Whether any group mixes thresholds at random."""
        return any(policy.is_randomized for policy in self.policies.values())

    @property
    def thresholds(self) -> dict[str, float]:
        """The threshold of each group.

        Raises
        ------
        ValueError
            If a group's policy is randomized; use :attr:`policies` then.
        """
        if self.is_randomized:
            raise ValueError(
                f"the {self.strategy} policy mixes thresholds at random, so it has "
                "no single threshold per group; read ThresholdResult.policies"
            )
        return {name: policy.thresholds[0] for name, policy in self.policies.items()}

    def positive_probability(
        self,
        y_score: Sequence[float] | np.ndarray | pd.Series,
        slices: Sequence[Any] | np.ndarray | pd.Series,
    ) -> np.ndarray:
        """Compute each row's probability of being predicted positive.

        Parameters
        ----------
        y_score : array-like of shape (n,)
            Score of the positive class.
        slices : array-like of shape (n,)
            Slice label of each row, as used for the search.

        Returns
        -------
        numpy.ndarray of float, shape (n,)
            0 or 1 for deterministic policies.
        """
        scores, codes, policies = self._rows_and_policies(y_score, slices)
        probability = np.zeros(len(scores))
        for code, policy in enumerate(policies):
            rows = codes == code
            for threshold, weight in zip(
                policy.thresholds, policy.weights, strict=True
            ):
                probability[rows] += weight * (scores[rows] >= threshold)
        return probability

    def predict(
        self,
        y_score: Sequence[float] | np.ndarray | pd.Series,
        slices: Sequence[Any] | np.ndarray | pd.Series,
        random_state: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Predict whether each row is positive under the chosen policies.

        Parameters
        ----------
        y_score : array-like of shape (n,)
            Score of the positive class.
        slices : array-like of shape (n,)
            Slice label of each row, as used for the search.
        random_state : int or numpy.random.Generator, optional
            Seed for randomized policies; pass one for reproducible output.

        Returns
        -------
        numpy.ndarray of bool, shape (n,)
        """
        scores, codes, policies = self._rows_and_policies(y_score, slices)
        rng = np.random.default_rng(random_state)
        draw = rng.random(len(scores)) if self.is_randomized else np.zeros(len(scores))

        row_thresholds = np.empty(len(scores))
        for code, policy in enumerate(policies):
            rows = np.flatnonzero(codes == code)
            bounds = np.cumsum(policy.weights)
            component = np.searchsorted(bounds, draw[rows], side="right")
            component = np.minimum(component, len(bounds) - 1)
            row_thresholds[rows] = np.asarray(policy.thresholds)[component]
        return scores >= row_thresholds

    def _rows_and_policies(
        self, y_score: Any, slices: Any
    ) -> tuple[np.ndarray, np.ndarray, list[GroupPolicy]]:
        scores = np.asarray(y_score, dtype=float)
        codes, names = slice_codes(slices, len(scores))
        unknown = sorted(set(names[c] for c in np.unique(codes)) - set(self.policies))
        if unknown:
            raise ValueError(
                f"rows belong to slice(s) {unknown} that the threshold search did "
                f"not see; it saw {list(self.policies)}"
            )
        no_policy = GroupPolicy(thresholds=(math.inf,), weights=(1.0,))
        return scores, codes, [self.policies.get(name, no_policy) for name in names]


@dataclass(frozen=True)
class _Rows:
    """The rows being searched: labels, scores and group codes."""

    is_positive: np.ndarray
    scores: np.ndarray
    codes: np.ndarray


@dataclass(frozen=True)
class _GroupSizes:
    """Rows and positive rows per group code."""

    count: np.ndarray
    positives: np.ndarray


@dataclass(frozen=True)
class _Outcome:
    """A group's chosen policy and its (expected) true and false positives."""

    policy: GroupPolicy
    tp: float
    fp: float


def optimize_thresholds(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    strategy: str,
    *,
    cost_ratio: float = 1.0,
    tolerance: float = 0.0,
    current_thresholds: float | Mapping[str, float] = 0.5,
    custom_thresholds: float | Mapping[str, float] | None = None,
    pos_label: Any = None,
) -> ThresholdResult:
    """Choose a decision threshold per slice with one of :data:`STRATEGIES`.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Booleans or 0/1, or class labels with ``pos_label``.
    y_score : array-like of shape (n,)
        Score of the positive class.
    slices : array-like of shape (n,)
        Slice label of each row, for example from
        :func:`analysis.slices.slice_labels`. Use one label for every row to
        optimise a single group.
    strategy : str
        One of :data:`STRATEGIES`; see the module docstring.
    cost_ratio : float, default 1.0
        Cost of a false positive over the cost of a false negative. With 1.0 the
        minimum cost is the maximum accuracy.
    tolerance : float, default 0.0
        Largest gap between the groups' constrained rates for the parity
        strategies, see the module docstring. When no thresholds are within
        it, the result has the smallest gap the scores allow. The
        ``equalized_odds`` result has no gap, so it ignores ``tolerance``.
    current_thresholds : float or mapping of str to float, default 0.5
        The thresholds in use now, for the "before" columns. Slices missing
        from a mapping use 0.5.
    custom_thresholds : float or mapping of str to float, optional
        The thresholds of the ``custom`` strategy. Defaults to
        ``current_thresholds``.
    pos_label : object, optional
        Label of the positive class when ``y_true`` contains class labels.

    Returns
    -------
    ThresholdResult

    Raises
    ------
    ValueError
        If the strategy is unknown, the inputs do not match in length, a score
        is NaN, ``cost_ratio`` is negative or not finite, or ``tolerance`` is
        not in [0, 1].
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if not (math.isfinite(cost_ratio) and cost_ratio >= 0):
        raise ValueError(f"cost_ratio must be a finite number >= 0, got {cost_ratio}")
    if not 0.0 <= tolerance <= 1.0:
        raise ValueError(f"tolerance must be between 0 and 1, got {tolerance}")

    is_positive = positive_mask(y_true, pos_label)
    scores = _checked_scores(y_score, len(is_positive))
    codes, names = slice_codes(slices, len(is_positive))
    before = slice_thresholds(names, current_thresholds)
    sizes = _GroupSizes(
        count=np.bincount(codes, minlength=len(names)),
        positives=np.bincount(codes[is_positive], minlength=len(names)),
    )

    rows = _Rows(is_positive=is_positive, scores=scores, codes=codes)
    custom = custom_thresholds if custom_thresholds is not None else current_thresholds
    outcomes, unconstrained = _choose(
        strategy, rows, names, sizes, cost_ratio, tolerance, custom
    )

    before_tp, before_fp = _counts_at_thresholds(rows, before)
    present = sorted(outcomes)
    table = _result_table(
        names, present, sizes, outcomes, before, before_tp, before_fp, cost_ratio
    )
    constraint = _constraint_of(strategy)
    constrained = [names[code] for code in present if names[code] not in unconstrained]
    logger.debug(
        "%s over %d groups: total cost %.6g, before %.6g",
        strategy,
        len(present),
        table["cost"].sum(),
        table["cost_before"].sum(),
    )
    return ThresholdResult(
        strategy=strategy,
        policies={names[code]: outcomes[code].policy for code in present},
        table=table,
        cost_ratio=float(cost_ratio),
        tolerance=float(tolerance),
        constraint=constraint,
        gap=_gaps(table, constrained, constraint, ""),
        gap_before=_gaps(table, constrained, constraint, "_before"),
        total_cost=float(table["cost"].sum()),
        total_cost_before=float(table["cost_before"].sum()),
        unconstrained=tuple(unconstrained),
    )


def _choose(
    strategy: str,
    rows: _Rows,
    names: list[str],
    sizes: _GroupSizes,
    cost_ratio: float,
    tolerance: float,
    custom: float | Mapping[str, float],
) -> tuple[dict[int, _Outcome], list[str]]:
    """Run one strategy; return the outcome of each non-empty group."""
    present = np.flatnonzero(sizes.count).tolist()
    if strategy == "custom":
        return _fixed_outcomes(rows, present, slice_thresholds(names, custom)), []

    score_order = np.argsort(rows.scores)[::-1]
    if strategy == "single_threshold":
        everyone = group_candidates(
            rows.is_positive,
            rows.scores,
            np.zeros(len(rows.scores), dtype=np.int64),
            1,
            score_order,
        )[0]
        best = float(everyone.thresholds[cheapest(everyone.cost(cost_ratio))])
        return _fixed_outcomes(rows, present, np.full(len(names), best)), []

    groups = group_candidates(
        rows.is_positive, rows.scores, rows.codes, len(names), score_order
    )
    outcomes = {
        code: _deterministic(groups[code], cheapest(groups[code].cost(cost_ratio)))
        for code in present
    }
    if strategy == "group_thresholds":
        return outcomes, []

    if strategy == "equalized_odds":
        eligible = [
            code
            for code in present
            if groups[code].positives > 0 and groups[code].negatives > 0
        ]
        if len(eligible) >= 2:
            mixes = equalized_odds_mixes(groups, eligible, cost_ratio)
            for code, weights in mixes.items():
                outcomes[code] = _outcome_from_weights(groups[code], weights)
    else:
        rate = PARITY_RATES[strategy]
        eligible = [
            code for code in present if rate != "tpr" or groups[code].positives > 0
        ]
        if len(eligible) >= 2:
            picks = parity_search(
                [groups[code].rate(rate) for code in eligible],
                [groups[code].cost(cost_ratio) for code in eligible],
                tolerance,
            )
            for code, pick in zip(eligible, picks, strict=True):
                outcomes[code] = _deterministic(groups[code], pick)
    return outcomes, [names[code] for code in present if code not in eligible]


def _fixed_outcomes(
    rows: _Rows, present: list[int], thresholds: np.ndarray
) -> dict[int, _Outcome]:
    """Evaluate one given threshold per group."""
    tp, fp = _counts_at_thresholds(rows, thresholds)
    return {
        code: _Outcome(
            policy=GroupPolicy(thresholds=(float(thresholds[code]),), weights=(1.0,)),
            tp=float(tp[code]),
            fp=float(fp[code]),
        )
        for code in present
    }


def _deterministic(group: GroupCandidates, position: int) -> _Outcome:
    return _outcome_from_weights(group, {position: 1.0})


def _outcome_from_weights(
    group: GroupCandidates, weights: dict[int, float]
) -> _Outcome:
    """Build a policy from candidate positions and their weights, highest first."""
    used = sorted(position for position, weight in weights.items() if weight > 0)
    total = sum(weights[position] for position in used)
    shares = [weights[position] / total for position in used]
    policy = GroupPolicy(
        thresholds=tuple(float(group.thresholds[position]) for position in used),
        weights=tuple(shares),
    )
    tp = sum(
        share * group.tp[position] for position, share in zip(used, shares, strict=True)
    )
    fp = sum(
        share * group.fp[position] for position, share in zip(used, shares, strict=True)
    )
    return _Outcome(policy=policy, tp=float(tp), fp=float(fp))


def _counts_at_thresholds(
    rows: _Rows, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count true and false positives per group at per-group thresholds."""
    is_predicted = rows.scores >= thresholds[rows.codes]
    n_groups = len(thresholds)
    tp = np.bincount(rows.codes[is_predicted & rows.is_positive], minlength=n_groups)
    fp = np.bincount(rows.codes[is_predicted & ~rows.is_positive], minlength=n_groups)
    return tp, fp


def _result_table(
    names: list[str],
    present: list[int],
    sizes: _GroupSizes,
    outcomes: dict[int, _Outcome],
    before: np.ndarray,
    before_tp: np.ndarray,
    before_fp: np.ndarray,
    cost_ratio: float,
) -> pd.DataFrame:
    records = []
    for code in present:
        count, positives = int(sizes.count[code]), int(sizes.positives[code])
        outcome = outcomes[code]
        policy = outcome.policy
        record = {
            "slice": names[code],
            "count": count,
            "positives": positives,
            "threshold_before": float(before[code]),
            "threshold": math.nan if policy.is_randomized else policy.thresholds[0],
            "policy": policy.describe(),
        }
        rates_before = _rates(
            before_tp[code], before_fp[code], count, positives, cost_ratio
        )
        rates_after = _rates(outcome.tp, outcome.fp, count, positives, cost_ratio)
        for name in (*RESULT_RATES, "cost"):
            record[f"{name}_before"] = rates_before[name]
            record[name] = rates_after[name]
        records.append(record)
    return pd.DataFrame(records)


def _rates(
    tp: float, fp: float, count: int, positives: int, cost_ratio: float
) -> dict[str, float]:
    """Rates of one group from (possibly expected) counts; 0/0 gives 0.0."""
    negatives = count - positives
    fn = positives - tp
    tn = negatives - fp

    def ratio(numerator: float, denominator: float) -> float:
        return float(numerator / denominator) if denominator else 0.0

    return {
        "selection_rate": ratio(tp + fp, count),
        "tpr": ratio(tp, positives),
        "fpr": ratio(fp, negatives),
        "precision": ratio(tp, tp + fp),
        "accuracy": ratio(tp + tn, count),
        "cost": float(cost_ratio * fp + fn),
    }


def _gaps(
    table: pd.DataFrame,
    constrained: list[str],
    constraint: tuple[str, ...],
    suffix: str,
) -> dict[str, float]:
    rows = table["slice"].isin(constrained)
    gaps = {}
    for rate in constraint:
        values = table.loc[rows, f"{rate}{suffix}"]
        gaps[rate] = float(values.max() - values.min()) if len(values) else 0.0
    return gaps


def _constraint_of(strategy: str) -> tuple[str, ...]:
    if strategy == "equalized_odds":
        return ("tpr", "fpr")
    if strategy in PARITY_RATES:
        return (PARITY_RATES[strategy],)
    return ()


def _checked_scores(y_score: Any, n_rows: int) -> np.ndarray:
    scores = np.asarray(y_score, dtype=float)
    if scores.shape != (n_rows,):
        raise ValueError(
            f"y_score must have shape ({n_rows},) to match y_true, got {scores.shape}"
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"y_score contains {int(np.isnan(scores).sum())} NaN value(s), first at "
            f"row {int(np.argmax(np.isnan(scores)))}; the model returned no score there"
        )
    return scores


def _format_threshold(threshold: float) -> str:
    return "none positive (inf)" if threshold == math.inf else f"{threshold:.4g}"
