// The reply of a Lambda-backed CloudFormation custom resource, shared by the library's deploy-time handlers.

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Sends the outcome to CloudFormation's pre-signed response URL. */
export async function sendResponse(responseUrl: string, response: CustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const result = await fetch(responseUrl, {
    method: 'PUT',
    // The pre-signed URL is signed without a content type.
    headers: { 'Content-Type': '', 'Content-Length': String(Buffer.byteLength(body)) },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  if (!result.ok) throw new Error(`CloudFormation response URL answered ${result.status}: ${await result.text()}`);
}
