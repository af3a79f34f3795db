"""What the orchestrator runs on: settings, logging, the Temporal connection, the binaries."""
