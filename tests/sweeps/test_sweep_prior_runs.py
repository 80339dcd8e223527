"""Prior runs: existing runs attached to a new sweep as its first trials."""

from __future__ import annotations

import pytest

import tracking
from tracking.run_lifecycle import delete_runs
from tracking.sweeps import SweepError, controller
from tracking.sweeps import store as sweep_store
from tracking.sweeps.bayes import COMPLETE
from tracking.sweeps.grid import grid_combination, grid_index_of
from tracking.sweeps.report import best_trial

GRID = {
    "method": "grid",
    "metric": {"name": "loss"},
    "parameters": {"x": {"values": [1, 2, 3]}, "y": {"values": [10, 20]}},
}


def _log_run(project, config, loss):
    """Store a finished run that logged ``loss`` twice, the lower one last."""
    run = tracking.init(project=project, config=config)
    run.log({"loss": loss + 1.0})
    run.log({"loss": loss})
    run.finish()
    return run.id


def _train():
    run = tracking.init()
    run.log({"loss": float(tracking.config.x)})


def _sweep_and_trials(sweep_id):
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)
    return sweep, sweep_store.list_trials(store, sweep)


def test_grid_skips_prior_combinations(store_location):
    first = _log_run("grid", {"x": 1, "y": 20, "other": "kept"}, 5.0)
    second = _log_run("grid", {"x": 3, "y": 10}, 6.0)
    off_grid = _log_run("grid", {"x": 4, "y": 10}, 7.0)
    sweep_id = tracking.sweep(
        GRID, project="grid", prior_runs=[first, second, off_grid]
    )

    results = tracking.agent(sweep_id, function=_train)

    # Six combinations, two of them covered: the agent runs the other four.
    assert len(results) == 4
    sweep, trials = _sweep_and_trials(sweep_id)
    assert sweep.state == "finished"
    assert len(trials) == 7
    assert [t.run_id for t in trials[:3]] == [first, second, off_grid]
    assert [t.number for t in trials] == [1, 2, 3, 4, 5, 6, 7]
    assert [t.agent for t in trials[:3]] == ["prior run"] * 3
    assert [t.grid_index for t in trials[:3]] == [1, 4, None]
    ran = [(t.params["x"], t.params["y"]) for t in trials[3:]]
    assert ran == [(1, 10), (2, 10), (2, 20), (3, 20)]
    assert trials[0].params == {"x": 1, "y": 20}


def test_prior_run_is_best_run(store_location):
    best = _log_run("best", {"x": 2, "y": 10}, -1.0)
    worse = _log_run("best", {"x": 3, "y": 20}, 9.0)
    sweep_id = tracking.sweep(GRID, project="best", prior_runs=[worse, best])
    tracking.agent(sweep_id, function=_train)

    sweep, trials = _sweep_and_trials(sweep_id)
    top = best_trial(sweep, trials)
    # The best logged loss of the prior run is -1.0, at its last step. Every
    # trial of the sweep logs loss = x >= 1.
    assert top.run_id == best
    assert top.best == -1.0
    assert top.number == 2
    api_sweep = tracking.Api().sweep(f"best/{sweep_id}")
    assert api_sweep.best_run().id == best
    assert best in [run.id for run in api_sweep.runs]
    assert len(api_sweep.runs) == 6


def test_prior_runs_count_toward_run_cap(sqlite_store):
    prior = [_log_run("cap", {"x": x}, float(x)) for x in (0.1, 0.2)]
    config = {
        "method": "random",
        "metric": {"name": "loss"},
        "run_cap": 3,
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    sweep_id = tracking.sweep(config, project="cap", prior_runs=prior, seed=5)

    results = tracking.agent(sweep_id, function=_train, count=10)

    assert [r.number for r in results] == [3]
    sweep, trials = _sweep_and_trials(sweep_id)
    assert sweep.state == "finished"
    assert len(trials) == 3


def test_bayes_observes_prior_runs(sqlite_store, monkeypatch):
    prior = {x: _log_run("bayes", {"x": x}, (x - 0.3) ** 2) for x in (0.1, 0.5, 0.9)}
    failed = tracking.init(project="bayes", config={"x": 0.7})
    failed.finish(exit_code=1)
    config = {
        "method": "bayes",
        "metric": {"name": "loss"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    sweep_id = tracking.sweep(
        config, project="bayes", prior_runs=[*prior.values(), failed.id]
    )
    seen = []
    real_suggest = controller.suggest_bayes

    def spy(config, observations, seed):
        seen.append(list(observations))
        return real_suggest(config, observations, seed)

    monkeypatch.setattr(controller, "suggest_bayes", spy)
    tracking.agent(sweep_id, function=_train, count=1)

    assert len(seen) == 1
    complete = {o.values["x"]: o.value for o in seen[0] if o.state == COMPLETE}
    # Each prior run enters with its best logged loss, (x - 0.3)^2.
    assert complete == pytest.approx({x: (x - 0.3) ** 2 for x in prior})
    assert [o.state for o in seen[0]][3] == "failed"


def test_prior_run_of_another_sweep(sqlite_store):
    first = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": GRID["parameters"],
        },
        project="shared",
    )
    [result] = tracking.agent(first, function=_train, count=1)
    loose = _log_run("shared", {"x": 2, "y": 10}, 0.5)
    second = tracking.sweep(GRID, project="shared", prior_runs=[result.run_id, loose])

    _, trials = _sweep_and_trials(second)
    assert [t.best for t in trials] == [1.0, 0.5]
    store = tracking.open_store()
    # A run keeps the sweep that started it, and a run of no sweep joins this one.
    assert store.run("shared", result.run_id)["sweep_id"] == first
    assert store.run("shared", loose)["sweep_id"] == second
    _, first_trials = _sweep_and_trials(first)
    assert [t.run_id for t in first_trials] == [result.run_id]


def test_unknown_prior_run_named(sqlite_store):
    known = _log_run("mine", {"x": 1}, 1.0)
    other = _log_run("theirs", {"x": 1}, 1.0)

    with pytest.raises(SweepError) as raised:
        tracking.sweep(GRID, project="mine", prior_runs=[known, "nosuchid", other])

    message = str(raised.value)
    assert "run 'nosuchid' not found in any project of the store" in message
    assert (
        f"run '{other}' is in project 'theirs', not in the sweep's project 'mine'"
        in message
    )
    assert f"'{known}'" not in message
    # Nothing is stored when a prior run is rejected.
    assert sweep_store.list_sweeps(tracking.open_store()) == []


def test_many_unknown_prior_runs_listed_briefly(store_location):
    with pytest.raises(SweepError) as raised:
        tracking.sweep(GRID, project="mine", prior_runs=[f"zz{i}" for i in range(25)])
    message = str(raised.value)
    assert message.count("not found in any project") == 10
    assert message.endswith("; and 15 more")


def test_too_many_prior_runs_refused(sqlite_store):
    with pytest.raises(SweepError, match="70,000 run ids; a sweep takes at most"):
        tracking.sweep(
            GRID, project="mine", prior_runs=[f"zz{i}" for i in range(70_000)]
        )
    assert sweep_store.list_sweeps(tracking.open_store()) == []


def test_deleted_prior_run_rejected(sqlite_store):
    run_id = _log_run("gone", {"x": 1}, 1.0)
    delete_runs(tracking.open_store(), "gone", [run_id])
    with pytest.raises(SweepError, match=f"run '{run_id}' of project 'gone' is "):
        tracking.sweep(GRID, project="gone", prior_runs=[run_id])


@pytest.mark.parametrize(
    ("prior_runs", "message"),
    [
        ("abc", r"got the string 'abc'; write prior_runs=\['abc'\]"),
        (["abc", ""], r"non-empty strings, got ''"),
        ([3], r"non-empty strings, got 3"),
    ],
)
def test_prior_runs_type_checked(sqlite_store, prior_runs, message):
    with pytest.raises(SweepError, match=message):
        tracking.sweep(GRID, prior_runs=prior_runs)


def test_grid_index_of_matches_combination():
    config = tracking.sweeps.load_sweep_config(
        {
            "method": "grid",
            "parameters": {
                "a": {"values": [True, 1, 1.0]},
                "b": {"distribution": "q_uniform", "min": 0.0, "max": 0.5, "q": 0.1},
                "c": {"value": "k"},
            },
        }
    )
    for index in range(3 * 5):
        assert grid_index_of(config, grid_combination(config, index)) == index
    assert grid_index_of(config, {"a": 1.0, "b": 0.1 * 3, "c": "k"}) == 2 * 5 + 3
    assert grid_index_of(config, {"a": 1, "b": 0.25, "c": "k"}) is None
    assert grid_index_of(config, {"a": 1, "b": 0.2}) is None


def test_command_line_prior_runs(sqlite_store, tmp_path, capsys):
    from tracking.__main__ import main

    first = _log_run("cli", {"x": 1, "y": 10}, 1.0)
    second = _log_run("cli", {"x": 2, "y": 10}, 2.0)
    path = tmp_path / "grid.yaml"
    path.write_text(
        "method: grid\nproject: cli\nparameters:\n"
        "  x: {values: [1, 2, 3]}\n  y: {values: [10, 20]}\n"
    )

    assert main(["sweep", str(path), "-R", first, "--prior-run", second]) == 0
    sweep_id = capsys.readouterr().out.strip()
    _, trials = _sweep_and_trials(sweep_id)
    assert [t.run_id for t in trials] == [first, second]

    assert main(["sweep", str(path), "--prior_run", "missing1"]) == 1
    assert "run 'missing1' not found" in capsys.readouterr().err
