"""Catalogue data the simulator serves on the v2 routes: instance types, supported models, configs.

Built from the v1 catalogue (`bot.simulator.catalog`) so that both APIs agree: the same models, a profile wherever a
v1 hardware configuration of H100, H200 or B200 fits the model, and prices per hour = v1 per minute × 60
(rounded to whole cents, as `priceCentsPerHour` is an integer). A100, L40S and the rest have no v2 instance
types or configs, as on Together (v2 reference §7.1 step 3). Ids are stable hashes, so runs reproduce.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.simulator.catalog import HARDWARE, MODELS, PER_GPU_CENTS_PER_MINUTE, SimModel

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CATALOGUE_TIME = "2026-07-16T00:00:00Z"


def sim_id(prefix: str, seed: str) -> str:
    """`prefix` + 21 base62 characters derived from `seed` (the shape of Together's ids, §2.1)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(21):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return prefix + "".join(chars)


PLATFORM_PROJECT = sim_id("proj_", "platform-models")  # owns the public models
CONFIG_PROJECT = sim_id("proj_", "platform-configs")  # owns the certified configs
PUBLIC_PROJECTS = frozenset({PLATFORM_PROJECT, CONFIG_PROJECT})


@dataclass(frozen=True)
class V2Family:
    """A GPU family on v2: how instance types and config selectors spell it."""

    key: str  # v1 price key and family word, e.g. "h100"
    gpu_type: str  # "H100"
    accelerator: str  # "nvidia-h100-80gb"
    memory_gib: int
    v1_gpu_type: str  # the v1 catalogue's gpu_type, to find the v1 configurations that fit


FAMILIES: tuple[V2Family, ...] = (
    V2Family("h100", "H100", "nvidia-h100-80gb", 80, "h100-80gb"),
    V2Family("h200", "H200", "nvidia-h200-141gb", 141, "h200-140gb"),
    V2Family("b200", "B200", "nvidia-b200-180gb", 180, "b200-180gb"),
)
GPU_COUNTS = (1, 2, 4, 8)


def instance_type_name(family: V2Family, count: int) -> str:
    return f"{count}x{family.accelerator}"


def price_cents_per_hour(family: V2Family, count: int) -> int:
    return round(PER_GPU_CENTS_PER_MINUTE[family.key] * 60) * count


INSTANCE_TYPES: tuple[dict[str, Any], ...] = tuple(
    {
        "id": instance_type_name(family, count),
        "name": instance_type_name(family, count),
        "description": f"{count}x NVIDIA {family.gpu_type} {family.memory_gib}GB",
        "gpuType": family.gpu_type,
        "gpuCount": count,
        "gpuMemoryGib": family.memory_gib,
        "priceCentsPerHour": price_cents_per_hour(family, count),
    }
    for family in FAMILIES
    for count in GPU_COUNTS
)
INSTANCE_TYPES_BY_ID: dict[str, dict[str, Any]] = {t["id"]: t for t in INSTANCE_TYPES}
REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2")


def model_resource(model: SimModel) -> str:
    return f"projects/{PLATFORM_PROJECT}/models/{sim_id('ml_', model.id)}"


def model_revision(model: SimModel) -> str:
    return f"{model_resource(model)}/revisions/{sim_id('rv_', model.id)}"


@dataclass(frozen=True)
class SimConfig:
    """A certified config revision: one model on `count` GPUs of a family, with or without a draft model."""

    id: str
    model: SimModel
    family: V2Family
    count: int
    optimization: str = "balanced"
    draft_model: str | None = None

    @property
    def resource(self) -> str:
        return f"projects/{CONFIG_PROJECT}/configs/{self.id}"

    @property
    def hardware(self) -> str:
        return instance_type_name(self.family, self.count)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "projectId": CONFIG_PROJECT,
            "referenceModel": model_resource(self.model),
            "referenceModelId": sim_id("ml_", self.model.id),
            "selectors": [
                {"key": "accelerator_type", "value": self.family.accelerator},
                {"key": "accelerator_count", "value": str(self.count)},
                {"key": "optimization", "value": self.optimization},
                {"key": "topology", "value": "aggregated"},
                {"key": "adapter_mode", "value": "disabled"},
            ],
            "certifications": [
                {
                    "certificationType": "CERTIFICATION_TYPE_CERTIFIED",
                    "certifiedAt": CATALOGUE_TIME,
                    "certifiedBy": "together",
                    "model": model_resource(self.model),
                    "modelRevisionId": sim_id("rv_", self.model.id),
                    "target": "CERTIFICATION_TARGET_MRE",
                }
            ],
        }
        if self.draft_model:
            body["draftModel"] = self.draft_model
        return body

    def profile(self) -> dict[str, Any]:
        quantization = "FP8" if "fp8" in self.model.id.lower() else "BF16"
        return {
            "profileId": self.id,
            "config": self.resource,
            "certifiedConfigRevisionId": self.id,
            "model": model_revision(self.model),
            "certifiedModelRevisionId": sim_id("rv_", self.model.id),
            "modelName": self.model.id,
            "gpuType": self.family.gpu_type,
            "gpuCount": self.count,
            "parallelism": f"TP{self.count}",
            "quantization": quantization,
            "adapterMode": "ADAPTER_MODE_DISABLED",
            "performanceBenchmarks": {"maxContextLength": str(self.model.context_length)},
        }


# A model with two certified configs on the same hardware: speculative decoding on (throughput) or off.
SPECULATIVE_MODEL = "Qwen/Qwen3.5-9B-FP8"
_DRAFT = f"projects/{PLATFORM_PROJECT}/models/{sim_id('ml_', 'qwen-draft')}"


def _configs() -> tuple[SimConfig, ...]:
    found: list[SimConfig] = []
    for model in MODELS:
        for family in FAMILIES:
            for hw in HARDWARE:
                if hw.gpu_type != family.v1_gpu_type or not model.fits(hw):
                    continue
                seed = f"{model.id}|{family.key}|{hw.gpu_count}"
                if model.id == SPECULATIVE_MODEL and family.key == "h100" and hw.gpu_count == 1:
                    found.append(
                        SimConfig(sim_id("cr_", seed + "|spec"), model, family, 1, "throughput", _DRAFT)
                    )
                found.append(SimConfig(sim_id("cr_", seed), model, family, hw.gpu_count))
    return tuple(found)


CONFIGS: tuple[SimConfig, ...] = _configs()
CONFIGS_BY_ID: dict[str, SimConfig] = {c.id: c for c in CONFIGS}


def supported_model(model: SimModel) -> dict[str, Any]:
    """A `SupportedModel` entry (§4.12) for `model`."""
    dedicated = [c for c in CONFIGS if c.model is model]
    products = ["PRODUCT_DEDICATED"] if model.dedicated else ["PRODUCT_SERVERLESS"]
    capability = {"chat": "CAPABILITY_CHAT", "embedding": "CAPABILITY_EMBEDDING"}.get(model.type)
    return {
        "id": sim_id("arch_", model.id),
        "name": model.id,
        "displayName": model.id.split("/", 1)[-1],
        "displayType": model.type,
        "baseModel": model_resource(model),
        "baseModelId": sim_id("ml_", model.id),
        "capabilities": [capability] if capability else [],
        "products": products,
        "status": "SUPPORTED_MODEL_STATUS_SUPPORTED",
        "inputModalities": ["MODALITY_AUDIO"] if model.type == "transcribe" else ["MODALITY_TEXT"],
        "outputModalities": ["MODALITY_TEXT"],
        "publisher": model.organization,
        "contextLength": str(model.context_length),
        "createdAt": CATALOGUE_TIME,
        "updatedAt": CATALOGUE_TIME,
        "deploymentProfiles": [c.profile() for c in dedicated],
    }


SUPPORTED_MODELS: tuple[dict[str, Any], ...] = tuple(supported_model(m) for m in MODELS)
MODELS_BY_RESOURCE: dict[str, SimModel] = {model_resource(m): m for m in MODELS}
