"""Fixtures for the console tests (helpers live in console_helpers.py)."""

from console_helpers import config_file, in_tmp_cwd, live_run, parts

__all__ = ["config_file", "in_tmp_cwd", "live_run", "parts"]
