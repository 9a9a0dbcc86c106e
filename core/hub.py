"""Whether the Hugging Face hub can be reached, decided once per process before any hub library loads.

Offline, `datasets` and `transformers` retry for tens of seconds before giving up. A quick connect to
the hub's host tells at once; when it fails, the process switches to the libraries' offline mode
(set through the environment, which they read when imported), so what is already in the local cache
still loads and anything else fails immediately with our one-line message.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def go_offline_if_unreachable() -> bool:
    """Switch this process to offline mode when the hub cannot be reached; returns True if it did."""
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True", "YES", "yes") or hub_reachable():
        return False
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
    return True
