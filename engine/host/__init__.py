"""What the engine uses of the machine and the interpreter it runs in; imports nothing of it.

:mod:`~engine.host.owner_only`: files and directories only this user can change,
opened without following links (states, metrics, logs, the registry of runs).
:mod:`~engine.host.imported`: optional libraries (torch) the program has already
imported, which the engine uses without ever importing them itself.
"""
