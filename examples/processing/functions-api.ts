import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { StatefulFunctionsApi } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Functions');
const api = new StatefulFunctionsApi(stack, 'Functions');
export const order = api.addFunction({
  functionType: 'order',
  entry: path.join(__dirname, 'functions/order.ts'),
  egressNames: ['order-events'],
});
// order.endpointUrl goes into module.json; order.grantInvoke(role) allows exactly this method.
