"""EHB-COMPLAINTS: support tickets, replies and internal notes, SLA tracking and escalation,
CSAT feedback."""
