// The TypeScript handler of the Python test app: self-contained, as a Python project has no node_modules to import
// from. The library bundles it with the esbuild it ships.
interface KinesisBatch {
  Records: { kinesis: { data: string } }[];
}

export async function handler(event: KinesisBatch): Promise<{ batchItemFailures: [] }> {
  const orders = event.Records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')));
  console.log(JSON.stringify({ message: 'jsii-test-handler', count: orders.length }));
  return { batchItemFailures: [] };
}
