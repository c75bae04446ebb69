"""EHB-DASHBOARD: the Dash analytics app over the published warehouse snapshot."""
