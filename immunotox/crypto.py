"""Encryption of records at rest (SMART sessions: access and refresh tokens, the patient id).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with the key from
`IMMUNOTOX_TOKEN_KEY`: one or more Fernet keys, comma-separated; the first encrypts, all decrypt
(rotate by putting the new key first). Without it, a key is derived from `IMMUNOTOX_SECRET_KEY`
(HKDF-SHA256); without either, a key is generated once into `INSTANCE_DIR/token.key` (mode 0600)
and shared by the worker processes of this host: set `IMMUNOTOX_TOKEN_KEY` (the same on every
host) in production, and keep it out of the database's backups.

A record that does not decrypt (another key, tampered) reads as absent: the user launches again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("immunotox")


class RecordCipher:
    def __init__(self, keys: list[bytes]):
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, record: Any) -> str:
        return self._fernet.encrypt(json.dumps(record).encode()).decode("ascii")

    def open(self, sealed: str) -> Any | None:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError):
            log.warning("a stored session record did not decrypt (another key?): ignored")
            return None


def token_keys(cfg: Mapping[str, Any]) -> list[bytes]:
    raw = cfg.get("TOKEN_KEY")
    if raw:
        keys = [k.strip().encode() for k in str(raw).split(",") if k.strip()]
        try:
            for k in keys:
                Fernet(k)
        except ValueError as e:
            raise RuntimeError(
                "IMMUNOTOX_TOKEN_KEY must be Fernet keys (32 url-safe base64 bytes; make one "
                'with python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())")'
            ) from e
        return keys
    secret = cfg.get("SECRET_KEY")
    if secret:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"immunotox records")
        return [base64.urlsafe_b64encode(hkdf.derive(str(secret).encode()))]
    return [_key_file(Path(cfg.get("INSTANCE_DIR") or "var") / "token.key")]


def _key_file(path: Path) -> bytes:
    """The key in `path`, generated once. Workers booting together race for it: the key is
    written whole to a private temporary file first and then linked into place (atomic, and
    refused when another worker's key is there already), so no worker reads a half-written key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_bytes().strip()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token.key.")  # 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes().strip()
    finally:
        os.unlink(tmp)
    log.warning(
        "no IMMUNOTOX_TOKEN_KEY or IMMUNOTOX_SECRET_KEY: generated a record key in %s "
        "(set IMMUNOTOX_TOKEN_KEY in production)",
        path,
    )
    return path.read_bytes().strip()


def record_cipher(app: Any) -> RecordCipher:
    cipher = app.extensions.get("immunotox.cipher")
    if cipher is None:
        cipher = app.extensions["immunotox.cipher"] = RecordCipher(token_keys(app.config))
    return cipher
