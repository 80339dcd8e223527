"""The timed operations of bench_whatif.py, each beside its anchor and target.

An anchor is the plain library call doing the work underneath an operation
(pandas ``describe``, scikit-learn ``confusion_matrix``, ...). It runs
alternately with its operation in the same loop, so both see the same load.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from whatif_workload import Workload

from analysis.counterfactual import (
    distance_stats,
    distances,
    nearest_counterfactual,
    nearest_counterfactual_regression,
)
from analysis.curves import curve_marker, pr_curve, roc_curve
from analysis.data import ADULT_LABEL, ADULT_POSITIVE
from analysis.edited_counterfactual import candidate_mask, nearest_to_row
from analysis.explorer import explorer_chart
from analysis.fairness import STRATEGIES, optimize_thresholds
from analysis.feature_charts import (
    distribution_comparison_chart,
    histogram_chart,
    value_bar_chart,
)
from analysis.metrics import binary_metrics, confusion_frame
from analysis.model_outputs import encode_labels, model_outputs
from analysis.multiclass import multiclass_metrics_by_slice
from analysis.overview import add_model_outputs, compare_datasets, features_overview
from analysis.pdp import partial_dependence
from analysis.predictions import predicted_labels
from analysis.regression import regression_metrics_by_slice
from analysis.slices import (
    cross_slice_labels,
    metrics_by_slice,
    metrics_by_slice_at_thresholds,
    slice_labels,
)

# Interactivity targets in seconds.
COUNTERFACTUAL_TARGET_S = 0.2
THRESHOLD_TARGET_S = 0.3
SLICE_TARGET_S = 0.3
STRATEGY_TARGET_S = 1.0
OVERVIEW_TARGET_S = 2.0

# The selected row of every counterfactual and distance.
SELECTED_ROW = 12_345
# Strategies that fairlearn's ThresholdOptimizer also has, by its constraint name.
FAIRLEARN_CONSTRAINTS = {
    "demographic_parity": "demographic_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "equalized_odds": "equalized_odds",
}


@dataclass
class Timing:
    """Median and spread of one operation's repeats, with its target and anchor."""

    section: str
    operation: str
    median_s: float
    fastest_s: float
    slowest_s: float
    target_s: float | None
    anchor: str = ""
    anchor_median_s: float | None = None
    anchor_runs: int = 0
    note: str = ""


@dataclass(frozen=True)
class Anchor:
    """A plain library call doing the work underlying an operation."""

    name: str
    function: Callable[[], object]
    # Timed runs, when fewer than the operation's, for an anchor taking seconds.
    repeats: int | None = None


@dataclass
class Recorder:
    """Times operations and collects their timings."""

    repeats: int
    timings: list[Timing] = field(default_factory=list)

    def time(
        self,
        section: str,
        operation: str,
        function: Callable[[], object],
        target_s: float | None = None,
        *,
        anchor: Anchor | None = None,
        note: str = "",
    ) -> object:
        """Run ``function`` and its anchor once untimed, then alternately timed.

        An anchor with its own ``repeats`` skips the untimed run.

        Returns the result of the last run of ``function``.
        """
        result = function()
        if anchor is not None and anchor.repeats is None:
            anchor.function()

        seconds, anchor_seconds = [], []
        anchor_repeats = 0 if anchor is None else (anchor.repeats or self.repeats)
        for index in range(self.repeats):
            start = time.perf_counter()
            result = function()
            seconds.append(time.perf_counter() - start)
            if index < anchor_repeats:
                start = time.perf_counter()
                anchor.function()
                anchor_seconds.append(time.perf_counter() - start)

        timing = Timing(
            section=section,
            operation=operation,
            median_s=statistics.median(seconds),
            fastest_s=min(seconds),
            slowest_s=max(seconds),
            target_s=target_s,
            anchor="" if anchor is None else anchor.name,
            anchor_median_s=(
                statistics.median(anchor_seconds) if anchor_seconds else None
            ),
            anchor_runs=len(anchor_seconds),
            note=note,
        )
        self.timings.append(timing)
        print(f"{operation}: {timing.median_s * 1e3:.0f} ms", file=sys.stderr)
        return result


# Counterfactuals


def time_counterfactuals(recorder: Recorder, work: Workload) -> None:
    """Time the nearest counterfactual of each task with L1 and L2."""
    section = "Nearest counterfactual"
    frame = work.frame
    stats = {}
    for task in (work.binary, work.multiclass, work.regression):
        stats[task.task] = distance_stats(
            frame, exclude=work.excluded(task), encode=True
        )

    recorder.time(
        section,
        "distance statistics and encoding (once per dataset, binary task)",
        lambda: distance_stats(frame, exclude=work.excluded(work.binary), encode=True),
        anchor=Anchor(
            "pandas: factorize each text column, std of each numeric column",
            lambda: _factorize_and_std(frame.drop(columns=[ADULT_LABEL])),
        ),
    )

    matrix = _ordinal_matrix(frame.drop(columns=[ADULT_LABEL]))
    anchors = {
        metric: Anchor(
            f"scikit-learn pairwise_distances ({name}) from one row to a "
            f"{matrix.shape[0]:,} x {matrix.shape[1]} float matrix",
            _pairwise_call(matrix, name),
        )
        for metric, name in (("l1", "manhattan"), ("l2", "euclidean"))
    }

    for task in (work.binary, work.multiclass):
        predicted = predicted_labels(task.task, task.scores, task.classes)
        for metric in ("l1", "l2"):
            recorder.time(
                section,
                f"{task.task} ({len(task.classes)} classes), {metric.upper()}",
                _nearest_call(frame, predicted, stats[task.task], metric),
                COUNTERFACTUAL_TARGET_S,
                anchor=anchors[metric],
            )
    for metric in ("l1", "l2"):
        recorder.time(
            section,
            f"regression, {metric.upper()}, default minimum difference",
            lambda metric=metric: nearest_counterfactual_regression(
                frame,
                SELECTED_ROW,
                work.regression.scores,
                stats=stats["regression"],
                metric=metric,
            ),
            COUNTERFACTUAL_TARGET_S,
            anchor=anchors[metric],
        )

    binary_predicted = predicted_labels(
        "binary", work.binary.scores, work.binary.classes
    )
    edited = frame.iloc[SELECTED_ROW].copy()
    edited["age"] += 10
    edited["occupation"] = "Tech-support"
    recorder.time(
        section,
        "binary, L1, edited row: candidate_mask + nearest_to_row, as the page",
        lambda: nearest_to_row(
            frame,
            edited,
            candidate_mask("binary", binary_predicted, ADULT_POSITIVE),
            stats=stats["binary"],
        ),
        COUNTERFACTUAL_TARGET_S,
        anchor=anchors["l1"],
    )
    recorder.time(
        section,
        "of which candidate_mask alone (rows predicted differently)",
        lambda: candidate_mask("binary", binary_predicted, ADULT_POSITIVE),
        anchor=Anchor(
            "numpy: predicted labels != the selected row's class",
            lambda: binary_predicted != ADULT_POSITIVE,
        ),
    )
    plain = distance_stats(frame, exclude=work.excluded(work.binary))
    recorder.time(
        section,
        "binary, L1, without the encoding (comparing the columns)",
        _nearest_call(frame, binary_predicted, plain, "l1"),
        anchor=anchors["l1"],
        note="the path before the encoding, for comparison",
    )


def _nearest_call(
    frame: pd.DataFrame, predicted: np.ndarray, stats: Any, metric: str
) -> Callable[[], object]:
    return lambda: nearest_counterfactual(
        frame, SELECTED_ROW, predicted, stats=stats, metric=metric
    )


def _ordinal_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Return the frame as float64, text columns as their factorize codes."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            columns.append(column.to_numpy(dtype=float))
        else:
            columns.append(pd.factorize(column)[0].astype(float))
    return np.column_stack(columns)


def _factorize_and_std(frame: pd.DataFrame) -> None:
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            column.std()
        else:
            pd.factorize(column)


def _pairwise_call(matrix: np.ndarray, metric: str) -> Callable[[], object]:
    from sklearn.metrics import pairwise_distances

    row = matrix[SELECTED_ROW : SELECTED_ROW + 1]
    return lambda: pairwise_distances(row, matrix, metric=metric)


# Threshold and slice changes


def time_threshold_changes(recorder: Recorder, work: Workload) -> None:
    """Time what a binary threshold change recomputes."""
    from sklearn.metrics import confusion_matrix

    section = "Threshold change"
    y_true, scores = work.y_true, work.positive_scores
    classes = tuple(work.binary.classes)

    def metrics_and_matrix() -> None:
        metrics = binary_metrics(y_true, scores, 0.37)
        confusion_frame(metrics, classes)

    recorder.time(
        section,
        "binary_metrics + confusion_frame",
        metrics_and_matrix,
        THRESHOLD_TARGET_S,
        anchor=Anchor(
            "scikit-learn confusion_matrix(y_true, y_score >= t)",
            lambda: confusion_matrix(y_true, scores >= 0.37),
        ),
    )

    race = slice_labels(work.frame["race"])
    recorder.time(
        section,
        "per-slice table by race (5 slices), one threshold per slice",
        lambda: metrics_by_slice_at_thresholds(
            y_true, scores, race, {"White": 0.4, "Black": 0.35}
        ),
        THRESHOLD_TARGET_S,
        anchor=Anchor(
            "pandas: rows per (slice, label, prediction) with groupby().size()",
            _groupby_call(race, y_true, scores >= 0.4),
        ),
    )
    recorder.time(
        section,
        "curve marker",
        lambda: curve_marker(y_true, scores, 0.37),
        THRESHOLD_TARGET_S,
    )

    # model_outputs reads only the task and the classes of the model.
    predictor = SimpleNamespace(task="binary", classes=list(classes))
    truth = work.frame[ADULT_LABEL]
    labels = encode_labels(truth, classes)
    thresholds = np.where(race.to_numpy() == "White", 0.4, 0.35)
    recorder.time(
        section,
        "explorer fields: prediction, score and correct at per-slice thresholds",
        lambda: model_outputs(
            predictor,
            work.binary.scores,
            truth=truth,
            threshold=thresholds,
            labels=labels,
        ),
        THRESHOLD_TARGET_S,
        anchor=Anchor(
            "numpy: predicted labels as objects == label column",
            lambda: (
                predicted_labels(
                    "binary", work.binary.scores, list(classes), thresholds=thresholds
                )
                == truth.to_numpy()
            ),
        ),
        note="the labels are encoded once per dataset and model",
    )


def time_slice_changes(recorder: Recorder, work: Workload) -> None:
    """Time the per-slice tables of each task for one- and two-feature slices."""
    section = "Slice change"
    frame = work.frame
    y_true, scores = work.y_true, work.positive_scores
    y_pred = scores >= 0.5

    slicings = {
        "age, 4 equal-width buckets": (
            lambda: slice_labels(frame["age"], n_buckets=4),
            lambda: pd.cut(frame["age"], 4),
        ),
        "hours_per_week, 5 quantile buckets": (
            lambda: slice_labels(
                frame["hours_per_week"], n_buckets=5, method="quantile"
            ),
            lambda: pd.qcut(frame["hours_per_week"], 5, duplicates="drop"),
        ),
        "education (16 values)": (
            lambda: slice_labels(frame["education"]),
            lambda: frame["education"],
        ),
        "sex x age (3 buckets)": (
            lambda: cross_slice_labels(frame["sex"], frame["age"], n_buckets=3),
            lambda: [frame["sex"], pd.cut(frame["age"], 3)],
        ),
    }
    for name, (labels, plain_labels) in slicings.items():
        recorder.time(
            section,
            f"slice labels alone (every task), {name}",
            labels,
            anchor=Anchor(
                "pandas: pd.cut/qcut, or the column itself",
                plain_labels,
            ),
        )
        recorder.time(
            section,
            f"binary, {name}",
            lambda labels=labels: metrics_by_slice(y_true, scores, labels(), 0.5),
            SLICE_TARGET_S,
            anchor=Anchor(
                "pandas: pd.cut/qcut + rows per (slice, label, prediction)",
                lambda plain_labels=plain_labels: _grouped_size(
                    plain_labels(), y_true, y_pred
                ),
            ),
        )

    multiclass = work.multiclass
    truth = frame[multiclass.label]
    predicted = predicted_labels("multiclass", multiclass.scores, multiclass.classes)
    regression = work.regression
    actual = frame[regression.label].to_numpy(dtype=float)
    for name in ("education (16 values)", "sex x age (3 buckets)"):
        labels, plain_labels = slicings[name]
        recorder.time(
            section,
            f"multiclass, {name}: accuracy and macro F1",
            lambda labels=labels: multiclass_metrics_by_slice(
                truth, predicted, labels(), multiclass.classes
            ),
            SLICE_TARGET_S,
            anchor=Anchor(
                "pandas: rows per (slice, label, prediction)",
                lambda plain_labels=plain_labels: _grouped_size(
                    plain_labels(), truth.to_numpy(), predicted
                ),
            ),
        )
        recorder.time(
            section,
            f"regression, {name}: error statistics",
            lambda labels=labels: regression_metrics_by_slice(
                actual, regression.scores, labels()
            ),
            SLICE_TARGET_S,
            anchor=Anchor(
                "pandas: mean and median error per slice with groupby().agg()",
                lambda plain_labels=plain_labels: (
                    pd.Series(regression.scores - actual)
                    .groupby(plain_labels(), observed=True)
                    .agg(["mean", "median"])
                ),
            ),
        )


def _groupby_call(
    labels: Any, y_true: np.ndarray, y_pred: np.ndarray
) -> Callable[[], object]:
    return lambda: _grouped_size(labels, y_true, y_pred)


def _grouped_size(labels: Any, y_true: np.ndarray, y_pred: np.ndarray) -> object:
    keys = labels if isinstance(labels, list) else [labels]
    keys = [pd.Series(key).reset_index(drop=True) for key in keys]
    return pd.Series(y_true).groupby([*keys, y_true, y_pred], observed=True).size()


# Strategies


def time_strategies(recorder: Recorder, work: Workload, fairlearn_repeats: int) -> None:
    """Time every threshold strategy by sex (2 groups) and by race (5 groups)."""
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    section = "Strategy search"
    y_true, scores = work.y_true, work.positive_scores
    roc_anchor = Anchor(
        "scikit-learn roc_curve of all rows",
        lambda: sklearn_roc_curve(y_true, scores),
    )
    for feature in ("sex", "race"):
        groups = slice_labels(work.frame[feature])
        for strategy in STRATEGIES:
            anchor = roc_anchor
            if strategy in FAIRLEARN_CONSTRAINTS and fairlearn_repeats:
                anchor = _fairlearn_anchor(
                    y_true,
                    scores,
                    groups.to_numpy(),
                    FAIRLEARN_CONSTRAINTS[strategy],
                    fairlearn_repeats,
                )
            recorder.time(
                section,
                f"{strategy} by {feature} ({len(groups.cat.categories)} groups)",
                lambda groups=groups, strategy=strategy: optimize_thresholds(
                    y_true, scores, groups, strategy, cost_ratio=1.0, tolerance=0.0
                ),
                STRATEGY_TARGET_S,
                anchor=anchor,
            )


def _fairlearn_anchor(
    y_true: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    constraint: str,
    repeats: int,
) -> Anchor:
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.base import BaseEstimator, ClassifierMixin

    class FixedScores(ClassifierMixin, BaseEstimator):
        """A prefitted "model" whose output is its single input column."""

        def fit(self, features: Any, target: Any) -> FixedScores:
            self.fitted_ = True
            return self

        def predict(self, features: Any) -> np.ndarray:
            return np.asarray(features)[:, 0]

    inputs = scores.reshape(-1, 1)
    model = FixedScores().fit(inputs, y_true)

    def fit() -> None:
        optimizer = ThresholdOptimizer(
            estimator=model,
            constraints=constraint,
            objective="accuracy_score",
            prefit=True,
            predict_method="predict",
        )
        with warnings.catch_warnings():
            # fairlearn warns that it cannot verify the prefitted model.
            warnings.simplefilter("ignore")
            optimizer.fit(inputs, y_true, sensitive_features=groups)

    return Anchor(
        f"fairlearn ThresholdOptimizer(constraints={constraint!r}).fit",
        fit,
        repeats=repeats,
    )


# Features overview


def time_features_overview(recorder: Recorder, work: Workload) -> None:
    """Time the Features page: statistics, model outputs, two-dataset comparison."""
    section = "Features overview"
    frame, binary = work.frame, work.binary
    # add_model_outputs reads only the task and the classes of the model.
    predictor = SimpleNamespace(task="binary", classes=binary.classes)

    def statistics_and_charts() -> int:
        overview = features_overview(frame)
        charts = [
            histogram_chart(histogram, name)
            for name, histogram in overview.histograms.items()
        ]
        charts += [value_bar_chart(bars, name) for name, bars in overview.bars.items()]
        return sum(len(chart.data) for chart in charts)

    def outputs_overview() -> None:
        outputs = add_model_outputs(
            frame[[ADULT_LABEL]], predictor, binary.scores, label=ADULT_LABEL
        )
        features_overview(outputs, [n for n in outputs.columns if n != ADULT_LABEL])

    def comparison_and_charts() -> int:
        comparison = compare_datasets(work.train, frame)
        charts = [
            distribution_comparison_chart(table, name)
            for name, table in comparison.distributions.items()
        ]
        return sum(len(chart.data) for chart in charts)

    statistics_marks = recorder.time(
        section,
        f"statistics, histograms and bars of all {frame.shape[1]} columns, "
        "with their charts",
        statistics_and_charts,
        OVERVIEW_TARGET_S,
        anchor=Anchor(
            'pandas DataFrame.describe(include="all")',
            lambda: frame.describe(include="all"),
        ),
    )
    recorder.time(
        section,
        "binary model outputs added and described (prediction, score, correct)",
        outputs_overview,
        OVERVIEW_TARGET_S,
        anchor=Anchor(
            "pandas describe() of the score and value_counts() of the predictions",
            lambda: (
                pd.Series(work.positive_scores).describe(),
                pd.Series(
                    predicted_labels("binary", binary.scores, binary.classes)
                ).value_counts(),
            ),
        ),
    )
    comparison_marks = recorder.time(
        section,
        f"comparison with the {len(work.train):,}-row training split: PSI and "
        "Jensen-Shannon distance per feature, with charts",
        comparison_and_charts,
        OVERVIEW_TARGET_S,
        anchor=Anchor(
            "numpy quantiles + histogram per numeric, value_counts per text column, "
            "both datasets",
            lambda: (_plain_bins(work.train), _plain_bins(frame)),
        ),
    )
    recorder.time(
        section,
        "the whole page: the three rows above",
        lambda: (statistics_and_charts(), outputs_overview(), comparison_and_charts()),
        OVERVIEW_TARGET_S,
        anchor=Anchor(
            'pandas DataFrame.describe(include="all")',
            lambda: frame.describe(include="all"),
        ),
        note=f"charts with {statistics_marks} and {comparison_marks} marks in all",
    )


def _plain_bins(frame: pd.DataFrame) -> None:
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float)
            np.histogram(
                values, bins=np.unique(np.quantile(values, np.arange(11) / 10))
            )
        else:
            column.value_counts()


# Explorer


def time_explorer(recorder: Recorder, work: Workload) -> None:
    """Time the explorer's distance field and every kind of chart."""
    section = "Explorer"
    frame, binary = work.frame, work.binary
    stats = distance_stats(frame, exclude=work.excluded(binary), encode=True)
    recorder.time(
        section,
        "distance field: L1 distance of every row to the selected row",
        lambda: distances(frame, SELECTED_ROW, stats),
        THRESHOLD_TARGET_S,
        anchor=Anchor(
            "scikit-learn pairwise_distances (manhattan), same matrix as above",
            _pairwise_call(
                _ordinal_matrix(frame.drop(columns=[ADULT_LABEL])), "manhattan"
            ),
        ),
    )

    # model_outputs reads only the task and the classes of the model.
    predictor = SimpleNamespace(task="binary", classes=binary.classes)
    outputs = model_outputs(predictor, binary.scores, truth=frame[ADULT_LABEL])
    data = pd.DataFrame(
        {
            "row": np.arange(len(frame)),
            "score": outputs["score"],
            "prediction": outputs["prediction"],
            "correct": outputs["correct"],
            "age": frame["age"],
            "education": frame["education"],
            "distance": distances(frame, SELECTED_ROW, stats),
        }
    )
    charts = {
        "scatter: score x age, coloured by correct": {
            "x": "score",
            "y": "age",
            "color": "correct",
            "highlight": SELECTED_ROW,
        },
        "scatter: education x distance, coloured by prediction": {
            "x": "education",
            "y": "distance",
            "color": "prediction",
            "highlight": SELECTED_ROW,
        },
        "histogram: score, stacked by correct": {"x": "score", "color": "correct"},
        "bars: education, stacked by prediction": {
            "x": "education",
            "color": "prediction",
        },
        "bars: age in 10 buckets, stacked by correct": {
            "x": "age",
            "x_buckets": 10,
            "color": "correct",
        },
        "grid: education x age in 5 buckets, coloured by correct": {
            "x": "education",
            "y": "age",
            "y_buckets": 5,
            "color": "correct",
        },
    }
    for name, fields in charts.items():
        view = explorer_chart(data, **fields)
        kilobytes = len(view.chart.to_json(indent=None)) / 1024
        plotted = list(
            dict.fromkeys(fields[key] for key in ("x", "y", "color") if key in fields)
        )
        anchor = (
            Anchor(
                "pandas DataFrame.sample(3000) of the plotted fields",
                lambda plotted=plotted: data[plotted].sample(3000, random_state=0),
            )
            if view.kind == "scatter"
            else Anchor(
                "pandas DataFrame.value_counts() of the plotted fields",
                lambda plotted=plotted: data[plotted].value_counts(),
            )
        )
        recorder.time(
            section,
            name,
            lambda fields=fields: explorer_chart(data, **fields),
            SLICE_TARGET_S,
            anchor=anchor,
            note=f"{view.n_marks:,} marks, {kilobytes:,.0f} KB of chart JSON",
        )


# Partial dependence and curves


def time_partial_dependence(recorder: Recorder, work: Workload) -> None:
    """Time the global partial dependence of the binary score on one feature."""
    from sklearn.inspection import partial_dependence as sklearn_partial_dependence

    section = "Partial dependence"
    frame, binary = work.frame, work.binary
    pipeline = binary.predictor.model
    # scikit-learn rejects integer columns as partial dependence features.
    sample = frame[binary.features].sample(1000, random_state=0).astype({"age": float})
    for feature in ("age", "education"):
        result = partial_dependence(frame, binary.predictor, feature, label=ADULT_LABEL)
        grid = list(result.grid)
        recorder.time(
            section,
            f"{feature}: {result.n_rows:,} sampled rows x {len(grid)} grid points, "
            "one model",
            lambda feature=feature: partial_dependence(
                frame, binary.predictor, feature, label=ADULT_LABEL
            ),
            anchor=Anchor(
                "scikit-learn partial_dependence (brute), same sample size and grid",
                lambda feature=feature, grid=grid: sklearn_partial_dependence(
                    pipeline,
                    sample,
                    [feature],
                    custom_values={feature: grid},
                    categorical_features=[feature] if feature == "education" else None,
                    kind="average",
                    method="brute",
                ),
            ),
            note="grid from the whole column",
        )


def time_curves(recorder: Recorder, work: Workload) -> None:
    """Time the ROC and PR curves, which a page computes once per slice choice."""
    from sklearn.metrics import precision_recall_curve
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    y_true, scores = work.y_true, work.positive_scores
    recorder.time(
        "Curves",
        "ROC and PR curves of all rows",
        lambda: (roc_curve(y_true, scores), pr_curve(y_true, scores)),
        anchor=Anchor(
            "scikit-learn roc_curve + precision_recall_curve",
            lambda: (
                sklearn_roc_curve(y_true, scores),
                precision_recall_curve(y_true, scores),
            ),
        ),
        note="independent of the threshold, so computed once per slice",
    )
