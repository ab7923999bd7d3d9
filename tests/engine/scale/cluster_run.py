"""A two-node simulated cluster run (``ray.cluster_utils.Cluster``), for test_cluster.py.

Run as a script: it needs a Ray of its own, apart from the test session's.
Prints what the test checks as one JSON line after ``RESULT`` (Ray prints a lost
node's last log lines to stdout too, before or after it).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from engine.data import SequentialBuffer  # noqa: E402
from engine.scale import ActorFeed, build_system  # noqa: E402
from tests.engine.scale.parts import RecordingTrainer, WeightModel, make_parts  # noqa: E402
from tests.engine.scale.waiting import wait_until  # noqa: E402

RESULT = "RESULT "
"""What starts the line with the result."""


def main() -> None:
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "object_store_memory": 80 * 2**20,
            # The GCS checks each node every 3 s by default and gives it up after
            # 5 failed checks: 15 s before the removed node's actor is restarted.
            # A killed node fails each check at once, so checking every 0.2 s
            # finds it in 1 s; a live but slow node still has 5 checks' timeouts
            # (10 s each, the default) to answer.
            "_system_config": {"health_check_period_ms": 200},
        },
    )
    worker = cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    ray.init(address=cluster.address, runtime_env=env, log_to_driver=False)
    cluster.wait_for_nodes()
    trainer = RecordingTrainer(min_new=50)
    with tempfile.TemporaryDirectory() as tmp:
        system = build_system(
            make_parts,
            {"w": WeightModel()},
            {"obs": SequentialBuffer(100_000)},
            {"rec": trainer},
            {"states_dir": tmp, "durable_saves": False},
            scale={
                "backend": "ray",
                "actors": 2,
                "cpus_per_actor": 0.5,
                "batch_items": 16,
                "address": cluster.address,
                "max_restarts": 2,
            },
        )
        feed = system.interaction
        assert isinstance(feed, ActorFeed)
        transport = feed.transport
        system.start()
        wait_until(lambda: all(r.steps > 0 for r in transport.reports()), timeout=60)
        nodes = [r.node for r in transport.reports()]
        on_worker = [i for i, n in enumerate(nodes) if n == worker.node_id]
        system.save_state()
        cluster.remove_node(worker, allow_graceful=False)
        restarted = on_worker[0] if on_worker else None
        if restarted is not None:
            wait_until(
                lambda: transport.reports()[restarted].restarts == 1, timeout=120
            )
        runs = trainer.runs
        wait_until(lambda: trainer.runs > runs + 1, timeout=60)
        after = [r.node for r in transport.reports()]
        alive = [r.alive for r in transport.reports()]
        system.shutdown("done")
        stopped = system.wait(60)
    print(
        RESULT
        + json.dumps(
            {
                "nodes": nodes,
                "worker": worker.node_id,
                "after": after,
                "alive": alive,
                "restarted": restarted,
                "stopped": stopped,
            }
        )
    )
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()
