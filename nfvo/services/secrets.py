"""Encryption at rest for VIM credentials (Fernet, key derived from the service's secret key)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(("nfvo-vim-credentials:" + secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(secret_key: str, plain: str | None) -> str | None:
    return None if plain is None else _fernet(secret_key).encrypt(plain.encode()).decode()


def decrypt(secret_key: str, token: str | None) -> str | None:
    """The plain text; ``None`` stays ``None``. Raises RuntimeError if the key changed."""
    if token is None:
        return None
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise RuntimeError("VIM credentials cannot be decrypted: NFVO_SECRET_KEY changed") from None
