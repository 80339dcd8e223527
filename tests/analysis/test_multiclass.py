"""Tests for analysis.multiclass against scikit-learn, fairlearn and hand counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    roc_auc_score,
)

from analysis.multiclass import (
    CLASS_METRIC_COLUMNS,
    class_metrics,
    multiclass_confusion,
    multiclass_metrics_by_slice,
    multiclass_summary,
    one_vs_rest_curves,
    one_vs_rest_rates_by_slice,
    predicted_classes,
)
from analysis.slices import ALL_ROWS_LABEL, cross_slice_labels

CLASSES = ["bird", "cat", "dog"]


@pytest.fixture
def predictions() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    n = 3_000
    y_true = rng.choice(CLASSES, n, p=[0.2, 0.5, 0.3])
    # Scores lean towards the true class, so the model is better than chance.
    raw = rng.random((n, 3)) + 0.8 * (y_true[:, None] == np.array(CLASSES))
    y_proba = raw / raw.sum(axis=1, keepdims=True)
    return {
        "y_true": y_true,
        "y_proba": y_proba,
        "y_pred": predicted_classes(y_proba, CLASSES),
        "slices": rng.choice(["north", "south", "west"], n, p=[0.5, 0.45, 0.05]),
    }


# per-class metrics and the confusion matrix against scikit-learn


def test_class_metrics_equal_sklearn(predictions):
    y_true, y_pred = predictions["y_true"], predictions["y_pred"]

    table = class_metrics(y_true, y_pred, CLASSES)

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=CLASSES, zero_division=0
    )
    assert list(table.columns) == list(CLASS_METRIC_COLUMNS)
    assert table["class"].tolist() == CLASSES
    np.testing.assert_allclose(table["precision"], precision)
    np.testing.assert_allclose(table["recall"], recall)
    np.testing.assert_allclose(table["f1"], f1)
    np.testing.assert_array_equal(table["support"], support)


def test_summary_equals_sklearn(predictions):
    y_true, y_pred = predictions["y_true"], predictions["y_pred"]

    summary = multiclass_summary(y_true, y_pred, CLASSES)

    assert summary["count"] == len(y_true)
    assert summary["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert summary["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )
    assert summary["weighted_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="weighted")
    )
    assert summary["macro_precision"] == pytest.approx(
        precision_score(y_true, y_pred, average="macro", zero_division=0)
    )


def test_confusion_matrix_equals_sklearn(predictions):
    y_true, y_pred = predictions["y_true"], predictions["y_pred"]

    frame = multiclass_confusion(y_true, y_pred, CLASSES)

    matrix = frame.pivot(index="actual", columns="predicted", values="count")
    matrix = matrix.loc[CLASSES, CLASSES].to_numpy()
    np.testing.assert_array_equal(
        matrix, confusion_matrix(y_true, y_pred, labels=CLASSES)
    )
    assert frame["percent"].sum() == pytest.approx(100.0)
    row_sums = frame.groupby("actual")["row_percent"].sum()
    np.testing.assert_allclose(row_sums, 100.0)


def test_confusion_by_hand():
    # Rows: cat->cat, cat->dog, dog->dog, bird->cat.
    frame = multiclass_confusion(
        ["cat", "cat", "dog", "bird"], ["cat", "dog", "dog", "cat"], CLASSES
    )

    counts = frame.set_index(["actual", "predicted"])["count"]
    assert counts[("cat", "cat")] == 1
    assert counts[("cat", "dog")] == 1
    assert counts[("dog", "dog")] == 1
    assert counts[("bird", "cat")] == 1
    assert counts.sum() == 4
    assert frame.set_index(["actual", "predicted"]).loc[
        ("cat", "dog"), "row_percent"
    ] == pytest.approx(50.0)


# labels: strings, numbers written as text, unknown and missing labels


def test_string_labels_counted():
    # The What-If Tool compared labels with class indices, so "yes" never
    # matched. Here each string label is its own class.
    y_true = ["yes", "no", "maybe", "yes", "no"]
    y_pred = ["yes", "yes", "maybe", "yes", "no"]

    table = class_metrics(y_true, y_pred, ["no", "maybe", "yes"]).set_index("class")

    assert table.loc["yes", "tp"] == 2
    assert table.loc["yes", "fp"] == 1
    assert table.loc["no", "fn"] == 1
    assert table.loc["maybe", "recall"] == 1.0
    assert multiclass_summary(y_true, y_pred)["accuracy"] == pytest.approx(0.8)


def test_numeric_labels_match_text_classes():
    table = class_metrics(
        pd.Series([1, 2, 2, 3]), np.array(["1", "2", "3", "3"]), ["1", "2", "3"]
    )

    assert table["class"].tolist() == ["1", "2", "3"]
    assert table["tp"].tolist() == [1, 1, 1]
    assert table["support"].tolist() == [1, 2, 1]


def test_unknown_true_label_becomes_extra_class():
    table = class_metrics(["cat", "fish", "dog"], ["cat", "cat", "dog"], CLASSES)

    assert table["class"].tolist() == [*CLASSES, "fish"]
    fish = table.set_index("class").loc["fish"]
    assert fish["support"] == 1
    assert fish["recall"] == 0.0
    precision, recall, _, _ = precision_recall_fscore_support(
        ["cat", "fish", "dog"],
        ["cat", "cat", "dog"],
        labels=[*CLASSES, "fish"],
        zero_division=0,
    )
    np.testing.assert_allclose(table["precision"], precision)
    np.testing.assert_allclose(table["recall"], recall)


def test_missing_true_labels_left_out():
    summary = multiclass_summary(
        pd.Series(["cat", None, "dog"], dtype=object), ["cat", "dog", "cat"], CLASSES
    )

    assert summary["count"] == 2
    assert summary["accuracy"] == 0.5


def test_unknown_predicted_label_rejected():
    with pytest.raises(ValueError, match="not among the classes"):
        class_metrics(["cat"], ["lion"], CLASSES)


def test_predicted_classes_first_on_ties():
    proba = np.array([[0.4, 0.4, 0.2], [0.1, 0.3, 0.6]])

    assert predicted_classes(proba, CLASSES).tolist() == ["bird", "dog"]


def test_predicted_classes_shape_checked():
    with pytest.raises(ValueError, match="shape"):
        predicted_classes(np.ones((2, 2)), CLASSES)


# one-vs-rest curves


def test_one_vs_rest_areas_equal_sklearn(predictions):
    y_true, y_proba = predictions["y_true"], predictions["y_proba"]

    curves = one_vs_rest_curves(y_true, y_proba, CLASSES)

    areas = curves.areas.set_index("class")
    for index, name in enumerate(CLASSES):
        is_class = y_true == name
        precision, recall, _ = precision_recall_curve(is_class, y_proba[:, index])
        assert areas.loc[name, "roc_auc"] == pytest.approx(
            roc_auc_score(is_class, y_proba[:, index])
        )
        assert areas.loc[name, "pr_auc"] == pytest.approx(auc(recall, precision))
        assert areas.loc[name, "average_precision"] == pytest.approx(
            average_precision_score(is_class, y_proba[:, index])
        )
        assert areas.loc[name, "support"] == is_class.sum()
    # The macro average matches scikit-learn's one-vs-rest ROC AUC.
    assert areas["roc_auc"].mean() == pytest.approx(
        roc_auc_score(y_true, y_proba, multi_class="ovr", labels=CLASSES)
    )


def test_one_vs_rest_points_thinned(predictions):
    curves = one_vs_rest_curves(
        predictions["y_true"], predictions["y_proba"], CLASSES, max_points=40
    )

    assert curves.roc.groupby("class").size().max() <= 40
    assert curves.pr.groupby("class").size().max() <= 40
    assert set(curves.roc["class"]) == set(CLASSES)


def test_class_without_rows_has_nan_area():
    y_proba = np.array([[0.2, 0.5, 0.3], [0.1, 0.2, 0.7]])

    curves = one_vs_rest_curves(["cat", "dog"], y_proba, CLASSES)

    bird = curves.areas.set_index("class").loc["bird"]
    assert bird["support"] == 0
    assert math.isnan(bird["roc_auc"])


# per slice


def test_slice_accuracy_equals_subsets(predictions):
    y_true, y_pred, slices = (
        predictions["y_true"],
        predictions["y_pred"],
        predictions["slices"],
    )

    table = multiclass_metrics_by_slice(y_true, y_pred, slices, CLASSES)

    assert table["slice"].tolist() == [ALL_ROWS_LABEL, "north", "south", "west"]
    assert table["accuracy"].iloc[0] == pytest.approx(accuracy_score(y_true, y_pred))
    for _, row in table.iloc[1:].iterrows():
        rows = slices == row["slice"]
        assert row["count"] == rows.sum()
        assert row["accuracy"] == pytest.approx(
            accuracy_score(y_true[rows], y_pred[rows])
        )
        assert row["macro_f1"] == pytest.approx(
            f1_score(
                y_true[rows],
                y_pred[rows],
                labels=CLASSES,
                average="macro",
                zero_division=0,
            )
        )
    assert table.set_index("slice").loc["west", "small"] == (
        (slices == "west").sum() < 30
    )


def test_slice_metrics_equal_sklearn_groupby(predictions):
    """Check two-feature slices against scikit-learn in a pandas groupby loop."""
    rng = np.random.default_rng(22)
    n = len(predictions["y_true"])
    y_true = predictions["y_true"].astype(object)
    y_true[rng.random(n) < 0.02] = None
    # Predicted labels as predicted_classes returns them: an object array.
    y_pred = predictions["y_pred"]
    first = pd.Series(predictions["slices"], name="region")
    second = pd.Series(rng.integers(18, 80, n), name="age")
    slices = cross_slice_labels(first, second, n_buckets=3)

    table = multiclass_metrics_by_slice(y_true, y_pred, slices, CLASSES)

    rows = pd.DataFrame({"true": y_true, "pred": y_pred, "slice": slices})
    labelled = rows.dropna(subset=["true"])
    expected = {
        name: (
            len(group),
            accuracy_score(group["true"], group["pred"]),
            f1_score(
                group["true"],
                group["pred"],
                labels=CLASSES,
                average="macro",
                zero_division=0,
            ),
        )
        for name, group in labelled.groupby("slice", observed=True)
    }
    by_slice = table.iloc[1:].set_index("slice")
    assert by_slice.index.tolist() == list(expected)
    for name, (count, accuracy, macro_f1) in expected.items():
        assert by_slice.loc[name, "count"] == count, name
        assert by_slice.loc[name, "accuracy"] == pytest.approx(accuracy), name
        assert by_slice.loc[name, "macro_f1"] == pytest.approx(macro_f1), name
    assert table["count"].iloc[0] == len(labelled)


@pytest.mark.parametrize(
    "convert",
    [
        lambda values: values.astype(str),
        lambda values: values.astype(object),
        list,
        pd.Series,
        lambda values: pd.Series(values, dtype="category"),
        pd.Categorical,
    ],
    ids=["unicode", "object", "list", "series", "category series", "categorical"],
)
def test_slice_metrics_same_for_any_label_type(predictions, convert):
    y_true, y_pred, slices = (
        predictions["y_true"],
        predictions["y_pred"],
        predictions["slices"],
    )
    expected = multiclass_metrics_by_slice(y_true, y_pred, slices, CLASSES)

    table = multiclass_metrics_by_slice(
        convert(np.asarray(y_true)), convert(np.asarray(y_pred)), slices, CLASSES
    )

    pd.testing.assert_frame_equal(table, expected)


def test_one_vs_rest_rates_match_fairlearn(predictions):
    y_true, y_pred, slices = (
        predictions["y_true"],
        predictions["y_pred"],
        predictions["slices"],
    )

    table = one_vs_rest_rates_by_slice(y_true, y_pred, slices, CLASSES)

    rows = table.set_index(["slice", "class"])
    for name in CLASSES:
        frame = MetricFrame(
            metrics={
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "fnr": false_negative_rate,
                "selection_rate": selection_rate,
                "precision": lambda t, p: precision_score(t, p, zero_division=0),
            },
            y_true=y_true == name,
            y_pred=y_pred == name,
            sensitive_features=slices,
        )
        for group in ("north", "south", "west"):
            for metric in ("tpr", "fpr", "fnr", "selection_rate", "precision"):
                assert rows.loc[(group, name), metric] == pytest.approx(
                    frame.by_group.loc[group, metric]
                ), (group, name, metric)
        for metric in ("tpr", "fpr", "selection_rate"):
            assert rows.loc[(ALL_ROWS_LABEL, name), metric] == pytest.approx(
                frame.overall[metric]
            )


def test_one_vs_rest_counts_by_hand():
    # Slice s: (cat, cat), (dog, cat). For class cat: TP 1, FP 1, FN 0, TN 0.
    table = one_vs_rest_rates_by_slice(
        ["cat", "dog"], ["cat", "cat"], ["s", "s"], ["cat", "dog"]
    )

    cat = table.set_index(["slice", "class"]).loc[("s", "cat")]
    assert (cat["tp"], cat["fp"], cat["fn"], cat["tn"]) == (1, 1, 0, 0)
    assert cat["precision"] == 0.5
    assert cat["selection_rate"] == 1.0
    dog = table.set_index(["slice", "class"]).loc[("s", "dog")]
    assert (dog["tp"], dog["fp"], dog["fn"], dog["tn"]) == (0, 0, 1, 1)
