"""Figure 1 limit: the same loop as plain single-threaded Python (no engine).

Standalone (standard library only) so that it runs under any interpreter,
ours and PAMIQ-Core's alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import deque


class Env:
    def observe(self) -> int:
        return 0

    def affect(self, action: int) -> None:
        pass


class Agent:
    def __init__(self) -> None:
        self.queue: deque[tuple[int, float]] = deque()
        self.lock = threading.Lock()

    def step(self, observation: int) -> int:
        with self.lock:
            self.queue.append((observation, time.time()))
        return observation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=2.0)
    args = parser.parse_args()
    env, agent = Env(), Agent()
    buffer: deque[int] = deque(maxlen=1000)
    steps = 0
    consumed = 0
    end = time.perf_counter() + args.duration
    t0 = time.perf_counter()
    while True:
        for _ in range(1000):
            env.affect(agent.step(env.observe()))
        steps += 1000
        # The "trainer": every 1,000 items, move them to the buffer and read it.
        with agent.lock:
            taken, agent.queue = agent.queue, deque()
        for item, _stamp in taken:
            buffer.append(item)
        consumed += len(list(buffer))
        if time.perf_counter() >= end:
            break
    t1 = time.perf_counter()
    sys.stdout.write(
        json.dumps(
            {
                "steps": steps,
                "seconds": t1 - t0,
                "consumed_total": consumed,
                "python": sys.version.split()[0],
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
