"""Tests of the Glue job's transform with pyspark from PyPI on a local SparkSession (no Glue runtime)."""

import base64
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StringType, StructField, StructType

from transform import REASONS, DeadLetter, TimeWindow, catalog_rows_to_payload, parse_telemetry, split_telemetry

FIXTURES = Path(__file__).resolve().parents[2] / "test" / "fixtures"
# The window test/lambda/shared/telemetry-conformance.test.ts and the Java TelemetryConformanceTest use by default.
DEFAULT_WINDOW = TimeWindow(now_ms=1764403200000, max_future_skew_ms=300000, max_past_age_ms=86400000)
# Deterministic in `npm test`, like the fast-check and jqwik properties; no example database left in the tree.
PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load(name):
    lines = [json.loads(line) for line in (FIXTURES / name).read_text("utf-8").split("\n") if line]
    assert lines, f"{name} holds no cases"
    return lines


def payload_of(line):
    raw = base64.b64decode(line["inputBase64"]) if "inputBase64" in line else line["input"].encode("utf-8")
    pad_to = line.get("padToBytes")
    if pad_to is None:
        return raw
    filler = pad_to - len(raw) - len(b'"pad":"",')
    assert raw[:1] == b"{" and filler >= 0, f"{line['name']}: cannot pad to {pad_to} bytes"
    padded = b'{"pad":"' + b"x" * filler + b'",' + raw[1:]
    assert len(padded) == pad_to
    return padded


def window_of(line):
    w = line.get("window")
    return DEFAULT_WINDOW if w is None else TimeWindow(w["nowMs"], w["maxFutureSkewMs"], w["maxPastAgeMs"])


def verdict_of(payload, window=None):
    try:
        return "ok", parse_telemetry(payload, window)
    except DeadLetter as e:
        return e.reason, None


CASES = [(f, line) for f in ("telemetry-conformance.jsonl", "telemetry-generated.jsonl") for line in load(f)]


@pytest.mark.parametrize("line", [c[1] for c in CASES], ids=[f"{c[0]}:{c[1]['name']}" for c in CASES])
def test_same_verdict_as_the_lambda_and_flink_parsers(line):
    verdict, record = verdict_of(payload_of(line), window_of(line))
    assert verdict == line["verdict"]
    if record is not None:
        # The expected values as JavaScript reads them: every number a double (exact integers beyond 2^53 round).
        assert record == json.loads(json.dumps(line["parsed"]), parse_int=float)
        # No -0 left: the contract normalizes it to 0.
        assert all(str(v) != "-0.0" for v in record["metrics"].values())
        assert type(record["timestamp"]) is int


def test_the_fixtures_cover_every_reason():
    assert {line["verdict"] for _, line in CASES} == {"ok", *REASONS}


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("glue-streaming-etl-transform-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # What Glue does with --extra-py-files: the Python workers import the transform's UDFs from it.
    session.sparkContext.addPyFile(str(Path(__file__).with_name("transform.py")))
    yield session
    session.stop()


# The columns of the Data Catalog table the construct creates (lib/processing/glue-streaming-etl.ts).
CATALOG_SCHEMA = "eventid string, deviceid string, ts bigint, metrics map<string,double>, attributes map<string,string>"
BINARY_FRAME = StructType([StructField("seq", StringType()), StructField("data", BinaryType())])
TEXT_FRAME = StructType([StructField("seq", StringType()), StructField("data", StringType())])


def frame(spark, payloads, binary=True):
    rows = [(str(i), p) for i, p in enumerate(payloads)]
    return spark.createDataFrame(rows, BINARY_FRAME if binary else TEXT_FRAME)


def verdicts(good, dead):
    """Each row's verdict by its seq, from one Spark job; fails when a row is in both frames."""
    rows = (
        good.select("seq", F.lit("ok").alias("verdict"))
        .unionByName(dead.select("seq", F.col("reason").alias("verdict")))
        .collect()
    )
    out = {}
    for r in rows:
        assert r["seq"] not in out, f"row {r['seq']} is in both frames (or twice in one)"
        out[r["seq"]] = r["verdict"]
    return out


def test_spark_split_gives_every_fixture_its_verdict(spark):
    # One frame per window: the window is fixed for a split, as for one micro-batch.
    by_window = {}
    for _, line in CASES:
        by_window.setdefault(window_of(line), []).append(line)
    for window, lines in by_window.items():
        good, dead = split_telemetry(frame(spark, [bytearray(payload_of(line)) for line in lines]), window=window)
        got = verdicts(good, dead)
        assert got == {str(i): line["verdict"] for i, line in enumerate(lines)}


def test_good_rows_hold_the_normalized_record_and_keep_other_columns(spark):
    payload = b'{"eventId":"e-1","deviceId":"d-1","timestamp":-0,"metrics":{"t":-0.0,"h":40},"attributes":null}'
    good, dead = split_telemetry(frame(spark, [bytearray(payload)]))
    assert dead.count() == 0
    assert good.columns == ["seq", "eventId", "deviceId", "timestamp", "metrics", "attributes"]
    row = good.first()
    assert (row["seq"], row["eventId"], row["deviceId"], row["timestamp"]) == ("0", "e-1", "d-1", 0)
    assert row["metrics"] == {"t": 0.0, "h": 40.0}
    assert row["attributes"] == {}


def test_dead_letters_carry_reason_detail_and_the_original_payload(spark):
    good, dead = split_telemetry(frame(spark, [bytearray(b"{"), bytearray(b"\xff\xfe"), bytearray(b'{"a":1}')]))
    assert good.count() == 0
    assert dead.columns == ["seq", "reason", "detail", "payload", "payloadEncoding"]
    rows = {r["seq"]: r for r in dead.collect()}
    assert (rows["0"]["reason"], rows["0"]["payload"], rows["0"]["payloadEncoding"]) == ("MALFORMED_JSON", "{", "utf-8")
    # Bytes that are not UTF-8 are kept exactly, as base64 (like the Lambda and Flink dead letters).
    assert (rows["1"]["payload"], rows["1"]["payloadEncoding"]) == (base64.b64encode(b"\xff\xfe").decode(), "base64")
    assert rows["1"]["detail"] == "payload is not valid UTF-8"
    assert rows["2"]["reason"] == "SCHEMA"
    assert rows["2"]["detail"] == "eventId must be a string, got nothing (field missing)"


def test_string_payload_columns_are_accepted(spark):
    good, dead = split_telemetry(
        frame(spark, ['{"eventId":"e","deviceId":"d","timestamp":1,"metrics":{"m":1}}', "[]"], binary=False)
    )
    assert verdicts(good, dead) == {"0": "ok", "1": "SCHEMA"}


def test_the_window_dead_letters_records_too_far_from_processing_time(spark):
    window = TimeWindow(now_ms=1_000_000, max_future_skew_ms=10, max_past_age_ms=100)
    records = [1_000_011, 1_000_010, 999_900, 999_899]
    payloads = [json.dumps({"eventId": "e", "deviceId": "d", "timestamp": t, "metrics": {"m": 1}}) for t in records]
    good, dead = split_telemetry(frame(spark, payloads, binary=False), window=window)
    assert verdicts(good, dead) == {"0": "TIMESTAMP_FUTURE", "1": "ok", "2": "ok", "3": "TIMESTAMP_PAST"}


def test_without_a_window_event_time_is_not_checked(spark):
    payload = json.dumps({"eventId": "e", "deviceId": "d", "timestamp": 0, "metrics": {"m": 1}})
    good, dead = split_telemetry(frame(spark, [payload], binary=False))
    assert verdicts(good, dead) == {"0": "ok"}


def test_a_missing_payload_column_is_refused(spark):
    with pytest.raises(ValueError, match=r"payload_column 'body' is not a column of the frame"):
        split_telemetry(frame(spark, []), payload_column="body")


def test_input_columns_the_output_would_overwrite_are_refused(spark):
    df = frame(spark, []).withColumn("reason", F.lit("x"))
    with pytest.raises(ValueError, match=r"columns \['reason'\] would be overwritten"):
        split_telemetry(df)


def test_catalog_rows_become_contract_json(spark):
    rows = spark.createDataFrame(
        [("e-1", "d-1", 5, {"m": 1.5}, None, "seq-1"), (None, None, None, None, None, "seq-2")],
        CATALOG_SCHEMA + ", sequenceNumber string",
    )
    payloads = catalog_rows_to_payload(rows)
    assert payloads.columns == ["sequenceNumber", "data"]
    got = {r["sequenceNumber"]: json.loads(r["data"]) for r in payloads.collect()}
    assert got == {
        "seq-1": {"eventId": "e-1", "deviceId": "d-1", "timestamp": 5, "metrics": {"m": 1.5}},
        "seq-2": {},
    }
    good, dead = split_telemetry(payloads.withColumnRenamed("sequenceNumber", "seq"))
    assert verdicts(good, dead) == {"seq-1": "ok", "seq-2": "SCHEMA"}


# Arbitrary JSON values, telemetry-shaped objects with arbitrary field values, arbitrary text and arbitrary bytes.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
metric_names = st.sampled_from(["t", "h", "m_1", "bad name", "__proto__", ""]) | st.text(max_size=4)
telemetry_like = st.fixed_dictionaries(
    {},
    optional={
        "eventId": st.text(min_size=1, max_size=4) | json_values,
        "deviceId": st.sampled_from(["device-1", "d:2", "bad id"]) | json_values,
        "timestamp": st.integers(-5, 253402300800005) | st.floats() | json_values,
        "metrics": st.dictionaries(metric_names, st.floats() | st.integers() | json_values, max_size=3),
        "attributes": st.none() | st.dictionaries(st.text(max_size=3), st.text(max_size=3) | json_values, max_size=2),
    },
)
payloads = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    telemetry_like.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=40).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=40),
)


PARSER_PROPERTY = settings(PROPERTY, max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "400")))
# A Spark job per example costs seconds on a shared 2-core machine: few examples, large batches.
SPARK_PROPERTY = settings(PROPERTY, max_examples=int(os.environ.get("HYPOTHESIS_SPARK_EXAMPLES", "6")))


@PARSER_PROPERTY
@given(payloads)
def test_property_every_payload_gets_a_verdict_and_good_records_round_trip(payload):
    verdict, record = verdict_of(payload)
    assert verdict in ("ok", *REASONS)
    if record is not None:
        assert verdict_of(json.dumps(record, ensure_ascii=False).encode("utf-8")) == ("ok", record)


@SPARK_PROPERTY
@given(st.lists(payloads, min_size=20, max_size=200))
def test_property_nothing_is_lost_and_the_frame_agrees_with_the_parser(spark, batch):
    good, dead = split_telemetry(frame(spark, [bytearray(p) for p in batch]))
    got = verdicts(good, dead)
    # Conservation: count(good) + count(dead) = count(input), each row in exactly one frame.
    assert sorted(got, key=int) == [str(i) for i in range(len(batch))]
    assert got == {str(i): verdict_of(p)[0] for i, p in enumerate(batch)}


@SPARK_PROPERTY
@given(
    st.lists(
        st.text(max_size=60) | json_values.map(json.dumps) | telemetry_like.map(json.dumps), min_size=20, max_size=200
    )
)
def test_property_nothing_is_lost_through_the_catalog_columns(spark, batch):
    # Glue parses a catalog-defined JSON source against the table's columns; Spark's from_json does the same here.
    raw = frame(spark, batch, binary=False).select("seq", F.from_json("data", CATALOG_SCHEMA).alias("r"))
    good, dead = split_telemetry(catalog_rows_to_payload(raw.select("seq", "r.*")))
    assert sorted(verdicts(good, dead), key=int) == [str(i) for i in range(len(batch))]
