"""Campaign files: the spec (YAML, validated with file:line problems) and its expansion into jobs."""

from master.campaign.errors import Problem, SpecError
from master.campaign.expand import JobSpec, expand
from master.campaign.spec import Campaign, load_campaign, load_campaign_text

__all__ = ["Campaign", "JobSpec", "Problem", "SpecError", "expand", "load_campaign", "load_campaign_text"]
