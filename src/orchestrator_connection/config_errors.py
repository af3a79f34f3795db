"""The error of unusable CAMPAIGN_* settings, apart from the settings (and pydantic-settings)
so that a command can catch it without loading them."""


class SettingsError(ValueError):
    """The CAMPAIGN_* environment is invalid; one line naming each bad variable."""
