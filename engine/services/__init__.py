"""The run-side services every run has, however it starts.

A run launched from Python (``launch()``, ``System``) and a run built from TOML by
``pamiq-console run`` get the same services: its run directory (``run.json``,
``errors.log``, ``metrics.jsonl``), the control endpoint the console talks to, the
learning-curve history, the per-user registry of live runs, and PAMIQ-Core's web
API where a program asks for it. Nothing here imports a UI library.
"""
