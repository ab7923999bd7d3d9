"""Scale tests' paths; the session's one local Ray (``ray_session``) is in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
