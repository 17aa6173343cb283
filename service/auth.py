"""API keys: which configured key a request carries, and jobs that only their key can see.

A job's id is a random nonce followed by a MAC of it under the key that created the job, so any
gateway replica can tell, with no stored state, whether a caller's key owns a job: another key
gets 404, exactly as for a job that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from service.errors import UnauthorizedError

_NONCE_HEX = 16  # the id: 16 hex of nonce, then 16 hex of MAC (32 in all, like a uuid4 hex)


def authenticate(given: object, keys: list[str], where: str) -> str | None:
    """The configured key that `given` is (compared in constant time), or None when no keys are
    configured; UnauthorizedError otherwise, also for a key that is no string (a JSON list, a
    number). `where` names the header or metadata entry."""
    if not keys:
        return None
    if given is not None and not isinstance(given, str):
        raise UnauthorizedError(f"{where} must be a string")
    candidate = (given or "").encode()
    for key in keys:
        if hmac.compare_digest(candidate, key.encode()):
            return key
    raise UnauthorizedError(f"a valid {where} is required")


def _mac(nonce: str, owner: str | None) -> str:
    return hmac.new((owner or "").encode(), nonce.encode(), hashlib.sha256).hexdigest()[:_NONCE_HEX]


def new_job_id(owner: str | None) -> str:
    nonce = secrets.token_hex(_NONCE_HEX // 2)
    return nonce + _mac(nonce, owner)


def owns(owner: str | None, job_id: str) -> bool:
    """Whether the caller holding `owner` (None: no keys configured) created the job."""
    return hmac.compare_digest(job_id[_NONCE_HEX:], _mac(job_id[:_NONCE_HEX], owner))
