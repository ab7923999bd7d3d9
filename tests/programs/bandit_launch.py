"""A program in PAMIQ-Core's style: components built in Python, then ``launch(...)``.

Started as its users start theirs, ``python bandit_launch.py [--web-api PORT]
[--no-console] [--fail-before-launch] [--exit-without-launch]``; the tests
drive it with ``pamiq-console`` from another directory. States go to
``./states`` of the working directory, as PAMIQ-Core's default puts them.
"""

from __future__ import annotations

import argparse
import sys

from algorithms.bandit import BanditAgent, BanditEnvironment, BanditTrainer, ValueTable
from engine import FixedIntervalInteraction, LaunchConfig, launch
from engine.data import SequentialBuffer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--web-api", type=int, default=None)
    parser.add_argument("--no-console", action="store_true")
    parser.add_argument("--fail-before-launch", action="store_true")
    parser.add_argument("--exit-without-launch", action="store_true")
    parser.add_argument("--max-uptime", type=float, default=float("inf"))
    args = parser.parse_args()
    print("building the components", flush=True)
    if args.fail_before_launch:
        raise RuntimeError("the program failed before launch()")
    if args.exit_without_launch:
        print("nothing to do", flush=True)
        sys.exit(3)
    launch(
        interaction=FixedIntervalInteraction.with_sleep_adjustor(
            BanditAgent(epsilon=0.1, model="values", collector="pulls", seed=0),
            BanditEnvironment(means=[0.1, 0.5, 0.9], noise=0.2, seed=1),
            0.005,
        ),
        models={"values": ValueTable(arms=3)},
        buffers={"pulls": SequentialBuffer(500)},
        trainers={
            "values": BanditTrainer(
                model="values",
                data_user="pulls",
                min_buffer_size=100,
                min_new_data_count=50,
            )
        },
        config=LaunchConfig(
            states_dir="states",
            save_state_interval=60.0,
            max_keep_states=5,
            max_uptime=args.max_uptime,
            web_api_address=(
                None if args.web_api is None else ("127.0.0.1", args.web_api)
            ),
            console=not args.no_console,
        ),
    )
    print("launch() returned", flush=True)


if __name__ == "__main__":
    main()
