"""JWT bearer tokens: HS256, with ``tenant``, ``sub`` and ``exp`` required.

Only HS256 is accepted (never ``none``, never an algorithm named by the token). ``tenant`` must
be a valid tenant id and ``sub`` a valid user id; ``aud`` and ``iss`` are checked when the
settings name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import jwt

from contracts.fields import TENANT_PATTERN

_USER: Final = re.compile(r"^\S{1,128}$")
_TENANT: Final = re.compile(TENANT_PATTERN)


class TokenRejected(Exception):
    """The token is not acceptable; the message says why without echoing it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    """The identity a valid token carries."""

    tenant_id: str
    user_id: str


class JwtVerifier:
    """Verifies tokens signed with one shared secret."""

    def __init__(
        self,
        secret: str,
        *,
        audience: str | None = None,
        issuer: str | None = None,
        leeway_s: float = 30.0,
    ) -> None:
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_s

    def verify(self, token: str) -> Claims:
        """The claims of ``token``; raises :class:`TokenRejected` for any defect."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": ["exp", "sub", "tenant"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "the token has expired") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("bad_signature", "the token's signature is invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected("invalid", f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRejected("invalid", f"the token is invalid ({type(exc).__name__})") from None
        tenant, sub = claims.get("tenant"), claims.get("sub")
        if not isinstance(tenant, str) or not _TENANT.match(tenant):
            raise TokenRejected("invalid", "the token's tenant claim is not a valid tenant id")
        if not isinstance(sub, str) or not _USER.match(sub):
            raise TokenRejected("invalid", "the token's sub claim is not a valid user id")
        return Claims(tenant_id=tenant, user_id=sub)
