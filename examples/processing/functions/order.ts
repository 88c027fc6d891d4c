import { apiGatewayHandler, asObject, asString, createFunction } from 'cdk-streaming-patterns/lambda/functions/sdk';

interface Order {
  readonly customerId: string;
}
interface OrderMessages {
  PlaceOrder: { readonly customerId: string };
}

export const orderFunction = createFunction<Order | undefined, OrderMessages>({
  type: 'order',
  payloads: { PlaceOrder: (p) => ({ customerId: asString(asObject(p).customerId, 'customerId') }) },
  handlers: {
    PlaceOrder: (ctx, { id, payload }) => {
      if (ctx.state.get()) return ctx.reject(id, 'the order exists');
      ctx.state.set({ customerId: payload.customerId });
      ctx.egress('order-events', ctx.self.id, 'OrderPlaced', payload);
    },
  },
});

export const handler = apiGatewayHandler(orderFunction);
