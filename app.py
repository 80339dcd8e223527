"""Runlens home page: what the app is, which store is open, and the demo."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import streamlit as st

from pages.ui.store import clear_store_caches, get_store, load_projects

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

DEMO_SCRIPT = Path(__file__).parent / "examples" / "train_adult.py"

st.set_page_config(page_title="Runlens", layout="wide")


def _load_demo_module():
    spec = importlib.util.spec_from_file_location("runlens_demo", DEMO_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _create_demo(quick: bool) -> None:
    demo = _load_demo_module()
    bar = st.progress(0.0, text="Starting the demo training")

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    try:
        run_ids = demo.train_demo(quick=quick, progress=report, store=store.url)
    except Exception as exc:  # noqa: BLE001 - shown to the user, app keeps running
        logging.getLogger(__name__).exception("demo training failed")
        st.error(f"The demo training failed: {exc}")
        return
    clear_store_caches()
    # Rerun so the counts above include the new runs; the message survives it.
    st.session_state["demo_message"] = (
        f"Created {len(run_ids)} runs in project '{demo.PROJECT}'. "
        "Open the Runs page to compare them, or What-If to analyse a model."
    )
    st.rerun()


st.title("Runlens")
st.markdown(
    "Track experiments with the Weights & Biases API (`import tracking as wandb`), "
    "compare runs, and open a saved model with its dataset for What-If analysis: "
    "edit a datapoint, find its nearest counterfactual, move the decision "
    "threshold and read metrics per slice. Everything stays on this machine."
)

store = get_store()
projects = load_projects(store, store.url)
run_count = int(projects["runs"].sum()) if not projects.empty else 0

if "demo_message" in st.session_state:
    st.success(st.session_state.pop("demo_message"))
st.caption(f"Store: `{store.display_url}`")
left, right = st.columns(2)
left.metric("Projects", len(projects))
right.metric("Runs", run_count)

st.page_link("pages/1_Runs.py", label="Runs: compare tracked runs")
st.page_link(
    "pages/2_What-If.py",
    label="What-If: edit datapoints, counterfactuals, partial dependence",
)
st.page_link(
    "pages/5_Performance_and_Fairness.py",
    label="Performance and fairness: metrics per slice, threshold strategies",
)
st.page_link("pages/6_Features.py", label="Features: overview and dataset drift")
st.page_link("pages/7_Datapoints.py", label="Datapoints: explore every row")
st.page_link("pages/3_Sweeps.py", label="Sweeps: hyperparameter searches")
st.page_link("pages/4_Reports.py", label="Reports: compose and export")

with st.expander("Create demo project", expanded=run_count == 0):
    st.write(
        "Trains logistic regression, gradient boosting and a Keras MLP on the "
        "UCI Adult census data (shipped in sample_data/) as tracked runs, each "
        "storing its model and the test set: 5 runs, 15 to 30 seconds on an "
        "idle 2-core machine. From a terminal: `python examples/train_adult.py`."
    )
    quick = st.checkbox(
        "Quick demo (a 4,000-row sample, about 10 s on an idle machine)",
        key="demo_quick",
    )
    if st.button("Create demo project", type="primary", key="create_demo"):
        _create_demo(quick)

with st.expander("Log runs from your own script"):
    st.code(
        "import tracking as wandb\n\n"
        'run = wandb.init(project="my-project", config={"lr": 0.01})\n'
        "for step in range(100):\n"
        '    wandb.log({"loss": 1 / (step + 1)})\n'
        "wandb.finish()\n",
        language="python",
    )

with st.expander("More examples"):
    st.markdown(
        "Run these from the repository root; each writes to the same store.\n\n"
        "- `python examples/train_digits_cnn.py`: a small Keras CNN on "
        "scikit-learn's 8x8 digits (project `digits`). The What-If and "
        "Datapoints pages show its test images as thumbnails.\n"
        "- `python examples/sweep_adult.py --count 20`: a bayes sweep over gradient "
        "boosting on Adult; follow it on the Sweeps page.\n"
        "- `python examples/sweep_digits.py`: a grid sweep of a Keras network "
        "over layer sizes on the digits.\n"
        "- `python examples/wandb_tutorial.py`: a W&B tutorial script run "
        "unchanged with `import tracking as wandb`."
    )
