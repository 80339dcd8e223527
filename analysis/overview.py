"""Features overview: per-feature statistics, problem flags and dataset comparison.

Numeric features (booleans are categorical) get count, missing, mean, standard
deviation, share of zeros, minimum, median, maximum and a histogram. Categorical
features get count, missing, distinct values, the top value with its frequency,
and bar chart data. Model outputs are features too once
:func:`add_model_outputs` has added them as columns.

Two datasets are compared per feature on shared bins: the population stability
index (PSI) and the Jensen-Shannon distance.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from analysis.editor import is_numeric_feature
from analysis.model_outputs import model_outputs
from analysis.models import Predictor

logger = logging.getLogger(__name__)

NUMERIC_COLUMNS = (
    "feature",
    "count",
    "missing",
    "missing_pct",
    "mean",
    "std",
    "zeros_pct",
    "min",
    "median",
    "max",
    "flags",
)
CATEGORICAL_COLUMNS = (
    "feature",
    "count",
    "missing",
    "missing_pct",
    "unique",
    "top",
    "top_count",
    "top_pct",
    "flags",
)

# Thresholds of the problem flags. They are Runlens's own choices: Facets Overview
# highlights problem statistics in red without documenting its limits.
MANY_MISSING_SHARE = 0.05
MOSTLY_ZEROS_SHARE = 0.5
HIGH_CARDINALITY = 100
DOMINANT_SHARE = 0.95

FLAG_DESCRIPTIONS = {
    "all_missing": "every value is missing",
    "many_missing": f"at least {MANY_MISSING_SHARE:.0%} of the values are missing",
    "constant": "a single distinct value",
    "mostly_zeros": f"at least {MOSTLY_ZEROS_SHARE:.0%} of the values are 0",
    "infinite": "contains infinite values",
    "high_cardinality": f"more than {HIGH_CARDINALITY} distinct values",
    "all_unique": "every value is distinct, like an id",
    "dominant_value": f"one value makes up at least {DOMINANT_SHARE:.0%}",
}

# PSI limits. Conventions differ: 0.1 and 0.2 (CapyMOA's PSI drift detector,
# citing Wu and Olson 2010) or 0.1 and 0.25 (many credit-scoring texts).
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.2
# Share that replaces an empty bin's 0 in the PSI, whose log ratio is undefined at 0.
PSI_EPSILON = 1e-4
MISSING_BIN = "(missing)"


@dataclass(frozen=True)
class FeaturesOverview:
    """Statistics of every feature of one dataset.

    Attributes
    ----------
    numeric : pandas.DataFrame
        One row per numeric feature, columns ``NUMERIC_COLUMNS``. Percentages are
        0-100. ``flags`` is a tuple of keys of ``FLAG_DESCRIPTIONS``.
    categorical : pandas.DataFrame
        One row per categorical feature, columns ``CATEGORICAL_COLUMNS``.
    histograms : dict of str to pandas.DataFrame
        Per numeric feature: ``bin_start``, ``bin_end``, ``count`` of equal-width
        bins between the minimum and the maximum of the finite values.
    bars : dict of str to pandas.DataFrame
        Per categorical feature: ``value``, ``count``, ``share`` of its most
        frequent values, most frequent first.
    n_rows : int
        Rows in the dataset.
    """

    numeric: pd.DataFrame
    categorical: pd.DataFrame
    histograms: dict[str, pd.DataFrame]
    bars: dict[str, pd.DataFrame]
    n_rows: int


def features_overview(
    frame: pd.DataFrame,
    features: Sequence[str] | None = None,
    *,
    bins: int = 10,
    top_n: int = 10,
) -> FeaturesOverview:
    """Compute the overview statistics of every feature.

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset, with model outputs added as columns if wanted.
    features : sequence of str, optional
        Columns to describe, all by default, in this order.
    bins : int, default 10
        Histogram bins per numeric feature.
    top_n : int, default 10
        Values per categorical bar chart.

    Returns
    -------
    FeaturesOverview

    Notes
    -----
    ``count`` is the number of non-missing values and ``missing_pct`` the share
    of missing values in all rows. Mean, standard deviation (``ddof=1``, as
    pandas), median, minimum and maximum are over the finite values.
    ``zeros_pct`` is the share of zeros among the non-missing values.
    """
    if bins < 1 or top_n < 1:
        raise ValueError(f"bins and top_n must be at least 1, got {bins}, {top_n}")
    names = list(frame.columns) if features is None else list(features)
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        raise ValueError(f"features not in the data: {', '.join(map(repr, unknown))}")

    numeric_rows, categorical_rows = [], []
    histograms, bars = {}, {}
    for name in names:
        column = frame[name]
        if is_numeric_feature(column):
            row, histogram = _numeric_summary(name, column, bins)
            numeric_rows.append(row)
            histograms[name] = histogram
        else:
            row, bar = _categorical_summary(name, column, top_n)
            categorical_rows.append(row)
            bars[name] = bar

    return FeaturesOverview(
        numeric=pd.DataFrame(numeric_rows, columns=list(NUMERIC_COLUMNS)),
        categorical=pd.DataFrame(categorical_rows, columns=list(CATEGORICAL_COLUMNS)),
        histograms=histograms,
        bars=bars,
        n_rows=len(frame),
    )


def _numeric_summary(
    name: str, column: pd.Series, bins: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    values = column.to_numpy(dtype=float, na_value=np.nan)
    n_rows = values.size
    missing = int(np.count_nonzero(np.isnan(values)))
    present = n_rows - missing
    finite = values[np.isfinite(values)]
    zeros = int(np.count_nonzero(finite == 0))

    row = {
        "feature": name,
        "count": present,
        "missing": missing,
        "missing_pct": _percent(missing, n_rows),
        "mean": float(finite.mean()) if finite.size else np.nan,
        "std": float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
        "zeros_pct": _percent(zeros, present),
        "min": float(finite.min()) if finite.size else np.nan,
        "median": float(np.median(finite)) if finite.size else np.nan,
        "max": float(finite.max()) if finite.size else np.nan,
    }

    flags = _missing_flags(missing, n_rows)
    if finite.size and finite.min() == finite.max():
        flags.append("constant")
    if present and zeros / present >= MOSTLY_ZEROS_SHARE:
        flags.append("mostly_zeros")
    if finite.size < present:
        flags.append("infinite")
    row["flags"] = tuple(flags)
    return row, _histogram(finite, bins)


def _histogram(finite: np.ndarray, bins: int) -> pd.DataFrame:
    if finite.size == 0:
        return pd.DataFrame({"bin_start": [], "bin_end": [], "count": []})
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        counts, edges = np.array([finite.size]), np.array([low, high])
    else:
        counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return pd.DataFrame(
        {"bin_start": edges[:-1], "bin_end": edges[1:], "count": counts}
    )


def _categorical_summary(
    name: str, column: pd.Series, top_n: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    n_rows = len(column)
    counts = column.value_counts(dropna=True)
    # A pandas Categorical lists its unused categories with a count of 0.
    counts = counts[counts > 0]
    present = int(counts.sum())
    missing = n_rows - present
    top_count = int(counts.iloc[0]) if len(counts) else 0

    row = {
        "feature": name,
        "count": present,
        "missing": missing,
        "missing_pct": _percent(missing, n_rows),
        "unique": len(counts),
        "top": _python(counts.index[0]) if len(counts) else None,
        "top_count": top_count,
        "top_pct": _percent(top_count, present),
    }

    flags = _missing_flags(missing, n_rows)
    if len(counts) == 1:
        flags.append("constant")
    if len(counts) > HIGH_CARDINALITY:
        flags.append("high_cardinality")
    if present > 1 and len(counts) == present:
        flags.append("all_unique")
    if len(counts) > 1 and top_count / present >= DOMINANT_SHARE:
        flags.append("dominant_value")
    row["flags"] = tuple(flags)

    top = counts.iloc[:top_n]
    bar = pd.DataFrame(
        {
            "value": [_python(value) for value in top.index],
            "count": top.to_numpy(dtype=np.int64),
            "share": top.to_numpy(dtype=float) / present if present else 0.0,
        }
    )
    return row, bar


def _missing_flags(missing: int, n_rows: int) -> list[str]:
    if n_rows and missing == n_rows:
        return ["all_missing"]
    if n_rows and missing / n_rows >= MANY_MISSING_SHARE:
        return ["many_missing"]
    return []


# --------------------------------------------------------------------------------------
# Model outputs


def add_model_outputs(
    frame: pd.DataFrame,
    predictor: Predictor,
    scores: np.ndarray,
    *,
    label: str | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    prefix: str = "",
) -> pd.DataFrame:
    """Return a copy of ``frame`` with the model's outputs as extra columns.

    Classification adds ``prediction`` (the class; binary at ``threshold`` on the
    positive class's score), ``score`` (binary: the positive class's score;
    multiclass: the predicted class's score) and, with a label, ``correct``.
    Regression adds ``prediction`` and, with a label, ``error`` (prediction minus
    label) and ``absolute_error``. ``correct`` is missing where the label is.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data the scores were computed on.
    predictor : Predictor
        Gives the task and the classes.
    scores : numpy.ndarray
        Output of ``predictor.predict_scores(frame)``.
    label : str, optional
        Label column.
    threshold : float, default 0.5
        Binary decision threshold.
    pos_label : object, optional
        Binary positive class, ``classes[1]`` by default.
    prefix : str, default ""
        Put in front of each new column name, such as ``"model B "``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If a new column name is already a column, or the scores do not match.
    """
    scores = np.asarray(scores)
    if len(scores) != len(frame):
        raise ValueError(
            f"scores have {len(scores)} rows but the data has {len(frame)}"
        )
    truth = None if label is None else frame[label]
    outputs = model_outputs(
        predictor, scores, truth=truth, threshold=threshold, pos_label=pos_label
    )

    taken = [prefix + name for name in outputs if prefix + name in frame.columns]
    if taken:
        raise ValueError(
            f"the data already has column(s) {', '.join(map(repr, taken))}; pass a "
            "prefix for the model output columns"
        )
    # A shallow copy is enough: with copy-on-write, changing either frame later
    # copies the changed columns first.
    result = frame.copy(deep=False)
    for name, values in outputs.items():
        result[prefix + name] = values
    return result


# --------------------------------------------------------------------------------------
# Comparing two datasets


@dataclass(frozen=True)
class DatasetComparison:
    """Per-feature distances between a reference and a current dataset.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per feature: ``feature``, ``kind``, ``psi``, ``js_distance``,
        ``shift`` and ``skewed``. ``shift`` is ``"significant"`` when the PSI is
        above the threshold (then ``skewed`` is True), ``"moderate"`` from
        ``PSI_MODERATE`` up to it, else ``"none"``.
    distributions : dict of str to pandas.DataFrame
        Per feature, the shared bins: ``bin``, ``reference_share``,
        ``current_share``, with missing values as the bin ``"(missing)"``.
    """

    table: pd.DataFrame
    distributions: dict[str, pd.DataFrame]


def compare_datasets(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str] | None = None,
    *,
    bins: int = 10,
    psi_threshold: float = PSI_SIGNIFICANT,
    epsilon: float = PSI_EPSILON,
) -> DatasetComparison:
    """Measure how each feature's distribution moved between two datasets.

    Numeric features share the bins cut at the reference's quantiles, deciles
    for ``bins=10``, where tied edges merge. The outer bins are open, so every
    current value falls in one. Categorical features share the union of both datasets'
    values. Missing values form one more bin in both.

    Parameters
    ----------
    reference : pandas.DataFrame
        The expected distribution, such as the training data.
    current : pandas.DataFrame
        The compared data, such as the test data or a second upload.
    features : sequence of str, optional
        Columns in both datasets to compare. By default the shared columns.
    bins : int, default 10
        Quantile bins per numeric feature.
    psi_threshold : float, default 0.2
        PSI above which a feature is flagged ``skewed``.
    epsilon : float, default 1e-4
        See :func:`population_stability_index`.

    Returns
    -------
    DatasetComparison
    """
    if features is None:
        features = [name for name in reference.columns if name in current.columns]
    missing = [
        name
        for name in features
        if name not in reference.columns or name not in current.columns
    ]
    if missing:
        raise ValueError(
            f"features not in both datasets: {', '.join(map(repr, missing))}"
        )

    rows, distributions = [], {}
    for name in features:
        numeric = is_numeric_feature(reference[name]) and is_numeric_feature(
            current[name]
        )
        if numeric:
            bin_names, expected, actual = _numeric_bins(
                reference[name], current[name], bins
            )
        else:
            bin_names, expected, actual = _category_bins(reference[name], current[name])
        psi = population_stability_index(expected, actual, epsilon=epsilon)
        distance = jensen_shannon_distance(expected, actual)
        rows.append(
            {
                "feature": name,
                "kind": "numeric" if numeric else "categorical",
                "psi": psi,
                "js_distance": distance,
                "shift": _shift(psi, psi_threshold),
                "skewed": bool(psi > psi_threshold),
            }
        )
        distributions[name] = pd.DataFrame(
            {
                "bin": bin_names,
                "reference_share": _shares(expected),
                "current_share": _shares(actual),
            }
        )
    table = pd.DataFrame(
        rows, columns=["feature", "kind", "psi", "js_distance", "shift", "skewed"]
    )
    return DatasetComparison(table=table, distributions=distributions)


def population_stability_index(
    expected: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
    *,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Compute the population stability index of two binned distributions.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)``, where ``e_i`` and ``a_i`` are
    the shares of bin ``i`` in the expected and actual counts. A share of 0
    makes the log ratio undefined, so every share below ``epsilon`` is raised to
    ``epsilon`` first (without renormalising). An empty bin on one side then
    adds a large but finite term, about ``a_i * ln(a_i / epsilon)``.

    Parameters
    ----------
    expected, actual : array-like
        Counts (or shares) per bin, on the same bins.
    epsilon : float, default 1e-4
        Floor of every share; must be positive.

    Returns
    -------
    float
        0 for identical distributions, larger for a larger shift. NaN when
        either side has no count.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    expected_shares, actual_shares = _shares(expected), _shares(actual)
    if expected_shares.shape != actual_shares.shape:
        raise ValueError(
            f"the two distributions have {expected_shares.size} and "
            f"{actual_shares.size} bins; they must share their bins"
        )
    if np.isnan(expected_shares).any() or np.isnan(actual_shares).any():
        return float("nan")
    e = np.maximum(expected_shares, epsilon)
    a = np.maximum(actual_shares, epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def jensen_shannon_distance(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray
) -> float:
    """Compute the Jensen-Shannon distance of two binned distributions, base 2.

    It is ``scipy.spatial.distance.jensenshannon(expected, actual, base=2)``: the
    square root of the Jensen-Shannon divergence, between 0 (identical) and 1
    (no shared bin). Empty bins need no epsilon, because each distribution is
    compared with their mean, which is positive wherever either one is.

    Returns
    -------
    float
        NaN when either side has no count.
    """
    expected_counts = np.asarray(expected, dtype=float)
    actual_counts = np.asarray(actual, dtype=float)
    if expected_counts.sum() == 0 or actual_counts.sum() == 0:
        return float("nan")
    return float(jensenshannon(expected_counts, actual_counts, base=2))


def side_by_side(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: tuple[str, str] = ("reference", "current"),
) -> pd.DataFrame:
    """Join two overview tables on ``feature``, suffixing each statistic.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        ``FeaturesOverview.numeric`` (or ``.categorical``) of each dataset.
    names : tuple of str, default ("reference", "current")
        Suffixes, as in ``mean (reference)``.

    Returns
    -------
    pandas.DataFrame
        One row per feature in either table, the reference's order first.
    """
    first, second = names
    joined = reference.merge(
        current,
        on="feature",
        how="outer",
        suffixes=(f" ({first})", f" ({second})"),
        sort=False,
    )
    order = list(reference["feature"]) + [
        name for name in current["feature"] if name not in set(reference["feature"])
    ]
    return joined.set_index("feature").loc[order].reset_index()


def _numeric_bins(
    reference: pd.Series, current: pd.Series, bins: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    expected_values = reference.to_numpy(dtype=float, na_value=np.nan)
    actual_values = current.to_numpy(dtype=float, na_value=np.nan)
    basis = expected_values[np.isfinite(expected_values)]
    if basis.size == 0:
        basis = actual_values[np.isfinite(actual_values)]
    if basis.size:
        quantiles = np.quantile(basis, np.linspace(0.0, 1.0, bins + 1)[1:-1])
        inner = np.unique(quantiles)
    else:
        inner = np.empty(0)

    names = _interval_names(inner) + [MISSING_BIN]
    return (
        names,
        _bin_counts(expected_values, inner),
        _bin_counts(actual_values, inner),
    )


def _bin_counts(values: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Count values per bin [e_i, e_i+1), open at both ends, then the missing."""
    missing = np.isnan(values)
    index = np.searchsorted(inner, values[~missing], side="right")
    counts = np.bincount(index, minlength=inner.size + 1)
    return np.append(counts, np.count_nonzero(missing))


def _interval_names(inner: np.ndarray) -> list[str]:
    if inner.size == 0:
        return ["all values"]
    edges = [f"{edge:g}" for edge in inner]
    names = [f"< {edges[0]}"]
    names += [
        f"[{low}, {high})" for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]
    names.append(f">= {edges[-1]}")
    return names


def _category_bins(
    reference: pd.Series, current: pd.Series
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    # Compare as text, so a category read as 1 in one file and "1" in another match.
    expected_counts = reference.dropna().astype(str).value_counts()
    actual_counts = current.dropna().astype(str).value_counts()
    categories = list(expected_counts.index) + [
        value for value in actual_counts.index if value not in expected_counts.index
    ]
    expected = expected_counts.reindex(categories, fill_value=0).to_numpy(np.int64)
    actual = actual_counts.reindex(categories, fill_value=0).to_numpy(np.int64)
    expected = np.append(expected, int(reference.isna().sum()))
    actual = np.append(actual, int(current.isna().sum()))
    return categories + [MISSING_BIN], expected, actual


def _shares(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(counts, dtype=float)
    if values.ndim != 1:
        raise ValueError(
            f"bin counts must be one-dimensional, got shape {values.shape}"
        )
    if (values < 0).any():
        raise ValueError("bin counts must not be negative")
    total = values.sum()
    if total == 0:
        return np.full(values.shape, np.nan)
    return values / total


def _shift(psi: float, threshold: float) -> str:
    if psi > threshold:
        return "significant"
    return "moderate" if psi >= PSI_MODERATE else "none"


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else np.nan


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def overview_flags(overview: FeaturesOverview) -> Mapping[str, tuple[str, ...]]:
    """Return the flags of every feature that has any, numeric ones first.

    Parameters
    ----------
    overview : FeaturesOverview

    Returns
    -------
    dict of str to tuple of str
        Feature name to its flag keys, see ``FLAG_DESCRIPTIONS``.
    """
    flags = {}
    for table in (overview.numeric, overview.categorical):
        for name, feature_flags in zip(table["feature"], table["flags"], strict=True):
            if feature_flags:
                flags[name] = feature_flags
    return flags
