"""``python -m bridge`` runs the CLI (the same entry point as the ``agent-bridge`` script)."""

from bridge.fastpath import main

main()
