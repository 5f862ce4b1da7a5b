"""Hardware on Together's v2 API in the bot's v1-style ids (v2 reference §4.11-§4.13, §7.1 step 3).

The bot's aliases produce v1 ids (`2x_nvidia_h100_80gb_sxm`); v2 names instance types
`2xnvidia-h100-80gb` and certifies configs by GPU type and count. Memory suffixes differ between the two
(v1 `h200_140gb`, v2 `h200-141gb`), so ids are matched on GPU family and count, never on the whole string.
"""

from __future__ import annotations

import re

from bot.domain.provider import HardwareOption
from bot.together.v2.models import DeploymentProfile, InstanceType

# The part of a v1 id after "<count>x_", per GPU family, as the bot's aliases spell it
# (bot.domain.catalog.BUILTIN_GPUS; a test keeps the two in step).
V1_ID_BASES: dict[str, str] = {
    "h100": "nvidia_h100_80gb_sxm",
    "h200": "nvidia_h200_140gb_sxm",
    "b200": "nvidia_b200_180gb_sxm",
}

_V1_ID = re.compile(r"^(\d+)x_(?:nvidia_)?([a-z0-9]+)(?:_.*)?$")
_V2_NAME = re.compile(r"^(\d+)x[-_]?(.+)$")


def parse_v1_id(hardware_id: str) -> tuple[int, str] | None:
    """`2x_nvidia_h100_80gb_sxm` -> (2, "h100"); None when it is not a v1-style id."""
    match = _V1_ID.match(hardware_id.strip().lower())
    if not match:
        return None
    return int(match.group(1)), match.group(2)


def family_of(gpu_type: str) -> str:
    """The GPU family of a v2 spelling: `H100`, `nvidia-h100-80gb`, `NVIDIA H200 141GB` -> `h100`/`h200`."""
    word = gpu_type.strip().lower().replace("_", "-").replace(" ", "-")
    word = word.removeprefix("nvidia-")
    return word.split("-", 1)[0]


def parse_v2_name(name: str) -> tuple[int, str] | None:
    """`2xnvidia-h100-80gb` -> (2, "h100"); None for anything else."""
    match = _V2_NAME.match(name.strip().lower())
    if not match:
        return None
    return int(match.group(1)), family_of(match.group(2))


def v1_id(family: str, count: int, memory_gib: float | None = None) -> str:
    """The bot's id for `count` GPUs of `family`, e.g. (`h100`, 2) -> `2x_nvidia_h100_80gb_sxm`."""
    base = V1_ID_BASES.get(family)
    if base is None:
        base = f"nvidia_{family}" + (f"_{int(memory_gib)}gb" if memory_gib else "")
    return f"{count}x_{base}"


def v1_id_for_v2_hardware(hardware: str | None) -> str | None:
    """A deployment's `hardware` (`1xnvidia-h100-80gb`) as the bot's id; None when it cannot be read."""
    if not hardware:
        return None
    parsed = parse_v2_name(hardware)
    if parsed is None:
        return None
    count, family = parsed
    memory = re.search(r"(\d+)gb", hardware.lower())
    return v1_id(family, count, float(memory.group(1)) if memory else None)


def profile_matches(profile: DeploymentProfile, count: int, family: str) -> bool:
    return profile.gpu_count == count and family_of(profile.gpu_type) == family


def availability(instance: InstanceType) -> str | None:
    """From regional headroom: some region with room -> available; every region exactly 0 -> unavailable."""
    values = [
        (region.headroom.relation, region.headroom.value)
        for region in instance.regions
        if region.headroom is not None and region.headroom.value is not None
    ]
    if any(value > 0 for _, value in values):
        return "available"
    if values and len(values) == len(instance.regions) and all(r == "RELATION_EQ" for r, _ in values):
        return "unavailable"
    return None


def option_for(family: str, count: int, instances: list[InstanceType]) -> HardwareOption | None:
    """The priced option for `count` GPUs of `family`: the N-GPU instance type, else N × the 1-GPU price."""
    same_family = [i for i in instances if family_of(i.gpu_type or i.name.split("x", 1)[-1]) == family]
    exact = next((i for i in same_family if i.gpu_count == count), None)
    single = next((i for i in same_family if i.gpu_count == 1), None)
    chosen = exact or single
    if chosen is None:
        return None
    per_hour = chosen.price_cents_per_hour * (1 if exact else count)
    return HardwareOption(
        id=v1_id(family, count, chosen.gpu_memory_gib),
        gpu_type=f"{family}-{int(chosen.gpu_memory_gib)}gb" if chosen.gpu_memory_gib else family,
        gpu_count=count,
        gpu_memory_gb=float(chosen.gpu_memory_gib),
        cents_per_minute=round(per_hour / 60, 4),
        availability=availability(chosen),
    )
