"""A built-in model provider as its own process (`python -m api.ai.modelserver KIND --port N`,
started by `ehb up`): a small Starlette app serving one kind of real model over HTTP.

    embedding   wordllama (weights in its wheel):  POST /v1/embed       {"texts": [...]}
                                                   POST /v1/similarity  {"query", "texts"}
    classifier  iris, ONNX Runtime (built at first start when missing):
                                                   POST /v1/iris/{version}/predict
                                                        {"instances": [{feature: value}]}

GET /health answers 200 once the model is loaded. A body that is not what the route needs is a
400 naming the problem. The marketplace gateway forwards buyers' calls here; it imports nothing
of the platform but api.ai's model modules (fast start, small memory)."""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger("ehb.ai.modelserver")
MAX_TEXTS = 256
MAX_INSTANCES = 1000


class BadInput(Exception):
    pass


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadInput("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadInput("body must be a JSON object")
    return body


def _texts(body: dict, field: str = "texts") -> list[str]:
    texts = body.get(field)
    if (not isinstance(texts, list) or not texts or len(texts) > MAX_TEXTS
            or not all(isinstance(t, str) for t in texts)):
        raise BadInput(f"{field} must be a list of 1 to {MAX_TEXTS} strings")
    return texts


def _handler(work):
    async def endpoint(request: Request) -> Response:
        try:
            return _json(work(await _body(request), request.path_params))
        except BadInput as exc:
            return _json({"error": str(exc)}, 400)
    return endpoint


def embedding_app() -> Starlette:
    from api.ai import wordmodel

    model = wordmodel.model()
    name = f"{wordmodel.TOKENIZER}-{wordmodel.EMBEDDING_DIM}"

    def embed(body: dict, _params) -> dict:
        vectors = model.embed(_texts(body), norm=True)
        return {"model": name, "dim": int(vectors.shape[1]),
                "embeddings": [[round(float(x), 6) for x in row] for row in vectors]}

    def similarity(body: dict, _params) -> dict:
        query = body.get("query")
        if not isinstance(query, str) or not query:
            raise BadInput("query must be a non-empty string")
        texts = _texts(body)
        vectors = model.embed([query, *texts], norm=True)
        scores = vectors[1:] @ vectors[0]
        return {"model": name, "scores": [round(float(s), 6) for s in scores]}

    return _app(name, [Route("/v1/embed", _handler(embed), methods=["POST"]),
                       Route("/v1/similarity", _handler(similarity), methods=["POST"])])


def classifier_app(folder: Path) -> Starlette:
    from api.ai import classifier

    if not classifier.built(folder):
        log.warning("building the iris classifier under %s (first start)", folder)
        classifier.build(folder)
    models = {v: classifier.OnnxClassifier.load(folder, v) for v in classifier.VERSIONS}

    def predict(body: dict, params) -> dict:
        model = models.get(params["version"])
        if model is None:
            raise BadInput(f"no iris version {params['version']!r} (have {', '.join(models)})")
        instances = body.get("instances")
        if not isinstance(instances, list) or not 1 <= len(instances) <= MAX_INSTANCES:
            raise BadInput(f"instances must be a list of 1 to {MAX_INSTANCES} objects")
        rows = []
        for i, inst in enumerate(instances):
            if not isinstance(inst, dict):
                raise BadInput(f"instances[{i}] must be an object")
            row = [inst.get(f) for f in classifier.FEATURES]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) for v in row):
                raise BadInput(f"instances[{i}] needs numbers {', '.join(classifier.FEATURES)}")
            rows.append(row)
        return {"model": f"iris-{model.version}", "predictions": model.predict(rows)}

    return _app("iris", [Route("/v1/iris/{version}/predict", _handler(predict), methods=["POST"])])


def _app(name: str, routes: list[Route]) -> Starlette:
    started = time.time()

    async def health(_request: Request) -> Response:
        return _json({"status": "ok", "model": name, "uptime_s": round(time.time() - started, 1)})

    return Starlette(routes=[Route("/health", health), *routes])


def build_app(kind: str, models_dir: Path | None = None) -> Starlette:
    if kind == "embedding":
        return embedding_app()
    if kind == "classifier":
        from api.ai.config import models_dir as default_dir

        return classifier_app(models_dir or default_dir())
    raise ValueError(f"unknown provider kind {kind!r}")


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["embedding", "classifier"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    app = build_app(args.kind, args.models_dir)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
