import json
import math
from pathlib import Path

import numpy as np

from algorithms.episodes import RECENT_EPISODES, EpisodeLog
from algorithms.reinforce import ReinforceAgent


def _play(log: EpisodeLog, rewards: list[float], steps: int) -> dict[str, float]:
    log.begin()
    for reward in rewards:
        log.add(reward)
    return log.end(steps)


def test_an_episode_end_reports_its_return_the_recent_mean_and_the_count() -> None:
    log = EpisodeLog(history=10)
    assert math.isnan(log.mean20)
    assert _play(log, [1.0, 2.0], 2) == {
        "episode_return": 3.0,
        "episode_return_mean20": 3.0,
        "episodes": 1,
    }
    assert _play(log, [5.0], 3) == {
        "episode_return": 5.0,
        "episode_return_mean20": 4.0,
        "episodes": 2,
    }
    assert [r for _, r in log.returns] == [3.0, 5.0]
    assert list(log.end_steps) == [2, 3]
    assert log.current == 5.0  # until the next episode begins


def test_the_mean_covers_the_latest_twenty_and_the_history_is_bounded() -> None:
    log = EpisodeLog(history=3)
    for episode in range(RECENT_EPISODES + 5):
        metrics = _play(log, [float(episode)], episode + 1)
    assert metrics["episode_return_mean20"] == float(np.mean(range(5, 25)))
    assert metrics["episodes"] == 25
    assert [r for _, r in log.returns] == [22.0, 23.0, 24.0]
    assert list(log.end_steps) == [23, 24, 25]
    assert not EpisodeLog().returns.maxlen  # no history: nothing kept


def test_a_restored_state_goes_on_where_it_was() -> None:
    log = EpisodeLog()
    for episode in range(3):
        _play(log, [float(episode)], 1)
    state = json.loads(json.dumps(log.state()))
    assert state == {"episodes": 3, "recent_returns": [0.0, 1.0, 2.0]}
    restored = EpisodeLog()
    restored.restore(state)
    assert _play(restored, [5.0], 4) == _play(log, [5.0], 4)


def test_a_state_saved_before_a_count_was_kept_leaves_that_count() -> None:
    log = EpisodeLog()
    _play(log, [4.0], 1)
    log.restore({"steps": 7})
    assert log.count == 1 and list(log.recent) == [4.0]
    log.restore({"episodes": 9})
    assert log.count == 9 and list(log.recent) == [4.0]


def test_an_agent_saves_the_counts_under_the_keys_it_always_had(
    tmp_path: Path,
) -> None:
    agent = ReinforceAgent(seed=0)
    agent.episode_log.count = 2
    agent.episode_log.recent.extend([1.0, 3.0])
    agent.save_state(tmp_path / "agent")
    saved = json.loads((tmp_path / "agent.json").read_text())
    assert list(saved) == ["steps", "episodes", "recent_returns", "random"]
    assert saved["episodes"] == 2 and saved["recent_returns"] == [1.0, 3.0]
    other = ReinforceAgent(seed=1)
    other.load_state(tmp_path / "agent")
    assert other.episodes == 2 and list(other.episode_log.recent) == [1.0, 3.0]
