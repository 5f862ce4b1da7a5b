"""Settings from the environment. Nothing else in the bot reads os.environ."""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///endpoint-bot.db"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # set: Socket Mode
    slack_api_url: str = "https://slack.com/api/"

    together_api_key: SecretStr | None = None
    together_base_url: str = "https://api.together.xyz/v1"
    together_api: str = "auto"  # v1 | v2 | auto (v2 when a project is known)
    together_project_id: str | None = None  # proj_…; for v2, else asked of GET /v3/whoami
    # Where endpoints answer chat completions (the smoke test, the usage example); default: see runtime.py
    together_inference_url: str | None = None

    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    bot_approvers: str = ""  # comma-separated Slack user ids
    bot_poll_seconds: float = Field(default=15.0, gt=0)  # while an endpoint is changing state
    bot_poll_idle_seconds: float = Field(default=60.0, gt=0)  # when every endpoint is settled
    # An endpoint serving longer than this gets a reminder in its thread, then again every as long (0: never)
    bot_remind_after_hours: float = Field(default=8.0, ge=0)
    bot_admins: str = ""  # comma-separated Slack user ids: may run (and delete) any endpoint
    # Without cost tiers: a scale-up beyond what was approved goes ahead without a change request
    bot_scale_without_approval: bool = False
    bot_catalog: Path | None = None  # TOML file overriding the alias tables
    bot_policy_file: Path | None = None  # TOML file: approver groups, cost tiers, limits, expiry
    bot_smoke_test: bool = True  # one tiny chat completion (a few tokens) when an endpoint comes up
    bot_log_level: str = "INFO"
    bot_timezone: str = "UTC"  # IANA name: where days begin for spend charts, and the digest's Monday 09:00
    bot_digest_channel: str | None = None  # channel id: the weekly spend digest goes there (unset: none)
    bot_log_format: str = "text"  # text | json (one JSON object per line)
    bot_metrics_port: int | None = None  # `bot tracker`: serve /metrics, /healthz, /readyz here (unset: off)
    prometheus_multiproc_dir: Path | None = None  # prometheus_client's multi-process mode (read by it too)
    no_color: str = ""  # the NO_COLOR convention: any value turns colours off in `bot shell`

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        # slack_sdk joins method names with urljoin: without the slash, "/api" would be dropped.
        return value if value.endswith("/") else value + "/"

    @field_validator("together_api")
    @classmethod
    def _known_api(cls, value: str) -> str:
        choice = value.strip().lower()
        if choice not in ("v1", "v2", "auto"):
            raise ValueError(f"must be v1, v2 or auto (got {value!r})")
        return choice

    @field_validator("bot_log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        choice = value.strip().lower() or "text"
        if choice not in ("text", "json"):
            raise ValueError(f"must be text or json (got {value!r})")
        return choice

    @field_validator("bot_metrics_port", "prometheus_multiproc_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("together_project_id", "together_inference_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("slack_app_token")
    @classmethod
    def _blank_token_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # `SLACK_APP_TOKEN=` (e.g. left empty in a .env file) means HTTP mode, not Socket Mode without a token.
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("bot_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        name = value.strip() or "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone: give an IANA name such as UTC, Europe/Paris or America/New_York"
            ) from None
        return name

    @field_validator("bot_digest_channel")
    @classmethod
    def _blank_channel_is_none(cls, value: str | None) -> str | None:
        channel = (value or "").strip() or None
        if channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
            raise ValueError(
                f"{value!r} is not a channel id: give the id (C…), found under the channel's name > About"
            )
        return channel

    @property
    def timezone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.bot_timezone)

    @field_validator("bot_policy_file", mode="before")
    @classmethod
    def _blank_path_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def approvers(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.bot_approvers.split(",") if u.strip())

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.bot_admins.split(",") if u.strip())

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require(self, *names: str) -> None:
        """Stop with one message naming every missing setting among `names` (field names)."""
        missing = [n.upper() for n in names if not _present(getattr(self, n))]
        if missing:
            raise ConfigError(
                "Missing required setting"
                + ("s" if len(missing) > 1 else "")
                + ": "
                + ", ".join(missing)
                + ". Set "
                + ("them" if len(missing) > 1 else "it")
                + " in the environment (see the settings table in docs/setup.md)."
            )

    def secret_values(self) -> list[str]:
        """Every secret in force, for log redaction."""
        found = []
        for name in ("slack_bot_token", "slack_signing_secret", "slack_app_token", "together_api_key"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value():
                found.append(value.get_secret_value())
        return found


def _present(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return value is not None and value != ""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except Exception as exc:  # pydantic ValidationError: name the field, not the value
        errors = getattr(exc, "errors", None)
        if callable(errors):
            parts = [f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in errors()]
            raise ConfigError("Invalid setting " + "; ".join(parts)) from None
        raise
