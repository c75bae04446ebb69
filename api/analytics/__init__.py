"""EHB-ANALYTICS: saved custom dashboards (charts and filters a user picks, reopened later)."""
