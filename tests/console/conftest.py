"""Fixtures for the console tests (helpers live in helpers.py)."""

from tests.console.helpers import config_file, in_tmp_cwd, live_run, parts

__all__ = ["config_file", "in_tmp_cwd", "live_run", "parts"]
