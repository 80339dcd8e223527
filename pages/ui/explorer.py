"""The datapoints explorer: fields to plot, the chart, and opening a row in the editor.

Fields are the dataset's columns, each model's outputs (prediction, score, correct
or error), the row id, and the distance of every row to the row open in the
editor. The rows are those of the edited dataset (see :mod:`pages.ui.edits`):
edited rows with their edited values, added rows, and no deleted rows. Each point
carries its editor row id, and clicking it puts that id in the Row box, whose
button opens the row in the editor.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.counterfactual import distances
from analysis.edit_overlay import EditOverlay, row_frame
from analysis.explorer import ROW_COLUMN, SELECTION_NAME, explorer_chart
from analysis.images import row_images
from analysis.model_outputs import model_outputs
from pages.ui.editor import editor_state
from pages.ui.loaders import encoded_labels_for, image_layout_for, stats_for
from pages.ui.slicing import Slicing, current_threshold, row_thresholds, shared
from pages.ui.state import remember, restore
from pages.ui.tables import table_with_download
from pages.ui.whatif import LoadedModel, WhatIf

logger = logging.getLogger(__name__)

EDITOR_PAGE = "pages/2_What-If.py"
NONE = "(none)"
ROW_FIELD = "row id"
LISTED_ROWS = 1000
THUMBNAILS = 24
ROW_BOX_KEY = "wi_explore_row"
# The row of the last point clicked in the chart.
LAST_PICK_KEY = "wi_explorer_last_pick"


def output_fields(context: WhatIf) -> list[str]:
    """Return the names of the model output fields, per model."""
    names = []
    for model in context.models:
        prefix = _prefix(context, model)
        if context.task == "regression":
            names += [
                f"{prefix}prediction",
                f"{prefix}error",
                f"{prefix}absolute error",
            ]
        else:
            names += [f"{prefix}prediction", f"{prefix}score", f"{prefix}correct"]
    if len(context.models) > 1:
        names.append("models agree")
    return names


def explorer(context: WhatIf, slicing: Slicing) -> None:
    """Draw the field choices, the chart and the ways to open a row.

    ``context`` is the selection over the edited dataset.
    """
    overlay, _ = editor_state(context)
    selected = shared(
        "wi_row", "row", parse=int, default=0, valid=lambda v: overlay.contains(v)
    )
    distance_field = f"distance to row {selected}"
    fields = [
        *[str(name) for name in context.frame.columns],
        *output_fields(context),
        distance_field,
        ROW_FIELD,
    ]
    default_x = (
        output_fields(context)[1] if context.task != "regression" else "prediction"
    )
    cells = st.columns(3)
    x = _field_select(cells[0], "X axis", "wi_x", "x", fields, default_x)
    y = _field_select(cells[1], "Y axis", "wi_y", "y", [NONE, *fields], NONE)
    color = _field_select(
        cells[2],
        "Colour by",
        "wi_color",
        "color",
        [NONE, *fields],
        _default_color(context),
    )
    cells = st.columns(3)
    x_buckets = _buckets(cells[0], "Bucket the X axis (0 = no)", "wi_x_buckets")
    y_buckets = _buckets(cells[1], "Bucket the Y axis (0 = no)", "wi_y_buckets")

    chosen = [name for name in dict.fromkeys([x, y, color]) if name != NONE]
    data = _field_data(context, slicing, chosen, selected, distance_field, overlay)
    view = explorer_chart(
        data,
        x=x,
        y=None if y == NONE else y,
        color=None if color == NONE else color,
        x_buckets=x_buckets,
        y_buckets=y_buckets,
        highlight=selected,
    )
    st.caption(view.note)
    if view.kind == "scatter":
        event = st.altair_chart(
            view.chart,
            width="stretch",
            on_select="rerun",
            selection_mode=SELECTION_NAME,
            key="wi_explorer_chart",
        )
        put_pick_in_row_box(_picked_row(event), st.session_state)
        st.caption("Click a point to put its row in the Row box below.")
    else:
        st.altair_chart(view.chart, width="stretch")

    _open_row_controls(overlay, selected)
    _thumbnails(context, slicing, data, selected)
    _rows_table(context, data, chosen)


def put_pick_in_row_box(picked: int | None, state: MutableMapping[str, Any]) -> None:
    """Set the Row box to a newly clicked point's row, before the box is drawn.

    The chart keeps its selection across reruns, so only a pick that differs
    from the last one is taken, and a row typed into the box afterwards stays.
    """
    if picked is None or picked == state.get(LAST_PICK_KEY):
        return
    state[LAST_PICK_KEY] = picked
    state[ROW_BOX_KEY] = picked


def _open_row_controls(overlay: EditOverlay, selected: int) -> None:
    """Draw a row id input and a button that opens that row in the editor."""

    def openable(row_id: int) -> bool:
        return overlay.contains(row_id) and not overlay.is_deleted(row_id)

    cells = st.columns([2, 2, 3])
    restore(ROW_BOX_KEY, valid=openable, default=selected)
    row = int(
        cells[0].number_input(
            "Row",
            min_value=0,
            max_value=overlay.next_id - 1,
            step=1,
            key=ROW_BOX_KEY,
            help=f"Rows 0 to {overlay.n_rows - 1} are the dataset's; rows added in "
            "the editor follow.",
        )
    )
    remember(ROW_BOX_KEY)
    if not openable(row):
        cells[1].caption(f"Row {row} was deleted in the editor; choose another row.")
        return
    if cells[1].button("Open in the datapoint editor", key="wi_open_row"):
        _switch(row)


def _field_select(
    container: Any, label: str, key: str, param: str, options: list[str], default: str
) -> str:
    restore(key, param=param, options=options, default=default)
    value = container.selectbox(label, options, key=key)
    remember(key, param=param)
    return value


def _buckets(container: Any, label: str, key: str) -> int | None:
    restore(key, valid=lambda v: v == 0 or 2 <= v <= 50, default=0)
    value = container.number_input(label, min_value=0, max_value=50, key=key)
    remember(key)
    return None if int(value) < 2 else int(value)


def _default_color(context: WhatIf) -> str:
    return (
        f"{_prefix(context, context.model)}correct"
        if context.task != "regression"
        else context.label
    )


def _prefix(context: WhatIf, model: LoadedModel) -> str:
    return "" if model is context.model else f"{model.name}: "


def _field_data(
    context: WhatIf,
    slicing: Slicing,
    fields: list[str],
    selected: int,
    distance_field: str,
    overlay: EditOverlay,
) -> pd.DataFrame:
    """Build the explorer's data: each row's id and the chosen fields, by position.

    Columns keep their types (categorical predictions, boolean ``correct`` with
    missing values, the dataset's own dtypes), so nothing is converted to
    Python objects row by row.
    """
    data = pd.DataFrame({ROW_COLUMN: context.ids()})
    thresholds = row_thresholds(slicing, current_threshold(), len(context.frame))
    outputs: dict[str, Any] = {}
    for model in context.models:
        outputs.update(_model_outputs(context, model, thresholds))
    if len(context.models) > 1:
        first, second = (
            outputs[f"{_prefix(context, m)}prediction"] for m in context.models[:2]
        )
        outputs["models agree"] = _as_text(first) == _as_text(second)

    for name in fields:
        if name in data.columns:
            continue
        if name == ROW_FIELD:
            data[name] = context.ids()
        elif name == distance_field:
            stats = stats_for(
                context.data_key, (context.label, *context.score_columns), context.frame
            )
            anchor = row_frame(context.unedited.frame, overlay, selected).iloc[0]
            data[name] = distances(context.frame, anchor, stats)
        elif name in outputs:
            data[name] = outputs[name]
        else:
            # An array has no index, so pandas places it by position.
            data[name] = context.frame[name].array
    return data


def _model_outputs(
    context: WhatIf, model: LoadedModel, thresholds: Any
) -> dict[str, Any]:
    """Return the model's output fields, named as :func:`output_fields` names them."""
    prefix = _prefix(context, model)
    truth = context.frame[context.label]
    if context.task == "regression":
        outputs = model_outputs(model.predictor, model.scores, truth=truth)
        return {
            f"{prefix}prediction": outputs["prediction"],
            f"{prefix}error": outputs["error"],
            f"{prefix}absolute error": outputs["absolute_error"],
        }

    classes = model.predictor.classes
    # WhatIf.predictions reads every model's positive score from the first
    # model's positive column, pos_index, and so does the explorer.
    positive = classes[context.pos_index] if context.task == "binary" else None
    outputs = model_outputs(
        model.predictor,
        model.scores,
        truth=truth,
        threshold=thresholds,
        pos_label=positive,
        labels=encoded_labels_for(
            context.data_key, model.key, context.label, tuple(classes), truth
        ),
    )
    return {f"{prefix}{name}": values for name, values in outputs.items()}


def _as_text(prediction: Any) -> np.ndarray:
    """Return predicted classes as text, so that the class 1 and "1" agree."""
    if isinstance(prediction, pd.Categorical):
        names = np.array([str(name) for name in prediction.categories], dtype=object)
        return names[prediction.codes]
    return np.asarray(prediction)


def _picked_row(event: Any) -> int | None:
    try:
        points = event["selection"][SELECTION_NAME]
    except (KeyError, TypeError):
        return None
    if not points:
        return None
    value = points[0].get(ROW_COLUMN) if isinstance(points[0], dict) else None
    return None if value is None else int(value)


def _switch(row: int) -> None:
    st.switch_page(EDITOR_PAGE, query_params={"row": str(row)})


def _thumbnails(
    context: WhatIf, slicing: Slicing, data: pd.DataFrame, selected: int
) -> None:
    """Show the selected row and a seeded sample of rows as images, if they are."""
    found = image_layout_for(context.data_key, tuple(context.features), context.frame)
    if found is None:
        return
    layout, value_range = found
    positions = np.arange(len(data))
    rng = np.random.default_rng(0)
    sample = rng.choice(positions, size=min(THUMBNAILS, len(positions)), replace=False)
    first = [int(position) for position in np.flatnonzero(context.ids() == selected)]
    pictured = [
        *first,
        *(int(position) for position in sample if position not in first),
    ]
    pictured = pictured[:THUMBNAILS]
    thresholds = row_thresholds(slicing, current_threshold(), len(context.frame))
    predictions = context.predictions(thresholds=thresholds)
    images = row_images(context.frame.iloc[pictured], layout, value_range, scale=6)
    row_ids = context.ids()
    st.subheader("Images")
    st.image(
        list(images),
        caption=[
            f"row {row_ids[position]}: {predictions[position]}" for position in pictured
        ],
        width=56,
    )


def _rows_table(context: WhatIf, data: pd.DataFrame, fields: list[str]) -> None:
    with st.expander(f"The first {LISTED_ROWS:,} rows with these fields"):
        listed = data.head(LISTED_ROWS)
        # The explorer's data is in the order of the frame's rows.
        features = context.frame.iloc[: len(listed)].reset_index(drop=True)
        extra = [name for name in fields if name not in features.columns]
        table = pd.concat(
            [listed[[ROW_COLUMN, *extra]].reset_index(drop=True), features], axis=1
        )
        table_with_download(table, key="wi_explorer_rows", file_name="datapoints.csv")
