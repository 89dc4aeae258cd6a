"""Password reset by email: a single-use token, mailed as a link, trades for a new password.

A request does the same work whether or not the email has an account — a token is minted and
one statement runs either way — and the mail goes out in the background, so neither the
answer nor its timing tells who is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.account import new_password_error
from application.auth_ports import (
    AccountMail,
    AttemptLimiter,
    PasswordBlocklist,
    PasswordHasher,
    ResetRequestLimiter,
    ResetTokens,
)
from application.ports import Clock, PasswordResetRepository
from domain.errors import InvalidResetToken, TooManyAttempts, ValidationFailed
from domain.users import check_email, email_key, normalize_password

# Checked before the account is known; the email rule needs the account, so it waits.
_NO_EMAIL = ""


@dataclass(frozen=True, slots=True)
class ResetPolicy:
    lifetime: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class RequestPasswordReset:
    resets: PasswordResetRepository
    reset_tokens: ResetTokens
    limiter: ResetRequestLimiter
    mail: AccountMail
    clock: Clock
    policy: ResetPolicy

    async def __call__(self, email: str) -> None:
        email, error = check_email(email)
        if error:
            raise ValidationFailed([error])
        if (retry_after := await self.limiter.hit(email_key(email))) is not None:
            raise TooManyAttempts(retry_after)
        token, token_hash = self.reset_tokens.issue()
        now = self.clock.now()
        user = await self.resets.issue(email, token_hash, now, now + self.policy.lifetime)
        if user is not None:
            self.mail.send_password_reset(user, token, self.policy.lifetime)


@dataclass(frozen=True, slots=True)
class ConfirmPasswordReset:
    """Every session of the account ends; the token cannot be used again. The account's
    failed logins are forgotten: whoever holds the mailbox may log in with the new password at
    once, even if somebody was guessing the old one."""

    resets: PasswordResetRepository
    reset_tokens: ResetTokens
    hasher: PasswordHasher
    blocklist: PasswordBlocklist
    login_failures: AttemptLimiter
    clock: Clock

    async def __call__(self, token: str, new_password: str) -> None:
        password = normalize_password(new_password)
        if error := new_password_error(password, _NO_EMAIL, self.blocklist, "new_password"):
            raise ValidationFailed([error])
        token_hash = self.reset_tokens.hash_of(token)
        user = (
            None if token_hash is None else await self.resets.holder(token_hash, self.clock.now())
        )
        if token_hash is None or user is None:
            raise InvalidResetToken()
        if error := new_password_error(password, user.email, self.blocklist, "new_password"):
            raise ValidationFailed([error])
        # Hashed with no connection held; the token is used up only by the write below, so a
        # refused password leaves it usable.
        password_hash = await self.hasher.hash(password)
        if not await self.resets.redeem(token_hash, password_hash, self.clock.now()):
            raise InvalidResetToken()
        await self.login_failures.reset(email_key(user.email))
