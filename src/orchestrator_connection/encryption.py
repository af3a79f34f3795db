"""Optional payload encryption: an AES-256-GCM `PayloadCodec` with key ids for rotation.

Turned on by CAMPAIGN_ENCRYPTION_KEYS="keyid1:base64key,keyid0:oldbase64key". The first key
encrypts; every listed key decrypts (the key id travels in each payload's metadata), so a key is
rotated by putting the new one first and keeping the old one until no open history needs it.
A key is 32 random bytes, base64: `python -m orchestrator_connection.encryption` prints a new one.

Each payload becomes: metadata {encoding: binary/encrypted, encryption-key-id: <id>}, data
nonce(12) || AES-GCM(serialized original payload, associated data = key id). Payloads that are
not encrypted pass through decode unchanged, so histories written before encryption was turned
on stay readable. Error messages name key ids, never key material.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class EncryptionConfigError(ValueError):
    """CAMPAIGN_ENCRYPTION_KEYS is malformed. The message never contains key material."""


class DecryptionError(ValueError):
    """A payload cannot be decrypted with the configured keys."""


def parse_keys(spec: str | SecretStr) -> dict[str, bytes]:
    """'id1:b64,id0:b64' -> {id1: key, id0: key}, in order (the first one encrypts)."""
    text = spec.get_secret_value() if isinstance(spec, SecretStr) else spec
    keys: dict[str, bytes] = {}
    for position, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not encoded.strip():
            raise EncryptionConfigError(
                f"CAMPAIGN_ENCRYPTION_KEYS entry {position} is not 'keyid:base64key'"
            )
        if key_id in keys:
            raise EncryptionConfigError(f"CAMPAIGN_ENCRYPTION_KEYS: key id '{key_id}' repeats")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionConfigError(
                f"CAMPAIGN_ENCRYPTION_KEYS: the key of '{key_id}' is not valid base64"
            ) from None
        if len(key) != KEY_BYTES:
            raise EncryptionConfigError(
                f"CAMPAIGN_ENCRYPTION_KEYS: the key of '{key_id}' is {len(key)} bytes; "
                f"AES-256 needs {KEY_BYTES}"
            )
        keys[key_id] = key
    if not keys:
        raise EncryptionConfigError("CAMPAIGN_ENCRYPTION_KEYS is set but lists no key")
    return keys


def new_key() -> str:
    """A fresh random key, base64 (for CAMPAIGN_ENCRYPTION_KEYS)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads; the first key encrypts, all keys decrypt."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise EncryptionConfigError("at least one key is needed")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._key_id = next(iter(keys))
        self._key_id_bytes = self._key_id.encode()

    @classmethod
    def from_spec(cls, spec: str | SecretStr) -> EncryptionCodec:
        return cls(parse_keys(spec))

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts."""
        return self._key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encode_sync(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decode_sync(payloads)

    def encode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self._key_id_bytes)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: self._key_id_bytes},
                    data=nonce + sealed,
                )
            )
        return out

    def decode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before encryption was on, or not ours
                continue
            key_id_bytes = payload.metadata.get(KEY_ID_METADATA, b"")
            key_id = key_id_bytes.decode(errors="replace")
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise DecryptionError(
                    f"payload encrypted with key id '{key_id}', which is not among the "
                    f"configured keys ({', '.join(self._ciphers)}): add it to "
                    "CAMPAIGN_ENCRYPTION_KEYS"
                )
            data = payload.data
            try:
                plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id_bytes)
            except InvalidTag:
                raise DecryptionError(
                    f"payload encrypted with key id '{key_id}' fails authentication: "
                    "wrong key for that id, or the payload was altered"
                ) from None
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def encrypted_data_converter(base: DataConverter, codec: PayloadCodec) -> DataConverter:
    """`base` with the codec, and failure messages and stack traces moved into an encoded
    (so encrypted) payload: an error that quotes sensitive data does not leak it either."""
    return dataclasses.replace(
        base,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def main() -> None:
    """`python -m orchestrator_connection.encryption`: print a new key entry."""
    print(f"key{secrets.randbelow(10**6):06d}:{new_key()}")


if __name__ == "__main__":
    main()
