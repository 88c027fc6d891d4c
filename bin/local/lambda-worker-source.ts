/**
 * The source of the Lambda worker process (run with `node -e`, no TypeScript toolchain needed at run time). It
 * speaks JSON over the IPC channel:
 * - parent → worker `{ type: 'init', file, exportName, env }`: replaces process.env, requires the bundle;
 *   worker → parent `{ type: 'ready' }` or `{ type: 'init-error', error }`.
 * - parent → worker `{ type: 'invoke', id, event, context }`; worker → parent `{ type: 'result', id, result }` or
 *   `{ type: 'error', id, error: { errorType, errorMessage, trace } }`.
 * Handlers may be async or take a callback (three parameters), as the Node.js runtime allows.
 */
export const WORKER_SOURCE = String.raw`
'use strict';
let handler;
const toError = (e) => ({
  errorType: (e && (e.name || (e.constructor && e.constructor.name))) || 'Error',
  errorMessage: e && e.message !== undefined ? String(e.message) : String(e),
  trace: e && e.stack ? String(e.stack).split('\n') : [],
});
process.on('uncaughtException', (e) => {
  process.send({ type: 'crash', error: toError(e) });
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  process.send({ type: 'crash', error: toError(e) });
  process.exit(1);
});
process.on('message', async (msg) => {
  if (msg.type === 'init') {
    try {
      for (const k of Object.keys(process.env)) delete process.env[k];
      Object.assign(process.env, msg.env);
      const mod = require(msg.file);
      handler = mod[msg.exportName];
      if (typeof handler !== 'function') throw new Error(msg.file + ' does not export a function ' + msg.exportName);
      process.send({ type: 'ready' });
    } catch (e) {
      process.send({ type: 'init-error', error: toError(e) });
    }
    return;
  }
  if (msg.type === 'invoke') {
    const c = msg.context;
    const context = {
      ...c,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, c.deadline - Date.now()),
      done: () => {},
      succeed: () => {},
      fail: () => {},
    };
    try {
      let result;
      if (handler.length >= 3) {
        result = await new Promise((resolve, reject) => {
          const r = handler(msg.event, context, (err, value) => (err ? reject(err) : resolve(value)));
          if (r && typeof r.then === 'function') r.then(resolve, reject);
        });
      } else {
        result = await handler(msg.event, context);
      }
      process.send({ type: 'result', id: msg.id, result: result === undefined ? null : result });
    } catch (e) {
      process.send({ type: 'error', id: msg.id, error: toError(e) });
    }
  }
});
`;
