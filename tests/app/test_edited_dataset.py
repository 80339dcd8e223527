"""Rows edited, added or deleted in the editor, as every What-If page shows them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from tests.app.helpers import metric_values, open_page
from tests.app.whatif_helpers import (
    DATAPOINTS,
    FEATURES,
    PERFORMANCE,
    WHATIF,
    demo_run,
    table_with_column,
)

GAIN = 15024


def _scores(predictor, frame):
    return predictor.predict_scores(frame, label="income")[:, 1]


def _flipped_by_gain(predictor, frame) -> int:
    """Return the first row predicted <=50K that a capital gain of GAIN flips."""
    head = frame.iloc[:300].copy()
    before = _scores(predictor, head)
    head["capital_gain"] = GAIN
    after = _scores(predictor, head)
    flipped = np.flatnonzero((before < 0.5) & (after >= 0.5))
    assert len(flipped), "no row of the first 300 flips with the capital gain"
    return int(flipped[0])


def _open_run(page: str, run_id: str):
    app = open_page(page)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    return app


def _notes(app) -> list[str]:
    return [info.value for info in app.info if "edited row" in info.value]


def _check_performance(app, edited: pd.DataFrame, scores, thresholds=0.5) -> None:
    """Check the confusion matrix and headline metrics against scikit-learn."""
    actual = (edited["income"] == ">50K").to_numpy()
    predicted = scores >= thresholds
    tn, fp, fn, tp = confusion_matrix(actual, predicted, labels=[0, 1]).ravel()
    table = table_with_column(app, "outcome", "count").set_index("outcome")
    assert table["count"].to_dict() == {"TN": tn, "FP": fp, "FN": fn, "TP": tp}
    values = metric_values(app)
    assert values["Accuracy"] == f"{accuracy_score(actual, predicted):.3f}"
    assert values["Precision"] == f"{precision_score(actual, predicted):.3f}"
    assert values["Recall"] == f"{recall_score(actual, predicted):.3f}"
    assert values["F1"] == f"{f1_score(actual, predicted):.3f}"


def test_edited_row_reaches_every_page(demo_env):
    """Check an edit that flips a prediction on the other three pages."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    row = _flipped_by_gain(predictor, frame)
    edited = frame.copy()
    edited.loc[row, "capital_gain"] = GAIN
    scores = _scores(predictor, edited)

    app = _open_run(WHATIF, run_id)
    app.number_input(key="wi_row").set_value(row).run()
    app.number_input(key=f"wi_edit_{row}_capital_gain").set_value(GAIN).run()
    assert not app.exception
    assert metric_values(app)["Edited prediction"] == ">50K"
    assert _notes(app) == [
        "1 edited row (1 changed): every view uses the dataset as edited in the "
        "datapoint editor."
    ]
    actual = edited["income"] == ">50K"
    assert metric_values(app)["Accuracy"] == f"{np.mean((scores >= 0.5) == actual):.3f}"

    app.switch_page(PERFORMANCE).run()
    assert not app.exception
    assert len(_notes(app)) == 1
    _check_performance(app, edited, scores)

    app.switch_page(FEATURES).run()
    numeric = table_with_column(app, "feature", "zeros_pct").set_index("feature")
    assert numeric.loc["capital_gain", "mean"] == pytest.approx(
        edited["capital_gain"].mean()
    )
    outputs = table_with_column(app, "feature", "unique", "mean").set_index("feature")
    assert outputs.loc["score", "mean"] == pytest.approx(scores.mean())

    app.switch_page(DATAPOINTS).run()
    listed = table_with_column(app, "row", "score").set_index("row")
    assert listed.loc[row, "capital_gain"] == GAIN
    assert listed.loc[row, "score"] == pytest.approx(scores[row])


def test_added_row_counts_on_performance_page(demo_env):
    """Check a row added from another row, then edited so that it flips."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    row = _flipped_by_gain(predictor, frame)
    new_id = len(frame)
    added = frame.iloc[[row]].copy()
    added["capital_gain"] = GAIN
    edited = pd.concat([frame, added], ignore_index=True)
    scores = _scores(predictor, edited)

    app = _open_run(WHATIF, run_id)
    app.number_input(key="wi_row").set_value(row).run()
    app.button(key="wi_add").click().run()
    assert app.number_input(key="wi_row").value == new_id
    app.number_input(key=f"wi_edit_{new_id}_capital_gain").set_value(GAIN).run()
    assert not app.exception
    assert metric_values(app)["Edited prediction"] == ">50K"
    assert metric_values(app)["Rows"] == f"{len(edited):,}"

    app.switch_page(PERFORMANCE).run()
    assert not app.exception
    assert _notes(app)[0].startswith("1 edited row (1 added)")
    _check_performance(app, edited, scores)

    app.switch_page(DATAPOINTS).run()
    listed = table_with_column(app, "row", "score").set_index("row")
    assert new_id not in listed.index  # only the first 1,000 rows are listed
    app.number_input(key="wi_explore_row").set_value(new_id).run()
    app.button(key="wi_open_row").click().run()
    assert app.title[0].value == "What-If"
    assert app.number_input(key="wi_row").value == new_id


def test_deleted_row_left_out_of_metrics(demo_env):
    """Check that a deleted true positive no longer counts on the Performance page."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    positive = (frame["income"] == ">50K").to_numpy() & (scores >= 0.5)
    row = int(np.flatnonzero(positive)[0])
    edited = frame.drop(index=row).reset_index(drop=True)

    app = _open_run(WHATIF, run_id)
    app.number_input(key="wi_row").set_value(row).run()
    app.button(key="wi_delete").click().run()
    assert not app.exception

    app.switch_page(PERFORMANCE).run()
    assert not app.exception
    assert _notes(app)[0].startswith("1 edited row (1 deleted)")
    _check_performance(app, edited, np.delete(scores, row))


def test_discard_edits_restores_dataset(demo_env):
    """Check that discarding returns every page to the dataset as loaded."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    row = _flipped_by_gain(predictor, frame)
    app = _open_run(WHATIF, run_id)
    app.number_input(key="wi_row").set_value(row).run()
    app.number_input(key=f"wi_edit_{row}_capital_gain").set_value(GAIN).run()
    app.number_input(key="wi_row").set_value(row + 1).run()
    app.button(key="wi_delete").click().run()
    app.switch_page(PERFORMANCE).run()
    assert _notes(app)[0].startswith("2 edited rows (1 changed, 1 deleted)")

    app.button(key="wi_discard_edits").click().run()
    assert not app.exception
    assert _notes(app) == []
    _check_performance(app, frame, _scores(predictor, frame))

    app.switch_page(WHATIF).run()
    assert app.number_input(key="wi_row").value == row + 1
    assert app.button(key="wi_delete").label == "Delete"
    app.number_input(key="wi_row").set_value(row).run()
    original = frame.loc[row, "capital_gain"]
    assert app.number_input(key=f"wi_edit_{row}_capital_gain").value == original
    # The edit history is gone with the edits.
    assert not any("action" in table.value.columns for table in app.dataframe)


def test_edited_slice_uses_new_threshold(demo_env):
    """Check that a row whose sex is edited gets the threshold of its new slice."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    thresholds = {"Female": 0.95, "Male": 0.05}
    as_female = frame.assign(sex="Female")
    candidates = (
        (frame["sex"] == "Male").to_numpy()
        & (_scores(predictor, frame) > 0.05)
        & (_scores(predictor, as_female) < 0.95)
    )
    row = int(np.flatnonzero(candidates)[0])
    edited = frame.copy()
    edited.loc[row, "sex"] = "Female"
    scores = _scores(predictor, edited)
    row_thresholds = edited["sex"].map(thresholds).to_numpy()

    app = _open_run(PERFORMANCE, run_id)
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    app.slider(key="wi_slice_thr_0").set_value(thresholds["Female"]).run()
    app.slider(key="wi_slice_thr_1").set_value(thresholds["Male"]).run()
    app.switch_page(WHATIF).run()
    app.number_input(key="wi_row").set_value(row).run()
    assert metric_values(app)["Edited prediction"] == ">50K"

    app.selectbox(key=f"wi_edit_{row}_sex").set_value("Female").run()
    assert not app.exception
    assert metric_values(app)["Edited prediction"] == "<=50K"
    assert any("threshold 0.95" in caption.value for caption in app.caption)
    history = table_with_column(app, "step", "action")
    assert history["prediction"].tolist() == ["<=50K", ">50K"]
    actual = edited["income"] == ">50K"
    accuracy = np.mean((scores >= row_thresholds) == actual)
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"

    # A deleted row keeps the threshold of the slice its values belong to.
    app.button(key="wi_delete").click().run()
    assert metric_values(app)["Edited prediction"] == "<=50K"
    assert any("deleted · " in caption.value for caption in app.caption)
    assert any("threshold 0.95" in caption.value for caption in app.caption)
    app.button(key="wi_restore").click().run()

    app.switch_page(PERFORMANCE).run()
    assert not app.exception
    _check_performance(app, edited, scores, row_thresholds)
    slices = table_with_column(app, "slice", "threshold", "tp").set_index("slice")
    female = (edited["sex"] == "Female").to_numpy()
    predicted = scores >= row_thresholds
    assert slices.loc["Female", "count"] == female.sum()
    assert slices.loc["Female", "tp"] == (predicted & actual & female).sum()
    assert slices.loc["Female", "fp"] == (predicted & ~actual & female).sum()
