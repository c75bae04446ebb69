"""Gateway machinery shared by every service: errors, logging, middleware, metrics, health."""
