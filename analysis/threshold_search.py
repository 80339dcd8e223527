"""Exact threshold searches: every useful threshold of each group, and parity.

A group's useful thresholds are its distinct scores plus ``+inf`` (no row
positive): any other threshold selects the same rows as one of them. One sort
of all rows gives the true and false positives at every candidate of every
group. :func:`parity_search` then finds, for the parity strategies of
:mod:`analysis.fairness`, the cheapest choice over every window of rates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

# Rates closer than this count as equal. Floating-point rounding of a rate sum is
# about 2e-16, while two different rates of groups with up to a million rows
# each differ by at least 1e-12.
RATE_SLACK = 1e-15


@dataclass(frozen=True)
class GroupCandidates:
    """Every useful threshold of one group, highest first, with its counts."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @property
    def count(self) -> int:
        """Number of rows in the group."""
        return self.positives + self.negatives

    def cost(self, cost_ratio: float) -> np.ndarray:
        """Return ``cost_ratio * FP + FN`` at every candidate."""
        return cost_ratio * self.fp + (self.positives - self.tp)

    def rate(self, name: str) -> np.ndarray:
        """Return ``selection_rate``, ``tpr``, ``fpr`` or ``accuracy`` per candidate."""
        if name == "selection_rate":
            return (self.tp + self.fp) / self.count
        if name == "tpr":
            return self.tp / self.positives
        if name == "fpr":
            return self.fp / self.negatives
        if name == "accuracy":
            return (self.tp + self.negatives - self.fp) / self.count
        raise ValueError(f"unknown rate {name!r}")


def group_candidates(
    is_positive: np.ndarray,
    scores: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    score_order: np.ndarray,
) -> list[GroupCandidates]:
    """Count true and false positives at every candidate of every group.

    Parameters
    ----------
    is_positive : numpy.ndarray of bool, shape (n,)
        Whether each row is actually positive.
    scores : numpy.ndarray of float, shape (n,)
        Score of the positive class.
    codes : numpy.ndarray of int, shape (n,)
        Group code of each row, from 0 to ``n_groups - 1``.
    n_groups : int
        Number of groups, including groups without rows.
    score_order : numpy.ndarray of int, shape (n,)
        Row positions by decreasing score. A stable sort by group keeps that
        order inside each group, so callers can reuse one sort.

    Returns
    -------
    list of GroupCandidates
        One per group code, with the candidate ``+inf`` first.
    """
    order = score_order[np.argsort(_small_int(codes[score_order]), kind="stable")]
    sorted_scores = scores[order]
    sorted_codes = codes[order]
    cum_positive = np.cumsum(is_positive[order], dtype=np.int64)

    n_rows = len(order)
    is_run_end = np.ones(n_rows, dtype=bool)
    is_run_end[:-1] = (sorted_scores[1:] != sorted_scores[:-1]) | (
        sorted_codes[1:] != sorted_codes[:-1]
    )
    ends = np.flatnonzero(is_run_end)
    end_codes = sorted_codes[ends]
    group_start = np.searchsorted(sorted_codes, np.arange(n_groups), side="left")
    start = group_start[end_codes]
    positives_before = np.where(start > 0, cum_positive[np.maximum(start - 1, 0)], 0)
    tp = cum_positive[ends] - positives_before
    fp = ends + 1 - start - tp

    bounds = np.searchsorted(end_codes, np.arange(n_groups + 1), side="left")
    groups = []
    for code in range(n_groups):
        part = slice(bounds[code], bounds[code + 1])
        group_tp = np.concatenate([[0], tp[part]])
        group_fp = np.concatenate([[0], fp[part]])
        groups.append(
            GroupCandidates(
                thresholds=np.concatenate([[np.inf], sorted_scores[ends[part]]]),
                tp=group_tp,
                fp=group_fp,
                positives=int(group_tp[-1]),
                negatives=int(group_fp[-1]),
            )
        )
    return groups


def cheapest(cost: np.ndarray) -> int:
    """Return the position of the lowest cost, the highest threshold on ties."""
    # np.argmin returns the first minimum, and candidates go from high to low.
    return int(np.argmin(cost))


def parity_search(
    rates: list[np.ndarray], costs: list[np.ndarray], tolerance: float
) -> list[int]:
    """Pick one candidate per group: the cheapest total over all rate windows.

    Each window ``[a, a + width]`` starts at a rate that some group reaches, and
    a window counts only when every group has a rate inside it. ``width`` is the
    tolerance, or the smallest gap that the groups' rates allow when that is
    larger, so the result is never cheaper than the constraint permits. In the
    chosen window each group takes its cheapest candidate inside.

    Parameters
    ----------
    rates : list of numpy.ndarray
        The constrained rate at each candidate, one array per group.
    costs : list of numpy.ndarray
        The cost at each candidate, aligned with ``rates``.
    tolerance : float
        Largest gap requested between the groups' rates.

    Returns
    -------
    list of int
        The chosen candidate position of each group. Ties go to the window with
        the lowest start, then to the lowest position (the highest threshold).
    """
    reduced = [
        _cheapest_per_rate(rate, cost) for rate, cost in zip(rates, costs, strict=True)
    ]
    starts = np.unique(np.concatenate([values for values, _, _ in reduced]))
    width = max(tolerance, smallest_gap([values for values, _, _ in reduced]))
    window_ends = starts + width + RATE_SLACK

    total = np.zeros(len(starts))
    windows = []
    for values, group_costs, _ in reduced:
        low, high = _window_bounds(values, starts, window_ends)
        total += _range_minimum(group_costs, low, high)
        total[high == low] = np.inf
        windows.append((low, high))
    best = int(np.argmin(total))

    picks = []
    for (_, group_costs, candidate), (low, high) in zip(reduced, windows, strict=True):
        window = slice(low[best], high[best])
        window_costs = group_costs[window]
        cheapest = np.flatnonzero(window_costs == window_costs.min())
        picks.append(int(np.min(candidate[window][cheapest])))
    return picks


def smallest_gap(rates: list[np.ndarray]) -> float:
    """Return the smallest range of rates that contains one rate of every group.

    The best range starts at some group's rate ``a`` and ends at the largest,
    over the groups, of each group's lowest rate at or above ``a``.
    """
    starts = np.unique(np.concatenate(rates))
    ends = np.full(len(starts), -np.inf)
    for values in rates:
        ordered = np.sort(values)
        position = np.searchsorted(ordered, starts, side="left")
        reached = position < len(ordered)
        next_rate = np.full(len(starts), np.inf)
        next_rate[reached] = ordered[position[reached]]
        ends = np.maximum(ends, next_rate)
    return float(np.min(ends - starts))


def _window_bounds(
    values: np.ndarray, starts: np.ndarray, window_ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per window, the range ``low:high`` of ``values`` inside it.

    ``values`` are sorted and all among ``starts``. Counting each value into
    the windows it reaches takes one search per value instead of one per
    window, and there are far fewer values than windows.
    """
    n_windows = len(starts)
    at_start = np.bincount(np.searchsorted(starts, values), minlength=n_windows)
    below = np.cumsum(at_start) - at_start

    first_reaching = np.searchsorted(window_ends, values, side="left")
    reaching = np.bincount(first_reaching, minlength=n_windows + 1)[:n_windows]
    return below, np.cumsum(reaching)


def _cheapest_per_rate(
    rate: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep, for each distinct rate, its cheapest candidate (the first on ties).

    Returns the distinct rates in increasing order, their costs and the
    candidates' positions.
    """
    if np.all(rate[1:] >= rate[:-1]):
        order = np.arange(len(rate))
    else:
        order = np.lexsort((np.arange(len(rate)), cost, rate))
    sorted_rate = rate[order]
    sorted_cost = cost[order]

    starts = np.flatnonzero(
        np.concatenate([[True], sorted_rate[1:] > sorted_rate[:-1]])
    )
    lowest = np.minimum.reduceat(sorted_cost, starts)
    run_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(rate))))
    hits = np.flatnonzero(sorted_cost == lowest[run_of])
    first = hits[np.searchsorted(hits, starts)]
    return sorted_rate[first], sorted_cost[first], order[first]


def _range_minimum(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Return ``min(values[low:high])`` for each pair, 0 for empty ranges.

    Uses a sparse table: level ``j`` stores the minimum of each run of ``2**j``
    values, and any range is covered by two overlapping runs.
    """
    result = np.zeros(len(low))
    length = high - low
    valid = length > 0
    if not valid.any():
        return result

    level = np.zeros(len(low), dtype=np.int64)
    level[valid] = np.floor(np.log2(length[valid])).astype(np.int64)
    table = [values]
    for j in range(1, int(level.max()) + 1):
        span = 1 << (j - 1)
        table.append(np.minimum(table[-1][:-span], table[-1][span:]))

    for j in np.unique(level[valid]):
        rows = valid & (level == j)
        left = table[j][low[rows]]
        right = table[j][high[rows] - (1 << j)]
        result[rows] = np.minimum(left, right)
    return result


def _small_int(codes: np.ndarray) -> np.ndarray:
    """Return codes in the smallest integer type, so a stable sort can use radix."""
    if len(codes) == 0 or codes.max() < np.iinfo(np.int16).max:
        return codes.astype(np.int16)
    return codes
