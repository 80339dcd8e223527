"""The Features page: statistics, flagged problems, model outputs, two datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from analysis.data import load_adult
from tests.app.helpers import open_page
from tests.app.whatif_helpers import FEATURES, demo_run, table_with_column


def _numeric(app) -> pd.DataFrame:
    return table_with_column(app, "feature", "zeros_pct", "problems").set_index(
        "feature"
    )


def test_numeric_statistics_match_pandas(demo_env):
    """Check count, mean, std, median and share of zeros against pandas."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    app = open_page(FEATURES)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    table = _numeric(app)
    for name in ("age", "capital_gain", "hours_per_week"):
        column = frame[name]
        assert table.loc[name, "count"] == column.count()
        assert table.loc[name, "mean"] == pytest.approx(column.mean())
        assert table.loc[name, "std"] == pytest.approx(column.std())
        assert table.loc[name, "median"] == pytest.approx(column.median())
        assert table.loc[name, "zeros_pct"] == pytest.approx(100 * (column == 0).mean())


def test_problems_highlighted(demo_env):
    """Check that missing values and mostly-zero columns are flagged and listed."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    app = open_page(FEATURES)
    app.selectbox(key="wi_run").set_value(run_id).run()
    categorical = table_with_column(app, "feature", "top", "problems").set_index(
        "feature"
    )
    missing = 100 * frame["workclass"].isna().mean()
    assert missing > 5
    assert categorical.loc["workclass", "missing_pct"] == pytest.approx(missing)
    assert categorical.loc["workclass", "problems"] == "many_missing"
    assert _numeric(app).loc["capital_gain", "problems"] == "mostly_zeros"
    warning = app.warning[0].value
    assert "**workclass**: at least 5% of the values are missing" in warning
    assert "**capital_gain**: at least 50% of the values are 0" in warning


def test_model_outputs_as_rows(demo_env):
    """Check the score's mean and the correct rows' count against the model."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(FEATURES)
    app.selectbox(key="wi_run").set_value(run_id).run()
    outputs = table_with_column(app, "feature", "unique", "mean").set_index("feature")
    scores = predictor.predict_scores(frame, label="income")[:, 1]
    correct = (scores >= 0.5) == (frame["income"] == ">50K")
    assert outputs.loc["score", "mean"] == pytest.approx(scores.mean())
    assert outputs.loc["correct", "top"] == "True"
    assert outputs.loc["correct", "top_count"] == correct.sum()
    assert outputs.loc["prediction", "unique"] == 2


def test_compare_with_training_split(demo_env):
    """Check PSI and Jensen-Shannon distance of sex, test against training data."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    app = open_page(FEATURES)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert app.radio(key="wi_reference").value == "adult_train"
    table = table_with_column(app, "feature", "psi", "js_distance").set_index("feature")

    train = load_adult("train")
    values = sorted(set(train["sex"]) | set(frame["sex"]))
    expected = train["sex"].value_counts(normalize=True).reindex(values).to_numpy()
    actual = frame["sex"].value_counts(normalize=True).reindex(values).to_numpy()
    psi = np.sum((actual - expected) * np.log(actual / expected))
    assert table.loc["sex", "psi"] == pytest.approx(psi)
    assert table.loc["sex", "js_distance"] == pytest.approx(
        jensenshannon(expected, actual, base=2)
    )
    assert not table["skewed"].any()


def test_compare_with_uploaded_csv(demo_env):
    """Check a second upload whose age moved: age is flagged as skewed."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    shifted = frame.assign(age=frame["age"] + 20)
    app = open_page(FEATURES)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.radio(key="wi_reference").set_value("upload").run()
    csv = shifted.to_csv(index=False).encode()
    app.file_uploader(key="wi_reference_csv").upload("old.csv", csv, "text/csv").run()
    assert not app.exception
    table = table_with_column(app, "feature", "psi", "skewed").set_index("feature")
    assert table.loc["age", "skewed"]
    assert not table.loc["sex", "skewed"]
    assert table.loc["sex", "psi"] == pytest.approx(0.0)
    assert "Skewed features: age" in app.warning[-1].value
