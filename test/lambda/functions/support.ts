import type { Address, InvocationMessage, InvocationRequest } from '../../../lambda/functions/sdk';

let counter = 0;

/** A protocol message with a fresh id (ids only need to be unique within a request). */
export function msg(type: string, payload: unknown, from: Address | null = null, id?: string): InvocationMessage {
  counter += 1;
  return { id: id ?? `m-${counter}`, type, from, payload };
}

export function request(
  address: Address,
  state: unknown,
  stateVersion: number,
  messages: InvocationMessage[],
): InvocationRequest {
  return { address, state, stateVersion, messages };
}
