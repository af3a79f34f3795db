"""The embedded dev stack: Temporal's dev server, the reference services and a worker, run as
local background processes that log to files (never to a pipe nobody reads)."""
