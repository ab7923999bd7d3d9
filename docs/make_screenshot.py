"""Regenerate docs/dashboard.svg from a real run of a sample config.

.venv/bin/python docs/make_screenshot.py [sample_configs/minimal.toml] [seconds]

(docs/dashboard.svg is made with sample_configs/cartpole_dqn.toml and 25 seconds.)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from console import config as run_config
from console.app import ConsoleApp
from engine.services.operations import local_run

DOCS = Path(__file__).parent


async def shoot(config: Path, seconds: float) -> Path:
    """Run ``config`` for ``seconds`` under the dashboard and save its screen as SVG."""
    with tempfile.TemporaryDirectory() as tmp:
        built = run_config.load(
            config,
            overrides={
                "states_dir": f"{tmp}/states",
                "run_dir": f"{tmp}/run",
                "save_final_state": False,
                "metrics": False,
            },
        )
        built.system.start()
        try:
            app = ConsoleApp(local_run(built.system))
            async with app.run_test(size=(140, 40)) as pilot:
                await pilot.pause(seconds)
                await pilot.press("s")  # a save shows in the event log
                await pilot.pause(1.0)
                return Path(app.save_screenshot("dashboard.svg", str(DOCS)))
        finally:
            built.system.shutdown()
            built.system.wait(30)


if __name__ == "__main__":
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("sample_configs/minimal.toml")
    )
    print(asyncio.run(shoot(target, float(sys.argv[2]) if len(sys.argv) > 2 else 6.0)))
