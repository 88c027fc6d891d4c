/**
 * Renders API Gateway mapping templates with velocityjs and a model of the API Gateway variables they use
 * (`$input`, `$util`, `$context`), so tests check what the deployed templates produce. Java semantics the templates
 * rely on (`String.replaceAll` with a regex, Map/List `get`/`keySet`/`size`, `containsKey`, and the return values of
 * `List.add`, `List.set` and `Map.put`) are emulated.
 */
import { Compile, parse } from 'velocityjs';

export interface RequestModel {
  /** Raw request (or integration response) body. */
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly querystring?: Record<string, string>;
  readonly pathParams?: Record<string, string>;
  readonly requestId?: string;
  /** CLF format, as API Gateway sets `$context.requestTime`. */
  readonly requestTime?: string;
}

export interface Rendered {
  readonly output: string;
  /** `$context.responseOverride.status` when the template set it. */
  readonly statusOverride?: number;
}

/** Evaluates the JSONPath subset API Gateway templates use: `$`, `$.a.b`, `$.a[0].b`. */
export function jsonPath(root: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw new Error(`unsupported JSONPath ${path}`);
  const tokens = path
    .slice(1)
    .split(/\.|\[(\d+)\]/)
    .filter((t) => t !== undefined && t !== '');
  let current: unknown = root;
  for (const token of tokens) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}

/** Java's `StringEscapeUtils.escapeJavaScript` (commons-lang 2), which `$util.escapeJavaScript` uses. */
export function escapeJavaScript(value: unknown): string {
  const s = value === undefined || value === null ? '' : String(value);
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "'" || ch === '\\' || ch === '/') out += '\\' + ch;
    else if (ch === '\b') out += '\\b';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\r') out += '\\r';
    else if (code < 32 || code > 0x7f) {
      // Java escapes UTF-16 code units.
      for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
    } else out += ch;
  }
  return out;
}

const parsedTemplates = new Map<string, ReturnType<typeof parse>>();

export function renderTemplate(template: string, request: RequestModel = {}): Rendered {
  const parsed: unknown = request.body === undefined || request.body === '' ? undefined : JSON.parse(request.body);
  const headers = request.headers ?? {};
  const querystring = request.querystring ?? {};
  const pathParams = request.pathParams ?? {};
  const lowerHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const context = {
    requestId: request.requestId ?? 'c0ffee00-0000-4000-8000-000000000001',
    requestTime: request.requestTime ?? '29/Nov/2026:08:00:00 +0000',
    responseOverride: {} as { status?: number },
  };
  const input = {
    body: request.body ?? '',
    json: (path: string) => JSON.stringify(jsonPath(parsed, path) ?? null),
    path: (path: string) => jsonPath(parsed, path),
    params: (name?: string) => {
      if (name === undefined) return { header: headers, querystring, path: pathParams };
      return pathParams[name] ?? querystring[name] ?? lowerHeaders[name.toLowerCase()] ?? '';
    },
  };
  const util = {
    escapeJavaScript,
    base64Encode: (s: unknown) => Buffer.from(String(s), 'utf8').toString('base64'),
    base64Decode: (s: string) => Buffer.from(s, 'base64').toString('utf8'),
    urlEncode: (s: string) => encodeURIComponent(s),
    urlDecode: (s: string) => decodeURIComponent(s),
  };
  // Parsing is most of a render's time; property tests render one template hundreds of times.
  let ast = parsedTemplates.get(template);
  if (!ast) {
    ast = parse(template);
    parsedTemplates.set(template, ast);
  }
  const output = new Compile(ast, {
    escape: false,
    customMethodHandlers: [
      {
        uid: 'java-replaceAll',
        match: ({ property, context: c }) => property === 'replaceAll' && typeof c === 'string',
        resolve: ({ context: c, params }) => (c as string).replace(new RegExp(params[0], 'g'), params[1]),
      },
      {
        uid: 'java-matches',
        match: ({ property, context: c }) => property === 'matches' && typeof c === 'string',
        resolve: ({ context: c, params }) => new RegExp(`^(?:${params[0]})$`).test(c as string),
      },
      {
        // List.add(e) returns true (velocityjs: the new length); List.add(i, e) inserts.
        uid: 'java-List.add',
        match: ({ property, context: c }) => property === 'add' && Array.isArray(c),
        resolve: ({ context: c, params }) => {
          const list = c as unknown[];
          if (params.length === 2) list.splice(javaIndex(list, params[0], true), 0, params[1]);
          else list.push(params[0]);
          return true;
        },
      },
      {
        // List.set(i, e) returns the element it replaced (velocityjs: '').
        uid: 'java-List.set',
        match: ({ property, context: c }) => property === 'set' && Array.isArray(c),
        resolve: ({ context: c, params }) => {
          const list = c as unknown[];
          const index = javaIndex(list, params[0], false);
          const previous = list[index];
          list[index] = params[1];
          return previous;
        },
      },
      {
        // Map.put(k, v) returns the previous value (velocityjs: the new one).
        uid: 'java-Map.put',
        match: ({ property, context: c }) =>
          property === 'put' && typeof c === 'object' && c !== null && !Array.isArray(c),
        resolve: ({ context: c, params }) => {
          const map = c as Record<string, unknown>;
          const key = String(params[0]);
          const previous = Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
          map[key] = params[1];
          return previous;
        },
      },
      {
        uid: 'java-containsKey',
        match: ({ property, context: c }) => property === 'containsKey' && typeof c === 'object' && c !== null,
        resolve: ({ context: c, params }) => Object.prototype.hasOwnProperty.call(c, params[0]),
      },
    ],
  }).render({ input, util, context }, {});
  return { output, statusOverride: context.responseOverride.status };
}

/** A List index as Java checks it: IndexOutOfBoundsException instead of JavaScript's silent growth. */
function javaIndex(list: unknown[], index: unknown, inclusiveEnd: boolean): number {
  const last = inclusiveEnd ? list.length : list.length - 1;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > last) {
    throw new Error(`IndexOutOfBoundsException: index ${String(index)}, size ${list.length}`);
  }
  return index;
}

/** Renders and parses the output as JSON, failing the test with the output when it is not valid JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests navigate the parsed output freely
export function renderJson(template: string, request: RequestModel = {}): { json: any; statusOverride?: number } {
  const rendered = renderTemplate(template, request);
  try {
    return { json: JSON.parse(rendered.output), statusOverride: rendered.statusOverride };
  } catch (e) {
    throw new Error(`template output is not JSON (${(e as Error).message}):\n${rendered.output}`);
  }
}
