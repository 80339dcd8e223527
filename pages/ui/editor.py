"""The datapoint editor: choose a row, edit, add, duplicate or delete it, see history.

Edits never touch the cached dataset. They live in an
:class:`analysis.edit_overlay.EditOverlay` kept in session state, with the history
of each step's prediction. Both are reset when the dataset, the label or a model
changes, and when the user discards the edits. The other What-If pages read the
same overlay to show the edited dataset (see :mod:`pages.ui.edits`).

A row's binary threshold comes from a :class:`ThresholdLookup`, so an edit that
moves the row to another slice also gives it that slice's threshold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import streamlit as st

from analysis.edit_overlay import (
    EditOverlay,
    HistoryEntry,
    add_row,
    append_history,
    delete_row,
    describe_differences,
    history_frame,
    reset_row,
    restore_row,
    row_differences,
    row_frame,
    set_row_values,
)
from analysis.edited_dataset import row_digest
from analysis.editor import category_options, is_numeric_feature
from analysis.images import row_images
from analysis.models import ModelError
from analysis.predictions import RowPrediction, format_top_classes, row_prediction
from pages.ui.loaders import edited_row_scores, image_layout_for
from pages.ui.state import keep, kept, remember, restore
from pages.ui.tables import table_with_download
from pages.ui.whatif import LoadedModel, WhatIf

logger = logging.getLogger(__name__)

ROW_KEY = "wi_row"
_STATE = "editor_state"
_EDIT_PREFIX = "wi_edit_"


class ThresholdLookup(Protocol):
    """A lookup of a row's binary decision threshold, given the overlay's edits."""

    def of(self, overlay: EditOverlay, row_id: int) -> float:
        """Return the threshold of row ``row_id`` with the edits of ``overlay``."""
        ...


@dataclass(frozen=True)
class SelectedRow:
    """The row open in the editor, as edited.

    Attributes
    ----------
    row_id : int
        Dataset row position, or the id of an added row.
    frame : pandas.DataFrame
        Its values, one row with the dataset's dtypes.
    base : int
        The dataset row it starts from.
    edited : bool
        Whether any value differs from the base row.
    deleted : bool
        Whether the row is deleted.
    predictions : list of RowPrediction
        Its prediction by each model.
    threshold : float
        Its binary decision threshold.
    """

    row_id: int
    frame: pd.DataFrame
    base: int
    edited: bool
    deleted: bool
    predictions: list[RowPrediction]
    threshold: float


def editor_state(context: WhatIf) -> tuple[EditOverlay, list[HistoryEntry]]:
    """Return the kept overlay and history, new ones when the analysis changed."""
    context = context.unedited
    signature = _signature(context)
    state = kept(_STATE)
    if not state or state["signature"] != signature:
        # The editor's widgets would carry old edits over to the new analysis.
        _forget_edit_widgets()
        state = {
            "signature": signature,
            "overlay": EditOverlay(n_rows=len(context.frame)),
            "history": [],
        }
        keep(_STATE, state)
    return state["overlay"], state["history"]


def discard_edits() -> None:
    """Drop every edit, added row and deletion, and the edit history."""
    keep(_STATE, None)
    _forget_edit_widgets()
    logger.info("Discarded the datapoint editor's edits")


def _forget_edit_widgets() -> None:
    stale = [name for name in st.session_state if str(name).startswith(_EDIT_PREFIX)]
    for name in stale:
        del st.session_state[name]


def _save(overlay: EditOverlay, history: list[HistoryEntry]) -> None:
    state = dict(kept(_STATE))
    state.update(overlay=overlay, history=history)
    keep(_STATE, state)


def _signature(context: WhatIf) -> list[Any]:
    return [
        context.data_key,
        context.label,
        context.task,
        str(context.positive),
        [model.key for model in context.models],
    ]


def row_selector(
    context: WhatIf, overlay: EditOverlay, thresholds: ThresholdLookup
) -> int:
    """Draw the row number and the add, duplicate, delete and reset buttons."""
    restore(
        ROW_KEY,
        param="row",
        parse=int,
        valid=lambda value: isinstance(value, int) and overlay.contains(value),
        default=0,
    )
    cells = st.columns([2, 1, 1, 1, 1])
    row_id = int(
        cells[0].number_input(
            "Row",
            min_value=0,
            max_value=overlay.next_id - 1,
            step=1,
            key=ROW_KEY,
            help=f"Rows 0 to {overlay.n_rows - 1} are the dataset's; added rows "
            "follow.",
        )
    )
    remember(ROW_KEY, param="row")
    if not overlay.contains(row_id):
        st.warning(f"Row {row_id} was deleted; choose another row.")
        st.stop()

    args = (context, row_id, thresholds)
    cells[1].button(
        "Add a row",
        key="wi_add",
        on_click=_add,
        args=(*args, False),
        help="A new row with this row's dataset values, to edit.",
    )
    cells[2].button(
        "Duplicate",
        key="wi_duplicate",
        on_click=_add,
        args=(*args, True),
        help="A new row with this row's current, edited values.",
    )
    if overlay.is_deleted(row_id):
        cells[3].button("Restore", key="wi_restore", on_click=_restore, args=args)
    else:
        cells[3].button("Delete", key="wi_delete", on_click=_delete, args=args)
    cells[4].button("Reset edits", key="wi_reset", on_click=_reset, args=args)
    return row_id


def selected_row(
    context: WhatIf, overlay: EditOverlay, row_id: int, thresholds: ThresholdLookup
) -> SelectedRow:
    """Return the row open in the editor with each model's prediction."""
    frame = row_frame(context.frame, overlay, row_id)
    threshold = thresholds.of(overlay, row_id)
    edited = bool(overlay.changes(row_id))
    return SelectedRow(
        row_id=row_id,
        frame=frame,
        base=overlay.base_position(row_id),
        edited=edited,
        deleted=overlay.is_deleted(row_id),
        predictions=[
            _predict(context, model, overlay, row_id, frame, threshold)
            for model in context.models
        ],
        threshold=threshold,
    )


def datapoint_editor(
    context: WhatIf, overlay: EditOverlay, row_id: int, thresholds: ThresholdLookup
) -> SelectedRow:
    """Draw one widget per feature, record edits, show predictions and history.

    An edit reruns the page, so that every view above and beside the editor
    shows the dataset with the edit.

    Returns
    -------
    SelectedRow
        The row as edited, for the other views of the page.
    """
    if context.predictions_only:
        st.info(
            "Editing needs a model: these scores are stored in the data, so an "
            "edited row would keep its old score. Load a model to edit rows."
        )
    else:
        current = row_frame(context.frame, overlay, row_id)
        layout = _image_layout(context)
        if layout is not None:
            # An image row is read from its picture, so the picture comes first
            # and its many pixel inputs are folded away.
            _images(context, layout, overlay.base_position(row_id), row_id, current)
            with st.expander(f"Edit the {len(context.features)} pixel values"):
                values = _feature_widgets(context, row_id, current)
        else:
            values = _feature_widgets(context, row_id, current)
        try:
            changed = set_row_values(context.frame, overlay, row_id, values)
        except ValueError as exc:
            st.error(f"Cannot use the edited values: {exc}")
        else:
            if changed != overlay:
                _record_edit(context, overlay, changed, row_id, thresholds)
                st.rerun()

    row = selected_row(context, overlay, row_id, thresholds)
    if context.predictions_only:
        st.dataframe(row.frame, hide_index=True, key="wi_row_values")
        layout = _image_layout(context)
        if layout is not None:
            _images(context, layout, row.base, row.row_id, row.frame)
    _prediction_metrics(context, row)
    _history(context)
    return row


def _feature_widgets(context: WhatIf, row_id: int, row: pd.DataFrame) -> dict[str, Any]:
    values = {}
    grid = st.columns(3)
    for index, column in enumerate(context.features):
        key = f"{_EDIT_PREFIX}{row_id}_{column}"
        series = context.frame[column]
        current = _python(row[column].iloc[0])
        cell = grid[index % 3]
        if is_numeric_feature(series):
            integer = pd.api.types.is_integer_dtype(series)
            if key not in st.session_state:
                st.session_state[key] = (
                    None
                    if current is None
                    else (int(current) if integer else float(current))
                )
            values[column] = cell.number_input(
                column, step=1 if integer else None, key=key
            )
        else:
            choices = [None, *category_options(series, current)]
            if key not in st.session_state or st.session_state[key] not in choices:
                st.session_state[key] = current if current in choices else None
            values[column] = cell.selectbox(
                column,
                choices,
                format_func=lambda choice: (
                    "(missing)" if choice is None else str(choice)
                ),
                key=key,
            )
    return values


def _image_layout(context: WhatIf) -> Any:
    """Return the image layout and value range of the features, or None."""
    return image_layout_for(context.data_key, tuple(context.features), context.frame)


def _images(
    context: WhatIf, found: Any, base: int, row_id: int, current: pd.DataFrame
) -> None:
    """Show an image row as a picture, the dataset's next to the edited one."""
    layout, value_range = found
    original = context.frame.iloc[[base]]
    images = row_images(
        pd.concat([original, current], ignore_index=True),
        layout,
        value_range,
        scale=12,
    )
    st.image(
        list(images),
        caption=[f"row {base} in the dataset", f"row {row_id} as edited"],
        width=120,
    )


def _score_delta(change: float, number_format: str) -> str | None:
    """Return a metric delta, or None when the change rounds to zero.

    Streamlit draws even "+0.0000" as a green upward arrow.
    """
    text = f"{change:+{number_format}}"
    if float(text) == 0:
        return None
    return text


def _prediction_metrics(context: WhatIf, row: SelectedRow) -> None:
    original_row = row.base
    changed = ", ".join(
        name
        for name, _, _ in row_differences(
            context.frame.iloc[[original_row]].reset_index(drop=True), row.frame
        )
    )
    for model, prediction in zip(context.models, row.predictions, strict=True):
        suffix = context.model_suffix(model)
        if suffix:
            st.caption(f"Model {context.models.index(model) + 1}: {model.name}")
        cells = st.columns(3)
        if context.task == "regression":
            original = float(model.scores[original_row])
            cells[0].metric(f"Original prediction{suffix}", f"{original:.4g}")
            cells[1].metric(
                f"Edited prediction{suffix}",
                f"{prediction.score:.4g}",
                delta=_score_delta(prediction.score - original, ".4g"),
            )
        elif context.task == "binary":
            original = float(model.scores[original_row, context.pos_index])
            cells[0].metric(
                f"Original score of {context.positive}{suffix}", f"{original:.4f}"
            )
            cells[1].metric(
                f"Edited score of {context.positive}{suffix}",
                f"{prediction.score:.4f}",
                delta=_score_delta(prediction.score - original, ".4f"),
            )
            cells[2].metric(f"Edited prediction{suffix}", str(prediction.prediction))
        else:
            cells[0].metric(f"Edited prediction{suffix}", str(prediction.prediction))
            cells[1].metric(f"Its score{suffix}", f"{prediction.score:.4f}")
            cells[2].markdown(
                "**Top classes:** " + format_top_classes(prediction.top_classes)
            )
    status = "deleted · " if row.deleted else ""
    origin = (
        f"added from row {row.base} · " if row.row_id >= context.frame.shape[0] else ""
    )
    st.caption(
        f"{status}{origin}Changed: {changed or 'nothing yet'} · actual label: "
        f"{row.frame[context.label].iloc[0]}"
        + (f" · threshold {row.threshold:g}" if context.task == "binary" else "")
    )


def _history(context: WhatIf) -> None:
    _, history = editor_state(context)
    if not history:
        return
    st.subheader("Edit history")
    table = history_frame(history, context.task)
    table_with_download(
        table,
        key="wi_history",
        file_name="edit_history.csv",
        column_config={
            "change": st.column_config.NumberColumn(format="%+.4f"),
            "score": st.column_config.NumberColumn(format="%.4f"),
        },
    )


def _record_edit(
    context: WhatIf,
    overlay: EditOverlay,
    changed: EditOverlay,
    row_id: int,
    thresholds: ThresholdLookup,
) -> None:
    _, history = editor_state(context)
    before = row_frame(context.frame, overlay, row_id)
    after = row_frame(context.frame, changed, row_id)
    if not any(entry.row_id == row_id for entry in history):
        history = _append(
            context,
            history,
            overlay,
            row_id,
            "original",
            "",
            thresholds.of(overlay, row_id),
        )
    history = _append(
        context,
        history,
        changed,
        row_id,
        "edit",
        describe_differences(row_differences(before, after)),
        thresholds.of(changed, row_id),
    )
    _save(changed, history)


def _append(
    context: WhatIf,
    history: list[HistoryEntry],
    overlay: EditOverlay,
    row_id: int,
    action: str,
    changes: str,
    threshold: float,
    previous_row_id: int | None = None,
) -> list[HistoryEntry]:
    frame = row_frame(context.frame, overlay, row_id)
    prediction = _predict(context, context.model, overlay, row_id, frame, threshold)
    return append_history(
        history,
        row_id=row_id,
        action=action,
        changes=changes,
        prediction=prediction,
        task=context.task,
        classes=context.classes,
        previous_row_id=previous_row_id,
    )


def _predict(
    context: WhatIf,
    model: LoadedModel,
    overlay: EditOverlay,
    row_id: int,
    frame: pd.DataFrame,
    threshold: float,
) -> RowPrediction:
    if not overlay.changes(row_id):
        scores = model.scores[overlay.base_position(row_id)]
    else:
        try:
            scores = edited_row_scores(
                model.predictor,
                model.key,
                context.data_key,
                context.label,
                [row_digest(overlay, row_id)],
                frame,
            )[0]
        except (ModelError, ValueError) as exc:
            st.error(f"Cannot predict the edited row with {model.name}: {exc}")
            st.stop()
    return row_prediction(
        context.task,
        scores,
        model.predictor.classes,
        pos_index=context.pos_index,
        threshold=threshold,
    )


def _add(
    context: WhatIf, row_id: int, thresholds: ThresholdLookup, keep_changes: bool
) -> None:
    overlay, history = editor_state(context)
    changed, new_id = add_row(overlay, row_id, keep_changes=keep_changes)
    threshold = thresholds.of(changed, new_id)
    history = _append(
        context,
        history,
        changed,
        new_id,
        "duplicate" if keep_changes else "add",
        f"from row {row_id}",
        threshold,
        previous_row_id=row_id,
    )
    _save(changed, history)
    st.session_state[ROW_KEY] = new_id


def _delete(context: WhatIf, row_id: int, thresholds: ThresholdLookup) -> None:
    overlay, history = editor_state(context)
    changed = delete_row(overlay, row_id)
    if overlay.is_added(row_id):
        st.session_state[ROW_KEY] = overlay.base_position(row_id)
    _save(changed, history)


def _restore(context: WhatIf, row_id: int, thresholds: ThresholdLookup) -> None:
    overlay, history = editor_state(context)
    _save(restore_row(overlay, row_id), history)


def _reset(context: WhatIf, row_id: int, thresholds: ThresholdLookup) -> None:
    overlay, history = editor_state(context)
    if not overlay.changes(row_id):
        return
    changed = reset_row(overlay, row_id)
    threshold = thresholds.of(changed, row_id)
    before = row_frame(context.frame, overlay, row_id)
    after = row_frame(context.frame, changed, row_id)
    history = _append(
        context,
        history,
        changed,
        row_id,
        "reset",
        describe_differences(row_differences(before, after)),
        threshold,
    )
    _save(changed, history)
    for column in context.features:
        st.session_state.pop(f"{_EDIT_PREFIX}{row_id}_{column}", None)


def _python(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
