"""The dataset as edited in the datapoint editor, which every What-If view reads.

As in the What-If Tool, rows edited, added or deleted in the editor are part of the
data that the performance, feature and datapoint views show. The edited dataset is
built from an :class:`analysis.edit_overlay.EditOverlay`: the dataset's rows that
were not deleted, with their edits, then the added rows, all in row id order.

Scores are not computed again for the whole dataset. A row whose values equal its
base dataset row reuses that row's score, and only the rows with changed values
(:attr:`EditedDataset.changed`) go to the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.edit_overlay import EditOverlay, kept_mask, row_frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditedDataset:
    """The edited rows in row id order, and where each one comes from.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows with their edits, indexed 0 to ``len(frame) - 1``.
    row_ids : numpy.ndarray of int64
        Editor row id of each row: its dataset position, or the id of an added row.
    base_positions : numpy.ndarray of int64
        Dataset position of the row each row starts from.
    changed : numpy.ndarray of bool
        Rows whose values differ from their base row; only these need new scores.
    """

    frame: pd.DataFrame
    row_ids: np.ndarray
    base_positions: np.ndarray
    changed: np.ndarray

    def position(self, row_id: int) -> int | None:
        """Return the position of ``row_id`` in :attr:`frame`, None if it is deleted."""
        found = np.searchsorted(self.row_ids, row_id)
        if found < len(self.row_ids) and self.row_ids[found] == row_id:
            return int(found)
        return None

    def changed_rows(self) -> pd.DataFrame:
        """Return the rows that need new scores, in the order of :attr:`frame`."""
        return self.frame.iloc[np.flatnonzero(self.changed)]


def edited_dataset(frame: pd.DataFrame, overlay: EditOverlay) -> EditedDataset:
    """Apply the overlay's edits, deletions and added rows to the dataset.

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset, unchanged; ``overlay.n_rows`` must be its length.
    overlay : EditOverlay

    Returns
    -------
    EditedDataset
        Each column keeps the dataset's dtype, except that an integer column
        with a value edited to missing becomes float.
    """
    if overlay.n_rows != len(frame):
        raise ValueError(
            f"the edits are for a dataset of {overlay.n_rows} rows, but this one has "
            f"{len(frame)}; discard the edits or open the dataset they belong to"
        )
    kept = kept_mask(overlay)
    edited_ids = [
        row_id
        for row_id, changes in sorted(overlay.edits.items())
        if changes and kept[row_id]
    ]
    added_ids = sorted(overlay.added)
    unchanged = kept.copy()
    unchanged[edited_ids] = False
    unchanged_ids = np.flatnonzero(unchanged)

    rebuilt = [row_frame(frame, overlay, row_id) for row_id in edited_ids + added_ids]
    combined = pd.concat([frame.iloc[unchanged_ids], *rebuilt], ignore_index=True)
    ids = np.concatenate(
        [unchanged_ids, np.asarray(edited_ids + added_ids, dtype=np.int64)]
    ).astype(np.int64)
    changed = np.concatenate(
        [
            np.zeros(len(unchanged_ids), dtype=bool),
            [bool(overlay.changes(row_id)) for row_id in edited_ids + added_ids],
        ]
    ).astype(bool)

    # Row ids are unique, so this puts every row back at its place in id order.
    order = np.argsort(ids, kind="stable")
    row_ids = ids[order]
    base_positions = row_ids.copy()
    for row_id, added in overlay.added.items():
        base_positions[np.searchsorted(row_ids, row_id)] = added.base
    return EditedDataset(
        frame=combined.iloc[order].reset_index(drop=True),
        row_ids=row_ids,
        base_positions=base_positions,
        changed=changed[order],
    )


def edited_scores(
    scores: np.ndarray, dataset: EditedDataset, changed_scores: np.ndarray
) -> np.ndarray:
    """Return the scores of every edited row from the dataset's and the new ones.

    Parameters
    ----------
    scores : numpy.ndarray
        The model's scores on the dataset, ``(n_rows, n_classes)`` or ``(n_rows,)``.
    dataset : EditedDataset
    changed_scores : numpy.ndarray
        Scores of :meth:`EditedDataset.changed_rows`, in that order.

    Returns
    -------
    numpy.ndarray
        One score row per row of ``dataset.frame``; read-only.
    """
    changed_scores = np.asarray(changed_scores, dtype=float)
    expected = int(dataset.changed.sum())
    if len(changed_scores) != expected:
        raise ValueError(
            f"changed_scores must have one row per changed row ({expected}), got "
            f"{len(changed_scores)}"
        )
    result = np.asarray(scores, dtype=float)[dataset.base_positions].copy()
    if expected:
        result[dataset.changed] = changed_scores
    result.setflags(write=False)
    return result


def overlay_digest(overlay: EditOverlay) -> str:
    """Return a digest of the overlay's edits, for cache keys of the edited data."""
    content = {
        "n_rows": overlay.n_rows,
        "edits": sorted(
            [row_id, sorted(changes.items())]
            for row_id, changes in overlay.edits.items()
        ),
        "added": sorted(
            [row.row_id, row.base, sorted(row.changes.items())]
            for row in overlay.added.values()
        ),
        "deleted": sorted(overlay.deleted),
    }
    text = json.dumps(content, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_digest(overlay: EditOverlay, row_id: int) -> str:
    """Return a digest of one row's base and edits, the cache key of its scores."""
    content = [overlay.base_position(row_id), sorted(overlay.changes(row_id).items())]
    text = json.dumps(content, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def edit_counts(overlay: EditOverlay) -> dict[str, int]:
    """Count the rows changed, added and deleted; a deleted row counts as deleted only.

    Returns
    -------
    dict
        ``changed``, ``added``, ``deleted`` and ``total``, the number of rows
        that differ from the dataset.
    """
    changed = sum(
        1
        for row_id, changes in overlay.edits.items()
        if changes and not overlay.is_deleted(row_id)
    )
    counts = {
        "changed": changed,
        "added": len(overlay.added),
        "deleted": len(overlay.deleted),
    }
    counts["total"] = sum(counts.values())
    return counts
