"""The benchmark: CampaignWorkflow against Temporal's own floor, on one embedded dev server.

    .venv/bin/python -m bench            # or: make bench
See docs/performance.md.
"""
