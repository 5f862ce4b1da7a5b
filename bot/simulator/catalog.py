"""Catalogue data served by the Together simulator: hardware configurations, models, serverless entries.

The values follow the API reference (§7, §10); prices are a fixed table because the live ones drift.
Tests and the bot's own catalogue may import these constants.
"""

from __future__ import annotations

from dataclasses import dataclass

# US cents per minute for one GPU; a configuration costs this times its GPU count (per replica).
PER_GPU_CENTS_PER_MINUTE: dict[str, float] = {
    "h100": 9.0,
    "h200": 13.15,
    "b200": 19.92,
    "a100_sxm": 6.67,
    "a100_pcie": 6.0,
    "l40s": 4.0,
}


@dataclass(frozen=True)
class SimHardware:
    """One hardware configuration as `GET /v1/hardware` describes it."""

    id: str
    gpu_type: str  # e.g. "h100-80gb"
    gpu_link: str  # "sxm" | "pcie"
    gpu_memory: int  # GB per GPU
    gpu_count: int
    cents_per_minute: float  # whole configuration, per replica

    @property
    def total_memory(self) -> int:
        return self.gpu_memory * self.gpu_count


@dataclass(frozen=True)
class _GpuFamily:
    price_key: str
    id_base: str  # the id without the "<n>x_" prefix
    gpu_type: str
    gpu_link: str
    gpu_memory: int
    counts: tuple[int, ...]


_FAMILIES = (
    _GpuFamily("h100", "nvidia_h100_80gb_sxm", "h100-80gb", "sxm", 80, (1, 2, 4, 8)),
    _GpuFamily("h200", "nvidia_h200_140gb_sxm", "h200-140gb", "sxm", 140, (1, 2, 4, 8)),
    _GpuFamily("b200", "nvidia_b200_180gb_sxm", "b200-180gb", "sxm", 180, (1, 2, 4, 8)),
    _GpuFamily("a100_sxm", "nvidia_a100_80gb_sxm", "a100-80gb", "sxm", 80, (1, 2, 4, 8)),
    _GpuFamily("a100_pcie", "nvidia_a100_80gb_pcie", "a100-80gb", "pcie", 80, (1,)),
    _GpuFamily("l40s", "nvidia_l40s", "l40s-48gb", "pcie", 48, (1, 2, 4, 8)),
)

HARDWARE: tuple[SimHardware, ...] = tuple(
    SimHardware(
        id=f"{count}x_{family.id_base}",
        gpu_type=family.gpu_type,
        gpu_link=family.gpu_link,
        gpu_memory=family.gpu_memory,
        gpu_count=count,
        cents_per_minute=round(PER_GPU_CENTS_PER_MINUTE[family.price_key] * count, 2),
    )
    for family in _FAMILIES
    for count in family.counts
)
HARDWARE_BY_ID: dict[str, SimHardware] = {hw.id: hw for hw in HARDWARE}
HARDWARE_IDS: tuple[str, ...] = tuple(HARDWARE_BY_ID)

# Fixed so that responses are reproducible; the live API reports when its catalogue last changed.
HARDWARE_UPDATED_AT = "2026-05-01T00:00:00.000Z"


@dataclass(frozen=True)
class SimModel:
    """A model in `GET /v1/models`; dedicated models also say how much GPU memory they need."""

    id: str
    type: str  # chat, language, audio, embedding, ...
    context_length: int
    dedicated: bool = True
    need_gb: int = 0
    gpu_types: frozenset[str] | None = None  # restrict to these gpu_type values; None = any

    @property
    def organization(self) -> str:
        return self.id.split("/", 1)[0]

    def fits(self, hw: SimHardware) -> bool:
        """Whether `hw` can serve this model: enough total memory on an allowed GPU type."""
        if not self.dedicated:
            return False
        if self.gpu_types is not None and hw.gpu_type not in self.gpu_types:
            return False
        return hw.total_memory >= self.need_gb


_H100 = frozenset({"h100-80gb"})
_BIG = frozenset({"h200-140gb", "b200-180gb"})

MODELS: tuple[SimModel, ...] = (
    SimModel("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "chat", 131072, need_gb=24),
    SimModel("meta-llama/Llama-3.3-70B-Instruct-Turbo", "chat", 131072, need_gb=150),
    SimModel("meta-llama/Llama-4-Scout-17B-16E-Instruct", "chat", 1048576, need_gb=640, gpu_types=_H100),
    SimModel("Qwen/Qwen3.5-9B-FP8", "chat", 262144, need_gb=20),
    SimModel("Qwen/QwQ-32B", "chat", 131072, need_gb=70),
    SimModel("deepseek-ai/DeepSeek-R1", "chat", 163840, need_gb=1100, gpu_types=_BIG),
    SimModel("deepseek-ai/DeepSeek-V3", "chat", 131072, need_gb=1100, gpu_types=_BIG),
    SimModel(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "chat",
        32768,
        need_gb=100,
        gpu_types=frozenset({"h100-80gb", "a100-80gb"}),
    ),
    SimModel("mistralai/Mistral-7B-Instruct-v0.3", "chat", 32768, need_gb=20),
    SimModel("openai/gpt-oss-20b", "chat", 131072, need_gb=24),
    SimModel("openai/gpt-oss-120b", "chat", 131072, need_gb=80),
    SimModel("google/gemma-4-31B-it", "chat", 262144, need_gb=100),
    SimModel("openai/whisper-large-v3", "transcribe", 448, need_gb=10, gpu_types=_H100),
    # Serverless only: listed by /v1/models, but /v1/hardware has no configuration for them.
    SimModel("allenai/OLMo-7B", "language", 2048, dedicated=False),
    SimModel("BAAI/bge-large-en-v1.5", "embedding", 512, dedicated=False),
)
MODELS_BY_ID: dict[str, SimModel] = {m.id: m for m in MODELS}
DEDICATED_MODEL_IDS: tuple[str, ...] = tuple(m.id for m in MODELS if m.dedicated)

AVAILABILITY_ZONES: tuple[str, ...] = ("us-central-4b", "us-east-1a", "us-west-2b")

# Public serverless entries that `GET /v1/endpoints` shows when `mine` is not true (§4.2).
SERVERLESS_ENDPOINTS: tuple[dict[str, str], ...] = (
    {
        "object": "endpoint",
        "id": "endpoint-5c0c20db-62fe-4f41-8ffc-d9e4ea1a264e",
        "name": "allenai/OLMo-7B",
        "model": "allenai/OLMo-7B",
        "type": "serverless",
        "owner": "together",
        "state": "STARTED",
        "created_at": "2024-02-28T21:34:35.444Z",
    },
    {
        "object": "endpoint",
        "id": "endpoint-8a3f1c2e-0d4b-4c6e-9f1a-2b7d5e9c3a10",
        "name": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "type": "serverless",
        "owner": "together",
        "state": "STARTED",
        "created_at": "2024-12-06T18:02:11.120Z",
    },
    {
        "object": "endpoint",
        "id": "endpoint-e1b2c3d4-5f60-4718-a9b0-c1d2e3f4a5b6",
        "name": "deepseek-ai/DeepSeek-V3",
        "model": "deepseek-ai/DeepSeek-V3",
        "type": "serverless",
        "owner": "together",
        "state": "STARTED",
        "created_at": "2025-01-10T09:15:42.900Z",
    },
)


def fitting_hardware(model: SimModel) -> list[SimHardware]:
    """The configurations that can serve `model`, in catalogue order."""
    return [hw for hw in HARDWARE if model.fits(hw)]
