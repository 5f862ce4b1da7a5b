"""`bot doctor`: is this deployment ready? One line per check, with what to fix. Never prints a secret."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.domain.policy.tiers import LaunchPolicy

SETTINGS_HELP = "see the settings table in docs/setup.md"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    warning: bool = False  # ok, but worth a look

    def line(self) -> str:
        mark = "FAIL" if not self.ok else ("warn" if self.warning else "ok")
        return f"{mark:<5} {self.name:<9} {self.message}"


def check_settings(settings: Settings) -> list[Check]:
    missing = [
        name.upper()
        for name in ("slack_bot_token", "slack_signing_secret", "together_api_key")
        if not _secret(settings, name)
    ]
    checks = []
    if missing:
        checks.append(
            Check(
                "settings", False, f"missing {', '.join(missing)}: set in the environment ({SETTINGS_HELP})."
            )
        )
    token = _secret(settings, "slack_bot_token")
    if token and not token.startswith("xoxb-"):
        checks.append(
            Check(
                "settings",
                False,
                "SLACK_BOT_TOKEN does not start with xoxb-: use the Bot User OAuth Token from the app's "
                "OAuth & Permissions page.",
            )
        )
    app_token = _secret(settings, "slack_app_token")
    if app_token and not app_token.startswith("xapp-"):
        checks.append(
            Check(
                "settings",
                False,
                f"SLACK_APP_TOKEN does not start with xapp-: {APP_TOKEN_HELP}",
            )
        )
    from bot.domain.catalog import Catalog

    catalog = Catalog()
    if settings.bot_catalog is not None:
        try:
            catalog = Catalog.load(settings.bot_catalog)
        except Exception as exc:
            checks.append(Check("settings", False, f"BOT_CATALOG {settings.bot_catalog}: {_first_line(exc)}"))
    policy, policy_check = check_policy(settings, catalog)
    if not any(not c.ok for c in checks):
        mode = "Socket Mode" if settings.socket_mode else f"HTTP mode on port {settings.port}"
        policy_note = "." if settings.bot_policy_file else f"; {policy_check.message}"
        checks.append(Check("settings", True, f"required settings are set; {mode}{policy_note}"))
    if settings.bot_policy_file is not None:
        checks.append(policy_check)
    if policy is not None and not policy.all_approvers:
        checks.append(
            Check(
                "approvers",
                True,
                "BOT_APPROVERS is empty, so nobody can approve a launch: set it to Slack user ids (U…)."
                if policy.source is None
                else f"nobody can approve a launch: add approvers in {policy.source} or set BOT_APPROVERS.",
                warning=True,
            )
        )
    return checks


def check_policy(settings: Settings, catalog: Any) -> tuple[LaunchPolicy | None, Check]:
    """The policy in force (None when the file is unusable), and a check line saying what it is."""
    from bot.policy_file import one_line, policy_from_settings

    try:
        policy = policy_from_settings(settings, catalog)
    except ConfigError as exc:
        return None, Check("policy", False, f"BOT_POLICY_FILE: {exc}")
    return policy, Check("policy", True, one_line(policy))


# slack_sdk logs each failed connection at ERROR; a check says what failed in its own one line instead.
_QUIET = logging.getLogger("bot.doctor.slack_sdk")
_QUIET.disabled = True


def check_slack(settings: Settings) -> Check:
    token = _secret(settings, "slack_bot_token")
    if not token:
        return Check("slack", False, "skipped: SLACK_BOT_TOKEN is not set.")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10, logger=_QUIET)
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        return Check(
            "slack",
            False,
            f"Slack refused the token ({error or 'no reason given'}): copy the Bot User OAuth Token (xoxb-…) "
            "again from OAuth & Permissions, and reinstall the app if it was revoked.",
        )
    except Exception as exc:
        return Check(
            "slack",
            False,
            f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__}): check the network "
            "and SLACK_API_URL.",
        )
    where = f"workspace {response.get('team')!s}, bot user {response.get('user_id')!s}"
    scopes = response.headers.get("x-oauth-scopes") if response.headers else None
    if scopes is not None:
        granted = {s.strip() for s in str(scopes).split(",")}
        lacking = [s for s in ("commands", "chat:write", "chat:write.public") if s not in granted]
        if lacking:
            return Check(
                "slack",
                False,
                f"token works ({where}) but lacks the scope(s) {', '.join(lacking)}: add them under OAuth & "
                "Permissions (or recreate the app from manifest.yml) and reinstall it.",
            )
    return Check("slack", True, f"token works ({where}).")


def check_app_token(settings: Settings) -> Check:
    """Socket Mode: does Slack give this app-level token a WebSocket URL (`apps.connections.open`)?

    `bot run` asks this before connecting, so a wrong token stops it with this message, not a trace."""
    token = _secret(settings, "slack_app_token")
    if not token.startswith("xapp-"):
        kind = "a bot token (xoxb-…)" if token.startswith("xoxb-") else "not an app-level token (xapp-…)"
        return Check("socket", False, f"SLACK_APP_TOKEN is {kind}: {APP_TOKEN_HELP}")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(base_url=settings.slack_api_url, timeout=10, logger=_QUIET)
    try:
        client.apps_connections_open(app_token=token)  # a URL nobody uses expires unused
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error == "not_allowed_token_type":
            return Check(
                "socket", False, f"Slack says SLACK_APP_TOKEN is not an app-level token: {APP_TOKEN_HELP}"
            )
        if error == "missing_scope":
            return Check(
                "socket", False, f"SLACK_APP_TOKEN lacks the connections:write scope: {APP_TOKEN_HELP}"
            )
        return Check(
            "socket",
            False,
            f"Slack refused SLACK_APP_TOKEN ({error or 'no reason given'}): {APP_TOKEN_HELP}",
        )
    except Exception as exc:
        return Check(
            "socket",
            False,
            f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__}): check the network "
            "and SLACK_API_URL.",
        )
    return Check("socket", True, "app-level token works: Slack hands out Socket Mode connections.")


APP_TOKEN_HELP = (
    "create an app-level token with the connections:write scope under Basic Information → App-Level "
    "Tokens and set it as SLACK_APP_TOKEN, or unset SLACK_APP_TOKEN for HTTP mode."
)


def check_together(settings: Settings) -> Check:
    key = _secret(settings, "together_api_key")
    if not key:
        return Check("together", False, "skipped: TOGETHER_API_KEY is not set.")
    from bot.domain.provider import ProviderAuthError, ProviderError
    from bot.together.backends import make_provider

    try:
        provider = make_provider(
            settings.together_api, settings.together_base_url, key, settings.together_project_id
        )
        hardware = provider.list_hardware()
    except ConfigError as exc:
        return Check("together", False, str(exc))
    except ProviderAuthError:
        return Check(
            "together",
            False,
            "Together refused TOGETHER_API_KEY (401): create a key at "
            "https://api.together.xyz/settings/api-keys and set it.",
        )
    except ProviderError as exc:
        return Check(
            "together",
            False,
            f"{_first_line(exc)} (TOGETHER_BASE_URL is {settings.together_base_url}; check it and the "
            "network).",
        )
    api = provider.api_version
    project = f", project {provider.project_id}" if provider.project_id else ""
    return Check(
        "together",
        True,
        f"key works on the {api} API{project} ({len(hardware)} hardware configurations listed).",
    )


def check_database(settings: Settings, *, migrated: bool = True) -> Check:
    """Can the bot use DATABASE_URL? With `migrated`, also that no migration is pending (`bot run` applies
    them itself, so it asks without)."""
    from sqlalchemy.engine import make_url

    from bot.store.db import make_engine, pending_migrations, ping

    try:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
    except Exception:
        return Check(
            "database", False, "DATABASE_URL is not a database URL (e.g. sqlite:///endpoint-bot.db)."
        )
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:
        return Check("database", False, f"cannot use {shown}: {_first_line(exc)}")
    try:
        ping(engine)
        pending = pending_migrations(engine)
    except Exception as exc:
        return Check(
            "database",
            False,
            f"cannot reach {shown} ({type(exc).__name__}): check DATABASE_URL, that the server is up, "
            "and for SQLite that the folder exists.",
        )
    finally:
        engine.dispose()
    if pending and migrated:
        # Not a failure: `bot run` (and `bot tracker`, `bot shell`) apply migrations at start.
        return Check(
            "database",
            True,
            f"{shown} is reachable but not migrated yet ({len(pending)} migration(s) pending): `bot run` "
            "migrates it at start (or run `bot migrate` now).",
            warning=True,
        )
    return Check("database", True, f"{shown} is reachable and migrated.")


def run_checks(settings: Settings) -> list[Check]:
    checks = check_settings(settings)
    steps: list[Callable[[Settings], Check]] = [check_slack, check_together, check_database]
    if _secret(settings, "slack_app_token").startswith("xapp-"):  # else check_settings said what is wrong
        steps.insert(1, check_app_token)
    return checks + [step(settings) for step in steps]


def run_doctor(out: TextIO | None = None) -> int:
    """Print one line per check; 0 when none failed."""
    out = out or sys.stdout
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(Check("settings", False, f"{exc}").line(), file=out)
        return 1
    checks = run_checks(settings)
    secrets = settings.secret_values()
    for check in checks:
        line = check.line()
        for secret in secrets:  # the messages are built not to hold any; this is the belt to those braces
            if len(secret) >= 6:
                line = line.replace(secret, "[redacted]")
        print(line, file=out, flush=True)
    failed = [c for c in checks if not c.ok]
    print(
        "All checks passed."
        if not failed
        else f"{len(failed)} check(s) failed: fix them and run `bot doctor` again.",
        file=out,
    )
    return 1 if failed else 0


def _secret(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    return value.get_secret_value().strip() if value is not None else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
