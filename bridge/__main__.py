"""``python -m bridge`` runs the CLI (the same entry point as the ``agent-bridge`` script)."""

from bridge.cli.fastpath import main

main()
