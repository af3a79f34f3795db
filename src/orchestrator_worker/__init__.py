"""The worker's assembly: the worker factory, the activities' wiring, metrics and logging."""
