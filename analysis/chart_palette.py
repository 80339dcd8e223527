"""The categorical colour scale of every chart with one colour per series.

Streamlit's own Altair theme gives the second series a pale blue that almost
disappears on a white or dark blue background. Tableau's ten colours keep
neighbouring series apart on light and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt

CATEGORY_SCHEME = "tableau10"
# Used when there are more series than CATEGORY_SCHEME has colours.
WIDE_CATEGORY_SCHEME = "tableau20"


def category_scale(categories: Sequence[object] | None = None) -> alt.Scale:
    """Return the colour scale for nominal series, wider for more than ten."""
    if categories is not None and len(categories) > 10:
        return alt.Scale(scheme=WIDE_CATEGORY_SCHEME)
    return alt.Scale(scheme=CATEGORY_SCHEME)
