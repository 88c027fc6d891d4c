import {
  Address,
  EgressMessage,
  InvalidInvocationError,
  InvocationRequest,
  InvocationResponse,
  OutgoingMessage,
  parseAddress,
  parseInvocation,
  Rejection,
} from './protocol';
import { MAX_NESTING_DEPTH, MAX_STATE_BYTES, nestsDeeperThan } from './json';

/** Kinesis partition keys are 1..256 characters; the runtime refuses a response with a longer egress key. */
export const MAX_PARTITION_KEY_LENGTH = 256;

/**
 * Payload type per message type, e.g. `interface OrderMessages { PlaceOrder: PlaceOrder; PayOrder: PayOrder }`.
 * Any object type whose keys are message types works.
 */
export type MessageMap = object;

/** A message as a handler sees it: the payload has passed the spec's payload check for its type. */
export interface Message<TPayload> {
  readonly id: string;
  readonly type: string;
  readonly from: Address | null;
  readonly payload: TPayload;
}

/** Typed access to the state of the address being invoked. */
export interface StateAccess<TState> {
  /** A copy of the current state (the spec's `initialState` when the address has none). Change it with `set`. */
  get(): TState;
  /** Replaces the state. The value is stored as JSON: it must be JSON-serialisable. */
  set(value: TState): void;
  /** Deletes the state of the address; `get` returns `initialState` afterwards. */
  delete(): void;
  /** Whether the address currently has stored state. */
  exists(): boolean;
}

/** What a handler can do. Effects are buffered and become part of the response only if the message is not rejected. */
export interface Context<TState> {
  /** The address being invoked. */
  readonly self: Address;
  /** Version of the state the request carried (0 for a new address). */
  readonly stateVersion: number;
  readonly state: StateAccess<TState>;
  /** Sends a message to another function (or to itself). */
  send(to: Address, type: string, payload: unknown): void;
  /** Writes a record to a named egress (a Kinesis stream declared in the module definition). */
  egress(name: string, partitionKey: string, type: string, payload: unknown): void;
  /**
   * Rejects the message being handled with `reason`: its state changes, sends and egress records are discarded and
   * the runtime dead-letters it with the reason. Only the message being handled can be rejected.
   */
  reject(messageId: string, reason: string): void;
}

export type MessageHandler<TState, TPayload> = (ctx: Context<TState>, message: Message<TPayload>) => void;

/** Turns a wire payload into a typed one; throws (any Error) when the payload is invalid, which rejects the message. */
export type PayloadParser<TPayload> = (payload: unknown) => TPayload;

/** Checks a stored state (never `null`); throws (any Error, e.g. a `PayloadError`) when it is not a valid state. */
export type StateCheck = (state: unknown) => void;

interface SpecBase<TState, TMessages extends MessageMap> {
  /** The function type this endpoint serves (`address.type` of every request). */
  readonly type: string;
  /** Runtime check per message type; its result is the payload handlers see. */
  readonly payloads: { readonly [K in keyof TMessages & string]: PayloadParser<TMessages[K]> };
  readonly handlers: { readonly [K in keyof TMessages & string]: MessageHandler<TState, TMessages[K]> };
  /**
   * Checks the state a request carries before any message is applied (a failure answers 400: the runtime
   * dead-letters the batch), and every state a handler sets (a failure rejects that message), so handlers only
   * ever see states of the right shape, e.g. `count` an integer and not the string `"10"`. Not called for `null`
   * (no state). Recommended; without it the request state is only checked to be JSON within the limits.
   */
  readonly checkState?: StateCheck;
}

/** `initialState` may be omitted only when the state type admits `undefined` (an address without state). */
export type FunctionSpec<TState, TMessages extends MessageMap> = SpecBase<TState, TMessages> &
  (undefined extends TState ? { readonly initialState?: TState } : { readonly initialState: TState });

/** A remote stateful function: a pure mapping from invocation request to response. */
export interface StatefulFunction {
  readonly type: string;
  /** The message types the function handles. */
  readonly messageTypes: readonly string[];
  /**
   * Validates `body` (a decoded JSON request) and applies its messages in order.
   * Throws `InvalidInvocationError` for a request that does not follow the protocol (HTTP 400).
   */
  invoke(body: unknown): InvocationResponse;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Normalises a value to what it becomes on the wire, so the response, the next request and `get` agree exactly.
 * Rejects values JSON cannot carry instead of silently changing them, values nested deeper than
 * `MAX_NESTING_DEPTH`, and (with `maxBytes`) values whose JSON is larger.
 */
function toJson(value: unknown, what: string, maxBytes?: number): JsonValue {
  const tooDeep = () => new Error(`${what} nests deeper than ${MAX_NESTING_DEPTH} levels (objects/arrays)`);
  // Measured first: JSON.stringify recurses and a deep (or cyclic) value would exhaust the stack.
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) throw tooDeep();
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${what} contains the non-finite number ${v}`);
    if (typeof v === 'bigint') throw new Error(`${what} contains a bigint`);
    return v;
  });
  if (text === undefined) throw new Error(`${what} is not JSON-serialisable (got ${typeof value})`);
  if (maxBytes !== undefined && Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new Error(`${what} is ${Buffer.byteLength(text, 'utf8')} bytes as JSON, over the limit of ${maxBytes}`);
  }
  const json = JSON.parse(text) as JsonValue;
  // toJSON methods can return deeper values than the one measured.
  if (nestsDeeperThan(json, MAX_NESTING_DEPTH)) throw tooDeep();
  return json;
}

function clone<T>(value: JsonValue): T {
  return structuredClone(value) as T;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Creates a remote stateful function.
 *
 * Determinism: the runtime may send the same invocation again (same address, `stateVersion` and messages), for
 * example after restoring a checkpoint or when an earlier answer timed out. The function must then answer exactly
 * as before, so handlers must depend only on the state and the messages: no clock, no randomness, no I/O. Put
 * timestamps and ids in the message payloads instead. `invoke` itself is deterministic: messages are applied in
 * order, each against the state left by the previous ones.
 *
 * Per-message atomicity: a message whose handler throws, whose payload fails its parser, whose type has no handler,
 * or which the handler rejects with `ctx.reject`, leaves no trace (no state change, no sends, no egress) and is
 * listed in `rejected` with the reason. Later messages of the same request are still applied.
 */
export function createFunction<TState, TMessages extends MessageMap>(
  spec: FunctionSpec<TState, TMessages>,
): StatefulFunction {
  const type = spec.type;
  if (typeof type !== 'string' || type.length === 0) {
    throw new Error(`function type must be a non-empty string, got ${JSON.stringify(type)}`);
  }
  // The mapped types above are for callers; at run time both maps are looked up by the wire's message type.
  const handlers = spec.handlers as unknown as Record<string, MessageHandler<TState, unknown>>;
  const payloads = spec.payloads as unknown as Record<string, PayloadParser<unknown>>;
  const messageTypes = Object.keys(handlers);
  for (const t of messageTypes) {
    if (!Object.prototype.hasOwnProperty.call(payloads, t) || typeof payloads[t] !== 'function')
      throw new Error(`function ${type}: message type ${t} has no payload parser`);
  }
  const checkState = spec.checkState;
  const initial: JsonValue | undefined =
    spec.initialState === undefined ? undefined : toJson(spec.initialState, `initial state of ${type}`);
  if (initial !== undefined && initial !== null && checkState) {
    try {
      checkState(initial);
    } catch (e) {
      throw new Error(`function ${type}: initialState fails checkState: ${reasonOf(e)}`);
    }
  }

  const invoke = (body: unknown): InvocationResponse => {
    const request: InvocationRequest = parseInvocation(body);
    if (request.address.type !== type) {
      throw new InvalidInvocationError(
        `this endpoint serves function type ${JSON.stringify(type)}, got address.type ${JSON.stringify(request.address.type)}`,
      );
    }
    // `null` is both "no state" on the wire and a deleted state in the response.
    const where = `${request.address.type}/${request.address.id}`;
    let state: JsonValue | null = null;
    if (request.state !== null) {
      try {
        state = toJson(request.state, `state of ${where}`, MAX_STATE_BYTES);
      } catch (e) {
        throw new InvalidInvocationError(reasonOf(e));
      }
      if (checkState) {
        try {
          checkState(clone(state));
        } catch (e) {
          throw new InvalidInvocationError(`state of ${where} is invalid: ${reasonOf(e)}`);
        }
      }
    }
    const messages: OutgoingMessage[] = [];
    const egress: EgressMessage[] = [];
    const rejected: Rejection[] = [];

    for (const message of request.messages) {
      // Effects of this message, committed only if it is not rejected.
      let draft = state;
      const sent: OutgoingMessage[] = [];
      const emitted: EgressMessage[] = [];
      let rejection: string | undefined;

      const ctx: Context<TState> = {
        self: request.address,
        stateVersion: request.stateVersion,
        state: {
          get: () => {
            if (draft !== null) return clone<TState>(draft);
            return (initial === undefined ? undefined : clone<TState>(initial)) as TState;
          },
          set: (value) => {
            if (value === undefined || value === null) {
              draft = null;
              return;
            }
            const next = toJson(value, 'state', MAX_STATE_BYTES);
            if (checkState) {
              try {
                checkState(clone(next));
              } catch (e) {
                throw new Error(`the state set is invalid: ${reasonOf(e)}`);
              }
            }
            draft = next;
          },
          delete: () => {
            draft = null;
          },
          exists: () => draft !== null,
        },
        send: (to, msgType, payload) => {
          const address = parseAddress(to, 'send() target');
          if (typeof msgType !== 'string' || msgType.length === 0) {
            throw new Error(`send() message type must be a non-empty string, got ${JSON.stringify(msgType)}`);
          }
          sent.push({ to: address, type: msgType, payload: toJson(payload ?? null, `payload of ${msgType}`) });
        },
        egress: (name, partitionKey, msgType, payload) => {
          for (const [what, v] of [
            ['egress name', name],
            ['egress partition key', partitionKey],
            ['egress type', msgType],
          ] as const) {
            if (typeof v !== 'string' || v.length === 0) {
              throw new Error(`${what} must be a non-empty string, got ${JSON.stringify(v)}`);
            }
          }
          if (partitionKey.length > MAX_PARTITION_KEY_LENGTH) {
            throw new Error(
              `egress partition key must have at most ${MAX_PARTITION_KEY_LENGTH} chars, got ${partitionKey.length}`,
            );
          }
          emitted.push({
            egress: name,
            partitionKey,
            type: msgType,
            payload: toJson(payload ?? null, `payload of ${msgType}`),
          });
        },
        reject: (messageId, reason) => {
          if (messageId !== message.id) {
            throw new Error(`reject() can only reject the message being handled (${message.id}), got ${messageId}`);
          }
          rejection ??= String(reason);
        },
      };

      // Own properties only: a message type such as "constructor" must not reach Object.prototype.
      const handler = Object.prototype.hasOwnProperty.call(handlers, message.type) ? handlers[message.type] : undefined;
      if (handler === undefined) {
        rejection = `function ${type} has no handler for message type ${JSON.stringify(message.type)}`;
      } else if (nestsDeeperThan(message.payload, MAX_NESTING_DEPTH)) {
        // Payload parsers may recurse (or print the value); they only ever see payloads within the bound.
        rejection = `invalid ${message.type} payload: nests deeper than ${MAX_NESTING_DEPTH} levels (objects/arrays)`;
      } else {
        let payload: unknown;
        try {
          payload = payloads[message.type](message.payload);
        } catch (e) {
          rejection = `invalid ${message.type} payload: ${reasonOf(e)}`;
        }
        if (rejection === undefined) {
          try {
            handler(ctx, { id: message.id, type: message.type, from: message.from, payload });
          } catch (e) {
            rejection ??= `${message.type} handler failed: ${reasonOf(e)}`;
          }
        }
      }

      if (rejection !== undefined) {
        rejected.push({ messageId: message.id, reason: rejection });
        continue;
      }
      state = draft;
      messages.push(...sent);
      egress.push(...emitted);
    }

    return { state, messages, egress, rejected };
  };

  return { type, messageTypes, invoke };
}
