#!/usr/bin/env python3
"""omaf GPPI worker: serves one Python GPPI model to the omaf Node process over a framed pipe protocol.

Usage (started by omaf, not by hand):
    omaf_worker.py serve --workdir DIR --entrypoint MODULE [--worker-id N] [--matrix list|numpy]
    omaf_worker.py check-deps            (JSON request on stdin, JSON answer on stdout)
    omaf_worker.py sample --workdir DIR  (head_input.pkl / head_output.pkl as JSON on stdout)

Frames, in both directions (all integers little-endian):
    u32 length | u8 type | payload (length bytes; it starts with a u32 request id)
Node -> worker types:  'm' matrix as JSON {"data", "columns"}     'o' objects-mode input as JSON
                       'b' numeric matrix: u32 header length | JSON header {"shape": [rows, cols], "columns",
                           "int"} | zero padding to a multiple of 8 | rows*cols float64 values, row-major
                       't' named tensors (tensors mode): u32 header length | JSON header {"tensors": [{"name",
                           "datatype", "shape", "size"}]} | padding to 8 | each tensor's raw bytes, 8-aligned
                           (OIP raw form: little-endian; BYTES as a u32 length before each element)
worker -> Node types:  'R' ready (JSON)   'F' load failed (JSON)   'E' request failed (JSON)
                       'J' result as JSON {"prediction", "columns", "t"} or {"result", "t"}
                       'A' numeric result: u32 header length | JSON header {"shape", "kind", "columns", "t"} |
                           padding to 8 | float64 values, row-major
                       'T' tensors result: the 't' layout, header {"tensors": [...], "t"}
"t" is the time the model function itself took, in microseconds.

The worker needs only the standard library; numpy is used for the binary paths when the environment has it.
It reads requests one at a time and answers each before reading the next; end of input means "exit".
"""
import argparse
import base64
import datetime
import decimal
import gc
import importlib
import io
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback

PROTOCOL_VERSION = 1

T_MATRIX_JSON = ord("m")
T_MATRIX_BINARY = ord("b")
T_OBJECTS = ord("o")
T_TENSORS = ord("t")
T_READY = ord("R")
T_FAILED = ord("F")
T_ERROR = ord("E")
T_RESULT_JSON = ord("J")
T_RESULT_BINARY = ord("A")
T_RESULT_TENSORS = ord("T")

# Largest integer a float64 (and a JavaScript number) holds exactly.
MAX_EXACT_INT = 2 ** 53

_FRAME_HEAD = struct.Struct("<IBI")  # length, type, request id
_U32 = struct.Struct("<I")


class ModelFunctionError(Exception):
    """A model function failed or answered something unusable; carries the omaf error code to report."""

    def __init__(self, code, message, tb=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.traceback = tb


# ---------------------------------------------------------------------------------------------------------------
# Turning model results into plain JSON
# ---------------------------------------------------------------------------------------------------------------


def _plain(o):
    """The JSON-ready form of a value the json module cannot encode itself (numpy, pandas, dates...)."""
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.dtype):
            return str(o)
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(o, pd.DataFrame):
            return o.to_numpy().tolist()
        if isinstance(o, (pd.Series, pd.Index)):
            return o.tolist()
        if o is pd.NaT or o is getattr(pd, "NA", object()):
            return None
        if isinstance(o, pd.Timestamp):
            return o.isoformat()
    if isinstance(o, (datetime.datetime, datetime.date, datetime.time)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return float(o)
    if isinstance(o, (set, frozenset)):
        return list(o)
    if isinstance(o, (bytes, bytearray, memoryview)):
        raw = bytes(o)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    if isinstance(o, type):
        return o.__name__
    if hasattr(o, "tolist") and callable(o.tolist):
        return o.tolist()
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


class PlainEncoder(json.JSONEncoder):
    """omaf's default encoder: numpy arrays and scalars, pandas objects, dates, decimals, sets, bytes."""

    def default(self, o):
        return _plain(o)


def encoder_with_fallback(model_encoder):
    """The model's own encoder class, with omaf's conversions for whatever it leaves unhandled."""

    class ModelEncoderWithFallback(model_encoder):
        def default(self, o):
            try:
                return model_encoder.default(self, o)
            except TypeError:
                return _plain(o)

    return ModelEncoderWithFallback


def _none_for_constant(_name):
    return None


def to_json(value, encoder):
    """JSON text of `value`; NaN, Infinity and -Infinity become null (JSON has no such numbers)."""
    text = json.dumps(value, cls=encoder, separators=(",", ":"))
    # Fast check first; a string value containing these words only costs a second pass.
    if "NaN" in text or "Infinity" in text:
        text = json.dumps(json.loads(text, parse_constant=_none_for_constant), separators=(",", ":"))
    return text


def numeric_array(value):
    """`value` as a numpy array with a bool/int/float dtype that float64 carries exactly, else None."""
    np = sys.modules.get("numpy")
    if np is None:
        return None
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
        if isinstance(value, pd.DataFrame) and not all(k in "biuf" for k in (d.kind for d in value.dtypes)):
            return None
        if isinstance(value, pd.Series) and value.dtype.kind not in "biuf":
            return None
        value = value.to_numpy()
    if not isinstance(value, np.ndarray) or value.ndim == 0 or value.dtype.kind not in "biuf":
        return None
    if value.dtype.kind in "iu" and value.size and (value.max() > MAX_EXACT_INT or value.min() < -MAX_EXACT_INT):
        return None
    return value


# ---------------------------------------------------------------------------------------------------------------
# The channel
# ---------------------------------------------------------------------------------------------------------------


class Channel:
    """Frames over two file descriptors that no model code can reach."""

    def __init__(self, in_fd, out_fd):
        self._in = io.open(in_fd, "rb", buffering=1 << 16, closefd=False)
        self._out_fd = out_fd

    def read(self):
        """(type, request id, body as a writable buffer) or None at end of input."""
        head = self._in.read(_FRAME_HEAD.size)
        if len(head) < _FRAME_HEAD.size:
            return None
        length, mtype, rid = _FRAME_HEAD.unpack(head)
        body = bytearray(length - 4)
        view = memoryview(body)
        got = 0
        while got < len(body):
            n = self._in.readinto(view[got:])
            if not n:
                return None
            got += n
        return mtype, rid, body

    def write(self, mtype, rid, *parts):
        size = 4 + sum(len(p) for p in parts)
        data = memoryview(b"".join((_FRAME_HEAD.pack(size, mtype, rid),) + parts))
        while data:
            n = os.write(self._out_fd, data)
            data = data[n:]

    def write_json(self, mtype, rid, text):
        self.write(mtype, rid, text.encode("utf-8"))

    def write_tensors(self, mtype, rid, header_text, raws):
        header = header_text.encode("utf-8")
        parts = [_U32.pack(len(header)), header, b"\0" * ((-(4 + len(header))) % 8)]
        for raw in raws:
            parts += [raw, b"\0" * ((-len(raw)) % 8)]
        self.write(mtype, rid, *parts)

    def write_binary(self, mtype, rid, header_text, raw):
        header = header_text.encode("utf-8")
        pad = b"\0" * ((-(4 + len(header))) % 8)
        self.write(mtype, rid, _U32.pack(len(header)), header, pad, raw)


def take_channel():
    """Keeps private copies of stdin/stdout for framing and points fds 0/1 at /dev/null and stderr.

    Model prints (Python or C level) then land on stderr, and nothing the model does can eat or corrupt frames.
    """
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, "r")
    sys.stdout = sys.stderr
    return Channel(in_fd, out_fd)


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------


def module_name(entrypoint):
    """A Python import path from model.entrypoint; a file name such as `pkg/entrypoint.py` is accepted too."""
    name = entrypoint[:-3] if entrypoint.endswith(".py") else entrypoint
    return name.replace("\\", ".").replace("/", ".").strip(".")


def _schema_fields(schema):
    """A GPPI schema as a list of fields; a mapping of name -> field (as mlflow entrypoints answer) is accepted."""
    if isinstance(schema, dict):
        return list(schema.values())
    return schema


def _describe(value):
    try:
        return repr(value)[:200]
    except Exception:  # a broken __repr__ must not hide the real problem
        return "<%s>" % type(value).__name__


class Model:
    def __init__(self, workdir, entrypoint, matrix_format):
        self.workdir = workdir
        self.name = module_name(entrypoint)
        self.matrix_format = matrix_format
        self.module = None
        self.mode = None
        self.predict = None
        self.encoder = PlainEncoder
        self.custom_encoder = False

    def _where(self):
        return "module '%s'" % self.name

    def _function(self, name, required_because=None):
        fn = getattr(self.module, name, None)
        if fn is None:
            if required_because is None:
                return None
            raise ModelFunctionError(
                "OMAF_ERR_ENTRYPOINT_FUNCTION",
                "%s() is missing in %s (%s)" % (name, self._where(), required_because),
            )
        if not callable(fn):
            raise ModelFunctionError("OMAF_ERR_ENTRYPOINT_FUNCTION", "%s in %s is not a function" % (name, self._where()))
        return fn

    def _call_at_load(self, name, fn):
        try:
            return fn()
        except BaseException as exc:  # SystemExit from a model is a failed load, not a worker exit
            raise ModelFunctionError(
                "OMAF_ERR_MODEL_INIT",
                "%s() in %s failed: %s" % (name, self._where(), _exception_line(exc)),
                traceback.format_exc(),
            )

    def load(self):
        """Imports the entrypoint and calls init() and the optional GPPI functions; answers the ready message."""
        os.environ["MODEL_LOCATION"] = self.workdir
        try:
            self.module = importlib.import_module(self.name)
        except BaseException as exc:
            raise ModelFunctionError(
                "OMAF_ERR_ENTRYPOINT_LOAD",
                "cannot import entrypoint %s from %s: %s" % (self._where(), self.workdir, _exception_line(exc)),
                traceback.format_exc(),
            )

        mode = self._call_at_load("init", self._function("init", "every GPPI model needs it"))
        if mode not in ("matrix", "objects", "tensors"):
            raise ModelFunctionError(
                "OMAF_ERR_ENTRYPOINT_FUNCTION",
                "init() in %s returned %s; expected 'matrix', 'objects' or 'tensors'" % (self._where(), _describe(mode)),
            )
        self.mode = mode
        predict_name = "predict_on_" + mode
        self.predict = self._function(predict_name, "init() answered '%s'" % mode)

        ready = {"protocol": PROTOCOL_VERSION, "mode": mode, "pid": os.getpid(), "python": sys.version.split()[0]}
        info_name = "get_info" if getattr(self.module, "get_info", None) is not None else "info"
        info = self._function(info_name)
        if info is not None:
            answer = self._call_at_load(info_name, info)
            if isinstance(answer, (tuple, list)) and len(answer) == 2:
                answer = [_schema_fields(answer[0]), _schema_fields(answer[1])]
            ready["info"] = answer
            ready["infoFunction"] = info_name
        for fn_name, key in (("get_object_input_type", "objectInputType"), ("get_object_output_type", "objectOutputType")):
            fn = self._function(fn_name)
            if fn is not None:
                ready[key] = self._call_at_load(fn_name, fn)

        serializer = self._function("get_output_json_serializer")
        if serializer is not None:
            encoder = self._call_at_load("get_output_json_serializer", serializer)
            if encoder is not None:
                if not (isinstance(encoder, type) and issubclass(encoder, json.JSONEncoder)):
                    raise ModelFunctionError(
                        "OMAF_ERR_ENTRYPOINT_FUNCTION",
                        "get_output_json_serializer() in %s must return a json.JSONEncoder subclass, not %s"
                        % (self._where(), _describe(encoder)),
                    )
                self.encoder = encoder_with_fallback(encoder)
                self.custom_encoder = True
        ready["serializer"] = self.custom_encoder

        # The binary matrix path needs numpy; a model environment without it still works over JSON.
        try:
            import numpy  # noqa: F401
            ready["numpy"] = True
        except Exception:
            ready["numpy"] = False
            if mode == "tensors":
                raise ModelFunctionError(
                    "OMAF_ERR_MODEL_INIT", "%s serves tensors, which reach it as numpy arrays, but numpy cannot be imported" % self._where()
                )
        return ready

    def _run(self, fn_name, *args):
        started = time.perf_counter()
        try:
            result = self.predict(*args)
        except BaseException as exc:
            raise ModelFunctionError(
                "OMAF_ERR_PREDICT",
                "%s() in %s failed: %s" % (fn_name, self._where(), _exception_line(exc)),
                traceback.format_exc(),
            )
        return result, (time.perf_counter() - started) * 1e6

    def predict_matrix(self, matrix, columns, channel, rid):
        # Like Odahu's server: the matrix and the caller's column names go to the model as given, positionally.
        result, micros = self._run("predict_on_matrix", matrix, columns)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ModelFunctionError(
                "OMAF_ERR_PREDICT",
                "predict_on_matrix() in %s must return (prediction, columns), not %s" % (self._where(), _describe(result)),
            )
        prediction, out_columns = result
        arr = None if self.custom_encoder else numeric_array(prediction)
        try:
            if arr is not None:
                np = sys.modules["numpy"]
                header = to_json({"shape": list(arr.shape), "kind": arr.dtype.kind, "columns": out_columns, "t": micros},
                                 self.encoder)
                raw = np.ascontiguousarray(arr, dtype="<f8").tobytes()
                channel.write_binary(T_RESULT_BINARY, rid, header, raw)
                return
            text = to_json({"prediction": prediction, "columns": out_columns, "t": micros}, self.encoder)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFunctionError(
                "OMAF_ERR_PREDICT",
                "the result of predict_on_matrix() in %s cannot be turned into JSON: %s" % (self._where(), exc),
            )
        channel.write_json(T_RESULT_JSON, rid, text)

    def predict_tensors(self, inputs, channel, rid):
        result, micros = self._run("predict_on_tensors", inputs)
        if not isinstance(result, dict) or not result:
            raise ModelFunctionError(
                "OMAF_ERR_PREDICT",
                "predict_on_tensors() in %s must return a dict of output name -> array, not %s" % (self._where(), _describe(result)),
            )
        try:
            header, raws = encode_tensors(result)
        except (TypeError, ValueError) as exc:
            raise ModelFunctionError("OMAF_ERR_PREDICT", "predict_on_tensors() in %s answered %s" % (self._where(), exc))
        header["t"] = micros
        channel.write_tensors(T_RESULT_TENSORS, rid, json.dumps(header), raws)

    def predict_objects(self, value, channel, rid):
        result, micros = self._run("predict_on_objects", value)
        try:
            text = to_json({"result": result, "t": micros}, self.encoder)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFunctionError(
                "OMAF_ERR_PREDICT",
                "the result of predict_on_objects() in %s cannot be turned into JSON: %s" % (self._where(), exc),
            )
        channel.write_json(T_RESULT_JSON, rid, text)


def _exception_line(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def binary_matrix(body, as_numpy):
    """The matrix of a 'b' request: a list of row lists (what Odahu passes), or a numpy array when asked."""
    import numpy as np

    (header_len,) = _U32.unpack_from(body, 0)
    header = json.loads(bytes(body[4:4 + header_len]))
    rows, cols = header["shape"]
    offset = 4 + header_len
    offset += (-offset) % 8
    arr = np.frombuffer(body, dtype="<f8", count=rows * cols, offset=offset).reshape(rows, cols)
    if header.get("int"):
        arr = arr.astype(np.int64)
    return (arr if as_numpy else arr.tolist()), header.get("columns")


# OIP datatype <-> numpy dtype (little-endian); BYTES elements are Python bytes in an object array.
_NUMPY_DTYPES = {
    "BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1", "INT16": "<i2",
    "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8",
}
_DATATYPES = {"b": {1: "BOOL"}, "u": {1: "UINT8", 2: "UINT16", 4: "UINT32", 8: "UINT64"},
              "i": {1: "INT8", 2: "INT16", 4: "INT32", 8: "INT64"}, "f": {2: "FP16", 4: "FP32", 8: "FP64"}}


def decode_tensors(body):
    """The inputs of a 't' request: {name: numpy array}, fixed-size ones as views of the frame's bytes (no copy)."""
    import numpy as np

    (header_len,) = _U32.unpack_from(body, 0)
    header = json.loads(bytes(body[4:4 + header_len]))
    offset = 4 + header_len
    offset += (-offset) % 8
    inputs = {}
    for entry in header["tensors"]:
        size, shape = entry["size"], entry["shape"]
        raw = memoryview(body)[offset:offset + size]
        if entry["datatype"] == "BYTES":
            items, at = [], 0
            while at < size:
                (n,) = _U32.unpack_from(raw, at)
                items.append(bytes(raw[at + 4:at + 4 + n]))
                at += 4 + n
            arr = np.empty(len(items), dtype=object)
            arr[:] = items
            inputs[entry["name"]] = arr.reshape(shape)
        else:
            inputs[entry["name"]] = np.frombuffer(raw, dtype=_NUMPY_DTYPES[entry["datatype"]]).reshape(shape)
        offset += size + (-size) % 8
    return inputs


def encode_tensors(outputs):
    """A tensors answer: the header entries and each output's raw bytes (OIP raw form)."""
    import numpy as np

    entries, raws = [], []
    for name, value in outputs.items():
        arr = np.asarray(value)
        kind = arr.dtype.kind
        if kind in "OSU":
            elements = [e if isinstance(e, bytes) else str(e).encode("utf-8") for e in arr.reshape(-1).tolist()]
            raw = b"".join(_U32.pack(len(e)) + e for e in elements)
            datatype = "BYTES"
        else:
            datatype = _DATATYPES.get(kind, {}).get(arr.dtype.itemsize)
            if datatype is None:
                raise TypeError("output '%s' of dtype %s, which no OIP datatype carries" % (name, arr.dtype))
            raw = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
        entries.append({"name": str(name), "datatype": datatype, "shape": list(arr.shape), "size": len(raw)})
        raws.append(raw)
    return {"tensors": entries}, raws


def watch_parent():
    """Exits when the omaf process is gone, even while a model call hangs (end of input is seen only between calls)."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def serve(args):
    channel = take_channel()
    threading.Thread(target=watch_parent, name="omaf-parent-watch", daemon=True).start()
    # omaf stops workers by closing their input; Ctrl-C in a terminal must not kill them mid-request.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workdir = os.path.abspath(args.workdir)
    # The model's folder takes the place of this script's folder on the import path.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = workdir
    else:
        sys.path.insert(0, workdir)
    os.chdir(workdir)

    model = Model(workdir, args.entrypoint, args.matrix)
    try:
        ready = model.load()
        # What the model loaded lives as long as the worker: keep it out of every later garbage collection.
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()
        channel.write_json(T_READY, 0, to_json(ready, PlainEncoder))
    except ModelFunctionError as err:
        channel.write_json(T_FAILED, 0, json.dumps({"code": err.code, "message": err.message, "traceback": err.traceback}))
        return 1
    except BaseException as exc:  # e.g. an info() answer that cannot be encoded
        channel.write_json(
            T_FAILED, 0,
            json.dumps({"code": "OMAF_ERR_MODEL_INIT", "message": _exception_line(exc), "traceback": traceback.format_exc()}),
        )
        return 1

    as_numpy = args.matrix == "numpy"
    while True:
        frame = channel.read()
        if frame is None:
            return 0
        mtype, rid, body = frame
        try:
            if mtype == T_MATRIX_BINARY:
                matrix, columns = binary_matrix(body, as_numpy)
                model.predict_matrix(matrix, columns, channel, rid)
            elif mtype == T_MATRIX_JSON:
                request = json.loads(body.decode("utf-8"))
                matrix = request["data"]
                if as_numpy:
                    import numpy as np

                    matrix = np.array(matrix)
                model.predict_matrix(matrix, request.get("columns"), channel, rid)
            elif mtype == T_TENSORS:
                model.predict_tensors(decode_tensors(body), channel, rid)
            elif mtype == T_OBJECTS:
                model.predict_objects(json.loads(body.decode("utf-8")), channel, rid)
            else:
                raise ModelFunctionError("OMAF_ERR_INTERNAL", "unknown request type %r" % chr(mtype))
        except ModelFunctionError as err:
            if err.traceback:
                sys.stderr.write(err.traceback)
            channel.write_json(T_ERROR, rid, json.dumps({"code": err.code, "message": err.message, "traceback": err.traceback}))
        except Exception as exc:
            channel.write_json(
                T_ERROR, rid,
                json.dumps({"code": "OMAF_ERR_INTERNAL", "message": _exception_line(exc), "traceback": traceback.format_exc()}),
            )


# ---------------------------------------------------------------------------------------------------------------
# Dependency check
# ---------------------------------------------------------------------------------------------------------------


def _installed_version(distribution):
    try:
        from importlib import metadata  # Python 3.8+
    except ImportError:
        return None
    try:
        return metadata.version(distribution)
    except Exception:
        return None


def _importable(module):
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except Exception:  # a parent package that fails to import, a bad name
        return False


def check_deps():
    """For each {"name", "module"} on stdin: is it installed, and which version (distribution metadata)."""
    request = json.load(sys.stdin)
    answer = {"python": sys.version.split()[0], "executable": sys.executable, "packages": []}
    for item in request.get("packages", []):
        version = _installed_version(item["name"])
        found = version is not None or _importable(item["module"])
        answer["packages"].append({"name": item["name"], "found": found, "version": version})
    sys.stdout.write(json.dumps(answer))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Sample data (omaf test)
# ---------------------------------------------------------------------------------------------------------------


def _sample_of(value):
    """A pickled sample as {"columns"?, "data"}: a DataFrame keeps its column names; arrays and lists are rows."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.DataFrame):
        return {"columns": [str(c) for c in value.columns], "data": value.to_numpy().tolist()}
    if pd is not None and isinstance(value, pd.Series):
        return {"columns": [str(value.name)] if value.name is not None else None, "data": [[v] for v in value.tolist()]}
    return {"data": _plain(value) if not isinstance(value, (list, tuple)) else list(value)}


def sample(args):
    """Unpickles Odahu's head_input.pkl / head_output.pkl in the model's folder; JSON on stdout.

    Runs in the model's interpreter, with the model's folder on the import path, because a pickle names the classes
    (pandas, numpy, the model's own) that must be importable to read it.
    """
    import pickle

    workdir = os.path.abspath(args.workdir)
    sys.path.insert(0, workdir)
    answer = {}
    for key, name in (("input", "head_input.pkl"), ("output", "head_output.pkl")):
        path = os.path.join(workdir, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                answer[key] = _sample_of(pickle.load(f))
        except BaseException as exc:
            answer[key + "Error"] = {"message": "%s: %s" % (name, _exception_line(exc)), "traceback": traceback.format_exc()}
    sys.stdout.write(to_json(answer, PlainEncoder))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="omaf_worker.py", description="omaf GPPI worker (started by omaf)")
    sub = parser.add_subparsers(dest="command")
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--workdir", required=True)
    p_serve.add_argument("--entrypoint", required=True)
    p_serve.add_argument("--worker-id", default="0")
    p_serve.add_argument("--matrix", choices=("list", "numpy"), default="list")
    sub.add_parser("check-deps")
    p_sample = sub.add_parser("sample")
    p_sample.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "check-deps":
        return check_deps()
    if args.command == "sample":
        return sample(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
