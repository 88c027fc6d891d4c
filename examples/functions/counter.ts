import { apiGatewayHandler, asInteger, asObject, createFunction } from 'cdk-streaming-patterns/lambda/functions/sdk';

interface Counter {
  readonly count: number;
}
interface CounterMessages {
  Add: { readonly by: number };
}

export const counterFunction = createFunction<Counter, CounterMessages>({
  type: 'counter',
  initialState: { count: 0 },
  payloads: { Add: (p) => ({ by: asInteger(asObject(p).by, 'by', 1, 100) }) },
  handlers: {
    Add: (ctx, { id, payload }) => {
      const next = ctx.state.get().count + payload.by;
      if (next > 1000) return ctx.reject(id, `count would exceed 1000 (is ${next - payload.by})`);
      ctx.state.set({ count: next });
      ctx.egress('counter-events', ctx.self.id, 'CounterChanged', { count: next });
    },
  },
});

export const handler = apiGatewayHandler(counterFunction);
