"""Datapoint edits kept beside the dataset, and the history of their predictions.

The dataset is never changed. An :class:`EditOverlay` stores, per row id, only the
values that differ from the dataset row, plus the rows added and the rows deleted
while the page is open. Row ids ``0 .. n_rows - 1`` are the dataset's row
positions. Added rows get the next free ids, which are never reused.

The overlay is small and immutable: every change returns a new overlay, so a
caller can keep it in session state and compare it with the previous one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.editor import changed_features, edited_row
from analysis.predictions import RowPrediction, format_top_classes

logger = logging.getLogger(__name__)

ACTIONS = ("original", "edit", "add", "duplicate", "delete", "restore", "reset")


@dataclass(frozen=True)
class AddedRow:
    """A row added while the page is open.

    Attributes
    ----------
    row_id : int
        Its id, at least the dataset's row count.
    base : int
        Dataset row position whose values it starts from.
    changes : dict of str to object
        Values that differ from the base row.
    """

    row_id: int
    base: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class EditOverlay:
    """Edits, added rows and deleted rows over a dataset of ``n_rows`` rows.

    Attributes
    ----------
    n_rows : int
        Rows in the dataset.
    edits : dict of int to dict
        Per dataset row position, the values that differ from the dataset.
    added : dict of int to AddedRow
        Added rows by id.
    deleted : frozenset of int
        Deleted row ids (dataset rows only; an added row is removed outright).
    next_id : int
        Id of the next added row.
    """

    n_rows: int
    edits: dict[int, dict[str, Any]] = field(default_factory=dict)
    added: dict[int, AddedRow] = field(default_factory=dict)
    deleted: frozenset[int] = frozenset()
    next_id: int = -1

    def __post_init__(self) -> None:
        if self.next_id < 0:
            object.__setattr__(self, "next_id", self.n_rows)

    def contains(self, row_id: int) -> bool:
        """Return whether ``row_id`` is a dataset or added row, deleted or not."""
        return 0 <= row_id < self.n_rows or row_id in self.added

    def is_deleted(self, row_id: int) -> bool:
        """Return whether the dataset row ``row_id`` was deleted."""
        return row_id in self.deleted

    def is_added(self, row_id: int) -> bool:
        """Return whether ``row_id`` is a row added while the page is open."""
        return row_id in self.added

    def base_position(self, row_id: int) -> int:
        """Return the dataset row position whose values ``row_id`` starts from."""
        self._check(row_id)
        return self.added[row_id].base if row_id in self.added else row_id

    def changes(self, row_id: int) -> dict[str, Any]:
        """Return the values of ``row_id`` that differ from its base row."""
        self._check(row_id)
        if row_id in self.added:
            return dict(self.added[row_id].changes)
        return dict(self.edits.get(row_id, {}))

    def touched_ids(self) -> list[int]:
        """Return the ids of edited, added and deleted rows, in id order."""
        return sorted(set(self.edits) | set(self.added) | set(self.deleted))

    def _check(self, row_id: int) -> None:
        if not self.contains(row_id):
            raise KeyError(
                f"row {row_id} does not exist: the data has rows 0 to "
                f"{self.n_rows - 1} and added rows {sorted(self.added) or 'none'}"
            )


@dataclass(frozen=True)
class HistoryEntry:
    """One step of the edit history.

    Attributes
    ----------
    step : int
        1 for the first entry, then counting up.
    row_id : int
        The row the step applies to.
    action : str
        One of :data:`ACTIONS`.
    changes : str
        The changed values, such as ``"age: 39 -> 70"``.
    prediction : object
        Predicted class or value after the step.
    score : float
        The score the delta follows, see :func:`append_history`.
    delta : float or None
        Change of the score from the row's previous entry; None for a first entry.
    top_classes : str
        The highest class scores, for a multi-class model.
    scores : tuple of float
        Every class's score after the step.
    """

    step: int
    row_id: int
    action: str
    changes: str
    prediction: Any
    score: float
    delta: float | None
    top_classes: str
    scores: tuple[float, ...]


def row_frame(frame: pd.DataFrame, overlay: EditOverlay, row_id: int) -> pd.DataFrame:
    """Return row ``row_id`` with its edits as a one-row frame of the data's dtypes.

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset, unchanged.
    overlay : EditOverlay
    row_id : int
        A dataset row position or an added row id.

    Returns
    -------
    pandas.DataFrame
    """
    return edited_row(frame, overlay.base_position(row_id), overlay.changes(row_id))


def set_row_values(
    frame: pd.DataFrame,
    overlay: EditOverlay,
    row_id: int,
    values: Mapping[str, Any],
) -> EditOverlay:
    """Set some values of a row and keep only those that differ from its base row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset.
    overlay : EditOverlay
    row_id : int
        The row to change.
    values : mapping of str to object
        New values by column; other columns keep their current values.

    Returns
    -------
    EditOverlay

    Raises
    ------
    ValueError
        If a value does not fit its column's type, as in
        :func:`analysis.editor.edited_row`.
    """
    base = overlay.base_position(row_id)
    merged = {**overlay.changes(row_id), **values}
    row = edited_row(frame, base, merged)
    changes = {
        name: _plain(row[name].iloc[0]) for name in changed_features(frame, base, row)
    }

    if overlay.is_added(row_id):
        added = dict(overlay.added)
        added[row_id] = replace(overlay.added[row_id], changes=changes)
        return replace(overlay, added=added)
    edits = dict(overlay.edits)
    if changes:
        edits[row_id] = changes
    else:
        edits.pop(row_id, None)
    return replace(overlay, edits=edits)


def add_row(
    overlay: EditOverlay, row_id: int, *, keep_changes: bool
) -> tuple[EditOverlay, int]:
    """Add a row made from ``row_id``; return the new overlay and the new id.

    Parameters
    ----------
    overlay : EditOverlay
    row_id : int
        The row to start from.
    keep_changes : bool
        True copies the row as edited (duplicate); False starts from its base
        dataset values (a new row to edit).

    Returns
    -------
    tuple of (EditOverlay, int)
    """
    new_id = overlay.next_id
    changes = overlay.changes(row_id) if keep_changes else {}
    added = dict(overlay.added)
    added[new_id] = AddedRow(
        row_id=new_id, base=overlay.base_position(row_id), changes=changes
    )
    return replace(overlay, added=added, next_id=new_id + 1), new_id


def delete_row(overlay: EditOverlay, row_id: int) -> EditOverlay:
    """Delete a row: an added row is removed, a dataset row is marked deleted."""
    overlay._check(row_id)
    if overlay.is_added(row_id):
        added = dict(overlay.added)
        del added[row_id]
        return replace(overlay, added=added)
    return replace(overlay, deleted=overlay.deleted | {row_id})


def restore_row(overlay: EditOverlay, row_id: int) -> EditOverlay:
    """Undo the deletion of a dataset row; its edits come back with it."""
    return replace(overlay, deleted=overlay.deleted - {row_id})


def reset_row(overlay: EditOverlay, row_id: int) -> EditOverlay:
    """Drop every edit of a row, so it has its base dataset values again."""
    overlay._check(row_id)
    if overlay.is_added(row_id):
        added = dict(overlay.added)
        added[row_id] = replace(overlay.added[row_id], changes={})
        return replace(overlay, added=added)
    edits = dict(overlay.edits)
    edits.pop(row_id, None)
    return replace(overlay, edits=edits)


def kept_mask(overlay: EditOverlay) -> np.ndarray:
    """Return a bool array over the dataset rows: True where not deleted."""
    mask = np.ones(overlay.n_rows, dtype=bool)
    if overlay.deleted:
        mask[np.fromiter(overlay.deleted, dtype=np.int64)] = False
    return mask


def overlay_table(frame: pd.DataFrame, overlay: EditOverlay) -> pd.DataFrame:
    """List the edited, added and deleted rows with their current values.

    Returns
    -------
    pandas.DataFrame
        One row per touched row id, with ``row``, ``status`` (``"edited"``,
        ``"added"`` or ``"deleted"``), ``base`` (the dataset row it starts
        from), ``changed`` (comma-separated columns) and then the data's
        columns. Empty, with those columns, when nothing was touched.
    """
    parts, records = [], []
    for row_id in overlay.touched_ids():
        if overlay.is_added(row_id):
            status = "added"
        elif overlay.is_deleted(row_id):
            status = "deleted"
        else:
            status = "edited"
        records.append(
            {
                "row": row_id,
                "status": status,
                "base": overlay.base_position(row_id),
                "changed": ", ".join(overlay.changes(row_id)),
            }
        )
        parts.append(row_frame(frame, overlay, row_id))
    info = pd.DataFrame(records, columns=["row", "status", "base", "changed"])
    values = (
        pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0].copy()
    ).reset_index(drop=True)
    return pd.concat([info, values], axis=1)


def row_differences(
    before: pd.DataFrame, after: pd.DataFrame
) -> list[tuple[str, Any, Any]]:
    """Return ``(column, old, new)`` for each value that differs between two rows.

    Both arguments are one-row frames with the same columns. Two missing values
    count as equal.
    """
    differences = []
    for name in after.columns:
        old, new = before[name].iloc[0], after[name].iloc[0]
        old_missing, new_missing = bool(pd.isna(old)), bool(pd.isna(new))
        if old_missing and new_missing:
            continue
        if old_missing != new_missing or old != new:
            differences.append((name, _plain(old), _plain(new)))
    return differences


def describe_differences(differences: Sequence[tuple[str, Any, Any]]) -> str:
    """Format differences as ``"age: 39 -> 70; sex: Male -> Female"``."""
    return "; ".join(
        f"{name}: {_text(old)} -> {_text(new)}" for name, old, new in differences
    )


def append_history(
    history: Sequence[HistoryEntry],
    *,
    row_id: int,
    action: str,
    changes: str,
    prediction: RowPrediction,
    task: str,
    classes: Sequence[Any] | None,
    previous_row_id: int | None = None,
) -> list[HistoryEntry]:
    """Return the history with one more entry and its change of score.

    The delta follows the positive class's score for a binary model and the
    predicted value for regression. For a multi-class model it is the score of
    the class predicted now minus that same class's score in the previous entry.

    Parameters
    ----------
    history : sequence of HistoryEntry
        The entries so far, oldest first.
    row_id : int
        The row the entry is about.
    action : str
        One of :data:`ACTIONS`.
    changes : str
        The changed values, from :func:`describe_differences`.
    prediction : RowPrediction
        The row's prediction after the step.
    task : {"binary", "multiclass", "regression"}
    classes : sequence or None
        Class labels in score order; None for regression.
    previous_row_id : int, optional
        The row to compare with when ``row_id`` has no entry yet, such as the
        row a new row was duplicated from.

    Returns
    -------
    list of HistoryEntry
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    previous = _last_entry(history, row_id)
    if previous is None and previous_row_id is not None:
        previous = _last_entry(history, previous_row_id)

    delta = None
    if previous is not None:
        if task == "multiclass":
            index = list(classes).index(prediction.prediction)
            delta = prediction.scores[index] - previous.scores[index]
        else:
            delta = prediction.score - previous.score

    entry = HistoryEntry(
        step=len(history) + 1,
        row_id=row_id,
        action=action,
        changes=changes,
        prediction=_plain(prediction.prediction),
        score=prediction.score,
        delta=None if delta is None else float(delta),
        top_classes=format_top_classes(prediction.top_classes),
        scores=prediction.scores,
    )
    return [*history, entry]


def history_frame(history: Sequence[HistoryEntry], task: str) -> pd.DataFrame:
    """Lay out the history as a table, newest step first.

    Returns
    -------
    pandas.DataFrame
        Columns ``step``, ``row``, ``action``, ``changes``, ``prediction``,
        ``score`` (``value`` for regression), ``change`` and, for a multi-class
        model, ``top classes``.
    """
    score_name = "value" if task == "regression" else "score"
    table = pd.DataFrame(
        {
            "step": [entry.step for entry in history],
            "row": [entry.row_id for entry in history],
            "action": [entry.action for entry in history],
            "changes": [entry.changes for entry in history],
            "prediction": [str(entry.prediction) for entry in history],
            score_name: [entry.score for entry in history],
            "change": [np.nan if e.delta is None else e.delta for e in history],
        }
    )
    if task == "multiclass":
        table["top classes"] = [entry.top_classes for entry in history]
    return table.iloc[::-1].reset_index(drop=True)


def _last_entry(history: Sequence[HistoryEntry], row_id: int) -> HistoryEntry | None:
    for entry in reversed(history):
        if entry.row_id == row_id:
            return entry
    return None


def _plain(value: Any) -> Any:
    """Turn numpy scalars and missing values into plain Python values."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _text(value: Any) -> str:
    return "(missing)" if value is None else str(value)
