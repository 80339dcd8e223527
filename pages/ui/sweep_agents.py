"""Agents started from the Sweeps page, shared by every browser session.

An agent is a ``python -m tracking agent`` process that outlives the session
that started it. The registry lives in ``st.cache_resource``, so a reload or
a second browser tab shows the same agent, its output and its Stop button.
Agents outlive a server restart too, but the new server does not list them.
The page runs at most one agent per sweep; more run from a terminal.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from tracking.sweeps.agents import start_agent_process


@dataclass(frozen=True)
class PageAgent:
    """An agent process that the page started, and the file of its output."""

    sweep_id: str
    process: subprocess.Popen
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None


class AgentRunningError(RuntimeError):
    """Raised on a request to start a second page agent on a sweep."""


class AgentRegistry:
    """The last agent that the page started for each sweep, by sweep id.

    A finished agent stays listed, so its output stays on the page until the
    next agent of its sweep starts.
    """

    def __init__(self) -> None:
        self._agents: dict[str, PageAgent] = {}
        # Two sessions may click Start agent on one sweep at the same time.
        self._lock = threading.Lock()

    def get(self, sweep_id: str) -> PageAgent | None:
        return self._agents.get(sweep_id)

    def running(self, sweep_id: str) -> bool:
        agent = self.get(sweep_id)
        return agent is not None and agent.running

    def start(
        self, sweep_id: str, *, count: int, location: str, cwd: Path
    ) -> PageAgent:
        """Start an agent on the sweep, or raise AgentRunningError if one runs."""
        with self._lock:
            previous = self._agents.get(sweep_id)
            if previous is not None and previous.running:
                raise AgentRunningError(
                    f"An agent started from this page already runs sweep "
                    f"{sweep_id} (process {previous.process.pid}). Stop it "
                    f"first, or run more agents from a terminal: "
                    f"python -m tracking agent {sweep_id}"
                )
            log_path = _new_log_path(sweep_id)
            process = start_agent_process(
                sweep_id, count=count, location=location, cwd=cwd, log_path=log_path
            )
            self._agents[sweep_id] = PageAgent(sweep_id, process, log_path)
        if previous is not None:
            previous.log_path.unlink(missing_ok=True)
        return self._agents[sweep_id]

    def stop(self, sweep_id: str) -> None:
        """Send SIGTERM to the sweep's agent, which stops its running trial first."""
        agent = self.get(sweep_id)
        if agent is not None and agent.running:
            agent.process.terminate()


def _new_log_path(sweep_id: str) -> Path:
    """Create an empty output file for one agent, named after its sweep."""
    file = tempfile.NamedTemporaryFile(
        prefix=f"runlens-agent-{sweep_id}-", suffix=".log", delete=False
    )
    file.close()
    return Path(file.name)


@st.cache_resource(show_spinner=False)
def agent_registry() -> AgentRegistry:
    """Return the registry of page agents, one per server process."""
    return AgentRegistry()
