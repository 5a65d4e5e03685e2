"""Drives a running omaf server with NVIDIA's tritonclient, for the Node conformance suite.

Started as `driver.py <http|grpc> <host:port>`; reads one JSON request per line on stdin and writes one JSON answer
per line on stdout, in order. tritonclient is used as its users call it, with its defaults, so the suite holds omaf
to what that client really sends and expects.

Requests:
  {"op": "live"} | {"op": "server_ready"} | {"op": "server_metadata"}
  {"op": "model_ready", "model": m, "version": v?}
  {"op": "model_metadata", "model": m, "version": v?}
  {"op": "repository_index"} | {"op": "load", "model": m} | {"op": "unload", "model": m}
  {"op": "statistics", "model": m?, "version": v?}  (get_inference_statistics; all models when m is left out)
  {"op": "infer", "model": m, "version": v?, "inputs": [{name, datatype, shape, data}, ...] (or one "input"),
   "binary_input": bool (HTTP; tritonclient's default is true),
   "outputs": null (tritonclient's default: ask for nothing, get every output)
            | {"binary": bool, "class_count": n?} (name every output the model's metadata lists, each with that
              binary_data flag (HTTP) and, when given, tritonclient's class_count: the classification extension)}

Answers: {"ok": true, "result": ...} or {"ok": false, "status": "<tritonclient's status()>", "message": "..."}.
An infer result is {"parameters": {...}, "outputs": [{name, datatype, shape, data (flat), parameters}]}.
The repository index is a list of {name, version, state, reason} and statistics {"model_stats": [...]}, both as
tritonclient.http hands them back (gRPC answers converted with protobuf's json_format; its uint64 counts become
numbers here, and fields left at their default are filled in, so both transports read the same).
"""

import base64
import json
import sys

import numpy as np

PROTOCOL, URL = sys.argv[1], sys.argv[2]

if PROTOCOL == "http":
    import tritonclient.http as triton
elif PROTOCOL == "grpc":
    import tritonclient.grpc as triton
else:
    sys.exit(f"unknown protocol {PROTOCOL!r}: expected http or grpc")

from tritonclient.utils import InferenceServerException, triton_to_np_dtype

client = triton.InferenceServerClient(url=URL)


def plain(value):
    """A JSON-ready copy of what tritonclient handed back (numpy values, bytes)."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.reshape(-1).tolist()] if value.dtype == object else value.reshape(-1).tolist()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def grpc_parameters(params):
    """gRPC InferParameter maps (as tritonclient's as_json gives them) as plain values."""
    out = {}
    for key, p in (params or {}).items():
        out[key] = next(iter(p.values())) if isinstance(p, dict) and len(p) == 1 else p
    return out


def numpy_input(tensor):
    datatype = tensor["datatype"]
    if datatype == "BYTES":
        values = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in tensor["data"]]
        return np.array(values, dtype=np.object_).reshape(tensor["shape"])
    return np.array(tensor["data"], dtype=triton_to_np_dtype(datatype)).reshape(tensor["shape"])


def output_names(model, version):
    if PROTOCOL == "http":
        return [o["name"] for o in client.get_model_metadata(model, version)["outputs"]]
    return [o.name for o in client.get_model_metadata(model, version).outputs]


def infer(req):
    model, version = req["model"], req.get("version") or ""
    inputs = []
    for tensor in req.get("inputs") or [req["input"]]:
        inp = triton.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
        array = numpy_input(tensor)
        if PROTOCOL == "http" and "binary_input" in req:
            inp.set_data_from_numpy(array, binary_data=req["binary_input"])
        else:
            inp.set_data_from_numpy(array)
        inputs.append(inp)
    outputs = None
    if req.get("outputs") is not None:
        binary = req["outputs"]["binary"]
        classes = req["outputs"].get("class_count", 0)
        outputs = [
            triton.InferRequestedOutput(name, binary_data=binary, class_count=classes)
            if PROTOCOL == "http"
            else triton.InferRequestedOutput(name, class_count=classes)
            for name in output_names(model, version)
        ]
    result = client.infer(model, inputs, model_version=version, outputs=outputs)
    if PROTOCOL == "http":
        response = result.get_response()
        described = response.get("outputs", [])
        parameters = response.get("parameters", {})
        outs = [
            {
                "name": o["name"],
                "datatype": o["datatype"],
                "shape": o["shape"],
                "parameters": o.get("parameters", {}),
                "data": plain(result.as_numpy(o["name"])),
            }
            for o in described
        ]
    else:
        response = result.get_response(as_json=True)
        parameters = grpc_parameters(response.get("parameters"))
        outs = [
            {
                "name": o["name"],
                "datatype": o["datatype"],
                "shape": [int(d) for d in o.get("shape", [])],
                "parameters": grpc_parameters(o.get("parameters")),
                "data": plain(result.as_numpy(o["name"])),
            }
            for o in response.get("outputs", [])
        ]
    return {"parameters": plain(parameters), "outputs": outs}


def metadata(value):
    return value if PROTOCOL == "http" else json.loads(_grpc_json(value))


def _grpc_json(message):
    from google.protobuf import json_format

    return json_format.MessageToJson(message, preserving_proto_field_name=True)


def handle(req):
    op = req["op"]
    if op == "live":
        return client.is_server_live()
    if op == "server_ready":
        return client.is_server_ready()
    if op == "model_ready":
        return client.is_model_ready(req["model"], req.get("version") or "")
    if op == "server_metadata":
        return metadata(client.get_server_metadata())
    if op == "model_metadata":
        return metadata(client.get_model_metadata(req["model"], req.get("version") or ""))
    if op == "infer":
        return infer(req)
    if op == "repository_index":
        if PROTOCOL == "http":
            return client.get_model_repository_index()
        return [grpc_json(m, "name", "version", "state", "reason") for m in client.get_model_repository_index().models]
    if op == "load":
        client.load_model(req["model"])
        return None
    if op == "unload":
        client.unload_model(req["model"])
        return None
    if op == "statistics":
        stats = client.get_inference_statistics(req.get("model") or "", req.get("version") or "")
        return stats if PROTOCOL == "http" else grpc_statistics(stats)
    raise ValueError(f"unknown op {op!r}")


def grpc_json(message, *strings):
    """A message as JSON with its string fields present even when empty (proto3 leaves defaults out)."""
    value = json.loads(_grpc_json(message))
    for field in strings:
        value.setdefault(field, "")
    return value


def grpc_statistics(response):
    """ModelStatisticsResponse as the HTTP client answers it: uint64 as numbers, every phase present."""

    def duration(d):
        return {"count": int(d.count), "ns": int(d.ns)}

    out = []
    for s in response.model_stats:
        phases = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")
        out.append(
            {
                "name": s.name,
                "version": s.version,
                "last_inference": int(s.last_inference),
                "inference_count": int(s.inference_count),
                "execution_count": int(s.execution_count),
                "inference_stats": {p: duration(getattr(s.inference_stats, p)) for p in phases},
                "batch_stats": [
                    {
                        "batch_size": int(b.batch_size),
                        "compute_input": duration(b.compute_input),
                        "compute_infer": duration(b.compute_infer),
                        "compute_output": duration(b.compute_output),
                    }
                    for b in s.batch_stats
                ],
            }
        )
    return {"model_stats": out}


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        answer = {"ok": True, "result": handle(json.loads(line))}
    except InferenceServerException as e:
        answer = {"ok": False, "status": str(e.status()), "message": str(e.message())}
    except Exception as e:  # a client-side failure: report it rather than die, so the test shows it
        answer = {"ok": False, "status": "client-exception", "message": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
