"""EHB-GOSELLER: marketplace sellers, catalog, orders with stock reservation, seller payouts."""
