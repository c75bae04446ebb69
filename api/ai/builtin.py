"""The platform's own provider and its built-in services (real models that run offline):

    wordllama-embed       embedding     wordllama 256-d embeddings, priced per call + per 1k tokens
    wordllama-similarity  text_scoring  cosine similarity of texts to a query (same model)
    iris-classifier       classification  versions 1 (logistic regression) and 2 (random forest),
                                        ONNX Runtime, priced per call

`ensure_builtin_catalog` registers the provider account, its two endpoints and these services
(idempotent: existing rows are kept, a moved endpoint gets its new URL), through the same
service functions a provider's API calls use."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ai import classifier, service
from api.ai.config import ai_settings, models_dir
from api.ai.models import AiEndpoint, AiService, AiServiceVersion
from api.ai.wordmodel import EMBEDDING_DIM, TOKENIZER

PROVIDER_EMAIL = "ai-models@ehb5-platform.com"
CURRENCY = "USD"
_TEXTS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 10_000},
          "minItems": 1, "maxItems": 256}
_NUMBER = {"type": "number"}

EMBED_INPUT = {"type": "object", "properties": {"texts": _TEXTS}, "required": ["texts"],
               "additionalProperties": False}
EMBED_OUTPUT = {"type": "object", "required": ["embeddings", "dim"], "properties": {
    "dim": {"const": EMBEDDING_DIM}, "model": {"type": "string"},
    "embeddings": {"type": "array", "minItems": 1, "items": {
        "type": "array", "items": _NUMBER, "minItems": EMBEDDING_DIM,
        "maxItems": EMBEDDING_DIM}}}}
SIMILARITY_INPUT = {"type": "object", "required": ["query", "texts"],
                    "additionalProperties": False,
                    "properties": {"query": {"type": "string", "minLength": 1,
                                             "maxLength": 10_000}, "texts": _TEXTS}}
SIMILARITY_OUTPUT = {"type": "object", "required": ["scores"], "properties": {
    "model": {"type": "string"},
    "scores": {"type": "array", "items": {"type": "number", "minimum": -1.0001,
                                          "maximum": 1.0001}}}}
IRIS_INPUT = {"type": "object", "required": ["instances"], "additionalProperties": False,
              "properties": {"instances": {
                  "type": "array", "minItems": 1, "maxItems": 1000,
                  "items": {"type": "object", "additionalProperties": False,
                            "required": list(classifier.FEATURES),
                            "properties": {f: {"type": "number", "minimum": 0, "maximum": 100}
                                           for f in classifier.FEATURES}}}}}
IRIS_OUTPUT = {"type": "object", "required": ["predictions"], "properties": {
    "model": {"type": "string"},
    "predictions": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["label", "probabilities"],
        "properties": {"label": {"enum": list(classifier.CLASSES)},
                       "probabilities": {"type": "object", "required": list(classifier.CLASSES),
                                         "additionalProperties": _NUMBER}}}}}}

SERVICES = [
    {"slug": "wordllama-embed", "name": "WordLlama text embeddings", "task": "embedding",
     "summary": "256-dimensional sentence embeddings for semantic search, clustering and "
                "deduplication of English text",
     "description": "WordLlama (l2_supercat) token embeddings average-pooled into one "
                    "L2-normalized vector per text. Weights ship inside the wordllama wheel; "
                    "no GPU, no download.",
     "license": "MIT", "tags": ["embeddings", "text", "semantic-search", "english"],
     "versions": [{"version": "0.4", "endpoint": "embedding", "path": "/v1/embed",
                   "input_schema": EMBED_INPUT, "output_schema": EMBED_OUTPUT,
                   "price_per_call_minor": 10, "price_per_1k_tokens_minor": 20,
                   "tokenizer": TOKENIZER, "max_input_tokens": 50_000, "timeout_ms": 5000,
                   "model_card": {"description": "wordllama l2_supercat, 256 dimensions",
                                  "license": "MIT", "metrics": {"dimensions": EMBEDDING_DIM}}}]},
    {"slug": "wordllama-similarity", "name": "WordLlama text similarity scoring",
     "task": "text_scoring",
     "summary": "Score how similar each text is to a query (cosine of WordLlama embeddings)",
     "description": "Ranks candidate texts against a query: reranking search results, "
                    "matching questions to answers, finding near duplicates.",
     "license": "MIT", "tags": ["similarity", "text", "ranking", "english"],
     "versions": [{"version": "0.4", "endpoint": "embedding", "path": "/v1/similarity",
                   "input_schema": SIMILARITY_INPUT, "output_schema": SIMILARITY_OUTPUT,
                   "price_per_call_minor": 10, "price_per_1k_tokens_minor": 20,
                   "tokenizer": TOKENIZER, "max_input_tokens": 50_000, "timeout_ms": 5000,
                   "model_card": {"description": "cosine similarity of wordllama embeddings",
                                  "license": "MIT", "metrics": {}}}]},
    {"slug": "iris-classifier", "name": "Iris species classifier", "task": "classification",
     "summary": "Predict the iris flower species from sepal and petal measurements",
     "description": "Trained at build time on scikit-learn's bundled iris data set and served "
                    "through ONNX Runtime. Version 1: logistic regression; version 2: random "
                    "forest.",
     "license": "BSD-3-Clause", "tags": ["tabular", "flowers", "botany", "onnx"],
     "versions": [{"version": v, "endpoint": "classifier", "path": f"/v1/iris/{v}/predict",
                   "input_schema": IRIS_INPUT, "output_schema": IRIS_OUTPUT,
                   "price_per_call_minor": 10 + 5 * (int(v) - 1), "price_per_1k_tokens_minor": 0,
                   "tokenizer": None, "max_input_tokens": None, "timeout_ms": 2000,
                   "card_version": v} for v in classifier.VERSIONS]},
]


def provider_user(session: Session):
    from api.auth.models import User
    from api.auth.service import create_user

    user = session.scalar(select(User).where(User.email == PROVIDER_EMAIL))
    if user is None:
        # nobody signs in as the platform's provider: a random password never shown
        user = create_user(session, PROVIDER_EMAIL, secrets.token_urlsafe(24),
                           roles=["provider"], display_name="EHB-5 AI models", verified=True)
        session.commit()
    return user


def endpoint_urls() -> dict[str, str]:
    s = ai_settings()
    return {"embedding": f"http://{s.provider_host}:{s.embedding_port}",
            "classifier": f"http://{s.provider_host}:{s.classifier_port}"}


def ensure_builtin_catalog(session: Session, urls: dict[str, str] | None = None,
                           folder: Path | None = None) -> dict[str, int]:
    """Register (or keep) the built-in provider, endpoints and services; slug -> service id.
    The classifier's model cards come from its build (classifier.build must have run)."""
    urls = urls or endpoint_urls()
    folder = folder or models_dir()
    user = provider_user(session)
    endpoints = {}
    for kind, url in urls.items():
        name = f"builtin-{kind}"
        ep = session.scalar(select(AiEndpoint).where(AiEndpoint.provider_user_id == user.id,
                                                     AiEndpoint.name == name))
        if ep is None:
            ep = service.register_endpoint(session, user.id, name=name, base_url=url,
                                           allow_private=True)
        elif ep.base_url != url:
            ep.base_url = url
            session.commit()
        endpoints[kind] = ep.id
    ids = {}
    for spec in SERVICES:
        spec = dict(spec)
        versions = spec.pop("versions")
        row = session.scalar(select(AiService).where(AiService.slug == spec["slug"]))
        if row is None:
            row = service.publish_service(session, user.id, {**spec, "currency": CURRENCY})
        ids[row.slug] = row.id
        for v in versions:
            v = dict(v)
            if session.scalar(select(AiServiceVersion.id).where(
                    AiServiceVersion.service_id == row.id,
                    AiServiceVersion.version == v["version"])):
                continue
            if "card_version" in v:
                card = classifier.read_card(folder, v.pop("card_version"))
                v["model_card"] = {"description": f"{card['algorithm']} on {card['dataset']}",
                                   "license": card["license"], "metrics": card["metrics"]}
            v["endpoint_id"] = endpoints[v.pop("endpoint")]
            service.publish_version(session, user.id, row.id, v)
    return ids


def build_models(folder: Path | None = None, force: bool = False) -> Path:
    """The build step: train and convert the classifier when its files are missing."""
    folder = folder or models_dir()
    if force or not classifier.built(folder):
        classifier.build(folder)
    return folder
