"""``python -m bridge.demo`` runs the demo agent."""

from bridge.demo.agent import main

raise SystemExit(main())
