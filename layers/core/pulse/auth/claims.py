"""What a verified token says (``Claims``) and the clock-skew leeway its times are checked with.

Kept apart from ``pulse.auth.tokens`` (which signs and verifies with PyJWT) so that checking the
caller of every request (``pulse.auth.context``, ``pulse.auth.revocation``) does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TokenType = Literal["access", "refresh"]
# Clock skew between the Lambda containers that issue and verify a token.
LEEWAY_SECONDS = 10


@dataclass(frozen=True)
class Claims:
    """The verified claims of a token (``family`` is "" for an access token minted without one)."""

    subject: str
    type: TokenType
    token_id: str
    family: str
    issued_at: float
    expires_at: int
    role: str | None = None
    teams: tuple[str, ...] = ()
