"""Backends execute runs: `local` (detached processes on this machine) and `modal` (cloud GPUs).

Each backend offers preflight(configs), estimate_cost(cfg), launch(runs), cancel(run),
resume(run) and refresh(run); the command line and the app reach them through `get_backend`.
"""

from __future__ import annotations


def get_backend(name: str):
    if name == "local":
        from core.backends.local import LocalBackend

        return LocalBackend()
    if name == "modal":
        from core.backends.modal_backend import ModalBackend

        return ModalBackend()
    raise ValueError(f"unknown backend {name!r}")
