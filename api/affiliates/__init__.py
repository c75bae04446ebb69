"""EHB-AFFILIATE: affiliates, referral codes, first-touch attribution, commissions."""
