"""What runs: the threads of a system and the control state machine they obey.

Flow: ``System.start()`` starts an :class:`~engine.runtime.workers.InferenceWorker`
(steps the interaction back to back), a :class:`~engine.runtime.workers.TrainingWorker`
(runs trainers round-robin, waits for data instead of polling) and the control
thread (:mod:`engine.runtime.control_loop`: max uptime, periodic saves). Pause,
resume and shutdown requests go through one :class:`~engine.runtime.control.Controller`;
workers look at one boolean per step and stop at pause points (between steps,
in the clock's sleep, in :func:`~engine.runtime.control.pause_point`). Every
thread runs under :mod:`engine.thread.supervision`, so a failure at any moment
reaches :meth:`engine.System.report_failure`. What the training thread needs of
a trainer is declared in :mod:`engine.runtime.trainer_contract`.
"""
