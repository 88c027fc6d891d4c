/**
 * Wire format of the remote function protocol spoken by the Flink stateful-functions runtime
 * (see `lambda/functions/README.md`). Everything here is plain JSON.
 */

/** Identifies one function instance: its type (`order`) and the id of the entity it owns (`order-1`). */
export interface Address {
  readonly type: string;
  readonly id: string;
}

/** A message delivered to a function: from ingress (`from` null) or from another function. */
export interface InvocationMessage {
  /** Unique id assigned by the runtime; rejections refer to it. */
  readonly id: string;
  readonly type: string;
  readonly from: Address | null;
  readonly payload: unknown;
}

/** Body of the HTTP POST the runtime sends to a function. */
export interface InvocationRequest {
  readonly address: Address;
  /** Stored state of the address, `null` when it has none. */
  readonly state: unknown;
  /** Version of `state`: 0 for a new address, incremented by the runtime on every applied response. */
  readonly stateVersion: number;
  /** Messages to apply, in order. */
  readonly messages: readonly InvocationMessage[];
}

export interface OutgoingMessage {
  readonly to: Address;
  readonly type: string;
  readonly payload: unknown;
}

export interface EgressMessage {
  /** Name of an egress declared in the module definition (`order-events`). */
  readonly egress: string;
  readonly partitionKey: string;
  readonly type: string;
  readonly payload: unknown;
}

export interface Rejection {
  readonly messageId: string;
  readonly reason: string;
}

/** Body of the HTTP 200 answer. */
export interface InvocationResponse {
  /** New state of the address; `null` deletes it. */
  readonly state: unknown;
  readonly messages: readonly OutgoingMessage[];
  readonly egress: readonly EgressMessage[];
  readonly rejected: readonly Rejection[];
}

/** A request that does not follow the protocol; answered with HTTP 400 and `reason`. */
export class InvalidInvocationError extends Error {
  constructor(public readonly reason: string) {
    super(reason);
    this.name = 'InvalidInvocationError';
  }
}

import { MAX_NESTING_DEPTH, nestsDeeperThan, preview } from './json';

const MAX_ID_LENGTH = 1024;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value received, cut to 80 characters; safe for any decoded JSON (deep nesting, huge strings). */
function describe(v: unknown): string {
  return preview(v, 80);
}

function nonEmptyString(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) {
    throw new InvalidInvocationError(
      `${where} must be a non-empty string of at most ${MAX_ID_LENGTH} chars, got ${describe(v)}`,
    );
  }
  return v;
}

/** Checks an address object (`{type, id}`), naming `where` it was found in the error. */
export function parseAddress(v: unknown, where: string): Address {
  if (!isPlainObject(v)) throw new InvalidInvocationError(`${where} must be an object {type, id}, got ${describe(v)}`);
  return { type: nonEmptyString(v.type, `${where}.type`), id: nonEmptyString(v.id, `${where}.id`) };
}

/**
 * Validates a decoded request body against the protocol and returns it typed.
 * Throws `InvalidInvocationError` with the first problem found and the value received.
 */
export function parseInvocation(body: unknown): InvocationRequest {
  if (!isPlainObject(body)) throw new InvalidInvocationError(`request must be a JSON object, got ${describe(body)}`);
  const address = parseAddress(body.address, 'address');
  if (!('state' in body)) throw new InvalidInvocationError('state is required (null for an address without state)');
  // Checked before anything serialises the state: JSON.stringify recurses and would exhaust the stack.
  if (nestsDeeperThan(body.state, MAX_NESTING_DEPTH)) {
    throw new InvalidInvocationError(
      `state of ${address.type}/${address.id} nests deeper than ${MAX_NESTING_DEPTH} levels (objects/arrays)`,
    );
  }
  const stateVersion = body.stateVersion;
  if (typeof stateVersion !== 'number' || !Number.isSafeInteger(stateVersion) || stateVersion < 0) {
    throw new InvalidInvocationError(`stateVersion must be an integer >= 0, got ${describe(stateVersion)}`);
  }
  if (stateVersion === 0 && body.state !== null) {
    throw new InvalidInvocationError(`stateVersion 0 means a new address, but state is ${describe(body.state)}`);
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new InvalidInvocationError(`messages must be a non-empty array, got ${describe(body.messages)}`);
  }
  const seen = new Set<string>();
  const messages = body.messages.map((m: unknown, i: number): InvocationMessage => {
    const where = `messages[${i}]`;
    if (!isPlainObject(m)) throw new InvalidInvocationError(`${where} must be an object, got ${describe(m)}`);
    const id = nonEmptyString(m.id, `${where}.id`);
    if (seen.has(id)) throw new InvalidInvocationError(`${where}.id ${describe(id)} appears more than once`);
    seen.add(id);
    const type = nonEmptyString(m.type, `${where}.type`);
    const from = m.from === undefined || m.from === null ? null : parseAddress(m.from, `${where}.from`);
    return { id, type, from, payload: m.payload === undefined ? null : m.payload };
  });
  return { address, state: body.state, stateVersion, messages };
}
