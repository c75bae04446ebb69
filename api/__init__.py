"""EHB-5 operational services: one package per service domain, served by one FastAPI gateway."""
