"""What to tell a person when Together refuses or fails: its own words plus what to do next."""

from __future__ import annotations

from bot.domain.provider import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
    ProviderRateLimited,
    ProviderUnavailable,
)

V1_CREATE_DISABLED = "endpoints_v1_create_access_disabled"


def hint_for(error: ProviderError) -> str:
    text = error.message.lower()
    if isinstance(error, ProviderAuthError):
        return (
            "Together did not accept the bot's API key. An admin should check `TOGETHER_API_KEY` "
            "(keys are managed in Together's account settings) and restart the bot."
        )
    if isinstance(error, ProviderPaymentRequired):
        return (
            "The Together account has run out of credit or hit its spending limit. Add credit or raise the "
            "limit in Together's billing settings, then ask for the launch again."
        )
    if isinstance(error, ProviderForbidden):
        if V1_CREATE_DISABLED in (error.code or "", error.type or "") or V1_CREATE_DISABLED in text:
            return (
                "Together has switched off creating endpoints through its v1 API for this account; existing "
                "endpoints keep running. An admin should switch the bot to Together's v2 API: set "
                "`TOGETHER_API=v2` and `TOGETHER_PROJECT_ID` (the project's `proj_…` id; with `TOGETHER_API=auto` "
                "a project API key is enough), restart it, then ask for the launch again."
            )
        return "Together refused the bot permission for this. An admin should check the account and key."
    if isinstance(error, ProviderRateLimited):
        return "Together is rate-limiting the bot and kept refusing after several tries. Ask again in a few minutes."
    if isinstance(error, ProviderUnavailable):
        return (
            "Together did not answer properly (server error or timeout) after several tries. Ask again later."
        )
    if isinstance(error, ProviderConflict):
        return "Together reports a conflict with the endpoint's current state. Check its state and try again."
    if "not available now" in text or "capacity" in text:
        return (
            "That hardware has no capacity right now. Try other hardware, fewer minimum replicas, or later."
        )
    if "hardware" in text or "configuration" in text:
        return "Pick hardware that fits the model: `/endpoint create <model>` shows the choices with prices."
    if isinstance(error, ProviderNotFound) and "model" in text:
        return "Check the model id: `/endpoint help` lists the aliases, or use a full Together model id."
    if isinstance(error, ProviderBadRequest):
        return "Together rejected the request as sent. Correct it and ask for the launch again."
    return "Ask again later; if it keeps failing, an admin can check the bot's logs."
