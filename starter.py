"""campaign: the operator's CLI (`campaign --help`). The commands live in src/campaign_cli/."""

from __future__ import annotations

from campaign_cli.app import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
