"""Locate the shared test vectors and load them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parents[1] / "data" / "vectors"


def load_json(relpath: str) -> Any:
    """Load the UTF-8 JSON file at ``relpath`` under :data:`VECTORS_DIR`."""
    return json.loads((VECTORS_DIR / relpath).read_text(encoding="utf-8"))
