import * as fc from 'fast-check';
import {
  createExternalSchemaSql,
  createMaterializedViewSql,
  createMaterializedViewStatements,
  dropExternalSchemaSql,
  dropMaterializedViewSql,
  ENABLE_CASE_SENSITIVE_IDENTIFIERS,
  quoteIdentifier,
  quoteLiteral,
} from '../../../lambda/redshift-streaming-sql/sql';
import { propertyParameters } from '../../support/property';
import { parseStatement, tokenize } from './sql-tokens';

const ROLE = 'arn:aws:iam::123456789012:role/RedshiftStreaming';

describe('redshift streaming SQL', () => {
  test('the external schema maps the stream source with the role, and exists once', () => {
    expect(createExternalSchemaSql('kinesis', ROLE)).toBe(
      `CREATE EXTERNAL SCHEMA IF NOT EXISTS "kinesis" FROM KINESIS IAM_ROLE '${ROLE}';`,
    );
  });

  test('the materialized view refreshes itself and keeps only records that parse as JSON', () => {
    expect(
      createMaterializedViewSql({
        viewName: 'telemetry',
        schemaName: 'kinesis',
        streamName: 'telemetry',
        jsonOnly: true,
      }),
    ).toBe(
      'CREATE MATERIALIZED VIEW "public"."telemetry" AUTO REFRESH YES AS SELECT approximate_arrival_timestamp, ' +
        'partition_key, shard_id, sequence_number, JSON_PARSE(kinesis_data) AS payload FROM "kinesis"."telemetry" ' +
        'WHERE CAN_JSON_PARSE(kinesis_data);',
    );
  });

  test('jsonOnly false keeps every record', () => {
    const sql = createMaterializedViewSql({ viewName: 'v', schemaName: 's', streamName: 'x', jsonOnly: false });
    expect(sql).not.toContain('WHERE');
    expect(sql.endsWith('FROM "s"."x";')).toBe(true);
  });

  test('a stream name with hyphens and dots is quoted', () => {
    const sql = createMaterializedViewSql({
      viewName: 'v',
      schemaName: 's',
      streamName: 'my-app.events',
      jsonOnly: true,
    });
    expect(sql).toContain('FROM "s"."my-app.events" WHERE');
  });

  test('a stream name in mixed case turns on case-sensitive identifiers in the same session', () => {
    const spec = { viewName: 'v', schemaName: 's', streamName: 'Orders-Prod', jsonOnly: true };
    expect(createMaterializedViewStatements(spec)).toEqual([
      ENABLE_CASE_SENSITIVE_IDENTIFIERS,
      createMaterializedViewSql(spec),
    ]);
    expect(createMaterializedViewStatements({ ...spec, streamName: 'orders-prod' })).toHaveLength(1);
  });

  test('the drop statements tolerate an object already gone', () => {
    expect(dropMaterializedViewSql('telemetry')).toBe('DROP MATERIALIZED VIEW IF EXISTS "public"."telemetry";');
    expect(dropExternalSchemaSql('kinesis')).toBe('DROP SCHEMA IF EXISTS "kinesis";');
  });

  test.each([
    ['upper case', 'Kinesis'],
    ['a space', 'my schema'],
    ['a hyphen', 'my-schema'],
    ['a leading digit', '1schema'],
    ['a quote', 'a"b'],
    ['128 characters', 'a'.repeat(128)],
    ['nothing', ''],
  ])('a schema name with %s is rejected', (_, name) => {
    expect(() => createExternalSchemaSql(name, ROLE)).toThrow(/schemaName must be 1-127 lower-case letters/);
  });

  test('a view name in upper case is rejected', () => {
    expect(() => dropMaterializedViewSql('Telemetry')).toThrow(/viewName must be .* got 'Telemetry'/);
  });

  test.each([
    ['128 characters', 'a'.repeat(128)],
    ['a slash', 'a/b'],
    ['a quote', 'a"b'],
  ])('a stream name with %s is rejected', (_, streamName) => {
    expect(() => createMaterializedViewSql({ viewName: 'v', schemaName: 's', streamName, jsonOnly: true })).toThrow(
      /the stream name must be 1-127 letters/,
    );
  });

  test('a role ARN that is not one is rejected, whatever it holds', () => {
    expect(() => createExternalSchemaSql('s', "arn:aws:iam::123456789012:role/x'; DROP TABLE t; --")).toThrow(
      /IAM_ROLE must be an IAM role ARN/,
    );
  });

  test('literals double quotes and backslashes', () => {
    expect(quoteLiteral("it's a \\ path")).toBe("'it''s a \\\\ path'");
  });

  test('identifiers double quotes and refuse control characters, emptiness and 128 bytes', () => {
    expect(quoteIdentifier('say "hi"')).toBe('"say ""hi"""');
    expect(() => quoteIdentifier('a\u0000b')).toThrow(/printable characters only/);
    expect(() => quoteIdentifier('')).toThrow(/must not be empty/);
    // 64 two-byte characters: 128 bytes.
    expect(() => quoteIdentifier('é'.repeat(64))).toThrow(/at most 127 bytes, got 128/);
  });

  describe('properties', () => {
    test('any string is either refused as an identifier or reads back as exactly itself', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (name) => {
          let quoted: string;
          try {
            quoted = quoteIdentifier(name);
          } catch {
            // Refused only for what Redshift cannot hold.
            expect(name === '' || Buffer.byteLength(name) > 127 || /[\p{Cc}\p{Cs}\p{Cn}\u2028\u2029]/u.test(name)).toBe(
              true,
            );
            return;
          }
          expect(tokenize(quoted)).toEqual([{ type: 'identifier', value: name, quoted: true }]);
        }),
        propertyParameters(500),
      );
    });

    test('any printable string reads back as exactly itself from a literal', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (value) => {
          fc.pre(!/[\p{Cc}]/u.test(value));
          expect(tokenize(quoteLiteral(value))).toEqual([{ type: 'string', value }]);
        }),
        propertyParameters(500),
      );
    });

    // Names from alphabets that mix what is allowed with what is not, so that both outcomes occur often.
    const from = (alphabet: string) =>
      fc.string({ unit: fc.constantFrom(...alphabet.split('')), minLength: 0, maxLength: 12 });
    const name = fc.oneof(
      { arbitrary: from('abz_$09'), weight: 3 },
      { arbitrary: from('abAZ09_.-'), weight: 2 },
      { arbitrary: from('abz_$09AZ-. "\'\\;é'), weight: 1 },
    );

    test('a view over any names is either refused or names exactly the objects it was given', () => {
      let accepted = 0;
      fc.assert(
        fc.property(name, name, name, fc.boolean(), (viewName, schemaName, streamName, jsonOnly) => {
          let sql: string;
          try {
            sql = createMaterializedViewSql({ viewName, schemaName, streamName, jsonOnly });
          } catch (e) {
            expect(String(e)).toMatch(/must be/);
            return;
          }
          accepted++;
          const parsed = parseStatement(sql);
          expect(parsed).toMatchObject({
            kind: 'createMaterializedView',
            autoRefresh: true,
            view: [
              { value: 'public', quoted: true },
              { value: viewName, quoted: true },
            ],
            source: [
              { value: schemaName, quoted: true },
              { value: streamName, quoted: true },
            ],
          });
          expect(parsed.kind === 'createMaterializedView' && parsed.where.length > 0).toBe(jsonOnly);
        }),
        propertyParameters(500),
      );
      // The generator reaches the accepting side too, or the property says nothing about it.
      expect(accepted).toBeGreaterThan(20);
    });

    test('a schema over any name and role path is either refused or names exactly what it was given', () => {
      fc.assert(
        fc.property(name, name, (schemaName, rolePath) => {
          const roleArn = `arn:aws:iam::123456789012:role/${rolePath}`;
          let sql: string;
          try {
            sql = createExternalSchemaSql(schemaName, roleArn);
          } catch (e) {
            expect(String(e)).toMatch(/must be/);
            return;
          }
          expect(parseStatement(sql)).toEqual({
            kind: 'createExternalSchema',
            ifNotExists: true,
            schema: { value: schemaName, quoted: true },
            roleArn,
          });
          expect(parseStatement(dropExternalSchemaSql(schemaName))).toEqual({
            kind: 'dropSchema',
            ifExists: true,
            schema: { value: schemaName, quoted: true },
          });
        }),
        propertyParameters(500),
      );
    });
  });
});
