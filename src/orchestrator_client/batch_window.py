"""The batch's default window, apart so that `campaign --help` can show it without loading the
batch machinery."""

# Campaigns started and not yet settled, at most, while a batch is followed: half a worker's
# default cache (1,000), so a batch's campaigns stay cached.
DEFAULT_MAX_IN_FLIGHT = 500
