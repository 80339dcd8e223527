"""The Features page: per-feature statistics with problems flagged, and two datasets.

The overview and the comparison are cached per dataset digest and options, so they
are computed once. The model outputs are described from a small frame of the label
and the outputs, never from an edited copy of the dataset.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from analysis.data import ADULT_COLUMNS, load_adult
from analysis.feature_charts import (
    distribution_comparison_chart,
    histogram_chart,
    value_bar_chart,
)
from analysis.overview import (
    FLAG_DESCRIPTIONS,
    PSI_SIGNIFICANT,
    DatasetComparison,
    FeaturesOverview,
    add_model_outputs,
    compare_datasets,
    features_overview,
    overview_flags,
    side_by_side,
)
from pages.ui.loaders import (
    digest_of,
    project_artifacts,
    run_dataset,
    uploaded_dataset,
)
from pages.ui.slicing import current_threshold
from pages.ui.sources import CSV_TYPES, dataset_label
from pages.ui.state import remember, restore
from pages.ui.store import get_store
from pages.ui.tables import table_with_download
from pages.ui.whatif import WhatIf

logger = logging.getLogger(__name__)

REFERENCES = {
    "adult_train": "Adult training split (bundled)",
    "store": "Another dataset in the store",
    "upload": "Upload a CSV",
}
CHART_COLUMNS = 3


def overview_section(context: WhatIf) -> None:
    """Draw the statistics tables, the flagged problems and one chart per feature."""
    threshold = current_threshold()
    overview = _overview(context.data_key, context.frame)
    outputs = _outputs_overview(context, threshold)

    flags = {**overview_flags(overview), **overview_flags(outputs)}
    if flags:
        lines = [
            f"- **{name}**: " + "; ".join(FLAG_DESCRIPTIONS[flag] for flag in found)
            for name, found in flags.items()
        ]
        st.warning("Possible problems:\n" + "\n".join(lines))
    else:
        st.success("No feature has missing values, constant values or other flags.")

    st.subheader("Numeric features")
    table_with_download(
        _with_problems(overview.numeric),
        key="wi_numeric_overview",
        file_name="numeric_features.csv",
    )
    st.subheader("Categorical features")
    table_with_download(
        _with_problems(overview.categorical),
        key="wi_categorical_overview",
        file_name="categorical_features.csv",
    )
    st.subheader("Model outputs")
    st.caption(
        "Each model's prediction, score and correctness (or error), as features"
        + (f", at threshold {threshold:g}." if context.task == "binary" else ".")
    )
    outputs_table = pd.concat(
        [_with_problems(outputs.numeric), _with_problems(outputs.categorical)],
        ignore_index=True,
    )
    table_with_download(
        outputs_table, key="wi_outputs_overview", file_name="outputs.csv"
    )
    _charts(overview, outputs)


def comparison_section(context: WhatIf) -> None:
    """Choose a reference dataset and compare every shared feature with PSI and JS."""
    reference = _reference(context, _reference_kind(context))
    if reference is None:
        return
    name, key, frame = reference
    shared = [column for column in context.frame.columns if column in frame.columns]
    if not shared:
        st.error(f"{name} has no column in common with {context.data_name}.")
        return

    comparison = _comparison(key, context.data_key, tuple(shared), frame, context.frame)
    skewed = comparison.table.loc[comparison.table["skewed"], "feature"].tolist()
    st.caption(
        f"Reference: {name} ({len(frame):,} rows); current: {context.data_name} "
        f"({len(context.frame):,} rows). PSI above {PSI_SIGNIFICANT} flags a skew."
    )
    if skewed:
        st.warning(f"Skewed features: {', '.join(skewed)}.")
    table_with_download(
        comparison.table,
        key="wi_comparison",
        file_name="dataset_comparison.csv",
        column_config={
            "psi": st.column_config.NumberColumn(format="%.4f"),
            "js_distance": st.column_config.NumberColumn(format="%.4f"),
        },
    )

    restore("wi_compare_feature", options=shared, default=(skewed or shared)[0])
    feature = st.selectbox("Feature", shared, key="wi_compare_feature")
    remember("wi_compare_feature")
    st.altair_chart(
        distribution_comparison_chart(
            comparison.distributions[feature], feature, names=("reference", "current")
        ),
        width="stretch",
    )

    reference_overview = _overview(key, frame)
    current_overview = _overview(context.data_key, context.frame)
    st.subheader("Statistics side by side")
    for part in ("numeric", "categorical"):
        table = side_by_side(
            getattr(reference_overview, part).drop(columns="flags"),
            getattr(current_overview, part).drop(columns="flags"),
        )
        st.dataframe(table, hide_index=True, key=f"wi_side_by_side_{part}")


def _reference_kind(context: WhatIf) -> str:
    options = list(REFERENCES)
    if not set(context.frame.columns) <= set(ADULT_COLUMNS):
        options.remove("adult_train")
    if context.project is None:
        options.remove("store")
    restore("wi_reference", param="reference", options=options, default=options[0])
    kind = st.radio(
        "Compare the dataset with",
        options,
        format_func=REFERENCES.get,
        key="wi_reference",
        horizontal=True,
    )
    remember("wi_reference", param="reference")
    return kind


@st.cache_data(max_entries=8, show_spinner="Describing the features")
def _overview(data_key: str, _frame: pd.DataFrame) -> FeaturesOverview:
    return features_overview(_frame)


def _outputs_overview(context: WhatIf, threshold: float) -> FeaturesOverview:
    return _outputs_cached(
        context.data_key,
        context.label,
        tuple(model.key for model in context.models),
        context.task,
        threshold,
        str(context.positive),
        context,
    )


@st.cache_data(max_entries=8, show_spinner="Describing the model outputs")
def _outputs_cached(
    data_key: str,
    label: str,
    model_keys: tuple[str, ...],
    task: str,
    threshold: float,
    positive: str,
    _context: WhatIf,
) -> FeaturesOverview:
    frame = _context.frame[[label]]
    added = []
    for index, model in enumerate(_context.models):
        prefix = "" if index == 0 else f"{model.name}: "
        frame = add_model_outputs(
            frame,
            model.predictor,
            model.scores,
            label=label,
            threshold=threshold,
            pos_label=_context.positive if task == "binary" else None,
            prefix=prefix,
        )
        added += [name for name in frame.columns if name != label and name not in added]
    return features_overview(frame, added)


def _with_problems(table: pd.DataFrame) -> pd.DataFrame:
    """Replace the flags tuple with text, and turn the top value into text too.

    A top value can be a bool, a number or text depending on the feature, and
    Arrow needs one type per column.
    """
    problems = [", ".join(flags) for flags in table["flags"]]
    table = table.drop(columns="flags").assign(problems=problems)
    if "top" in table.columns:
        table["top"] = [None if value is None else str(value) for value in table["top"]]
    return table


def _charts(overview: FeaturesOverview, outputs: FeaturesOverview) -> None:
    st.subheader("Distributions")
    charts = [
        histogram_chart(table, name)
        for part in (overview, outputs)
        for name, table in part.histograms.items()
    ] + [
        value_bar_chart(table, name)
        for part in (overview, outputs)
        for name, table in part.bars.items()
    ]
    columns = st.columns(CHART_COLUMNS)
    for index, chart in enumerate(charts):
        columns[index % CHART_COLUMNS].altair_chart(chart, width="stretch")


def _reference(context: WhatIf, kind: str) -> tuple[str, str, pd.DataFrame] | None:
    if kind == "adult_train":
        frame = _adult_train()
        return (
            REFERENCES[kind],
            "adult_train",
            frame[[c for c in frame if c in context.frame]],
        )
    if kind == "store":
        store = get_store()
        artifacts = project_artifacts(store, store.url, context.project)
        datasets = artifacts[artifacts["type"] == "dataset"].drop_duplicates(
            "artifact_pk"
        )
        labels = {
            str(row["artifact_pk"]): dataset_label(row)
            for _, row in datasets.iterrows()
        }
        options = list(labels)
        restore("wi_reference_dataset", options=options, default=options[0])
        chosen = st.selectbox(
            "Reference dataset",
            options,
            format_func=labels.get,
            key="wi_reference_dataset",
        )
        remember("wi_reference_dataset")
        row = datasets[datasets["artifact_pk"].astype(str) == chosen].iloc[0]
        frame = run_dataset(store, store.url, row["digest"], row["manifest"])
        return labels[chosen], row["digest"], frame
    upload = st.file_uploader("Reference CSV", type=CSV_TYPES, key="wi_reference_csv")
    if upload is None:
        st.info("Upload a CSV to compare with, such as the training data.")
        return None
    content = upload.getvalue()
    digest = digest_of(content)
    return upload.name, digest, uploaded_dataset(digest, upload.name, content)


@st.cache_data(max_entries=1, show_spinner="Loading the Adult training split")
def _adult_train() -> pd.DataFrame:
    return load_adult("train")


@st.cache_data(max_entries=8, show_spinner="Comparing the datasets")
def _comparison(
    reference_key: str,
    current_key: str,
    features: tuple[str, ...],
    _reference: pd.DataFrame,
    _current: pd.DataFrame,
) -> DatasetComparison:
    return compare_datasets(_reference, _current, list(features))
