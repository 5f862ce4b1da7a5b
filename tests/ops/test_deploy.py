"""The production example in deploy/: the alert rules and the dashboard are valid and use only metric names
the bot exposes; the compose file and the Dockerfile run the commands they should (no container runtime
here to build them)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.cli import parser
from bot.exposition import exposition
from bot.store.db import make_engine, migrate
from bot.store.gauges import GaugeQueries
from tests.support.paths import ROOT

DEPLOY = ROOT / "deploy"
METRIC_NAME = re.compile(r"\bendpoint_bot_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name GET /metrics can show (a counter's `_total`, a histogram's `_bucket`...)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('metrics') / 'bot.db'}")
    migrate(engine)
    body, _ = exposition(GaugeQueries(engine))
    engine.dispose()
    names = set()
    for family in text_string_to_metric_families(body.decode()):
        # prometheus_client also writes each counter's and histogram's creation time as `<name>_created`
        if family.name.startswith("endpoint_bot_") and not family.name.endswith("_created"):
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_four_alerts_are_there_and_use_only_exposed_metrics(exposed: set[str]) -> None:
    rules = {rule["alert"]: rule for rule in _alert_rules()}
    assert set(rules) == {
        "EndpointBotOutboxStuck",
        "EndpointBotTrackerStalled",
        "EndpointBotTogetherErrors",
        "EndpointBotSlowSlackAcks",
    }
    for rule in rules.values():
        used = set(METRIC_NAME.findall(rule["expr"]))
        assert used and used <= exposed, (rule["alert"], used - exposed)
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert "endpoint_bot_outbox_oldest_age_seconds" in rules["EndpointBotOutboxStuck"]["expr"]
    assert "> 300" in rules["EndpointBotOutboxStuck"]["expr"]
    assert "> 300" in rules["EndpointBotTrackerStalled"]["expr"]
    assert "> 0.2" in rules["EndpointBotTogetherErrors"]["expr"]
    assert rules["EndpointBotTogetherErrors"]["for"] == "10m"
    slow = rules["EndpointBotSlowSlackAcks"]["expr"]
    assert "histogram_quantile(0.95" in slow and "> 2" in slow


def test_the_dashboard_is_grafana_json_on_exposed_metrics(exposed: set[str]) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "endpoint-bot.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    used: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["targets"]
        for target in panel["targets"]:
            used.update(METRIC_NAME.findall(target["expr"]))
    assert used <= exposed, used - exposed
    assert {_family(n) for n in exposed} == {_family(n) for n in used}  # every family is on it


def _family(series: str) -> str:
    return re.sub(r"_(total|bucket|count|sum)$", "", series)


def _bot_command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def test_compose_migrates_then_runs_web_and_tracker_and_prometheus_scrapes_both() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "migrate", "web", "tracker", "prometheus"} <= set(services)
    commands = {name: _bot_command(services[name]) for name in ("migrate", "web", "tracker")}
    assert commands == {"migrate": ["migrate"], "web": ["run", "--no-tracker"], "tracker": ["tracker"]}
    for name in commands:  # each is a real `bot` command line
        parser().parse_args(commands[name])
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in services[name]["environment"]["DATABASE_URL"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "tracker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    tracker_port = services["tracker"]["environment"]["BOT_METRICS_PORT"]
    web_port = services["web"]["environment"]["PORT"]

    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"web:{web_port}", f"tracker:{tracker_port}"}
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in prometheus["scrape_configs"])
    mounted = {v.split(":")[1] for v in services["prometheus"]["volumes"] if v.startswith("./")}
    assert set(prometheus["rule_files"]) <= mounted and "/etc/prometheus/prometheus.yml" in mounted
    grafana_files = {v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert "./grafana/endpoint-bot.json" in grafana_files
    for path in grafana_files:
        assert (DEPLOY / path).exists(), path


def test_dockerfile_slim_non_root_with_bot_as_entrypoint() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]
    (base,) = [arg for op, arg in instructions if op == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [op for op, _ in instructions].index("USER") > max(
        i for i, (op, _) in enumerate(instructions) if op == "RUN"
    )
    assert ("ENTRYPOINT", '["bot"]') in instructions
    assert ("CMD", '["run"]') in instructions
    copied = {arg.split()[0] for op, arg in instructions if op == "COPY"}
    assert {"bot", "migrations", "pyproject.toml"} <= copied
    for source in copied:  # what it copies exists in the build context (the repository root)
        assert (DEPLOY.parent / source).exists(), source
    (install,) = [arg for op, arg in instructions if op == "RUN"]
    assert "pip install" in install and "useradd" in install
