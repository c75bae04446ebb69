"""Per-domain activity modules, run in this order each simulated day."""

from __future__ import annotations

import importlib

MODULES = ("users", "auth", "support", "wallet", "orders", "affiliates",
           "franchises")  # add a domain's module here when its services land


def available_activities() -> list:
    found = []
    for name in MODULES:
        activity = importlib.import_module(f"api.simulator.activities.{name}").ACTIVITY
        if activity.available():
            found.append(activity)
    return found
