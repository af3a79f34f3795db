"""Builds the shared httpx client and the activities from settings."""

from __future__ import annotations

import httpx

from activities import CampaignActivities, ServiceClient
from activities.webhook import WebhookNotifier
from contracts import ServiceName
from orchestrator_connection.settings import Settings


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """The shared client; its requests are spans under the activity's span with tracing on."""
    from orchestrator_connection.tracing import instrument_http_client

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds
        ),
        limits=httpx.Limits(
            max_connections=settings.http_connections(),
            max_keepalive_connections=settings.http_keepalive(),
        ),
        follow_redirects=False,
    )
    instrument_http_client(client, settings)
    return client


def create_activities(settings: Settings, http: httpx.AsyncClient) -> CampaignActivities:
    services = ServiceClient(
        http,
        base_urls={s: settings.service_url(s) for s in ServiceName},
        tokens={s: settings.service_token(s) for s in ServiceName},
        max_response_bytes=settings.max_response_bytes,
    )
    webhook = None
    if settings.webhook_url is not None and settings.webhook_secret is not None:
        webhook = WebhookNotifier(http, str(settings.webhook_url), settings.webhook_secret)
    return CampaignActivities(services, webhook)
