"""The inbox's per-source tokens: each lets its holder check and deliver the files of one source.

A token is 32 random bytes (URL-safe text), shown once when it is made. Only its sha256 is stored, in
<inbox>/tokens.json (written atomically, readable by its owner only), with the source, when it was made
and, once revoked, when. A token is high-entropy, so a plain hash is as good as a slow one, and the
lookup compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnerdata.errors import ConfigError
from partnerdata.util.clock import utc_now, utc_text
from partnerdata.util.files import write_text_atomically

TOKENS_FILE = "tokens.json"
PREFIX = "pdi_"  # recognisable in a leaked log or a secret scanner
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid token belongs to: the source, and the token's id (the first characters of its digest,
    safe to log and to record with a delivery)."""

    source_id: str
    token_id: str
    digest: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """<inbox>/tokens.json: {"tokens": [{"sha256", "source_id", "created_at", "revoked_at"}]}."""

    def __init__(self, inbox_dir: Path) -> None:
        self.path = inbox_dir / TOKENS_FILE

    def _entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            entries = document["tokens"]
            if not isinstance(entries, list):
                raise TypeError("tokens is not a list")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"{self.path}: not a token file partnerdata can read ({error}); move it away and make new tokens"
            ) from None
        return [e for e in entries if isinstance(e, dict)]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.path, json.dumps({"tokens": entries}, indent=2) + "\n")
        os.chmod(self.path, 0o600)

    def create(self, source_id: str) -> str:
        """A new token for the source; the caller shows it once, it is never stored."""
        token = PREFIX + secrets.token_urlsafe(32)
        entries = self._entries()
        entries.append({"sha256": _digest(token), "source_id": source_id, "created_at": utc_text(utc_now()),
                        "revoked_at": None})  # fmt: skip
        self._save(entries)
        return token

    def revoke(self, source_id: str) -> int:
        """Revoke every token of the source; how many were valid."""
        entries = self._entries()
        revoked = 0
        for entry in entries:
            if entry.get("source_id") == source_id and not entry.get("revoked_at"):
                entry["revoked_at"] = utc_text(utc_now())
                revoked += 1
        self._save(entries)
        return revoked

    def holder(self, token: str | None) -> TokenHolder | None:
        """The holder of a valid (made, not revoked) token; None for anything else."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = _digest(token.strip())
        for entry in self._entries():
            known = str(entry.get("sha256", ""))
            if hmac.compare_digest(known.encode(), digest.encode()) and not entry.get("revoked_at"):
                return TokenHolder(str(entry["source_id"]), digest[:12], digest)
        return None

    def valid(self, digest: str) -> bool:
        """Whether the token with this digest is still valid (a session ends when its token is revoked)."""
        return any(
            hmac.compare_digest(str(e.get("sha256", "")).encode(), digest.encode()) and not e.get("revoked_at")
            for e in self._entries()
        )
