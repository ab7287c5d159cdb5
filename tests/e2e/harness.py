"""Shared harness for Sluice's end-to-end tests.

Starts the real `sluice` binary on a free port in a temporary data directory, waits
for its "listening on HOST:PORT" line (deadline-polled, never a fixed sleep), hands out
boto3 clients and raw SigV4-signed HTTP requests, and stops it (SIGTERM with an exit
code check, or kill -9) and restarts it on the same data directory.

The binary comes from $SLUICE_BIN (CTest passes it) and falls back to
build/release/src/server/sluice in the repository. Run the tests with Debian's
/usr/bin/python3: its boto3 1.26 / botocore 1.29 still ship the iotanalytics model.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

import boto3
import botocore.config

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BIN = os.path.join(REPO_ROOT, "build", "release", "src", "server", "sluice")

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICE = "iotanalytics"
TEST_ACCESS_KEY = "AKIDSLUICEE2ETEST001"
TEST_SECRET_KEY = "sluice/e2e+Secret0123456789abcdefghijklmn"

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

_LISTEN_RE = re.compile(r"listening on ([0-9.]+|\[[0-9a-fA-F:]+\]):(\d+)")
_KEY_ID_RE = re.compile(r"^\s*AWS_ACCESS_KEY_ID=(\S+)\s*$")
_SECRET_RE = re.compile(r"^\s*AWS_SECRET_ACCESS_KEY=(\S+)\s*$")


def sluice_binary():
    path = os.environ.get("SLUICE_BIN") or DEFAULT_BIN
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"sluice binary not found at {path!r}; build it "
            "(cmake --preset release && cmake --build --preset release) or set SLUICE_BIN")
    return path


def clean_env():
    """The caller's environment without anything that could leak AWS/Sluice settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLUICE_") and not k.startswith("AWS_")}
    env.pop("SLUICE_BIN", None)
    return env


class ServerError(AssertionError):
    pass


class Server:
    """One `sluice serve` process bound to 127.0.0.1:0 and its data directory.

    By default the root keys are fixed test keys passed through SLUICE_ACCESS_KEY_ID /
    SLUICE_SECRET_ACCESS_KEY. With generated_credentials=True neither variable is set,
    and the keys are read from what the server prints (first start) or from
    DATA_DIR/credentials (later starts).
    """

    def __init__(self, data_dir=None, extra_args=(), generated_credentials=False,
                 access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY, extra_env=None):
        self._own_tmp = None
        if data_dir is None:
            self._own_tmp = tempfile.mkdtemp(prefix="sluice-e2e-")
            data_dir = os.path.join(self._own_tmp, "data")
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.generated_credentials = generated_credentials
        self.access_key = None if generated_credentials else access_key
        self.secret_key = None if generated_credentials else secret_key
        self.extra_env = dict(extra_env or {})
        self.proc = None
        self.port = None
        self.stdout_lines = []      # every stdout line of the current process
        self.stderr_path = None
        self.startup_seconds = None  # spawn -> "listening on" line, last start
        self.starts = 0
        self._lines = None
        self._reader = None
        self._stderr_file = None
        self._clients = []

    # ----- lifecycle -------------------------------------------------------------

    def start(self, timeout=STARTUP_TIMEOUT):
        assert self.proc is None, "server already running"
        env = clean_env()
        env.update(self.extra_env)
        if not self.generated_credentials:
            env["SLUICE_ACCESS_KEY_ID"] = self.access_key
            env["SLUICE_SECRET_ACCESS_KEY"] = self.secret_key
        args = [sluice_binary(), "serve", "--data-dir", self.data_dir,
                "--listen", "127.0.0.1:0"] + self.extra_args
        logdir = self._own_tmp or tempfile.mkdtemp(prefix="sluice-e2e-log-")
        self.starts += 1
        self.stderr_path = os.path.join(logdir, f"stderr.{self.starts}.log")
        self._stderr_file = open(self.stderr_path, "wb")
        self.stdout_lines = []
        self._lines = queue.Queue()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr_file, env=env)
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc, self._lines),
                                        daemon=True)
        self._reader.start()
        deadline = t0 + timeout
        self.port = None
        while self.port is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill9()
                raise ServerError(f"server did not print its listening line within {timeout}s"
                                  f"{self.diagnostics()}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:  # EOF: the process exited
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
                self.proc = None
                raise ServerError(f"server exited with {rc} before listening{self.diagnostics()}")
            self.stdout_lines.append(line)
            m = _LISTEN_RE.search(line)
            if m:
                self.port = int(m.group(2))
        self.startup_seconds = time.monotonic() - t0
        if self.generated_credentials:
            self._load_generated_credentials(deadline)
        return self

    @staticmethod
    def _read_stdout(proc, lines):
        for raw in proc.stdout:
            lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        lines.put(None)

    def _pump(self, timeout):
        """Moves queued stdout lines into self.stdout_lines; returns False at EOF."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return True
        if line is None:
            self._lines.put(None)
            return False
        self.stdout_lines.append(line)
        return True

    def _load_generated_credentials(self, deadline):
        # The server writes DATA_DIR/credentials before it serves requests (and on the
        # first start also prints the keys). Poll until the file is readable.
        cred_file = os.path.join(self.data_dir, "credentials")
        while True:
            self._drain_nowait()
            if os.path.exists(cred_file):
                try:
                    with open(cred_file) as f:
                        data = json.load(f)
                    self.access_key = data["accessKeyId"]
                    self.secret_key = data["secretAccessKey"]
                    return
                except (ValueError, KeyError):
                    pass
            if time.monotonic() > deadline:
                raise ServerError(f"no readable {cred_file}{self.diagnostics()}")
            self._pump(0.05)

    def _drain_nowait(self):
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self._lines.put(None)
                return
            self.stdout_lines.append(line)

    def wait_for_stdout(self, predicate, timeout=5.0):
        """Polls stdout until some line satisfies predicate; returns it, or None at the
        deadline or when the process has closed stdout without such a line."""
        deadline = time.monotonic() + timeout
        idx = 0
        while True:
            while idx < len(self.stdout_lines):
                if predicate(self.stdout_lines[idx]):
                    return self.stdout_lines[idx]
                idx += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self._pump(min(remaining, 0.1)):
                return next((l for l in self.stdout_lines[idx:] if predicate(l)), None)

    def printed_credentials(self):
        """(key id, secret) printed on stdout by this process, or (None, None)."""
        self._drain_nowait()
        key = secret = None
        for line in self.stdout_lines:
            m = _KEY_ID_RE.match(line)
            if m:
                key = m.group(1)
            m = _SECRET_RE.match(line)
            if m:
                secret = m.group(1)
        return key, secret

    def all_stdout_after_exit(self):
        """Every stdout line of the last process; only valid once it has exited."""
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT)
        self._drain_nowait()
        return list(self.stdout_lines)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends sig and waits for the exit; returns the exit code."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._finish()
            raise ServerError(f"server ignored {sig!r} for {timeout}s{self.diagnostics()}")
        self._finish()
        return rc

    def stop_clean(self, sig=signal.SIGTERM):
        rc = self.stop(sig)
        if rc != 0:
            raise ServerError(f"server exited with {rc} after {sig!r}{self.diagnostics()}")

    def kill9(self):
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self._finish()

    def _finish(self):
        self.close_clients()
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def restart(self):
        if self.proc is not None:
            self.stop_clean()
        return self.start()

    def close(self):
        """Best-effort teardown: stops the process and removes the temp directory."""
        self.close_clients()
        if self.proc is not None:
            try:
                self.stop(timeout=5)
            except ServerError:
                pass
        if self._own_tmp:
            shutil.rmtree(self._own_tmp, ignore_errors=True)

    def diagnostics(self):
        out = "\n".join(self.stdout_lines[-20:])
        err = ""
        if self.stderr_path and os.path.exists(self.stderr_path):
            with open(self.stderr_path, "rb") as f:
                err = f.read()[-4000:].decode("utf-8", "replace")
        return f"\n--- stdout ---\n{out}\n--- stderr ---\n{err}"

    # ----- clients ---------------------------------------------------------------

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, access_key=None, secret_key=None, validate=True, region=REGION):
        cfg = botocore.config.Config(retries={"total_max_attempts": 1},  # no retries
                                     parameter_validation=validate,
                                     connect_timeout=5, read_timeout=30)
        session = boto3.session.Session(aws_access_key_id=access_key or self.access_key,
                                        aws_secret_access_key=secret_key or self.secret_key,
                                        region_name=region)
        client = session.client("iotanalytics", endpoint_url=self.endpoint, config=cfg)
        self._clients.append(client)
        return client

    def close_clients(self):
        for client in self._clients:
            client.close()
        self._clients = []

    def raw(self, method, path, body=b"", headers=None, timeout=30):
        """Sends one request as given (no signing); returns (status, headers dict, body bytes)."""
        return raw_request(self.port, method, path, body, headers, timeout)

    def signed(self, method, path, body=b"", **kw):
        """Sends one SigV4-signed request built by sign(); returns (status, headers, body)."""
        kw.setdefault("access_key", self.access_key)
        kw.setdefault("secret_key", self.secret_key)
        headers = sign(method, f"127.0.0.1:{self.port}", path, body, **kw)
        return raw_request(self.port, method, path, body, headers)

    def arn(self, kind, name):
        return f"arn:aws:iotanalytics:{REGION}:{ACCOUNT}:{kind}/{name}"


def raw_request(port, method, path, body=b"", headers=None, timeout=30):
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body if body else None, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, data
    finally:
        conn.close()


# ----- an independent SigV4 signer (header form), so tests control every input ---------

def _uri_encode(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


def sign(method, host, path, body=b"", access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY,
         when=None, region=REGION, service=SERVICE, extra_headers=None,
         content_sha256_header=False, payload_hash=None):
    """Returns headers for a SigV4 Authorization-header request.

    when: a UTC datetime to sign with (default now). content_sha256_header: also send and
    sign x-amz-content-sha256 (payload_hash overrides its value, e.g. UNSIGNED-PAYLOAD).
    """
    if isinstance(body, str):
        body = body.encode()
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    datestamp = when.strftime("%Y%m%d")
    split = urllib.parse.urlsplit(path)
    body_hash = payload_hash or hashlib.sha256(body).hexdigest()
    headers = {"Host": host, "X-Amz-Date": amz_date}
    if body:
        headers["Content-Type"] = "application/json"
    if content_sha256_header:
        headers["x-amz-content-sha256"] = body_hash
    headers.update(extra_headers or {})
    canon = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed_names = sorted(canon)
    canonical_headers = "".join(f"{n}:{canon[n]}\n" for n in signed_names)
    signed_headers = ";".join(signed_names)
    canonical_uri = urllib.parse.quote(split.path or "/", safe="/~")
    creq = "\n".join([method, canonical_uri, canonical_query(split.query), canonical_headers,
                      signed_headers, body_hash])
    scope = f"{datestamp}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (datestamp, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={signed_headers}, Signature={signature}")
    return headers


def error_code(status_headers_body):
    """(x-amzn-ErrorType before ':', body __type after '#') of a raw response."""
    _, headers, body = status_headers_body
    hdr = headers.get("x-amzn-errortype", "").split(":")[0] or None
    typ = None
    try:
        typ = json.loads(body or b"{}").get("__type")
        if typ:
            typ = typ.split("#")[-1]
    except ValueError:
        pass
    return hdr, typ


def poll(predicate, timeout=10.0, interval=0.02):
    """Calls predicate until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def unique(prefix):
    """A short name unique within this test process."""
    with _counter_lock:
        _counter[0] += 1
        return f"{prefix}_{os.getpid()}_{_counter[0]}"


_counter = [0]
_counter_lock = threading.Lock()


# ----- response checking against the service model ---------------------------------

AUTH_ERRORS = {"MissingAuthenticationTokenException", "IncompleteSignatureException",
               "UnrecognizedClientException", "InvalidSignatureException"}


class ShapeRecorder:
    """Checks every raw response a boto3 client receives against the botocore model.

    botocore's parser silently drops unknown members and tolerates wrong types, so this
    looks at the bytes: member names and JSON types per the output shape, timestamps as
    epoch seconds, the success status from the model (201 create, 204 delete/tag),
    empty bodies for outputs without members, x-amzn-RequestId on every response, and
    error responses whose x-amzn-ErrorType header and body __type agree.
    Call take_problems() and assert it is empty.
    """

    def __init__(self, *clients):
        self.problems = []
        self.responses = 0
        for c in clients:
            model = c.meta.service_model
            c.meta.events.register(
                "response-received.iotanalytics",
                lambda response_dict=None, **kw: self._on_response(model, response_dict))

    def take_problems(self):
        out, self.problems = self.problems, []
        return out

    def _on_response(self, model, response_dict):
        if response_dict is None:
            return
        self.responses += 1
        op_name = response_dict["context"]["operation_name"]
        op = model.operation_model(op_name)
        status = response_dict["status_code"]
        headers = {k.lower(): v for k, v in response_dict["headers"].items()}
        body = response_dict.get("body") or b""
        where = f"{op_name} (HTTP {status})"
        if not headers.get("x-amzn-requestid"):
            self.problems.append(f"{where}: no x-amzn-RequestId header")
        if status >= 300:
            self._check_error(where, model, status, headers, body)
            return
        want = op.http.get("responseCode", 200)
        if status != want:
            self.problems.append(f"{where}: success status {status}, model says {want}")
        shape = op.output_shape
        body_members = [] if shape is None else [
            m for m in shape.members.values() if m.serialization.get("location") is None]
        if not body_members or status == 204:
            if status == 204 and body:
                self.problems.append(f"{where}: 204 with a body {body[:100]!r}")
            elif body.strip() not in (b"", b"{}"):
                self.problems.append(f"{where}: expected an empty body, got {body[:200]!r}")
            return
        try:
            doc = json.loads(body)
        except ValueError:
            self.problems.append(f"{where}: body is not JSON: {body[:200]!r}")
            return
        ctype = headers.get("content-type", "")
        if "json" not in ctype:
            self.problems.append(f"{where}: content-type {ctype!r}")
        check_shape(shape, doc, op_name, self.problems)

    def _check_error(self, where, model, status, headers, body):
        hdr = headers.get("x-amzn-errortype", "").split(":")[0]
        try:
            doc = json.loads(body)
        except ValueError:
            self.problems.append(f"{where}: error body is not JSON: {body[:200]!r}")
            return
        if not isinstance(doc, dict):
            self.problems.append(f"{where}: error body is not an object")
            return
        typ = str(doc.get("__type", "")).split("#")[-1]
        if not hdr or hdr != typ:
            self.problems.append(f"{where}: x-amzn-ErrorType {hdr!r} != __type {typ!r}")
        if not isinstance(doc.get("message"), str) or not doc.get("message"):
            self.problems.append(f"{where}: error without a message: {doc}")
        if typ in AUTH_ERRORS:
            if status != 403:
                self.problems.append(f"{where}: {typ} should be HTTP 403")
            return
        try:
            shape = model.shape_for(typ)
        except Exception:  # noqa: BLE001 - unknown code
            self.problems.append(f"{where}: error code {typ!r} is not in the model")
            return
        want = shape.metadata.get("error", {}).get("httpStatusCode")
        if want and want != status:
            self.problems.append(f"{where}: {typ} with HTTP {status}, model says {want}")
        rest = {k: v for k, v in doc.items() if k != "__type"}
        check_shape(shape, rest, typ, self.problems)
        if typ == "ResourceAlreadyExistsException":
            for m in ("resourceId", "resourceArn"):
                if not isinstance(doc.get(m), str) or not doc.get(m):
                    self.problems.append(f"{where}: 409 without {m}: {doc}")


def check_shape(shape, value, path, problems):
    """Appends a description of every mismatch between value (parsed JSON) and shape."""
    t = shape.type_name
    if value is None:
        problems.append(f"{path}: null")
        return
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected object, got {type(value).__name__}")
            return
        by_wire = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for k, v in value.items():
            if k not in by_wire:
                problems.append(f"{path}: unknown member {k!r}")
                continue
            check_shape(by_wire[k], v, f"{path}.{k}", problems)
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected list, got {type(value).__name__}")
            return
        for i, v in enumerate(value):
            check_shape(shape.member, v, f"{path}[{i}]", problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected map, got {type(value).__name__}")
            return
        for k, v in value.items():
            check_shape(shape.value, v, f"{path}[{k!r}]", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected string, got {value!r}")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.enum}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected integer, got {value!r}")
    elif t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected number, got {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected boolean, got {value!r}")
    elif t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected epoch-seconds number, got {value!r}")
        elif not 1e9 < value < 1e10:
            problems.append(f"{path}: {value!r} is not plausible epoch seconds")
    elif t == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: expected base64 string, got {value!r}")
    else:
        problems.append(f"{path}: unhandled shape type {t}")
