"""Glue streaming entry point (Glue 5.x): the source stream through its Data Catalog table, checked against the
telemetry contract by transform.split_telemetry in micro-batches; good records to S3 as Parquet, the others to the
dead-letter path as JSON with their reason. Runs only in Glue (awsglue); the transform is tested locally.

Arguments (set by lib/processing/glue-streaming-etl.ts): --source_database, --source_table, --output_path,
--dead_letter_path, --checkpoint_location, --window_size, --starting_position, and optionally --max_future_skew_ms
with --max_past_age_ms (event-time window; both or neither).
"""

import sys
import time

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F

from transform import TimeWindow, catalog_rows_to_payload, split_telemetry

REQUIRED = [
    "JOB_NAME",
    "source_database",
    "source_table",
    "output_path",
    "dead_letter_path",
    "checkpoint_location",
    "window_size",
    "starting_position",
]
OPTIONAL = ["max_future_skew_ms", "max_past_age_ms"]

args = getResolvedOptions(sys.argv, REQUIRED + [o for o in OPTIONAL if f"--{o}" in sys.argv])
glue_context = GlueContext(SparkContext.getOrCreate())
job = Job(glue_context)
job.init(args["JOB_NAME"], args)

source = glue_context.create_data_frame.from_catalog(
    database=args["source_database"],
    table_name=args["source_table"],
    transformation_ctx="source",
    additional_options={"startingPosition": args["starting_position"], "inferSchema": "false"},
)


def window_now():
    if "max_future_skew_ms" not in args:
        return None
    return TimeWindow(int(time.time() * 1000), int(args["max_future_skew_ms"]), int(args["max_past_age_ms"]))


def process_batch(batch, batch_id):
    # The verdict is computed once per record: both frames below read the persisted batch.
    payloads = catalog_rows_to_payload(batch).persist()
    try:
        good, dead = split_telemetry(payloads, window=window_now())
        day = F.date_format(F.current_timestamp(), "yyyy-MM-dd")
        good.withColumn("ingest_date", day).write.mode("append").partitionBy("ingest_date").parquet(
            args["output_path"]
        )
        dead.withColumn("at", F.expr("unix_millis(current_timestamp())")).withColumn(
            "stage", F.lit(args["JOB_NAME"])
        ).withColumn("ingest_date", day).write.mode("append").partitionBy("ingest_date").json(
            args["dead_letter_path"]
        )
    finally:
        payloads.unpersist()


glue_context.forEachBatch(
    frame=source,
    batch_function=process_batch,
    options={"windowSize": args["window_size"], "checkpointLocation": args["checkpoint_location"]},
)
job.commit()
