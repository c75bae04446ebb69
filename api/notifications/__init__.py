"""EHB-NOTIFICATION: transactional outbox, delivery over email/SMS/in-app, preferences."""
