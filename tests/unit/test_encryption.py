"""Payload encryption (AES-GCM codec, key rotation) and the codec server the Web UI calls."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from orchestrator_connection.codec_server import CodecServerSettings, create_app
from orchestrator_connection.encryption import (
    ENCODING,
    KEY_ID_METADATA,
    DecryptionError,
    EncryptionCodec,
    EncryptionConfigError,
    new_key,
    parse_keys,
)
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import data_converter

OLD, NEW = new_key(), new_key()
CLEAR = b'{"brief":{"name":"Spring launch","objective":"secret plan"}}'


def _json_payload(data: bytes = CLEAR) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_encode_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{NEW}")
    [sealed] = await codec.encode([_json_payload()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"secret plan" not in sealed.data and b"json/plain" not in sealed.data
    [opened] = await codec.decode([sealed])
    assert opened == _json_payload()


async def test_each_encoding_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{NEW}")
    first, second = await codec.encode([_json_payload(), _json_payload()])
    assert first.data != second.data


async def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    before = EncryptionCodec.from_spec(f"k0:{OLD}")
    after = EncryptionCodec.from_spec(f"k1:{NEW},k0:{OLD}")
    [old_sealed] = await before.encode([_json_payload()])
    assert [_json_payload()] == await after.decode([old_sealed])
    [new_sealed] = await after.encode([_json_payload()])
    assert new_sealed.metadata[KEY_ID_METADATA] == b"k1"
    # once k0 is dropped, its payloads fail with a message naming the key id, not the key
    dropped = EncryptionCodec.from_spec(f"k1:{NEW}")
    with pytest.raises(DecryptionError, match="'k0'") as err:
        await dropped.decode([old_sealed])
    assert OLD not in str(err.value) and NEW not in str(err.value)


async def test_tampered_payload_fails_authentication() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{NEW}")
    [sealed] = await codec.encode([_json_payload()])
    # flip one bit of the tag: overwriting a byte with a constant leaves it unchanged 1 time in 256
    flipped = sealed.data[:-1] + bytes([sealed.data[-1] ^ 0x01])
    tampered = Payload(metadata=dict(sealed.metadata), data=flipped)
    with pytest.raises(DecryptionError, match="fails authentication"):
        await codec.decode([tampered])
    # the same key under another id is refused too: the id is authenticated data
    renamed = EncryptionCodec.from_spec(f"k2:{NEW}")
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"k2"}, data=sealed.data)
    with pytest.raises(DecryptionError):
        await renamed.decode([relabelled])


async def test_unencrypted_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{NEW}")
    assert await codec.decode([_json_payload()]) == [_json_payload()]


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("", "lists no key"),
        ("nokey", "not 'keyid:base64key'"),
        (":abc", "not 'keyid:base64key'"),
        ("k1:***notbase64***", "not valid base64"),
        (f"k1:{base64.b64encode(b'short-key-16byte').decode()}", "16 bytes"),
        (f"k1:{NEW},k1:{OLD}", "repeats"),
    ],
)
def test_bad_key_specs_are_explained_without_the_key(spec: str, problem: str) -> None:
    with pytest.raises(EncryptionConfigError, match=problem) as err:
        parse_keys(spec)
    for part in spec.replace(",", ":").split(":")[1:]:
        if len(part) > 4:
            assert part not in str(err.value)


def test_key_order_first_encrypts() -> None:
    keys = parse_keys(f" k1:{NEW} , k0:{OLD} ")
    assert list(keys) == ["k1", "k0"]
    assert EncryptionCodec(keys).key_id == "k1"


def test_data_converter_is_plain_without_keys_and_encrypting_with_them() -> None:
    assert data_converter(Settings()) is pydantic_data_converter
    converter = data_converter(Settings(encryption_keys=SecretStr(f"k1:{NEW}")))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class


# ---- the codec server -------------------------------------------------------------------------

UI_ORIGIN = "http://localhost:8233"


def _ui_json(payloads: list[Payload]) -> dict[str, object]:
    """The Web UI's request body: protobuf JSON, every bytes field base64."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _client(token: str | None = None) -> httpx.AsyncClient:
    codec = EncryptionCodec.from_spec(f"k1:{NEW},k0:{OLD}")
    settings = CodecServerSettings(
        cors_origins=UI_ORIGIN, token=SecretStr(token) if token else None
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(codec, settings)), base_url="http://codec"
    )


@pytest.mark.parametrize("path", ["/decode", "/default/decode"])
async def test_codec_server_decodes_what_the_ui_sends(path: str) -> None:
    [sealed] = await EncryptionCodec.from_spec(f"k0:{OLD}").encode([_json_payload()])
    async with _client() as http:
        response = await http.post(
            path, json=_ui_json([sealed]), headers={"X-Namespace": "default", "Origin": UI_ORIGIN}
        )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    [decoded] = response.json()["payloads"]
    assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(decoded["data"])) == json.loads(CLEAR)


async def test_codec_server_encodes_with_the_first_key() -> None:
    async with _client() as http:
        response = await http.post("/encode", json=_ui_json([_json_payload()]))
    assert response.status_code == 200
    [encoded] = response.json()["payloads"]
    assert base64.b64decode(encoded["metadata"]["encoding"]) == ENCODING
    assert base64.b64decode(encoded["metadata"][KEY_ID_METADATA]) == b"k1"
    assert b"secret plan" not in base64.b64decode(encoded["data"])


async def test_codec_server_cors_preflight_allows_only_the_ui_origin() -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with _client() as http:
        ok = await http.options("/decode", headers={**preflight, "Origin": UI_ORIGIN})
        evil = await http.options("/decode", headers={**preflight, "Origin": "http://evil.test"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "x-namespace" in ok.headers["access-control-allow-headers"].lower()
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers


async def test_codec_server_rejects_garbage_and_unknown_keys() -> None:
    stranger = EncryptionCodec.from_spec(f"other:{new_key()}")
    [sealed] = await stranger.encode([_json_payload()])
    async with _client() as http:
        garbage = await http.post("/decode", content=b"not json")
        unknown = await http.post("/decode", json=_ui_json([sealed]))
        wrong_method = await http.get("/decode")
    assert garbage.status_code == 400
    assert unknown.status_code == 400 and "'other'" in unknown.json()["message"]
    assert wrong_method.status_code == 405


async def test_codec_server_token_when_configured() -> None:
    body = _ui_json([_json_payload()])
    async with _client(token="codec-token-123") as http:
        anonymous = await http.post("/decode", json=body)
        wrong = await http.post("/decode", json=body, headers={"Authorization": "Bearer nope"})
        right = await http.post(
            "/decode", json=body, headers={"Authorization": "Bearer codec-token-123"}
        )
    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200
