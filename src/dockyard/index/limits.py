"""How many of what an account makes it may hold (`index.limits`): rate limits bound how fast
an account makes things, these bound how many, so that one account cannot fill the database
(each is a row, listed on its pages). The operator's commands (`dockyard org add`,
`dockyard token add`) are not bound."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dockyard.config import Settings
from dockyard.index.errors import Conflict


@dataclass(frozen=True, slots=True)
class AccountLimits:
    tokens_per_user: int
    organisations_per_user: int  # that the user owns
    teams_per_organisation: int
    # A revoked or expired token keeps its row, and its name, while a token issued for it may
    # still be presented: were the name free, a new token of that name would give an old
    # refresh token life again. After that the row goes.
    tokens_kept: datetime.timedelta

    @classmethod
    def of(cls, settings: Settings) -> AccountLimits:
        limits = settings.index.limits
        token = settings.auth.token
        kept = max(token.refresh_lifetime_seconds, token.lifetime_seconds)
        return cls(
            limits.tokens_per_user,
            limits.organisations_per_user,
            limits.teams_per_organisation,
            datetime.timedelta(seconds=kept),
        )


def refuse_beyond(
    held: int, most: int, holder: str, what: str, setting: str, more: str = ""
) -> None:
    """409 when `holder` holds `most` of `what` already."""
    if held >= most:
        raise Conflict(
            f"{holder} holds the most {what} allowed ({most}: index.limits.{setting}){more}"
        )
