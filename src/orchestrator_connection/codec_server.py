"""Codec server: lets the Temporal Web UI and CLI show encrypted payloads in clear.

    python -m orchestrator_connection.codec_server            # 127.0.0.1:8081

It answers Temporal's codec server protocol: POST /encode and POST /decode (also under a
namespace segment, /{namespace}/decode, for the CLI's `--codec-endpoint` templating), each taking
and returning {"payloads": [...]} in protobuf JSON (bytes as base64). CORS lets the Web UI's
origin call it from the browser (CAMPAIGN_CODEC_CORS_ORIGINS). It holds the same keys as the
workers (CAMPAIGN_ENCRYPTION_KEYS) and decodes whatever it is sent: keep it on loopback, behind
your own authentication, or set CAMPAIGN_CODEC_TOKEN to require `Authorization: Bearer <token>`
(the CLI sends one with --codec-auth). Point the UI at it with
`temporal server start-dev --ui-codec-endpoint http://localhost:8081` or TEMPORAL_CODEC_ENDPOINT
for the temporalio/ui image.
"""

from __future__ import annotations

import argparse
import logging
import secrets

from google.protobuf import json_format
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.api.common.v1 import Payloads

from orchestrator_connection.encryption import (
    DecryptionError,
    EncryptionCodec,
    EncryptionConfigError,
)
from program_setup.extras import exit_for_missing_extra

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ModuleNotFoundError as err:  # uvicorn, starlette: not in the core install
    exit_for_missing_extra(err, "services", "python -m orchestrator_connection.codec_server")

log = logging.getLogger("codec_server")


class CodecServerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGN_CODEC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    host: str = Field(default="127.0.0.1", min_length=1, description="Interface to bind.")
    port: int = Field(default=8081, ge=0, le=65535)
    cors_origins: str = Field(
        default="http://localhost:8233,http://127.0.0.1:8233",
        description="Comma-separated origins of the Web UI allowed to call the codec server.",
    )
    token: SecretStr | None = Field(
        default=None, description="If set, requests need `Authorization: Bearer <it>`."
    )
    encryption_keys: SecretStr | None = Field(
        default=None, validation_alias="CAMPAIGN_ENCRYPTION_KEYS"
    )

    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


def create_app(codec: EncryptionCodec, settings: CodecServerSettings | None = None) -> Starlette:
    settings = settings or CodecServerSettings()
    expected = settings.token.get_secret_value().encode() if settings.token else None

    def authorized(request: Request) -> bool:
        if expected is None:
            return True
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            credentials.strip().encode(), expected
        )

    async def handle(request: Request, encode: bool) -> Response:
        if not authorized(request):
            return JSONResponse(
                {"message": "missing or wrong bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (json_format.ParseError, UnicodeDecodeError) as err:
            return JSONResponse({"message": f"not a payloads document: {err}"}, status_code=400)
        try:
            if encode:
                result = codec.encode_sync(payloads.payloads)
            else:
                result = codec.decode_sync(payloads.payloads)
        except DecryptionError as err:
            return JSONResponse({"message": str(err)}, status_code=400)
        body = json_format.MessageToJson(Payloads(payloads=result), indent=None)
        return Response(body, media_type="application/json")

    async def encode(request: Request) -> Response:
        return await handle(request, encode=True)

    async def decode(request: Request) -> Response:
        return await handle(request, encode=False)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "encrypting_key_id": codec.key_id})

    return Starlette(
        routes=[
            Route("/encode", encode, methods=["POST"]),
            Route("/decode", decode, methods=["POST"]),
            Route("/{namespace}/encode", encode, methods=["POST"]),
            Route("/{namespace}/decode", decode, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.origins(),
                allow_methods=["POST", "OPTIONS"],
                allow_headers=["Content-Type", "X-Namespace", "Authorization"],
                allow_credentials=True,
            )
        ],
    )


def main(argv: list[str] | None = None) -> int:
    settings = CodecServerSettings()
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator_connection.codec_server",
        description="Temporal codec server for the campaign payload encryption.",
    )
    parser.add_argument("--host", default=settings.host, help=f"default {settings.host}")
    parser.add_argument("--port", type=int, default=settings.port, help=f"default {settings.port}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if settings.encryption_keys is None:
        print("error: CAMPAIGN_ENCRYPTION_KEYS is not set: there is nothing to decode")
        return 2
    try:
        codec = EncryptionCodec.from_spec(settings.encryption_keys)
    except EncryptionConfigError as err:
        print(f"error: {err}")
        return 2
    log.info(
        "codec server on %s:%s, keys %s, CORS origins %s",
        args.host,
        args.port,
        ", ".join(codec.key_ids),
        ", ".join(settings.origins()),
    )
    uvicorn.run(create_app(codec, settings), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
