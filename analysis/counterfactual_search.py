"""Generated counterfactuals: small changes to a row that reach a target prediction.

The nearest counterfactual of :mod:`analysis.counterfactual` only looks among the
loaded rows. This module builds new rows from the selected one, changing as little
as it can, until the model predicts a target: another class (binary, at the
current threshold), a chosen class, or a value in a range (regression).

Distances use the What-If Tool's per-feature terms from
:func:`analysis.counterfactual.distances`, so generated and real counterfactuals
can be compared.

The search, seeded and deterministic:

1. Candidate values per feature: for a numeric feature, its distinct observed
   values inside the permitted range when there are at most ``n_values`` of them,
   else ``n_values`` quantiles of those distinct values (so a column that is
   mostly 0 still offers its other values); for a categorical feature, its
   observed values (the ``MAX_CATEGORIES`` most frequent) that are allowed.
2. For 1, 2, ... ``max_changes`` changed features: every combination of
   candidate values when there are at most ``max_exhaustive`` of them, else
   ``n_samples`` random combinations. Each batch is predicted in one call.
3. The rows that reach the target are refined greedily: a change is reverted
   while the row still reaches the target, then each numeric change is moved
   toward the original value by bisection over the observed values between the
   two. Bisection assumes the output changes monotonically in between, so for
   other models it finds a valid value that may not be the closest.
4. ``k`` counterfactuals are picked among the refined rows and the rows only
   reverted, because bisection often merges rows: the closest first, then the
   closest among rows that change a feature set not yet picked, then the rows
   farthest from those picked.
5. Each counterfactual is predicted again and kept only if it reaches the target
   and respects every constraint.

When nothing is found, the search is repeated with each constraint relaxed in
turn to name the constraints that block a counterfactual, and the nearest real
counterfactual is returned instead.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.counterfactual import (
    Counterfactual,
    DistanceStats,
    distance_stats,
    distances,
    nearest_counterfactual,
)
from analysis.editor import is_numeric_feature
from analysis.models import Predictor
from analysis.pdp import typed_values
from analysis.predictions_only import require_model
from analysis.sources import positive_index

logger = logging.getLogger(__name__)

# Most frequent categories of a feature tried as new values.
MAX_CATEGORIES = 100
# Counterfactuals kept for refinement: this many per changed-feature set, and in all.
POOL_PER_FEATURE_SET = 3
POOL_SIZE = 60


@dataclass(frozen=True)
class FeatureChange:
    """One feature's value in the selected row and in a counterfactual."""

    feature: str
    old: Any
    new: Any


@dataclass(frozen=True)
class GeneratedCounterfactual:
    """A generated row that reaches the target.

    Attributes
    ----------
    row : pandas.DataFrame
        The row, one line with the data's columns and dtypes.
    changes : tuple of FeatureChange
        Changed features, in column order.
    distance : float
        Distance to the selected row, as :func:`analysis.counterfactual.distances`
        computes it.
    prediction : object
        Predicted class, or the predicted value for regression.
    score : float or None
        Binary: the positive class's score. Multiclass: the predicted class's
        score. Regression: None.
    """

    row: pd.DataFrame
    changes: tuple[FeatureChange, ...]
    distance: float
    prediction: Any
    score: float | None

    @property
    def changed_features(self) -> tuple[str, ...]:
        """Names of the changed features."""
        return tuple(change.feature for change in self.changes)


@dataclass(frozen=True)
class BlockingConstraint:
    """A constraint without which the search finds a counterfactual.

    Attributes
    ----------
    kind : {"immutable", "range", "max_changes"}
    feature : str or None
        The constrained feature, None for ``max_changes``.
    message : str
        A sentence for the user, such as "no counterfactual while 'age' is immutable".
    """

    kind: str
    feature: str | None
    message: str


@dataclass(frozen=True)
class CounterfactualSearch:
    """The outcome of :func:`generate_counterfactuals`.

    Attributes
    ----------
    position : int
        The selected row.
    target : str
        The target, in words.
    original_prediction : object
        The selected row's prediction.
    counterfactuals : list of GeneratedCounterfactual
        Counterfactuals, closest first. Empty when none was found.
    message : str or None
        Why the list is empty, or None.
    blocking : list of BlockingConstraint
        Constraints that each block every counterfactual (filled when none was found).
    nearest_real : Counterfactual or None
        When none was found: the nearest loaded row that reaches the target.
    n_predicted : int
        Rows predicted by the search, diagnosis included.
    exhaustive : bool
        Whether every combination of candidate values was tried at each number
        of changed features.
    """

    position: int
    target: str
    original_prediction: Any
    counterfactuals: list[GeneratedCounterfactual]
    message: str | None
    blocking: list[BlockingConstraint]
    nearest_real: Counterfactual | None
    n_predicted: int
    exhaustive: bool

    @property
    def found(self) -> bool:
        """Whether at least one counterfactual was found."""
        return bool(self.counterfactuals)

    def to_frame(self, original: pd.DataFrame) -> pd.DataFrame:
        """Stack the selected row and the counterfactuals, with distance and prediction.

        Parameters
        ----------
        original : pandas.DataFrame
            The data the search ran on.

        Returns
        -------
        pandas.DataFrame
            The selected row first, then one row per counterfactual, with the columns
            ``distance``, ``prediction`` and ``changed`` (comma-separated names)
            added in front.
        """
        rows = [original.iloc[[self.position]].reset_index(drop=True)]
        rows += [counterfactual.row for counterfactual in self.counterfactuals]
        table = pd.concat(rows, ignore_index=True)
        table.insert(
            0,
            "changed",
            [""]
            + [
                ", ".join(counterfactual.changed_features)
                for counterfactual in self.counterfactuals
            ],
        )
        table.insert(
            0,
            "prediction",
            [self.original_prediction]
            + [counterfactual.prediction for counterfactual in self.counterfactuals],
        )
        table.insert(
            0,
            "distance",
            [0.0]
            + [counterfactual.distance for counterfactual in self.counterfactuals],
        )
        return table


# --------------------------------------------------------------------------------------
# Target


@dataclass(frozen=True)
class _Target:
    """Decides from scores whether rows reach the target."""

    task: str
    classes: list[Any] | None
    pos_index: int
    threshold: float
    desired_index: int | None
    current_index: int | None
    low: float
    high: float

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """Return the predicted class index per row, or the prediction."""
        if self.task == "regression":
            return scores
        if self.task == "binary":
            positive = scores[:, self.pos_index] >= self.threshold
            return np.where(positive, self.pos_index, 1 - self.pos_index)
        return np.argmax(scores, axis=1)

    def reached(self, scores: np.ndarray) -> np.ndarray:
        labels = self.labels(scores)
        if self.task == "regression":
            with np.errstate(invalid="ignore"):
                return (labels >= self.low) & (labels <= self.high)
        if self.desired_index is None:
            return labels != self.current_index
        return labels == self.desired_index

    def prediction(self, scores: np.ndarray, row: int) -> tuple[Any, float | None]:
        if self.task == "regression":
            return float(scores[row]), None
        index = int(self.labels(scores[row : row + 1])[0])
        score = scores[row, self.pos_index if self.task == "binary" else index]
        return self.classes[index], float(score)

    def describe(self) -> str:
        if self.task == "regression":
            return f"prediction in [{self.low:g}, {self.high:g}]"
        at = f" at threshold {self.threshold:g}" if self.task == "binary" else ""
        if self.desired_index is None:
            return f"any class other than {self.classes[self.current_index]!r}{at}"
        return f"class {self.classes[self.desired_index]!r}{at}"


def _make_target(
    predictor: Predictor,
    query_scores: np.ndarray,
    desired_class: Any,
    desired_range: tuple[float | None, float | None] | None,
    threshold: float,
    pos_label: Any,
) -> _Target:
    if predictor.task == "regression":
        if desired_range is None:
            raise ValueError("a regression model needs desired_range=(low, high)")
        if desired_class is not None:
            raise ValueError("desired_class is for classifiers; use desired_range")
        low, high = (
            -math.inf if desired_range[0] is None else float(desired_range[0]),
            math.inf if desired_range[1] is None else float(desired_range[1]),
        )
        if not low <= high:
            raise ValueError(f"desired_range must be (low, high), got {desired_range}")
        return _Target("regression", None, 0, threshold, None, None, low, high)

    if desired_range is not None:
        raise ValueError("desired_range is for regression; use desired_class")
    classes = list(predictor.classes or ())
    pos_index = 1 if pos_label is None else positive_index(classes, pos_label)
    desired = None if desired_class is None else positive_index(classes, desired_class)
    target = _Target(predictor.task, classes, pos_index, threshold, desired, None, 0, 0)
    current = int(target.labels(query_scores)[0])
    return replace(target, current_index=current)


# --------------------------------------------------------------------------------------
# Search space


@dataclass
class _Space:
    """Mutable features of the selected row, their candidate values and costs."""

    features: list[str]
    numeric: np.ndarray
    original: list[Any]
    original_float: np.ndarray
    missing_original: np.ndarray
    unit_cost: np.ndarray
    candidate_values: list[np.ndarray]
    observed: dict[int, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.features)

    def terms(self, values: np.ndarray, changed: np.ndarray) -> np.ndarray:
        """Return the distance term of every changed feature, 0 where unchanged."""
        terms = np.zeros(changed.shape, dtype=float)
        for j in range(self.size):
            rows = changed[:, j]
            if not rows.any():
                continue
            if self.missing_original[j]:
                terms[rows, j] = 1.0
            elif self.numeric[j]:
                new = values[rows, j].astype(float)
                terms[rows, j] = (
                    np.abs(new - self.original_float[j]) * self.unit_cost[j]
                )
            else:
                terms[rows, j] = self.unit_cost[j]
        return terms


def _build_space(
    frame: pd.DataFrame,
    query: pd.Series,
    features: Sequence[str],
    stats: DistanceStats,
    permitted_ranges: Mapping[str, Any],
    n_values: int,
) -> _Space:
    space = _Space(
        features=[],
        numeric=np.zeros(0, dtype=bool),
        original=[],
        original_float=np.zeros(0),
        missing_original=np.zeros(0, dtype=bool),
        unit_cost=np.zeros(0),
        candidate_values=[],
        observed={},
    )
    numeric, original_float, missing, cost = [], [], [], []
    for name in features:
        column = frame[name]
        value = query[name]
        is_numeric = name in stats.numeric_std
        observed = None
        if is_numeric:
            std = stats.numeric_std[name]
            observed = _observed_numbers(column, permitted_ranges.get(name))
            values = _numeric_candidates(observed, column.dtype, n_values)
            unit = 0.0 if std == 0 else 1.0 / std
        else:
            values = _categorical_candidates(column, permitted_ranges.get(name))
            unit = stats.match_probability[name]
        is_missing = _is_missing(value)
        if not is_missing and len(values):
            values = values[values != value]
        if len(values) == 0:
            logger.debug("Counterfactual search cannot change %r: no other value", name)
            continue

        if observed is not None:
            space.observed[len(space.features)] = observed
        space.features.append(name)
        space.original.append(value)
        space.candidate_values.append(values)
        numeric.append(is_numeric)
        original_float.append(float(value) if is_numeric and not is_missing else np.nan)
        missing.append(is_missing)
        cost.append(unit)

    space.numeric = np.array(numeric, dtype=bool)
    space.original_float = np.array(original_float, dtype=float)
    space.missing_original = np.array(missing, dtype=bool)
    space.unit_cost = np.array(cost, dtype=float)
    return space


def _numeric_candidates(observed: np.ndarray, dtype: Any, n_values: int) -> np.ndarray:
    """Return the distinct values, or ``n_values`` quantiles of them when more."""
    if observed.size <= n_values:
        return observed
    values = np.unique(np.quantile(observed, np.linspace(0.0, 1.0, n_values)))
    if pd.api.types.is_integer_dtype(dtype):
        values = np.unique(np.round(values))
    return values


def _observed_numbers(column: pd.Series, permitted: Any) -> np.ndarray:
    """Return the sorted distinct finite values of a column inside its range."""
    values = column.to_numpy(dtype=float, na_value=np.nan)
    keep = np.isfinite(values)
    if permitted is not None:
        low, high = permitted
        keep &= (values >= low) & (values <= high)
    # pd.unique hashes, which is much faster than np.unique's sort at 1M rows.
    return np.sort(pd.unique(values[keep]))


def _categorical_candidates(column: pd.Series, permitted: Any) -> np.ndarray:
    counts = column.value_counts(dropna=True)
    observed = counts[counts > 0].index[:MAX_CATEGORIES].tolist()
    if permitted is not None:
        allowed = list(permitted)
        ignored = [value for value in allowed if value not in set(observed)]
        if ignored:
            logger.info(
                "Permitted values of %r never seen in the data are not tried: %s",
                column.name,
                ignored,
            )
        observed = [value for value in observed if value in set(allowed)]
    values = np.empty(len(observed), dtype=object)
    values[:] = observed
    return values


# --------------------------------------------------------------------------------------
# Public entry point


def generate_counterfactuals(
    frame: pd.DataFrame,
    predictor: Predictor,
    position: int,
    *,
    desired_class: Any = None,
    desired_range: tuple[float | None, float | None] | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    immutable: Sequence[str] = (),
    permitted_ranges: Mapping[str, Any] | None = None,
    k: int = 3,
    max_changes: int = 3,
    stats: DistanceStats | None = None,
    metric: str = "l1",
    label: str | None = None,
    scores: np.ndarray | None = None,
    n_values: int = 20,
    max_exhaustive: int = 20_000,
    n_samples: int = 5_000,
    diagnose: bool = True,
    random_state: int = 0,
) -> CounterfactualSearch:
    """Find up to ``k`` small, diverse changes to a row that reach a target.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data. Candidate values and distance statistics come from it.
    predictor : Predictor
        The model. A predictions-only predictor raises ModelRequiredError.
    position : int
        Row position of the selected row.
    desired_class : object, optional
        Classification target. None means any class other than the row's
        prediction: the opposite class for a binary model.
    desired_range : tuple of (float or None), optional
        Regression target ``(low, high)``, both ends included. None for an end
        means unbounded. Required for regression.
    threshold : float, default 0.5
        Binary decision threshold on the positive class's score.
    pos_label : object, optional
        Binary positive class. Defaults to ``classes[1]``.
    immutable : sequence of str, default ()
        Features that must not change, such as sex, race or age.
    permitted_ranges : mapping, optional
        Per feature, a numeric ``(min, max)`` (both included) or a collection of
        allowed categories. Only observed values are tried. A selected row's
        value outside its range may stay.
    k : int, default 3
        Number of counterfactuals.
    max_changes : int, default 3
        Most features changed in one counterfactual.
    stats : DistanceStats, optional
        Output of :func:`analysis.counterfactual.distance_stats`, computed from
        ``frame`` (without ``label``) when not given.
    metric : {"l1", "l2"}, default "l1"
    label : str, optional
        Label column: never changed, and left out for models without names.
    scores : numpy.ndarray, optional
        ``predictor.predict_scores(frame)``, used for the nearest real
        counterfactual when nothing is found. Computed then if not given.
    n_values : int, default 20
        Candidate values per numeric feature in the search step.
    max_exhaustive : int, default 20000
        Largest number of combinations tried exhaustively per number of changes.
    n_samples : int, default 5000
        Random combinations tried per number of changes above that.
    diagnose : bool, default True
        When nothing is found, search again with each constraint relaxed.
    random_state : int, default 0
        Seed of the random combinations.

    Returns
    -------
    CounterfactualSearch

    Raises
    ------
    ModelRequiredError
        If ``predictor`` has no model.
    ValueError
        If a constraint names an unknown feature or the target does not fit the
        task.

    Notes
    -----
    The counterfactuals are the closest found among the candidate values. They
    are exact only when every level was searched exhaustively (``exhaustive`` is
    True) and the refinement's bisection met a monotone model.
    """
    require_model(predictor, "generated counterfactuals")
    if not 0 <= position < len(frame):
        raise IndexError(f"position {position} is out of range for {len(frame)} rows")
    if k < 1 or max_changes < 1:
        raise ValueError(
            f"k and max_changes must be at least 1, got {k}, {max_changes}"
        )
    permitted_ranges = dict(permitted_ranges or {})
    if stats is None:
        stats = distance_stats(frame, exclude=() if label is None else (label,))
    mutable = _mutable_features(
        frame, predictor, stats, immutable, permitted_ranges, label
    )

    query = frame.iloc[[position]].reset_index(drop=True)
    query_scores = predictor.predict_scores(query, label=label)
    target = _make_target(
        predictor, query_scores, desired_class, desired_range, threshold, pos_label
    )
    # NOTE: every generated row is judged at one threshold. With per-slice
    # thresholds the caller passes the selected row's slice's threshold, which is
    # wrong for a counterfactual that moves the row into another slice.
    original_prediction, _ = target.prediction(query_scores, 0)
    settings = _Settings(
        frame=frame,
        position=position,
        predictor=predictor,
        query=query,
        target=target,
        stats=stats,
        metric=metric,
        label=label,
        n_values=n_values,
        max_exhaustive=max_exhaustive,
        n_samples=n_samples,
        random_state=random_state,
    )
    result = CounterfactualSearch(
        position=position,
        target=target.describe(),
        original_prediction=original_prediction,
        counterfactuals=[],
        message=None,
        blocking=[],
        nearest_real=None,
        n_predicted=1,
        exhaustive=True,
    )
    if target.reached(query_scores)[0]:
        return replace(
            result,
            message=f"row {position} already reaches the target ({result.target})",
        )

    outcome = _search(settings, mutable, permitted_ranges, max_changes, k, refine=True)
    counterfactuals = _verified_answers(settings, outcome, mutable, permitted_ranges)
    result = replace(
        result,
        counterfactuals=counterfactuals,
        n_predicted=result.n_predicted + outcome.n_predicted,
        exhaustive=outcome.exhaustive,
    )
    if counterfactuals:
        return result

    blocking, n_diagnosis = ([], 0)
    if diagnose:
        blocking, n_diagnosis = _blocking_constraints(
            settings, mutable, immutable, permitted_ranges, max_changes, label
        )
    return replace(
        result,
        message=_not_found_message(result, blocking, immutable, permitted_ranges),
        blocking=blocking,
        nearest_real=_nearest_real(settings, position, scores),
        n_predicted=result.n_predicted + n_diagnosis,
    )


# --------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True)
class _Settings:
    frame: pd.DataFrame
    position: int
    predictor: Predictor
    query: pd.DataFrame
    target: _Target
    stats: DistanceStats
    metric: str
    label: str | None
    n_values: int
    max_exhaustive: int
    n_samples: int
    random_state: int


@dataclass
class _Outcome:
    space: _Space
    values: np.ndarray
    changed: np.ndarray
    n_predicted: int
    exhaustive: bool


def _mutable_features(
    frame: pd.DataFrame,
    predictor: Predictor,
    stats: DistanceStats,
    immutable: Sequence[str],
    permitted_ranges: Mapping[str, Any],
    label: str | None,
) -> list[str]:
    for name in [*immutable, *permitted_ranges]:
        if name not in frame.columns:
            raise ValueError(
                f"constraint on unknown feature {name!r}; features: "
                f"{', '.join(map(str, stats.features))}"
            )
    for name, permitted in permitted_ranges.items():
        _check_permitted(frame[name], name, permitted)

    inputs = predictor.feature_names or list(frame.columns)
    frozen = set(immutable) | {label}
    return [name for name in stats.features if name in inputs and name not in frozen]


def _check_permitted(column: pd.Series, name: str, permitted: Any) -> None:
    if is_numeric_feature(column):
        if (
            isinstance(permitted, str)
            or not isinstance(permitted, Sequence)
            or len(permitted) != 2
            or not float(permitted[0]) <= float(permitted[1])
        ):
            raise ValueError(
                f"the permitted range of numeric feature {name!r} must be "
                f"(min, max) with min <= max, got {permitted!r}"
            )
    elif isinstance(permitted, str) or not isinstance(permitted, Collection):
        raise ValueError(
            f"the permitted values of categorical feature {name!r} must be a "
            f"collection of categories, got {permitted!r}"
        )


def _search(
    settings: _Settings,
    mutable: list[str],
    permitted_ranges: Mapping[str, Any],
    max_changes: int,
    k: int,
    *,
    refine: bool,
) -> _Outcome:
    """Search every number of changes and return the picked rows, unverified."""
    space = _build_space(
        settings.frame,
        settings.query.iloc[0],
        mutable,
        settings.stats,
        permitted_ranges,
        settings.n_values,
    )
    rng = np.random.default_rng(settings.random_state)
    n_predicted, exhaustive = 0, True
    found_values, found_changed = [], []

    for n_changes in range(1, min(max_changes, space.size) + 1):
        indices, complete = _combinations(space, n_changes, settings, rng)
        exhaustive &= complete
        values, changed = _from_indices(space, indices)
        reached, _ = _predict(settings, space, values, changed)
        n_predicted += len(values)
        found_values.append(values[reached])
        found_changed.append(changed[reached])

    empty = np.empty((0, space.size), dtype=object)
    values = np.concatenate(found_values) if found_values else empty
    changed = np.concatenate(found_changed) if found_changed else empty.astype(bool)
    if len(values) == 0:
        return _Outcome(space, values, changed, n_predicted, exhaustive)

    values, changed = _pool(settings, space, values, changed)
    if refine:
        values, changed, count = _refine(settings, space, values, changed)
        n_predicted += count
    values, changed = _diverse(settings, space, values, changed, k)
    return _Outcome(space, values, changed, n_predicted, exhaustive)


def _combinations(
    space: _Space, n_changes: int, settings: _Settings, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Return candidate index rows (-1 = unchanged) and whether they are all."""
    sizes = np.array([len(values) for values in space.candidate_values])
    if _count_combinations(sizes, n_changes) <= settings.max_exhaustive:
        blocks = []
        for combo in itertools.combinations(range(space.size), n_changes):
            grids = np.meshgrid(*(np.arange(sizes[j]) for j in combo), indexing="ij")
            block = np.full((grids[0].size, space.size), -1, dtype=np.int64)
            for grid, j in zip(grids, combo, strict=True):
                block[:, j] = grid.ravel()
            blocks.append(block)
        return np.concatenate(blocks), True

    n_rows = settings.n_samples
    chosen = rng.random((n_rows, space.size)).argsort(axis=1)[:, :n_changes]
    indices = np.full((n_rows, space.size), -1, dtype=np.int64)
    rows = np.repeat(np.arange(n_rows), n_changes)
    features = chosen.ravel()
    indices[rows, features] = (rng.random(rows.size) * sizes[features]).astype(np.int64)
    return np.unique(indices, axis=0), False


def _count_combinations(sizes: np.ndarray, n_changes: int) -> int:
    """Return the elementary symmetric polynomial e_n of the candidate counts."""
    totals = [1] + [0] * n_changes
    for size in sizes.tolist():
        for order in range(n_changes, 0, -1):
            totals[order] += totals[order - 1] * size
    return totals[n_changes]


def _from_indices(space: _Space, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    changed = indices >= 0
    values = np.empty(indices.shape, dtype=object)
    for j in range(space.size):
        rows = changed[:, j]
        values[rows, j] = space.candidate_values[j][indices[rows, j]]
    return values, changed


def _rows(settings: _Settings, space: _Space, values, changed) -> pd.DataFrame:
    """Build one data row per candidate from the selected row."""
    n_rows = len(values)
    rows = settings.query.iloc[np.zeros(n_rows, dtype=np.int64)].reset_index(drop=True)
    for j, name in enumerate(space.features):
        mask = changed[:, j]
        if not mask.any():
            continue
        column = np.empty(n_rows, dtype=object)
        column[:] = [space.original[j]] * n_rows
        column[mask] = values[mask, j]
        rows[name] = typed_values(column, settings.query[name].dtype)
    return rows


def _predict(settings: _Settings, space: _Space, values, changed):
    if len(values) == 0:
        return np.zeros(0, dtype=bool), np.empty((0,))
    rows = _rows(settings, space, values, changed)
    scores = settings.predictor.predict_scores(rows, label=settings.label)
    return settings.target.reached(scores), scores


def _distance(settings: _Settings, terms: np.ndarray) -> np.ndarray:
    if settings.metric == "l1":
        return terms.sum(axis=1)
    return np.sqrt((terms * terms).sum(axis=1))


def _order(settings: _Settings, space: _Space, values, changed) -> np.ndarray:
    """Return positions sorted by distance, then by number of changes."""
    distance = _distance(settings, space.terms(values, changed))
    return np.lexsort((changed.sum(axis=1), distance))


def _pool(settings: _Settings, space: _Space, values, changed):
    """Keep the closest few candidates of each changed-feature set, up to POOL_SIZE."""
    order = _order(settings, space, values, changed)
    kept, per_set = [], {}
    for row in order:
        key = changed[row].tobytes()
        if per_set.get(key, 0) >= POOL_PER_FEATURE_SET:
            continue
        per_set[key] = per_set.get(key, 0) + 1
        kept.append(row)
        if len(kept) == POOL_SIZE:
            break
    return values[kept], changed[kept]


def _refine(settings: _Settings, space: _Space, values, changed):
    """Revert needless changes, then move numeric changes toward the original.

    Returns the refined candidates followed by the candidates only reverted:
    bisection often turns several candidates into the same closest one, and the
    reverted ones keep the choice of diverse counterfactuals open.
    """
    values, changed = values.copy(), changed.copy()
    n_predicted = _revert_all(settings, space, values, changed)
    reverted_values, reverted_changed = values.copy(), changed.copy()

    # Each candidate's numeric changes, costliest first, are bisected one slot at a
    # time, so the changes bisected together belong to different candidates.
    terms = space.terms(values, changed)
    plans = []
    for candidate in range(len(values)):
        order = np.argsort(-terms[candidate], kind="stable")
        plans.append(
            [
                j
                for j in order
                if changed[candidate, j]
                and space.numeric[j]
                and not space.missing_original[j]
            ]
        )
    for slot in range(max((len(plan) for plan in plans), default=0)):
        jobs = [
            (candidate, plan[slot])
            for candidate, plan in enumerate(plans)
            if slot < len(plan)
        ]
        n_predicted += _bisect(settings, space, values, changed, jobs)

    n_predicted += _revert_all(settings, space, values, changed)
    return (
        np.concatenate([values, reverted_values]),
        np.concatenate([changed, reverted_changed]),
        n_predicted,
    )


def _revert_all(settings: _Settings, space: _Space, values, changed) -> int:
    n_predicted = 0
    while True:
        improved, count = _revert_round(settings, space, values, changed)
        n_predicted += count
        if not improved:
            return n_predicted


def _revert_round(settings: _Settings, space: _Space, values, changed):
    """Revert, in every candidate, the costliest change it does not need."""
    owners, features = np.nonzero(changed)
    if owners.size == 0:
        return False, 0
    variant_values = values[owners].copy()
    variant_changed = changed[owners].copy()
    variant_changed[np.arange(owners.size), features] = False
    reached, _ = _predict(settings, space, variant_values, variant_changed)

    terms = space.terms(values, changed)
    improved = False
    for candidate in np.unique(owners[reached]):
        options = np.flatnonzero(reached & (owners == candidate))
        best = options[np.argmax(terms[candidate, features[options]])]
        changed[candidate, features[best]] = False
        values[candidate, features[best]] = None
        improved = True
    return improved, owners.size


def _bisect(
    settings: _Settings,
    space: _Space,
    values,
    changed,
    jobs: list[tuple[int, int]],
) -> int:
    """Move each job's (candidate, feature) change toward the original by bisection."""
    if not jobs:
        return 0

    # Each job walks the sorted observed values between the original (excluded)
    # and the current value (valid). ``low`` is invalid or the original, ``high``
    # valid; both are positions in the walk, original at 0.
    walks = [_walk(space, j, values[candidate, j]) for candidate, j in jobs]
    low = np.zeros(len(jobs), dtype=np.int64)
    high = np.array([len(walk) - 1 for walk in walks], dtype=np.int64)
    n_predicted = 0
    while True:
        active = np.flatnonzero(high - low > 1)
        if active.size == 0:
            break
        middle = (low[active] + high[active]) // 2
        trial_values = np.stack([values[jobs[i][0]] for i in active]).copy()
        trial_changed = np.stack([changed[jobs[i][0]] for i in active])
        for row, (i, step) in enumerate(zip(active, middle, strict=True)):
            trial_values[row, jobs[i][1]] = walks[i][step]
        reached, _ = _predict(settings, space, trial_values, trial_changed)
        n_predicted += active.size
        high[active[reached]] = middle[reached]
        low[active[~reached]] = middle[~reached]

    for i, (candidate, j) in enumerate(jobs):
        values[candidate, j] = walks[i][high[i]]
    return n_predicted


def _walk(space: _Space, j: int, current: Any) -> list[Any]:
    """Return the original, the observed values strictly between, and ``current``."""
    observed = space.observed[j]
    original = space.original_float[j]
    current_float = float(current)
    low, high = sorted((original, current_float))
    between = observed[(observed > low) & (observed < high)]
    if current_float < original:
        between = between[::-1]
    return [original, *between.tolist(), current]


def _diverse(settings: _Settings, space: _Space, values, changed, k: int):
    """Pick k distinct candidates: closest first, new feature sets, then far apart."""
    values, changed = _unique_rows(space, values, changed)
    order = _order(settings, space, values, changed)
    picked = [order[0]]
    used_sets = {changed[order[0]].tobytes()}
    while len(picked) < min(k, len(order)):
        fresh = [row for row in order if changed[row].tobytes() not in used_sets]
        if fresh:
            choice = fresh[0]
        else:
            rest = [row for row in order if row not in picked]
            spread = [
                min(
                    _pair_distance(settings, space, values, changed, row, other)
                    for other in picked
                )
                for row in rest
            ]
            choice = rest[int(np.argmax(spread))]
        picked.append(choice)
        used_sets.add(changed[choice].tobytes())
    return values[picked], changed[picked]


def _unique_rows(space: _Space, values, changed):
    seen, keep = set(), []
    for row in range(len(values)):
        key = tuple(
            (j, repr(values[row, j])) for j in range(space.size) if changed[row, j]
        )
        if key not in seen:
            seen.add(key)
            keep.append(row)
    return values[keep], changed[keep]


def _pair_distance(settings, space: _Space, values, changed, first, second) -> float:
    terms = []
    for j in range(space.size):
        a = values[first, j] if changed[first, j] else space.original[j]
        b = values[second, j] if changed[second, j] else space.original[j]
        if not (changed[first, j] or changed[second, j]) or a == b:
            continue
        if space.numeric[j]:
            terms.append(abs(float(a) - float(b)) * space.unit_cost[j])
        else:
            terms.append(space.unit_cost[j])
    terms_array = np.array(terms, dtype=float)
    if settings.metric == "l1":
        return float(terms_array.sum())
    return float(np.sqrt((terms_array * terms_array).sum()))


# --------------------------------------------------------------------------------------
# Verification and results


def _verified_answers(
    settings: _Settings,
    outcome: _Outcome,
    mutable: list[str],
    permitted_ranges: Mapping[str, Any],
) -> list[GeneratedCounterfactual]:
    """Predict the counterfactuals again and keep those that reach the target."""
    space = outcome.space
    if len(outcome.values) == 0:
        return []
    rows = _rows(settings, space, outcome.values, outcome.changed)
    scores = settings.predictor.predict_scores(rows, label=settings.label)
    reached = settings.target.reached(scores)
    anchor = settings.query.iloc[0]
    row_distances = distances(rows, anchor, settings.stats, metric=settings.metric)

    counterfactuals = []
    for i in range(len(rows)):
        changes = _changes(settings.query, rows.iloc[[i]])
        violation = _constraint_violation(
            changes, mutable, permitted_ranges, settings.stats.numeric_std
        )
        if not reached[i] or violation:
            logger.warning(
                "Dropped a generated counterfactual of row %s: %s",
                settings.position,
                violation or "it does not reach the target when predicted again",
            )
            continue
        prediction, score = settings.target.prediction(scores, i)
        counterfactuals.append(
            GeneratedCounterfactual(
                row=rows.iloc[[i]].reset_index(drop=True),
                changes=changes,
                distance=float(row_distances[i]),
                prediction=prediction,
                score=score,
            )
        )
    return counterfactuals


def _changes(query: pd.DataFrame, row: pd.DataFrame) -> tuple[FeatureChange, ...]:
    changes = []
    for name in query.columns:
        old, new = query[name].iloc[0], row[name].iloc[0]
        if _is_missing(old) and _is_missing(new):
            continue
        if _is_missing(old) != _is_missing(new) or old != new:
            changes.append(FeatureChange(name, _python(old), _python(new)))
    return tuple(changes)


def _constraint_violation(
    changes: tuple[FeatureChange, ...],
    mutable: list[str],
    permitted_ranges: Mapping[str, Any],
    numeric: Collection[str],
) -> str | None:
    for change in changes:
        if change.feature not in mutable:
            return f"{change.feature!r} may not change"
        permitted = permitted_ranges.get(change.feature)
        if permitted is None:
            continue
        if change.feature in numeric:
            low, high = permitted
            if not low <= change.new <= high:
                return f"{change.feature!r} = {change.new} is outside {permitted}"
        elif change.new not in set(permitted):
            return f"{change.feature!r} = {change.new!r} is not permitted"
    return None


def _blocking_constraints(
    settings: _Settings,
    mutable: list[str],
    immutable: Sequence[str],
    permitted_ranges: Mapping[str, Any],
    max_changes: int,
    label: str | None,
) -> tuple[list[BlockingConstraint], int]:
    """Search with each constraint relaxed in turn and name those that block."""
    relaxations = []
    for name in immutable:
        if name in settings.stats.features and name != label:
            unfrozen = [f for f in settings.stats.features if f in mutable or f == name]
            relaxations.append(
                (
                    BlockingConstraint(
                        "immutable",
                        name,
                        f"no counterfactual while {name!r} is immutable",
                    ),
                    unfrozen,
                    permitted_ranges,
                    max_changes,
                )
            )
    for name, permitted in permitted_ranges.items():
        relaxed = {key: value for key, value in permitted_ranges.items() if key != name}
        relaxations.append(
            (
                BlockingConstraint(
                    "range",
                    name,
                    f"no counterfactual while {name!r} is limited to "
                    f"{_describe(permitted)}",
                ),
                mutable,
                relaxed,
                max_changes,
            )
        )
    if max_changes < len(mutable):
        relaxations.append(
            (
                BlockingConstraint(
                    "max_changes",
                    None,
                    f"no counterfactual with at most {max_changes} changed "
                    f"feature{'s' if max_changes > 1 else ''}",
                ),
                mutable,
                permitted_ranges,
                len(mutable),
            )
        )

    blocking, n_predicted = [], 0
    for constraint, features, ranges, changes in relaxations:
        outcome = _search(settings, features, ranges, changes, 1, refine=False)
        n_predicted += outcome.n_predicted
        if len(outcome.values):
            blocking.append(constraint)
    return blocking, n_predicted


def _not_found_message(
    result: CounterfactualSearch,
    blocking: list[BlockingConstraint],
    immutable: Sequence[str],
    permitted_ranges: Mapping[str, Any],
) -> str:
    searched = (
        f"No generated counterfactual reaches the target ({result.target}) "
        f"among {result.n_predicted:,} rows tried"
    )
    if blocking:
        reasons = "; ".join(constraint.message for constraint in blocking)
        return f"{searched}: {reasons}."
    if immutable or permitted_ranges:
        return (
            f"{searched}, nor with any single constraint relaxed. Relax several "
            "constraints, or allow more changed features."
        )
    return f"{searched}. The model may not reach the target near this row."


def _nearest_real(
    settings: _Settings, position: int, scores: np.ndarray | None
) -> Counterfactual | None:
    if scores is None:
        logger.info(
            "Scoring %d rows for the nearest real counterfactual", len(settings.frame)
        )
        scores = settings.predictor.predict_scores(settings.frame, label=settings.label)
    reached = settings.target.reached(np.asarray(scores))
    return nearest_counterfactual(
        settings.frame,
        position,
        reached,
        stats=settings.stats,
        metric=settings.metric,
    )


def _describe(permitted: Any) -> str:
    if (
        isinstance(permitted, Sequence)
        and len(permitted) == 2
        and all(isinstance(bound, int | float) for bound in permitted)
    ):
        return f"[{permitted[0]:g}, {permitted[1]:g}]"
    return "{" + ", ".join(map(repr, permitted)) + "}"


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
