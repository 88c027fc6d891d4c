// A function of the user's, written with the SDK the package ships (lambda/functions/sdk), added to the stack by props.
import { apiGatewayHandler, asObject, asString, createFunction } from 'cdk-streaming-patterns/lambda/functions/sdk';

interface Shipment {
  readonly orderId: string;
}
interface ShippingMessages {
  ShipmentRequested: { readonly orderId: string };
}

export const shippingFunction = createFunction<Shipment | undefined, ShippingMessages>({
  type: 'shipping',
  payloads: { ShipmentRequested: (p) => ({ orderId: asString(asObject(p).orderId, 'orderId') }) },
  handlers: {
    ShipmentRequested: (ctx, { id, payload }) => {
      if (ctx.state.get()) return ctx.reject(id, 'the shipment is already requested');
      ctx.state.set({ orderId: payload.orderId });
      ctx.egress('shipping-events', ctx.self.id, 'ShipmentCreated', { orderId: payload.orderId });
    },
  },
});

export const handler = apiGatewayHandler(shippingFunction);
