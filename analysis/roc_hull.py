"""Equalized odds by mixing thresholds: the ROC convex hulls of the groups.

Any point inside a group's ROC convex hull can be reached by choosing between
thresholds at random, so every group can reach the same true and false
positive rates. fairlearn's ``ThresholdOptimizer`` (fairlearn 0.15,
``constraints="equalized_odds"``) takes the same approach on a grid of false
positive rates. Here the optimum is found exactly, at hull vertices and
crossings.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.spatial import ConvexHull

from analysis.threshold_search import RATE_SLACK, GroupCandidates

logger = logging.getLogger(__name__)


def equalized_odds_mixes(
    groups: list[GroupCandidates], eligible: list[int], cost_ratio: float
) -> dict[int, dict[int, float]]:
    """Mix thresholds so every group reaches the same (FPR, TPR) point.

    The common point minimises the expected cost
    ``cost_ratio * N * FPR + P * (1 - TPR)`` over the intersection of the
    groups' ROC convex hulls, where ``P`` and ``N`` count the positive and
    negative rows of the groups. The boundary of that region, the lowest hull
    at each FPR, is concave and piecewise linear, so the optimum is at a hull
    vertex of some group or where two hulls cross.

    Parameters
    ----------
    groups : list of GroupCandidates
        Candidates of every group, by group code.
    eligible : list of int
        Codes of the groups to equalise; each has positive and negative rows.
    cost_ratio : float
        Cost of a false positive over the cost of a false negative.

    Returns
    -------
    dict of int to dict of int to float
        For each eligible group code, the weight of each candidate position
        used, at most four, summing to 1.
    """
    hulls = {code: _roc_upper_hull(groups[code]) for code in eligible}
    grid = np.unique(np.concatenate([hull[0] for hull in hulls.values()]))
    heights = np.array([np.interp(grid, hx, hy) for hx, hy, _ in hulls.values()])
    grid = np.unique(np.concatenate([grid, _hull_crossings(grid, heights)]))
    lowest = np.min([np.interp(grid, hx, hy) for hx, hy, _ in hulls.values()], axis=0)

    positives = sum(groups[code].positives for code in eligible)
    negatives = sum(groups[code].negatives for code in eligible)
    # Cost = ratio * N * FPR + P * (1 - TPR); the first minimum has the lowest FPR.
    expected_cost = cost_ratio * negatives * grid + positives * (1.0 - lowest)
    best = int(np.argmin(expected_cost))
    fpr, tpr = float(grid[best]), float(lowest[best])

    return {
        code: _mix_to_point(groups[code], *hulls[code], fpr, tpr) for code in eligible
    }


def _roc_upper_hull(
    group: GroupCandidates,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the upper convex hull of a group's ROC points, left to right.

    Returns the hull vertices' FPR, TPR and candidate positions. FPRs are
    strictly increasing from 0 to 1.
    """
    fpr = group.fp / group.negatives
    tpr = group.tp / group.positives

    # Keep the highest point of each FPR; only those can be on the upper hull.
    last_of_fpr = np.flatnonzero(np.append(fpr[1:] != fpr[:-1], True))
    points = np.column_stack([fpr[last_of_fpr], tpr[last_of_fpr]])
    if len(points) <= 2:
        return points[:, 0], points[:, 1], last_of_fpr

    # Adding (1, 0) keeps the point set two-dimensional for Qhull. The upper hull
    # is the counter-clockwise walk from the point (1, 1) to the leftmost point.
    hull = ConvexHull(np.vstack([points, [1.0, 0.0]]))
    ring = hull.vertices.tolist()
    top_right, leftmost = len(points) - 1, 0
    start = ring.index(top_right)
    ring = ring[start:] + ring[:start]
    upper = ring[: ring.index(leftmost) + 1][::-1]
    upper = np.array(upper)
    return points[upper, 0], points[upper, 1], last_of_fpr[upper]


def _hull_crossings(grid: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Return the FPRs where two hulls cross between grid points.

    Between two neighbouring grid points every hull is a straight line. The
    lowest hull can change only in intervals whose ends have different lowest
    hulls, so only those intervals are searched, over every pair of hulls.
    """
    lowest_group = np.argmin(heights, axis=0)
    changes = np.flatnonzero(lowest_group[1:] != lowest_group[:-1])
    if len(changes) == 0:
        return np.empty(0)

    left = heights[:, changes]
    right = heights[:, changes + 1]
    slope = right - left
    # For hulls g and h: left_g + s * slope_g == left_h + s * slope_h.
    numerator = left[:, None, :] - left[None, :, :]
    denominator = slope[None, :, :] - slope[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = numerator / denominator
    inside = np.isfinite(fraction) & (fraction > 0) & (fraction < 1)
    width = grid[changes + 1] - grid[changes]
    position = grid[changes][None, None, :] + fraction * width[None, None, :]
    return position[inside]


def _mix_to_point(
    group: GroupCandidates,
    hull_fpr: np.ndarray,
    hull_tpr: np.ndarray,
    hull_candidate: np.ndarray,
    fpr: float,
    tpr: float,
) -> dict[int, float]:
    """Mix up to four thresholds of a group so that it reaches (fpr, tpr).

    Two neighbouring hull vertices give the hull point at ``fpr``. When that
    point is above ``tpr``, it is mixed with the chance point ``(fpr, fpr)``,
    itself a mix of "every row positive" and "no row positive".
    """
    # Weight of each candidate position used.
    weights: dict[int, float] = {}
    right = int(np.searchsorted(hull_fpr, fpr, side="left"))
    if right < len(hull_fpr) and hull_fpr[right] == fpr:
        weights[int(hull_candidate[right])] = 1.0
        hull_height = float(hull_tpr[right])
    else:
        left = right - 1
        share = (hull_fpr[right] - fpr) / (hull_fpr[right] - hull_fpr[left])
        weights[int(hull_candidate[left])] = share
        weights[int(hull_candidate[right])] = 1.0 - share
        hull_height = share * hull_tpr[left] + (1.0 - share) * hull_tpr[right]

    if hull_height > tpr + RATE_SLACK:
        chance = (hull_height - tpr) / (hull_height - fpr)
        weights = {position: w * (1.0 - chance) for position, w in weights.items()}
        every_row = len(group.thresholds) - 1
        weights[every_row] = weights.get(every_row, 0.0) + chance * fpr
        weights[0] = weights.get(0, 0.0) + chance * (1.0 - fpr)
    return weights
