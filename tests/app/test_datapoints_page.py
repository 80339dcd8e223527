"""The Datapoints explorer: small charts, opening rows in the editor, images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from pages.ui.explorer import ROW_BOX_KEY, put_pick_in_row_box
from tests.app.helpers import open_page
from tests.app.whatif_helpers import (
    DATAPOINTS,
    PERFORMANCE,
    WHATIF,
    chart_row_counts,
    demo_run,
    skops_bytes,
    table_with_column,
    upload,
)


def test_charts_send_few_marks(demo_env):
    """Check the rows sent: a sample for a scatter plot, bins for a histogram."""
    run_id, _, frame = demo_run(demo_env, "hgb")
    app = open_page(DATAPOINTS)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    # At most 30 score bins times two values of correct.
    (histogram,) = chart_row_counts(app)
    assert 30 <= histogram <= 60

    app.selectbox(key="wi_x").set_value("age").run()
    app.selectbox(key="wi_y").set_value("hours_per_week").run()
    assert chart_row_counts(app) == [3000]
    assert len(frame) > 3000
    assert "a random sample of 3,000 of 16,281 rows" in app.caption[0].value

    app.selectbox(key="wi_x").set_value("education").run()
    app.selectbox(key="wi_y").set_value("(none)").run()
    app.selectbox(key="wi_color").set_value("income").run()
    assert chart_row_counts(app) == [2 * frame["education"].nunique()]


def test_fields_match_model_and_distance(demo_env):
    """Check the score, correct and distance columns of the listed rows."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(DATAPOINTS)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_y").set_value("distance to row 0").run()
    rows = table_with_column(app, "row", "score", "distance to row 0")

    scores = predictor.predict_scores(frame, label="income")[:, 1]
    listed = rows["row"].to_numpy()
    assert rows["score"].to_numpy() == pytest.approx(scores[listed])

    # The What-If Tool's L1 distance of row 1 to row 0, term by term.
    features = [column for column in frame.columns if column != "income"]
    expected = 0.0
    for name in features:
        a, b = frame.loc[0, name], frame.loc[1, name]
        if frame[name].dtype.kind in "if":
            expected += abs(a - b) / frame[name].std()
        elif a != b:
            shares = frame[name].value_counts(normalize=True)
            expected += float((shares**2).sum())
    assert rows.set_index("row").loc[1, "distance to row 0"] == pytest.approx(expected)
    assert rows.set_index("row").loc[0, "distance to row 0"] == 0.0


def test_open_row_in_editor(demo_env):
    """Check that choosing row 5 opens it in the datapoint editor."""
    app = open_page(DATAPOINTS)
    app.number_input(key="wi_explore_row").set_value(5).run()
    app.button(key="wi_open_row").click().run()
    assert not app.exception
    assert app.title[0].value == "What-If"
    assert app.query_params["row"] == "5"
    assert app.number_input(key="wi_row").value == 5
    assert any(m.value.startswith("Row 5 is") for m in app.markdown)


def test_clicked_point_fills_row_box():
    """Check that a new click sets the Row box and a typed row then stays."""
    state = {ROW_BOX_KEY: 0}
    put_pick_in_row_box(7, state)
    assert state[ROW_BOX_KEY] == 7

    # The chart reports the same selection on the next rerun.
    state[ROW_BOX_KEY] = 3
    put_pick_in_row_box(7, state)
    assert state[ROW_BOX_KEY] == 3

    put_pick_in_row_box(9, state)
    assert state[ROW_BOX_KEY] == 9
    put_pick_in_row_box(None, state)
    assert state[ROW_BOX_KEY] == 9


def test_one_open_row_button(demo_env):
    """Check that the scatter view has only the Row box's open button."""
    app = open_page(DATAPOINTS)
    app.selectbox(key="wi_y").set_value("age").run()
    assert not app.exception
    assert any(c.value.startswith("Click a point") for c in app.caption)
    labels = [button.label for button in app.button]
    assert labels.count("Open in the datapoint editor") == 1
    assert not [label for label in labels if label.startswith("Open row")]


def test_deleted_rows_left_out(demo_env):
    """Check that a row deleted in the editor is not drawn or listed."""
    app = open_page(WHATIF)
    app.number_input(key="wi_row").set_value(2).run()
    app.button(key="wi_delete").click().run()
    app.switch_page(DATAPOINTS).run()
    assert not app.exception
    rows = table_with_column(app, "row", "correct")["row"].to_numpy()
    assert 2 not in rows
    assert np.array_equal(rows[:3], [0, 1, 3])
    assert app.query_params["row"] == "2"


def test_digit_images(demo_env):
    """Check digit thumbnails in the explorer and editor, and metrics per digit."""
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"pixel_{i}" for i in range(64)])
    frame["digit"] = digits.target
    train, test = frame.iloc[:1000], frame.iloc[1000:].reset_index(drop=True)
    pixels = list(frame.columns[:64])
    model = LogisticRegression(max_iter=3000).fit(train[pixels], train["digit"])
    csv = test.to_csv(index=False).encode()
    app = upload(open_page(DATAPOINTS), skops_bytes(model), csv)
    assert not app.exception
    assert [error.value for error in app.error] == []

    predicted = model.predict(test[pixels])
    captions = app.image[0].captions
    assert len(captions) == 24
    for caption in captions:
        row = int(caption.split(":")[0].removeprefix("row "))
        assert caption == f"row {row}: {predicted[row]}"

    app.switch_page(WHATIF).run()
    assert app.image[0].captions == ["row 0 in the dataset", "row 0 as edited"]

    app.switch_page(PERFORMANCE).run()
    app.selectbox(key="wi_slice_feature").set_value("digit").run()
    app.number_input(key="wi_buckets").set_value(10).run()
    table = table_with_column(app, "slice", "accuracy", "macro_f1").set_index("slice")
    for digit in range(10):
        rows = (test["digit"] == digit).to_numpy()
        accuracy = np.mean(predicted[rows] == digit)
        assert table.loc[str(digit), "accuracy"] == pytest.approx(accuracy)


def test_correct_field_with_missing_labels(demo_env):
    """Check correct against the model's predictions, and missing labels."""
    frame = pd.DataFrame(
        {
            "x": np.arange(40, dtype=float),
            "y": np.arange(40) % 3,
            "label": ["no", "yes"] * 20,
        }
    )
    model = LogisticRegression().fit(frame[["x", "y"]], frame["label"])
    data = frame.astype({"label": object})
    data.loc[[0, 5, 6], "label"] = None
    app = upload(
        open_page(DATAPOINTS), skops_bytes(model), data.to_csv(index=False).encode()
    )
    assert not app.exception
    assert [error.value for error in app.error] == []

    rows = table_with_column(app, "row", "correct").set_index("row")
    predicted = model.predict(frame[["x", "y"]])
    for row in range(40):
        if row in (0, 5, 6):
            assert pd.isna(rows.loc[row, "correct"]), row
        else:
            assert rows.loc[row, "correct"] == (predicted[row] == frame["label"][row])

    # The default chart is a histogram of the score stacked by correct.
    (chart,) = app.get("vega_lite_chart")
    colours = set()
    for dataset in chart.proto.datasets:
        table = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
        colours |= set(table["correct"].astype(str))
    assert colours == {"True", "False", "(missing)"}
