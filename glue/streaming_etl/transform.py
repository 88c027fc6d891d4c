"""The Glue streaming job's transform, on plain PySpark DataFrames (no Glue runtime needed, so it is unit-tested locally).

Records are checked against the telemetry contract of the time-series architecture with the rules and reason codes of
the Lambda parser (lambda/shared/telemetry.ts) and the Flink enrichment app (TelemetryParser): MALFORMED_JSON, then
SCHEMA (shape and types), then OUT_OF_RANGE (values), then TIMESTAMP_FUTURE / TIMESTAMP_PAST (only with a time
window). The three parsers give the same verdict on every line of test/fixtures/telemetry-*.jsonl.

Nothing is lost: every input row ends in exactly one of the two frames `split_telemetry` returns.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

MALFORMED_JSON = "MALFORMED_JSON"
SCHEMA = "SCHEMA"
OUT_OF_RANGE = "OUT_OF_RANGE"
TIMESTAMP_FUTURE = "TIMESTAMP_FUTURE"
TIMESTAMP_PAST = "TIMESTAMP_PAST"
REASONS = (MALFORMED_JSON, SCHEMA, OUT_OF_RANGE, TIMESTAMP_FUTURE, TIMESTAMP_PAST)

MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NUMBER_LENGTH = 100
MAX_NAME_LENGTH = 50_000
MAX_EVENT_ID_LENGTH = 128
MAX_METRICS = 100
MAX_METRIC_MAGNITUDE = 1e60
MAX_TIMESTAMP_MS = 253402300799999
RESERVED_METRIC_NAME = "__proto__"

_DEVICE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_METRIC_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_SURROGATE = re.compile("[\ud800-\udfff]")

# What the good frame holds besides the input's other columns: the record as the contract defines it.
RECORD_SCHEMA = StructType(
    [
        StructField("eventId", StringType(), False),
        StructField("deviceId", StringType(), False),
        StructField("timestamp", LongType(), False),
        StructField("metrics", MapType(StringType(), DoubleType(), False), False),
        StructField("attributes", MapType(StringType(), StringType(), False), False),
    ]
)
DEAD_LETTER_COLUMNS = ("reason", "detail", "payload", "payloadEncoding")

_VERDICT_SCHEMA = StructType(
    [StructField("reason", StringType(), True), StructField("detail", StringType(), True)]
    + [StructField(f.name, f.dataType, True) for f in RECORD_SCHEMA.fields]
)
_VERDICT = "__verdict"


class DeadLetter(Exception):
    """A record that can never be processed, with the contract's reason code and a short detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class TimeWindow:
    """Processing time and the accepted skew of event time around it, in epoch milliseconds."""

    now_ms: int
    max_future_skew_ms: int
    max_past_age_ms: int


class _Malformed(ValueError):
    pass


def _utf16_length(s: str) -> int:
    # The contract counts UTF-16 code units (JavaScript string length), not code points.
    return len(s) if s.isascii() else len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def _abbreviate(s: str) -> str:
    # Keeps details short so a hostile record cannot make its dead letter much larger than itself.
    return s if len(s) <= 64 else s[:61] + "..."


def _number(literal: str) -> float:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise _Malformed(f"number literal has {len(literal)} characters, more than {MAX_NUMBER_LENGTH}")
    # Every JSON number is a double, as in JavaScript and Jackson's double mode: 10^60 compares equal to 1e60.
    return float(literal)


def _constant(literal: str) -> Any:
    raise _Malformed(f"{literal} is not JSON")


def _object(pairs: list) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise _Malformed(f"duplicate key '{_abbreviate(key)}'")
        if len(key) > MAX_NAME_LENGTH // 2 and _utf16_length(key) > MAX_NAME_LENGTH:
            raise _Malformed(f"object key has {_utf16_length(key)} characters, more than {MAX_NAME_LENGTH}")
        obj[key] = value
    return obj


def _check_tree(value: Any) -> None:
    """Nesting depth and unpaired surrogate escapes (JSON text that is not UTF-8 downstream), everywhere."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise _Malformed(f"nesting is deeper than {MAX_DEPTH} levels")
            for k, v in node.items():
                if _SURROGATE.search(k):
                    raise _Malformed("string holds an unpaired UTF-16 surrogate escape")
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                raise _Malformed(f"nesting is deeper than {MAX_DEPTH} levels")
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise _Malformed("string holds an unpaired UTF-16 surrogate escape")


def parse_json(data: Union[bytes, bytearray, str, None]) -> Any:
    """Strict UTF-8 and JSON under the contract's limits; anything else is MALFORMED_JSON."""
    if data is None or len(data) == 0:
        raise DeadLetter(MALFORMED_JSON, "empty payload")
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise DeadLetter(MALFORMED_JSON, "payload is not valid UTF-8") from None
    data = bytes(data)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DeadLetter(MALFORMED_JSON, f"payload has {len(data)} bytes, more than {MAX_PAYLOAD_BYTES}")
    if data.startswith(b"\xef\xbb\xbf"):
        raise DeadLetter(MALFORMED_JSON, "payload starts with a UTF-8 byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeadLetter(MALFORMED_JSON, "payload is not valid UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
        )
        _check_tree(value)
    except RecursionError:
        raise DeadLetter(MALFORMED_JSON, f"nesting is deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:
        raise DeadLetter(MALFORMED_JSON, str(e)) from None
    return value


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, str):
        return f"string '{_abbreviate(v)}'"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    return f"number {_abbreviate(repr(v))}"


def _schema(detail: str) -> DeadLetter:
    return DeadLetter(SCHEMA, detail)


def validate_telemetry(value: Any, window: Optional[TimeWindow] = None) -> dict:
    """Checks a parsed raw telemetry record; returns it normalized or raises DeadLetter with the reason."""
    if not isinstance(value, dict):
        raise _schema(f"record must be a JSON object, got {_describe(value)}")
    missing = "nothing (field missing)"
    event_id = value.get("eventId")
    if not isinstance(event_id, str):
        raise _schema(f"eventId must be a string, got {_describe(event_id) if 'eventId' in value else missing}")
    if not 1 <= _utf16_length(event_id) <= MAX_EVENT_ID_LENGTH:
        raise _schema(f"eventId must have 1..{MAX_EVENT_ID_LENGTH} characters, got {_utf16_length(event_id)}")
    device_id = value.get("deviceId")
    if not isinstance(device_id, str):
        raise _schema(f"deviceId must be a string, got {_describe(device_id) if 'deviceId' in value else missing}")
    if not _DEVICE_ID.fullmatch(device_id):
        raise _schema(f"deviceId must match [A-Za-z0-9_.:-]{{1,128}}, got '{_abbreviate(device_id)}'")
    timestamp = value.get("timestamp")
    # Any notation of an integer is one (1.7e12); infinity (a literal too large) is a value problem, checked below.
    if type(timestamp) is not float or not (timestamp.is_integer() or math.isinf(timestamp)):
        got = _describe(timestamp) if "timestamp" in value else missing
        raise _schema(f"timestamp must be an integer number of epoch milliseconds, got {got}")
    metrics = value.get("metrics")
    if not isinstance(metrics, dict):
        raise _schema(f"metrics must be an object, got {_describe(metrics) if 'metrics' in value else missing}")
    if not 1 <= len(metrics) <= MAX_METRICS:
        raise _schema(f"metrics must have 1..{MAX_METRICS} entries, got {len(metrics)}")
    out_of_range = None
    for name, v in metrics.items():
        if not _METRIC_NAME.fullmatch(name):
            raise _schema(f"metric name must match [A-Za-z0-9_]{{1,64}}, got '{_abbreviate(name)}'")
        if name == RESERVED_METRIC_NAME:
            raise _schema("metric name '__proto__' is reserved")
        if type(v) is not float:
            raise _schema(f"metrics.{name} must be a number, got {_describe(v)}")
        if out_of_range is None and not abs(v) <= MAX_METRIC_MAGNITUDE:
            out_of_range = name
    attributes = value.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise _schema(f"attributes must be an object of strings, got {_describe(attributes)}")
        for k, v in attributes.items():
            if not isinstance(v, str):
                raise _schema(f"attributes.{_abbreviate(k)} must be a string, got {_describe(v)}")
    if not 0 <= timestamp <= MAX_TIMESTAMP_MS:
        raise DeadLetter(
            OUT_OF_RANGE,
            f"timestamp {_abbreviate(repr(timestamp))} is outside 0..{MAX_TIMESTAMP_MS} (epoch milliseconds)",
        )
    ts = int(timestamp)
    if out_of_range is not None:
        raise DeadLetter(
            OUT_OF_RANGE,
            f"metrics.{out_of_range} must be a finite number of magnitude at most 1e60, "
            f"got {_abbreviate(repr(metrics[out_of_range]))}",
        )
    if window is not None:
        if ts > window.now_ms + window.max_future_skew_ms:
            raise DeadLetter(
                TIMESTAMP_FUTURE,
                f"timestamp {ts} is more than {window.max_future_skew_ms} ms ahead of processing time {window.now_ms}",
            )
        if ts < window.now_ms - window.max_past_age_ms:
            raise DeadLetter(
                TIMESTAMP_PAST,
                f"timestamp {ts} is more than {window.max_past_age_ms} ms behind processing time {window.now_ms}",
            )
    return {
        "eventId": event_id,
        "deviceId": device_id,
        "timestamp": ts,
        # + 0.0 turns -0.0 into 0.0.
        "metrics": {k: v + 0.0 for k, v in metrics.items()},
        "attributes": dict(attributes) if attributes is not None else {},
    }


def parse_telemetry(data: Union[bytes, bytearray, str, None], window: Optional[TimeWindow] = None) -> dict:
    """Parses and checks one record's payload; raises DeadLetter with the reason for a bad one."""
    return validate_telemetry(parse_json(data), window)


def _verdict(window: Optional[TimeWindow]):
    def classify(data):
        try:
            r = parse_telemetry(data, window)
        except DeadLetter as e:
            return (e.reason, e.detail, None, None, None, None, None)
        return (None, None, r["eventId"], r["deviceId"], r["timestamp"], r["metrics"], r["attributes"])

    return F.udf(classify, _VERDICT_SCHEMA)


def _payload_text(data) -> Tuple[str, str]:
    if data is None:
        return ("", "utf-8")
    if isinstance(data, str):
        try:
            data.encode("utf-8")
            return (data, "utf-8")
        except UnicodeEncodeError:
            return (base64.b64encode(data.encode("utf-8", "surrogatepass")).decode("ascii"), "base64")
    raw = bytes(data)
    try:
        return (raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return (base64.b64encode(raw).decode("ascii"), "base64")


_PAYLOAD_TEXT = F.udf(
    _payload_text,
    StructType([StructField("text", StringType(), False), StructField("encoding", StringType(), False)]),
)


def split_telemetry(
    df: DataFrame, payload_column: str = "data", window: Optional[TimeWindow] = None
) -> Tuple[DataFrame, DataFrame]:
    """Splits rows by their payload (a string or binary column) into (good, dead letters).

    good: the other input columns, then eventId, deviceId, timestamp (epoch ms), metrics, attributes (empty when
    absent). dead letters: the other input columns, then reason, detail, payload (UTF-8 text, or base64 when the
    bytes are not UTF-8, as the Lambda and Flink dead letters hold it) and payloadEncoding ('utf-8' or 'base64').
    Every input row is in exactly one of them. The verdict is computed once per row only if the caller persists the
    input; it is deterministic either way (the window is fixed for the call).
    """
    if payload_column not in df.columns:
        raise ValueError(f"payload_column '{payload_column}' is not a column of the frame, got {df.columns}")
    others = [c for c in df.columns if c != payload_column]
    clash = [c for c in others if c in RECORD_SCHEMA.fieldNames() or c in DEAD_LETTER_COLUMNS or c == _VERDICT]
    if clash:
        raise ValueError(f"columns {clash} would be overwritten by the transform's output")
    judged = df.withColumn(_VERDICT, _verdict(window)(F.col(payload_column)))
    ok = F.col(f"{_VERDICT}.reason").isNull()
    good = judged.where(ok).select(
        *[F.col(c) for c in others],
        *[F.col(f"{_VERDICT}.{f.name}").alias(f.name) for f in RECORD_SCHEMA.fields],
    )
    text = _PAYLOAD_TEXT(F.col(payload_column))
    dead = (
        judged.where(~ok)
        .withColumn("__payload", text)
        .select(
            *[F.col(c) for c in others],
            F.col(f"{_VERDICT}.reason").alias("reason"),
            F.col(f"{_VERDICT}.detail").alias("detail"),
            F.col("__payload.text").alias("payload"),
            F.col("__payload.encoding").alias("payloadEncoding"),
        )
    )
    return good, dead


# The Data Catalog table's columns (Hive names: lower case, `timestamp` is a keyword, hence `ts`) and the contract's
# field each one holds.
CATALOG_COLUMNS = (
    ("eventid", "eventId"),
    ("deviceid", "deviceId"),
    ("ts", "timestamp"),
    ("metrics", "metrics"),
    ("attributes", "attributes"),
)


def catalog_rows_to_payload(df: DataFrame, payload_column: str = "data") -> DataFrame:
    """Turns rows Glue parsed against the catalog table back into contract JSON for `split_telemetry`.

    Glue reads a catalog-defined Kinesis source already parsed into the table's columns; this rebuilds the record with
    the contract's field names (null columns left out, so a record Glue could not parse becomes `{}` and is
    dead-lettered as SCHEMA instead of dropped). Columns that are not the table's pass through unchanged.
    """
    names = {c.lower(): c for c in df.columns}
    fields: list[Column] = [F.col(names[col]).alias(field) for col, field in CATALOG_COLUMNS if col in names]
    catalog = {names[col] for col, _ in CATALOG_COLUMNS if col in names}
    payload = F.to_json(F.struct(*fields)) if fields else F.lit("{}")
    return df.select(*[F.col(c) for c in df.columns if c not in catalog], payload.alias(payload_column))
