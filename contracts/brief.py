"""What an operator types: the campaign brief."""

from __future__ import annotations

from pydantic import Field, field_validator

from contracts.base import Contract
from contracts.enums import Channel


class CampaignBrief(Contract):
    """The operator's description of a campaign. Every field is validated with a clear message."""

    name: str = Field(min_length=1, max_length=120, description="Human name of the campaign.")
    objective: str = Field(
        min_length=3, max_length=2000, description="What the campaign must achieve."
    )
    audience: str = Field(min_length=1, max_length=500, description="Who it speaks to.")
    channels: list[Channel] = Field(
        min_length=1, max_length=len(Channel), description="Where it is published."
    )
    locale: str = Field(
        default="en-US",
        pattern=r"^[a-z]{2}(-[A-Z]{2})?$",
        description="Language and region, like en-US or es.",
    )
    budget: float = Field(default=0.0, ge=0, le=1e9, description="Budget in the account currency.")
    keywords: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("channels must not repeat")
        return value

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value]
        if any(not k or len(k) > 60 for k in cleaned):
            raise ValueError("keywords must be 1 to 60 characters each")
        return cleaned
