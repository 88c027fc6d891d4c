"""A Python CDK app on the jsii-generated package (run by scripts/jsii-test.sh).

Synthesizes a StreamStore read by a LambdaStreamProcessor whose handler is a TypeScript file next to this one, plus a
DeviceFleetSimulator, whose handler ships in the package and imports the AWS SDK and Powertools: bundling it proves
the bundled dependencies resolve from the package the jsii runtime unpacked. Asserts on the template and on the
bundled code in the cloud assembly; exits non-zero on the first failed assertion.
"""

import json
import os
import pathlib
import sys

import aws_cdk as cdk
from aws_cdk import assertions
from cdk_streaming_patterns import DeviceFleetSimulator, LambdaStreamProcessor, StreamStore

here = pathlib.Path(__file__).resolve().parent
outdir = os.environ.get("CDK_OUTDIR", str(here / "cdk.out"))

app = cdk.App(outdir=outdir)
stack = cdk.Stack(app, "PythonConsumer", env=cdk.Environment(region="eu-west-1"))
store = StreamStore(stack, "Orders", retention_period=cdk.Duration.hours(48))
processor = LambdaStreamProcessor(
    stack,
    "Audit",
    stream=store.stream,
    entry=str(here / "handler.ts"),
    batch_size=50,
)
DeviceFleetSimulator(stack, "Simulator", stream=store.stream, device_count=10, rate_per_second=5)

template = assertions.Template.from_stack(stack)
template.resource_count_is("AWS::Kinesis::Stream", 1)
template.has_resource_properties(
    "AWS::Kinesis::Stream",
    {"RetentionPeriodHours": 48, "StreamEncryption": {"EncryptionType": "KMS"}},
)
template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
template.has_resource_properties(
    "AWS::Lambda::EventSourceMapping",
    {
        "BatchSize": 50,
        "EventSourceArn": {"Fn::GetAtt": [stack.get_logical_id(store.stream.node.default_child), "Arn"]},
        "FunctionName": {"Ref": stack.get_logical_id(processor.function.node.default_child)},
        "StartingPosition": "TRIM_HORIZON",
    },
)
functions = template.find_resources("AWS::Lambda::Function")
processor_id = stack.get_logical_id(processor.function.node.default_child)
assert processor_id in functions, f"no function {processor_id} in {sorted(functions)}"
assert functions[processor_id]["Properties"]["Runtime"] == "nodejs24.x", functions[processor_id]["Properties"]

# The assets hold esbuild's bundles: the test handler's, and the simulator's with the SDK client inlined.
assembly = app.synth()
artifact = assembly.get_stack_artifact(stack.artifact_id)
bundles = {}
for logical_id, resource in artifact.template["Resources"].items():
    s3_key = resource["Properties"].get("Code", {}).get("S3Key") if resource["Type"] == "AWS::Lambda::Function" else None
    bundle = pathlib.Path(assembly.directory) / f"asset.{str(s3_key).removesuffix('.zip')}" / "index.js"
    if s3_key and bundle.exists():
        bundles[logical_id] = bundle.read_text()
assert "jsii-test-handler" in bundles.get(processor_id, ""), f"the test handler is not in its asset: {sorted(bundles)}"
assert any(
    "PutRecordsCommand" in code for code in bundles.values()
), "no asset bundles the simulator's @aws-sdk/client-kinesis"

print(json.dumps({"stack": stack.stack_name, "functions": len(functions), "bundles": len(bundles)}))
sys.exit(0)
