import { JsonSchemaObject } from '../ingestion';

/** JSON schemas (draft-04) of the command payloads, matching the parsers of `lambda/functions/{order,inventory}`. */
export class CommandSchemas {
  public static placeOrder(): JsonSchemaObject {
    return {
      type: 'object',
      required: ['customerId', 'lines'],
      additionalProperties: false,
      properties: {
        customerId: { type: 'string', minLength: 1, maxLength: 256 },
        lines: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: {
            type: 'object',
            required: ['sku', 'quantity', 'unitPriceCents'],
            additionalProperties: false,
            properties: {
              sku: { type: 'string', minLength: 1, maxLength: 128 },
              quantity: { type: 'integer', minimum: 1, maximum: 1_000_000 },
              unitPriceCents: { type: 'integer', minimum: 0, maximum: 100_000_000 },
            },
          },
        },
      },
    };
  }

  public static payOrder(): JsonSchemaObject {
    return {
      type: 'object',
      required: ['amountCents'],
      additionalProperties: false,
      properties: { amountCents: { type: 'integer', minimum: 0 } },
    };
  }

  public static shipOrder(): JsonSchemaObject {
    return { type: 'object', additionalProperties: false, properties: {} };
  }

  public static cancelOrder(): JsonSchemaObject {
    return {
      type: 'object',
      additionalProperties: false,
      properties: { reason: { type: 'string', minLength: 1, maxLength: 1024 } },
    };
  }

  public static restockItem(): JsonSchemaObject {
    return {
      type: 'object',
      required: ['quantity'],
      additionalProperties: false,
      properties: { quantity: { type: 'integer', minimum: 1, maximum: 1_000_000_000 } },
    };
  }

  private constructor() {}
}
