"""The ``agent-bridge`` command line.

``fastpath`` is the console script's entry point: it takes the plain ``ask``/``state`` calls
straight to the broker without importing typer, and hands everything else to ``main`` (the typer
app of ``app`` with the commands of every command module). This package imports nothing itself,
so that the fast path stays fast.
"""
