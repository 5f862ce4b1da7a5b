"""Short names people type for models and hardware, and how they resolve to Together's ids."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.errors import UnknownHardware, UnknownModel, UsageError

BUILTIN_MODELS: dict[str, str] = {
    "llama-8b": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "llama-70b": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "llama4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "qwen-9b": "Qwen/Qwen3.5-9B-FP8",
    "qwq-32b": "Qwen/QwQ-32B",
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "mixtral": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistral-7b": "mistralai/Mistral-7B-Instruct-v0.3",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "gemma-31b": "google/gemma-4-31B-it",
    "whisper": "openai/whisper-large-v3",
}

# GPU words -> the part of the hardware id after "<count>x_".
BUILTIN_GPUS: dict[str, str] = {
    "h100": "nvidia_h100_80gb_sxm",
    "h200": "nvidia_h200_140gb_sxm",
    "b200": "nvidia_b200_180gb_sxm",
    "a100": "nvidia_a100_80gb_sxm",
    "a100-pcie": "nvidia_a100_80gb_pcie",
    "l40s": "nvidia_l40s",
}

_FULL_HARDWARE = re.compile(r"^\d+x_[a-z0-9_]+$")
_COUNT_FIRST = re.compile(r"^(\d+)\s*[x*×]\s*[-_]?([a-z0-9-]+)$")
_COUNT_LAST = re.compile(r"^([a-z0-9-]+?)\s*[x*×:]\s*(\d+)$")
MAX_GPUS = 8


# Longer than any Together model id; a form's model choice carries the id as its value, which Slack caps at
# 150 characters (https://docs.slack.dev/reference/block-kit/composition-objects/option-object).
MAX_MODEL_ID = 150


@dataclass(frozen=True)
class Catalog:
    models: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_MODELS))
    gpus: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_GPUS))

    @classmethod
    def load(cls, path: Path | None) -> Catalog:
        """The built-in tables, overridden and extended by a TOML file's [models] and [gpus] tables."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise UsageError(f"BOT_CATALOG names {path}, which does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"BOT_CATALOG file {path} is not valid TOML: {exc}") from None
        models = dict(BUILTIN_MODELS)
        gpus = dict(BUILTIN_GPUS)
        for table, target in (("models", models), ("gpus", gpus)):
            section = data.get(table, {})
            if not isinstance(section, dict) or not all(isinstance(v, str) for v in section.values()):
                raise UsageError(f"BOT_CATALOG file {path}: [{table}] must map names to strings.")
            target.update({k.lower(): v for k, v in section.items()})
        return cls(models=models, gpus=gpus)

    # --- models -----------------------------------------------------------------------------

    def resolve_model(self, text: str) -> str:
        """An alias or a full Together model id (anything with a '/') -> the model id."""
        word = text.strip()
        if "/" in word and len(word) > MAX_MODEL_ID:
            raise UnknownModel(
                f"That model id is {len(word)} characters long; Together's model ids are much shorter (at most "
                f"{MAX_MODEL_ID} characters here). Copy it again from Together's model list, or use an alias."
            )
        if "/" in word:
            return word
        found = self.models.get(word.lower())
        if found:
            return found
        raise UnknownModel(self._unknown_model_message(word))

    def alias_for(self, model_id: str) -> str | None:
        for alias, target in self.models.items():
            if target == model_id:
                return alias
        return None

    def _unknown_model_message(self, word: str) -> str:
        close = difflib.get_close_matches(word.lower(), list(self.models), n=3, cutoff=0.5)
        if not close:  # a prefix or a piece of the model id helps too: "llama" -> every llama
            close = [a for a, m in self.models.items() if word.lower() in a or word.lower() in m.lower()][:3]
        lines = [f"I don't know the model `{word}`."]
        if close:
            lines.append("Did you mean " + ", ".join(f"`{c}` ({self.models[c]})" for c in close) + "?")
        lines.append("Known aliases: " + ", ".join(f"`{a}`" for a in sorted(self.models)) + ".")
        lines.append(
            "A full Together model id such as `meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo` works too."
        )
        return "\n".join(lines)

    # --- hardware ---------------------------------------------------------------------------

    def resolve_hardware(self, text: str) -> str:
        """`a100`, `2xh100`, `h100x2`, `h100:4` or a full id like `2x_nvidia_h100_80gb_sxm` -> the id."""
        word = text.strip().lower()
        if _FULL_HARDWARE.match(word):
            return word
        count, gpu = 1, word
        if m := _COUNT_FIRST.match(word):
            count, gpu = int(m.group(1)), m.group(2)
        elif m := _COUNT_LAST.match(word):
            gpu, count = m.group(1), int(m.group(2))
        base = self.gpus.get(gpu)
        if base is None:
            raise UnknownHardware(self._unknown_hardware_message(text.strip()))
        if count not in (1, 2, 4, 8) or count > MAX_GPUS:
            raise UnknownHardware(
                f"`{text.strip()}` asks for {count} GPUs; a replica has 1, 2, 4 or 8 GPUs (e.g. `2x{gpu}`)."
            )
        return f"{count}x_{base}"

    def hardware_alias(self, hardware_id: str) -> str | None:
        """`2x_nvidia_h100_80gb_sxm` -> `2xh100`, `1x_nvidia_h100_80gb_sxm` -> `h100`; None without an alias."""
        m = re.match(r"^(\d+)x_(.+)$", hardware_id)
        if not m:
            return None
        count, base = m.groups()
        word = next((w for w, target in self.gpus.items() if target == base), None)
        if word is None:
            return None
        return word if count == "1" else f"{count}x{word}"

    def _unknown_hardware_message(self, word: str) -> str:
        close = difflib.get_close_matches(word.lower(), list(self.gpus), n=2, cutoff=0.5)
        hint = (" Did you mean " + " or ".join(f"`{c}`" for c in close) + "?") if close else ""
        return (
            f"I don't know the hardware `{word}`.{hint}\n"
            "Use a GPU name (" + ", ".join(f"`{g}`" for g in self.gpus) + "), optionally with a count "
            "(`2xh100` or `h100x2`), or a full hardware id such as `2x_nvidia_h100_80gb_sxm`."
        )


def describe_hardware(hardware_id: str) -> str:
    """`2x_nvidia_h100_80gb_sxm` -> `2x H100 80GB SXM` (for people; ids stay in values)."""
    m = re.match(r"^(\d+)x_nvidia_([a-z0-9]+)(?:_(\d+gb))?(?:_([a-z]+))?$", hardware_id)
    if not m:
        return hardware_id
    count, gpu, mem, link = m.groups()
    parts = [f"{count}x", gpu.upper()]
    if mem:
        parts.append(mem.upper().replace("GB", "GB"))
    if link:
        parts.append(link.upper())
    return " ".join(parts)
