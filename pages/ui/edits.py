"""The edited dataset that every What-If page shows, and the note that discards it.

Rows edited, added or deleted in the datapoint editor are part of the dataset on
every What-If page, as in the What-If Tool. :func:`edited_view` returns the
selection over the edited dataset, with the scores of the changed rows computed
for those rows alone (:func:`pages.ui.loaders.edited_row_scores`), and draws a
note with the number of edited rows and a button that discards them.

The edited dataset gets its own data key, the dataset's digest plus a digest of
the edits, so every cache keyed on the data key keeps the two apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import streamlit as st

from analysis.edit_overlay import EditOverlay, row_frame
from analysis.edited_dataset import (
    EditedDataset,
    edit_counts,
    edited_dataset,
    edited_scores,
    overlay_digest,
    row_digest,
)
from analysis.models import ModelError
from analysis.slices import slice_codes
from pages.ui.editor import discard_edits, editor_state
from pages.ui.loaders import edited_row_scores
from pages.ui.slicing import Slicing, labels_for, row_thresholds
from pages.ui.whatif import WhatIf

logger = logging.getLogger(__name__)


def edited_view(context: WhatIf) -> WhatIf:
    """Draw the edits note and return the selection over the edited dataset.

    Stops the page with an error when a model cannot score an edited row; the
    note above it still offers to discard the edits.
    """
    overlay, _ = editor_state(context)
    edits_note(overlay)
    try:
        return edited_context(context, overlay)
    except (ModelError, ValueError) as exc:
        logger.info("Scoring the edited rows failed: %s", exc)
        st.error(
            f"Cannot score the edited rows: {exc}. Change the row in the datapoint "
            "editor, or discard the edits."
        )
        st.stop()


def edits_note(overlay: EditOverlay) -> None:
    """Draw how many rows differ from the dataset, with a button that discards them."""
    counts = edit_counts(overlay)
    if not counts["total"]:
        return
    parts = [
        f"{counts[kind]} {kind}"
        for kind in ("changed", "added", "deleted")
        if counts[kind]
    ]
    cells = st.columns([5, 1], vertical_alignment="center")
    cells[0].info(
        f"{edited_rows_text(counts['total'])} ({', '.join(parts)}): every view "
        "uses the dataset as edited in the datapoint editor."
    )
    cells[1].button(
        "Discard edits",
        key="wi_discard_edits",
        on_click=discard_edits,
        help="Return to the dataset as loaded: drop every edited, added and "
        "deleted row and the edit history.",
    )


def edited_rows_text(count: int) -> str:
    """Return ``"1 edited row"`` or ``"N edited rows"``."""
    return f"{count} edited row" + ("" if count == 1 else "s")


def edited_data(context: WhatIf, overlay: EditOverlay) -> tuple[str, EditedDataset]:
    """Return the data key and the rows of the dataset as ``overlay`` edits it."""
    context = context.unedited
    if not overlay.touched_ids():
        ids = np.arange(len(context.frame))
        unchanged = EditedDataset(
            frame=context.frame,
            row_ids=ids,
            base_positions=ids,
            changed=np.zeros(len(ids), dtype=bool),
        )
        return context.data_key, unchanged
    digest = overlay_digest(overlay)
    dataset = _edited_dataset(context.data_key, digest, context.frame, overlay)
    return f"{context.data_key}+edits-{digest}", dataset


@st.cache_resource(max_entries=8, show_spinner=False)
def _edited_dataset(
    data_key: str, digest: str, _frame: pd.DataFrame, _overlay: EditOverlay
) -> EditedDataset:
    return edited_dataset(_frame, _overlay)


def edited_context(context: WhatIf, overlay: EditOverlay) -> WhatIf:
    """Return the selection over the edited dataset; ``context`` itself without edits.

    Raises
    ------
    ModelError or ValueError
        When a model cannot score an edited row.
    """
    context = context.unedited
    if not overlay.touched_ids():
        return context
    data_key, dataset = edited_data(context, overlay)
    changed_ids = dataset.row_ids[dataset.changed]
    row_keys = [row_digest(overlay, int(row_id)) for row_id in changed_ids]
    rows = dataset.changed_rows()
    models = []
    for model in context.models:
        new_scores = edited_row_scores(
            model.predictor,
            model.key,
            context.data_key,
            context.label,
            row_keys,
            rows,
        )
        scores = edited_scores(model.scores, dataset, new_scores)
        models.append(replace(model, scores=scores))
    total = edit_counts(overlay)["total"]
    return replace(
        context,
        frame=dataset.frame,
        data_key=data_key,
        data_name=f"{context.data_name} with {edited_rows_text(total)}",
        models=models,
        row_ids=dataset.row_ids,
        original=context,
        _y_true=None,
    )


@dataclass(frozen=True)
class RowThresholds:
    """The binary decision threshold of each row as edited: its slice's, else global.

    A row's slice is found from its edited values among the edited dataset's
    rows, so a row whose slice feature was edited gets its new slice's threshold.

    Attributes
    ----------
    context : WhatIf
        The unedited selection.
    slicing : Slicing
        The slices of the edited dataset with their thresholds.
    threshold : float
        The threshold of rows whose slice has none of its own.
    """

    context: WhatIf
    slicing: Slicing
    threshold: float

    def of(self, overlay: EditOverlay, row_id: int) -> float:
        """Return the threshold of row ``row_id`` with the edits of ``overlay``."""
        if not (self.slicing.active and self.slicing.thresholds):
            return self.threshold
        data_key, dataset = edited_data(self.context, overlay)
        frame, position = dataset.frame, dataset.position(row_id)
        if position is None:
            # A deleted row is in no slice; it gets the slice it would join.
            row = row_frame(self.context.unedited.frame, overlay, row_id)
            frame = pd.concat([frame, row], ignore_index=True)
            data_key = f"{data_key}+row-{row_digest(overlay, row_id)}"
            position = len(frame) - 1
        labels = labels_for(self.context, frame, data_key, self.slicing)
        codes, names = slice_codes(labels)
        name = names[codes[position]]
        return float(self.slicing.thresholds.get(name, self.threshold))

    def of_rows(self, context: WhatIf) -> float | np.ndarray:
        """Return the threshold of every row of the edited selection ``context``."""
        return row_thresholds(self.slicing, self.threshold, len(context.frame))
