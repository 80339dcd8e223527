"""Helpers shared by the What-If page tests: demo runs, uploads and tables."""

from __future__ import annotations

import functools
import io

import pandas as pd
import pyarrow as pa
import skops.io
from streamlit.testing.v1 import AppTest

import tracking
from analysis.sources import load_run_dataset, load_run_model
from tests.app.helpers import APP, TIMEOUT

WHATIF = "pages/2_What-If.py"
PERFORMANCE = "pages/5_Performance_and_Fairness.py"
FEATURES = "pages/6_Features.py"
DATAPOINTS = "pages/7_Datapoints.py"


@functools.lru_cache(maxsize=8)
def demo_run(location: str, name_prefix: str):
    """Return the run id, Predictor and test frame of the first demo run named so.

    The result is cached across tests, so callers must not modify the frame.
    """
    store = tracking.open_store(location)
    runs = store.runs("adult-income")
    run_id = runs[runs["name"].str.startswith(name_prefix)]["run_id"].iloc[0]
    artifacts = store.artifacts("adult-income", run_id).set_index("type")
    predictor = load_run_model(store, artifacts.loc["model", "manifest"])
    frame = load_run_dataset(store, artifacts.loc["dataset", "manifest"])
    return run_id, predictor, frame


def open_with_params(page: str, params: dict[str, str]) -> AppTest:
    """Open ``page`` as a first request whose URL carries ``params``."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(params)
    app.run()
    app.switch_page(page).run()
    return app


def table_with_column(app: AppTest, *columns: str) -> pd.DataFrame:
    """Return the first table that has every one of ``columns``."""
    for element in app.dataframe:
        value = element.value
        if isinstance(value, pd.DataFrame) and set(columns) <= set(value.columns):
            return value
    found = [list(element.value.columns) for element in app.dataframe]
    raise AssertionError(f"no table with columns {columns}; tables have {found}")


def skops_bytes(model) -> bytes:
    """Save a scikit-learn model with skops and return the file's bytes."""
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    return buffer.getvalue()


def upload(app: AppTest, model_bytes: bytes, csv_bytes: bytes, name="model.skops"):
    """Switch the source to uploads and upload a model and a CSV."""
    app.radio(key="wi_source").set_value("upload").run()
    app.file_uploader(key="wi_model_file").upload(name, model_bytes).run()
    app.file_uploader(key="wi_csv").upload("data.csv", csv_bytes, "text/csv").run()
    return app


def chart_row_counts(app: AppTest) -> list[int]:
    """Return the number of data rows each Vega-Lite chart on the page sends."""
    counts = []
    for element in app.get("vega_lite_chart"):
        proto = element.proto
        total = 0
        for dataset in proto.datasets:
            total += _arrow_rows(dataset.data.data)
        if proto.data.data:
            total += _arrow_rows(proto.data.data)
        counts.append(total)
    return counts


def _arrow_rows(data: bytes) -> int:
    if not data:
        return 0
    return pa.ipc.open_stream(data).read_all().num_rows
