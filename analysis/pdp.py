"""Partial dependence and ICE lines for one or two models, on grids from whole columns.

A partial dependence line shows how a model's output changes when one feature is set
to each value of a grid while the other features keep each row's values. The line
of a single row is its individual conditional expectation (ICE) line. The global
line is the mean of the ICE lines over the rows. The output is the score of a
chosen class for a classifier (the positive class by default for a binary model)
and the prediction for a regressor.

The What-If Tool takes the grid and the eligible features from the first 50 rows
only (``NUM_EXAMPLES_FOR_MUTANT_ANALYSIS`` in witwidget/notebook/base.py of
PAIR-code/what-if-tool), so a category first seen later never appears. Here the
grid comes from the whole column. The global line averages over a seeded random
sample of rows (1,000 by default), and the result states the sample size.

Every grid point of every sampled row becomes one row of a single frame, predicted
with one call of ``Predictor.predict_scores`` per model and block of rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.editor import is_numeric_feature
from analysis.models import Predictor
from analysis.predictions_only import require_model
from analysis.sources import positive_index

logger = logging.getLogger(__name__)

GRID_METHODS = ("quantile", "uniform")
DEFAULT_MODEL_NAME = "model"

# Rows per predict_scores call when a large sample or many features are evaluated.
# It bounds the memory of the mutated frame: about 200 MB for 200,000 rows of 15
# Adult-like columns.
MAX_PREDICTED_ROWS = 200_000


@dataclass(frozen=True)
class PartialDependence:
    """Partial dependence of the model output on one feature.

    Attributes
    ----------
    feature : str
        The varied feature.
    kind : {"numeric", "categorical"}
        Numeric grids are sorted values. Categorical grids are ordered by count.
    grid : numpy.ndarray
        Values the feature was set to, shape ``(n_points,)``.
    average : dict of str to numpy.ndarray
        Per model name, the mean output over the rows at each grid value, shape
        ``(n_points,)``. For a single row this is the row's ICE line.
    individual : dict of str to numpy.ndarray
        Per model name, the ICE lines of the rows in ``ice_positions``, shape
        ``(len(ice_positions), n_points)``.
    ice_positions : numpy.ndarray
        Row positions of the ICE lines.
    position : int or None
        The selected row for a single-row result, None for a global one.
    n_rows : int
        Number of rows averaged.
    n_total : int
        Number of rows in the data.
    random_state : int or None
        Seed of the row sample, None when every row was used.
    centered : bool
        Whether every line was shifted to start at 0 at the first grid value.
    output : str
        What the y values are, such as ``"score of '>50K'"`` or ``"prediction"``.
    variation : float
        How much the output varies along the grid, the maximum over models: the
        total variation ``sum |y[i+1] - y[i]|`` for a numeric feature and
        ``max - min`` for a categorical one, as the What-If Tool sorts features.
    """

    feature: str
    kind: str
    grid: np.ndarray
    average: dict[str, np.ndarray]
    individual: dict[str, np.ndarray]
    ice_positions: np.ndarray
    position: int | None
    n_rows: int
    n_total: int
    random_state: int | None
    centered: bool
    output: str
    variation: float

    @property
    def sampled(self) -> bool:
        """Whether the average is over a sample of the rows, not all of them."""
        return self.position is None and self.n_rows < self.n_total

    @property
    def description(self) -> str:
        """A sentence saying which rows the line is computed over."""
        if self.position is not None:
            return f"ICE line of row {self.position}"
        if self.sampled:
            return (
                f"mean over a random sample of {self.n_rows:,} of {self.n_total:,} "
                f"rows (seed {self.random_state})"
            )
        return f"mean over all {self.n_total:,} rows"

    def to_frame(self) -> pd.DataFrame:
        """Return the average lines in long form: model, value, output."""
        parts = [
            pd.DataFrame({"model": name, "value": self.grid, "output": line})
            for name, line in self.average.items()
        ]
        return pd.concat(parts, ignore_index=True)

    def ice_frame(self) -> pd.DataFrame:
        """Return the ICE lines in long form: model, position, value, output."""
        parts = []
        n_points = len(self.grid)
        for name, lines in self.individual.items():
            parts.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "position": np.repeat(self.ice_positions, n_points),
                        "value": np.tile(self.grid, len(self.ice_positions)),
                        "output": lines.reshape(-1),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class PartialDependence2D:
    """Partial dependence of the model output on two features together.

    Attributes
    ----------
    features : tuple of str
        The two varied features, x first.
    kinds : tuple of str
        ``"numeric"`` or ``"categorical"`` for each feature.
    grids : tuple of numpy.ndarray
        Grid of each feature.
    values : dict of str to numpy.ndarray
        Per model name, the mean output, shape ``(len(grids[0]), len(grids[1]))``.
    position : int or None
        The selected row for a single-row result, None for a global one.
    n_rows : int
        Number of rows averaged.
    n_total : int
        Number of rows in the data.
    random_state : int or None
        Seed of the row sample, None when every row was used.
    output : str
        What the values are, as in :class:`PartialDependence`.
    """

    features: tuple[str, str]
    kinds: tuple[str, str]
    grids: tuple[np.ndarray, np.ndarray]
    values: dict[str, np.ndarray]
    position: int | None
    n_rows: int
    n_total: int
    random_state: int | None
    output: str

    def to_frame(self) -> pd.DataFrame:
        """Return the heatmap cells in long form: model, x, y, output."""
        x_grid, y_grid = self.grids
        parts = [
            pd.DataFrame(
                {
                    "model": name,
                    "x": np.repeat(x_grid, len(y_grid)),
                    "y": np.tile(y_grid, len(x_grid)),
                    "output": table.reshape(-1),
                }
            )
            for name, table in self.values.items()
        ]
        return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------
# Grids


def feature_grid(
    column: pd.Series,
    *,
    method: str = "quantile",
    n_points: int = 10,
    top_k: int = 10,
    include: Sequence[Any] = (),
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Choose the values a feature is set to, from the whole column.

    Numeric columns (booleans are categorical): with ``method="quantile"`` the
    values at ``n_points`` evenly spaced quantiles from 0 to 1 of the finite
    values, and with ``"uniform"`` ``n_points`` evenly spaced values from the
    minimum to the maximum. An integer column gets its values rounded. Repeated
    values are dropped, so a column with few distinct values gives fewer points.
    Categorical columns: the ``top_k`` most frequent values, most frequent first,
    then each value of ``include`` that is not among them.

    Parameters
    ----------
    column : pandas.Series
        The whole column.
    method : {"quantile", "uniform"}, default "quantile"
        Numeric grid spacing.
    n_points : int, default 10
        Numeric grid size before repeated values are dropped; at least 2.
    top_k : int, default 10
        Number of most frequent categories; at least 1.
    include : sequence, default ()
        Values added to a categorical grid, such as the selected row's value.
        Missing values are ignored.
    value_range : tuple of float, optional
        A numeric ``(min, max)`` to use in place of the column's range; the grid
        is then evenly spaced whatever ``method`` is.

    Returns
    -------
    numpy.ndarray
        Sorted floats (int64 for an integer column) or an object array of
        categories. Empty when the column has no usable value.
    """
    if method not in GRID_METHODS:
        raise ValueError(f"method must be one of {GRID_METHODS}, got {method!r}")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")

    if is_numeric_feature(column):
        return _numeric_grid(column, method, n_points, value_range)
    return _categorical_grid(column, top_k, include)


def _numeric_grid(
    column: pd.Series,
    method: str,
    n_points: int,
    value_range: tuple[float, float] | None,
) -> np.ndarray:
    if value_range is not None:
        low, high = (float(bound) for bound in value_range)
        if not low <= high:
            raise ValueError(f"value_range must be (min, max), got {value_range}")
        grid = np.linspace(low, high, n_points)
    else:
        values = column.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.empty(0, dtype=float)
        if method == "quantile":
            grid = np.quantile(finite, np.linspace(0.0, 1.0, n_points))
        else:
            grid = np.linspace(finite.min(), finite.max(), n_points)

    if pd.api.types.is_integer_dtype(column.dtype):
        return np.unique(np.round(grid)).astype(np.int64)
    return np.unique(grid)


def _categorical_grid(
    column: pd.Series, top_k: int, include: Sequence[Any]
) -> np.ndarray:
    counts = column.value_counts(dropna=True)
    # A pandas Categorical lists its unused categories with a count of 0.
    counts = counts[counts > 0]
    values = counts.index[:top_k].tolist()
    for value in include:
        if not _is_missing(value) and value not in values:
            values.append(value)

    grid = np.empty(len(values), dtype=object)
    grid[:] = values
    return grid


# --------------------------------------------------------------------------------------
# Public computations


def partial_dependence(
    frame: pd.DataFrame,
    models: Predictor | Mapping[str, Predictor],
    feature: str,
    *,
    position: int | None = None,
    grid: Sequence[Any] | np.ndarray | None = None,
    method: str = "quantile",
    n_points: int = 10,
    top_k: int = 10,
    value_range: tuple[float, float] | None = None,
    sample_size: int | None = 1000,
    n_ice: int = 50,
    centered: bool = False,
    target_class: Any = None,
    label: str | None = None,
    random_state: int = 0,
) -> PartialDependence:
    """Compute the partial dependence of each model's output on one feature.

    With ``position`` it is the ICE line of that row, and a categorical grid
    also contains the row's own value. Without it, the mean over a random sample
    of ``sample_size`` rows (all rows when there are no more than that), plus
    the ICE lines of ``n_ice`` of the sampled rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data. Grids come from its whole columns.
    models : Predictor or mapping of str to Predictor
        One model, or models by display name (one line each). Every model must
        have the same task.
    feature : str
        The column to vary.
    position : int, optional
        Row position of the selected row, for its ICE line.
    grid : array-like, optional
        Values to use in place of :func:`feature_grid`'s.
    method, n_points, top_k, value_range
        Grid options, see :func:`feature_grid`.
    sample_size : int or None, default 1000
        Rows averaged for the global line. None averages over every row, at a
        cost of ``len(frame) * n_points`` predictions per model.
    n_ice : int, default 50
        Number of sampled rows whose ICE lines are returned with a global line.
    centered : bool, default False
        Subtract each line's value at the first grid point, so every line starts
        at 0, as ``centered=True`` does in scikit-learn's
        ``PartialDependenceDisplay``.
    target_class : object, optional
        Class whose score is the output. Defaults to ``classes[1]`` for a binary
        model and is required for a multiclass one. Ignored for regression.
    label : str, optional
        Label column, left out for models without feature names.
    random_state : int, default 0
        Seed of the row sample.

    Returns
    -------
    PartialDependence

    Raises
    ------
    ModelRequiredError
        If a model is a predictions-only stand-in.
    ValueError
        If the feature is unknown or has no usable value, or the models differ
        in task.
    """
    results = partial_dependence_all(
        frame,
        models,
        [feature],
        position=position,
        grids=None if grid is None else {feature: grid},
        method=method,
        n_points=n_points,
        top_k=top_k,
        value_ranges=None if value_range is None else {feature: value_range},
        sample_size=sample_size,
        n_ice=n_ice,
        centered=centered,
        target_class=target_class,
        label=label,
        random_state=random_state,
        sort_by_variation=False,
    )
    if not results:
        raise ValueError(f"feature {feature!r} has no usable value to vary")
    return results[0]


def partial_dependence_all(
    frame: pd.DataFrame,
    models: Predictor | Mapping[str, Predictor],
    features: Sequence[str] | None = None,
    *,
    position: int | None = None,
    grids: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    method: str = "quantile",
    n_points: int = 10,
    top_k: int = 10,
    value_ranges: Mapping[str, tuple[float, float]] | None = None,
    sample_size: int | None = 1000,
    n_ice: int = 50,
    centered: bool = False,
    target_class: Any = None,
    label: str | None = None,
    random_state: int = 0,
    sort_by_variation: bool = True,
) -> list[PartialDependence]:
    """Compute the partial dependence on every feature, sorted by variation.

    All features share one row sample, and each block of rows is predicted in one
    call per model. Parameters are those of :func:`partial_dependence`, per feature
    where they are mappings.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    models : Predictor or mapping of str to Predictor
        One model, or models by display name.
    features : sequence of str, optional
        Features to vary. By default every model input: the models' feature
        names, or every column except ``label``. Features without a usable
        value are skipped and logged.
    sort_by_variation : bool, default True
        Sort the results by ``variation``, largest first. Ties keep the feature
        order.

    Returns
    -------
    list of PartialDependence
    """
    predictors = _named_models(models)
    outputs = {name: _output_index(p, target_class) for name, p in predictors.items()}
    output_text = _output_description(next(iter(predictors.values())), target_class)
    features = _features_to_vary(frame, predictors, features, label)

    positions, ice_positions = _rows_to_predict(
        len(frame), position, sample_size, n_ice, random_state
    )
    specs = []
    for name in features:
        include = () if position is None else (frame[name].iloc[position],)
        values = _grid_for(
            frame, name, grids, method, n_points, top_k, value_ranges, include
        )
        if values.size == 0:
            logger.info("Partial dependence skips %r: it has no usable value", name)
            continue
        specs.append(((name,), (values,)))

    lines = _predict_specs(frame, predictors, outputs, specs, positions, label)

    results = []
    for (feature_names, (values,)), per_model in zip(specs, lines, strict=True):
        results.append(
            _one_feature_result(
                frame,
                feature_names[0],
                values,
                per_model,
                positions,
                ice_positions,
                position,
                sample_size,
                random_state,
                centered,
                output_text,
            )
        )

    if sort_by_variation:
        results.sort(key=lambda result: -result.variation)
    return results


def partial_dependence_2d(
    frame: pd.DataFrame,
    models: Predictor | Mapping[str, Predictor],
    features: tuple[str, str],
    *,
    position: int | None = None,
    grids: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    method: str = "quantile",
    n_points: int = 10,
    top_k: int = 10,
    sample_size: int | None = 1000,
    target_class: Any = None,
    label: str | None = None,
    random_state: int = 0,
) -> PartialDependence2D:
    """Compute the two-feature partial dependence, for a heatmap of grid x grid.

    Each row is predicted at every pair of grid values, so the cost is
    ``n_rows * len(grid_x) * len(grid_y)`` predictions per model.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    models : Predictor or mapping of str to Predictor
        One model, or models by display name.
    features : tuple of str
        The two features, x first. They must differ.
    position : int, optional
        The selected row, for its own surface. Otherwise the mean over a sample.
    grids : mapping of str to array-like, optional
        Grids to use in place of :func:`feature_grid`'s.
    method, n_points, top_k
        Grid options, see :func:`feature_grid`.
    sample_size : int or None, default 1000
        Rows averaged, as in :func:`partial_dependence`.
    target_class, label, random_state
        As in :func:`partial_dependence`.

    Returns
    -------
    PartialDependence2D
    """
    first, second = features
    if first == second:
        raise ValueError(f"the two features must differ, got {first!r} twice")
    predictors = _named_models(models)
    outputs = {name: _output_index(p, target_class) for name, p in predictors.items()}
    output_text = _output_description(next(iter(predictors.values())), target_class)
    _features_to_vary(frame, predictors, [first, second], label)

    positions, _ = _rows_to_predict(len(frame), position, sample_size, 0, random_state)
    include: dict[str, tuple[Any, ...]] = {first: (), second: ()}
    if position is not None:
        include = {name: (frame[name].iloc[position],) for name in (first, second)}
    x_grid, y_grid = (
        _grid_for(frame, name, grids, method, n_points, top_k, None, include[name])
        for name in (first, second)
    )
    for name, values in ((first, x_grid), (second, y_grid)):
        if values.size == 0:
            raise ValueError(f"feature {name!r} has no usable value to vary")

    # Every (x, y) pair is one grid point, x-major.
    x_values = np.repeat(x_grid, len(y_grid))
    y_values = np.tile(y_grid, len(x_grid))
    spec = ((first, second), (x_values, y_values))
    (per_model,) = _predict_specs(frame, predictors, outputs, [spec], positions, label)

    values = {
        name: lines.mean(axis=0).reshape(len(x_grid), len(y_grid))
        for name, lines in per_model.items()
    }
    return PartialDependence2D(
        features=(first, second),
        kinds=(_kind(frame[first]), _kind(frame[second])),
        grids=(x_grid, y_grid),
        values=values,
        position=position,
        n_rows=len(positions),
        n_total=len(frame),
        random_state=_seed_used(len(frame), position, sample_size, random_state),
        output=output_text,
    )


# --------------------------------------------------------------------------------------
# Helpers


def _named_models(models: Predictor | Mapping[str, Predictor]) -> dict[str, Predictor]:
    if isinstance(models, Mapping):
        predictors = dict(models)
    else:
        predictors = {DEFAULT_MODEL_NAME: models}
    if not predictors:
        raise ValueError("models is empty; pass at least one Predictor")

    for predictor in predictors.values():
        require_model(predictor, "partial dependence")
    tasks = {predictor.task for predictor in predictors.values()}
    if len(tasks) > 1:
        raise ValueError(
            f"the models have different tasks ({', '.join(sorted(tasks))}); "
            "compare models of the same task"
        )
    return predictors


def _output_index(predictor: Predictor, target_class: Any) -> int | None:
    """Return the score column used as the output, or None for regression."""
    if predictor.task == "regression":
        return None
    classes = list(predictor.classes or ())
    if target_class is None:
        if predictor.task == "binary":
            return 1
        raise ValueError(
            f"a multiclass model needs target_class, one of {classes}, to choose "
            "whose score to show"
        )
    return positive_index(classes, target_class)


def _output_description(predictor: Predictor, target_class: Any) -> str:
    if predictor.task == "regression":
        return "prediction"
    name = target_class if target_class is not None else predictor.classes[1]
    return f"score of {name!r}"


def _features_to_vary(
    frame: pd.DataFrame,
    predictors: Mapping[str, Predictor],
    features: Sequence[str] | None,
    label: str | None,
) -> list[str]:
    if features is None:
        inputs: list[str] = []
        for predictor in predictors.values():
            names = predictor.feature_names or [c for c in frame if c != label]
            inputs.extend(name for name in names if name not in inputs)
        return inputs

    unknown = [name for name in features if name not in frame.columns]
    if unknown:
        raise ValueError(
            f"features not in the data: {', '.join(map(repr, unknown))}. "
            f"Columns: {', '.join(map(str, frame.columns))}"
        )
    if label is not None and label in features:
        raise ValueError(f"{label!r} is the label column; it cannot be varied")
    return list(features)


def _rows_to_predict(
    n_total: int,
    position: int | None,
    sample_size: int | None,
    n_ice: int,
    random_state: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions to average and the positions whose ICE lines to keep."""
    if position is not None:
        if not 0 <= position < n_total:
            raise IndexError(f"position {position} is out of range for {n_total} rows")
        selected = np.array([position])
        return selected, selected
    if n_total == 0:
        raise ValueError("the data has no rows")
    if sample_size is not None and sample_size < 1:
        raise ValueError(f"sample_size must be at least 1 or None, got {sample_size}")
    if n_ice < 0:
        raise ValueError(f"n_ice must be at least 0, got {n_ice}")

    rng = np.random.default_rng(random_state)
    if sample_size is None or n_total <= sample_size:
        positions = np.arange(n_total)
    else:
        positions = np.sort(rng.choice(n_total, size=sample_size, replace=False))
    ice = np.sort(rng.permutation(positions)[: min(n_ice, len(positions))])
    return positions, ice


def _seed_used(
    n_total: int, position: int | None, sample_size: int | None, random_state: int
) -> int | None:
    if position is not None or sample_size is None or n_total <= sample_size:
        return None
    return random_state


def _grid_for(
    frame: pd.DataFrame,
    feature: str,
    grids: Mapping[str, Sequence[Any] | np.ndarray] | None,
    method: str,
    n_points: int,
    top_k: int,
    value_ranges: Mapping[str, tuple[float, float]] | None,
    include: Sequence[Any],
) -> np.ndarray:
    column = frame[feature]
    if grids is not None and feature in grids:
        given = grids[feature]
        if is_numeric_feature(column):
            return np.asarray(given)
        values = np.empty(len(given), dtype=object)
        values[:] = list(given)
        return values
    value_range = None if value_ranges is None else value_ranges.get(feature)
    return feature_grid(
        column,
        method=method,
        n_points=n_points,
        top_k=top_k,
        include=include,
        value_range=value_range,
    )


def _predict_specs(
    frame: pd.DataFrame,
    predictors: Mapping[str, Predictor],
    outputs: Mapping[str, int | None],
    specs: list[tuple[tuple[str, ...], tuple[np.ndarray, ...]]],
    positions: np.ndarray,
    label: str | None,
) -> list[dict[str, np.ndarray]]:
    """Predict every row of ``positions`` at every grid point of every spec.

    A spec is a tuple of features and one array of values per feature, all of the
    same length: grid point ``j`` sets each feature to its ``values[j]``. Returns,
    per spec, the outputs by model name, shape ``(len(positions), n_points)``.
    """
    sizes = [len(values[0]) for _, values in specs]
    total_points = sum(sizes)
    if total_points == 0:
        return [{} for _ in specs]
    block = max(1, MAX_PREDICTED_ROWS // total_points)

    collected: list[dict[str, list[np.ndarray]]] = [
        {name: [] for name in predictors} for _ in specs
    ]
    for start in range(0, len(positions), block):
        base = frame.iloc[positions[start : start + block]].reset_index(drop=True)
        mutated = _mutated_frame(base, specs, sizes)
        for name, predictor in predictors.items():
            flat = _output_values(
                predictor.predict_scores(mutated, label=label), outputs[name]
            )
            offset = 0
            for spec_index, size in enumerate(sizes):
                part = flat[offset * len(base) : (offset + size) * len(base)]
                # Rows are grid-point-major: point j occupies rows j*m .. j*m+m-1.
                collected[spec_index][name].append(part.reshape(size, len(base)).T)
                offset += size

    return [
        {name: np.concatenate(blocks, axis=0) for name, blocks in per_model.items()}
        for per_model in collected
    ]


def _mutated_frame(
    base: pd.DataFrame,
    specs: list[tuple[tuple[str, ...], tuple[np.ndarray, ...]]],
    sizes: list[int],
) -> pd.DataFrame:
    """Repeat ``base`` once per grid point and set the varied features."""
    n_rows = len(base)
    total_points = sum(sizes)
    mutated = base.iloc[np.tile(np.arange(n_rows), total_points)].reset_index(drop=True)

    changed: dict[str, np.ndarray] = {}
    offset = 0
    for (features, values), size in zip(specs, sizes, strict=True):
        rows = slice(offset * n_rows, (offset + size) * n_rows)
        for name, feature_values in zip(features, values, strict=True):
            if name not in changed:
                changed[name] = np.tile(base[name].to_numpy(dtype=object), total_points)
            changed[name][rows] = np.repeat(feature_values, n_rows)
        offset += size

    for name, column in changed.items():
        mutated[name] = typed_values(column, base[name].dtype)
    return mutated


def typed_values(values: np.ndarray | Sequence[Any], dtype: Any) -> Any:
    """Convert values to a column's dtype, so the model receives the dataset's dtypes.

    Parameters
    ----------
    values : array-like
        New values of the column.
    dtype : dtype
        The column's dtype.

    Returns
    -------
    numpy.ndarray or pandas extension array
        An array that can be assigned to the column without changing its dtype.
        Values that a pandas Categorical does not list become missing.
    """
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(values, dtype=dtype)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return np.asarray(values).astype(dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return np.asarray(values, dtype=float).astype(dtype)
    return pd.array(np.asarray(values, dtype=object), dtype=dtype)


def _output_values(scores: np.ndarray, index: int | None) -> np.ndarray:
    return scores if index is None else scores[:, index]


def _one_feature_result(
    frame: pd.DataFrame,
    feature: str,
    grid: np.ndarray,
    per_model: Mapping[str, np.ndarray],
    positions: np.ndarray,
    ice_positions: np.ndarray,
    position: int | None,
    sample_size: int | None,
    random_state: int,
    centered: bool,
    output: str,
) -> PartialDependence:
    kind = _kind(frame[feature])
    ice_rows = np.searchsorted(positions, ice_positions)

    average: dict[str, np.ndarray] = {}
    individual: dict[str, np.ndarray] = {}
    for name, lines in per_model.items():
        mean_line = lines.mean(axis=0)
        ice_lines = lines[ice_rows]
        if centered:
            mean_line = mean_line - mean_line[0]
            ice_lines = ice_lines - ice_lines[:, :1]
        average[name] = mean_line
        individual[name] = ice_lines

    return PartialDependence(
        feature=feature,
        kind=kind,
        grid=grid,
        average=average,
        individual=individual,
        ice_positions=ice_positions,
        position=position,
        n_rows=len(positions),
        n_total=len(frame),
        random_state=_seed_used(len(frame), position, sample_size, random_state),
        centered=centered,
        output=output,
        variation=max(_variation(line, kind) for line in average.values()),
    )


def _variation(line: np.ndarray, kind: str) -> float:
    if line.size < 2:
        return 0.0
    if kind == "numeric":
        return float(np.nansum(np.abs(np.diff(line))))
    return float(np.nanmax(line) - np.nanmin(line))


def _kind(column: pd.Series) -> str:
    return "numeric" if is_numeric_feature(column) else "categorical"


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
