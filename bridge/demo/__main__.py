"""``python -m bridge.demo`` runs the demo agent."""

from bridge.demo.app import main

raise SystemExit(main())
