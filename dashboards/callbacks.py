"""Calling Dash callbacks over HTTP the way the browser does (tests and `ehb bench dash`)."""

from __future__ import annotations

import json


class Callbacks:
    def __init__(self, client):
        self.client = client
        self.deps = {d["output"]: d for d in client.get("/_dash-dependencies").json}

    def find(self, output_fragment: str) -> dict:
        matches = [d for key, d in self.deps.items() if output_fragment in key]
        if len(matches) != 1:
            raise LookupError(f"{output_fragment!r} matches {[d['output'] for d in matches]}")
        return matches[0]

    def call(self, output_fragment: str, inputs: dict, state: dict | None = None,
             changed: list[str] | None = None):
        dep = self.find(output_fragment)
        state = state or {}

        def fill(items, values):
            return [{"id": i["id"], "property": i["property"],
                     "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
                   for o in dep["output"].strip(".").split("...")]
        body = {"output": dep["output"],
                "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": fill(dep["inputs"], inputs), "state": fill(dep["state"], state),
                "changedPropIds": changed or list(inputs)}
        return self.client.post("/_dash-update-component", data=json.dumps(body),
                                content_type="application/json")

    def values(self, output_fragment: str, inputs: dict, state: dict | None = None,
               changed: list[str] | None = None) -> dict:
        resp = self.call(output_fragment, inputs, state, changed)
        assert resp.status_code == 200, resp.data[:500]
        return resp.json["response"]
