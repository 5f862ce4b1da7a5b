"""Where the project's files are, for tests that read or run them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "policy.example.toml"  # the policy file example the docs show
