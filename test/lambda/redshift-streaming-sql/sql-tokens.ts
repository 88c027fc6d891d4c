/**
 * A tokenizer for the SQL the handler generates, written from Redshift's lexical rules rather than from the
 * generator: delimited identifiers in double quotes with `""` for a quote, string literals in single quotes with
 * `''` for a quote and `\` escaping the next character, `:name` parameters, words, numbers and punctuation. Used by
 * the property tests (what the generator writes must read back) and by the fake Data API server (what it runs).
 */
export type Token =
  | { readonly type: 'identifier'; readonly value: string; readonly quoted: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'parameter'; readonly value: string }
  | { readonly type: 'number'; readonly value: string }
  | { readonly type: 'punctuation'; readonly value: string };

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new Error(`unterminated identifier in ${sql}`);
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += sql[i++];
      }
      if (value === '') throw new Error(`zero-length delimited identifier in ${sql}`);
      tokens.push({ type: 'identifier', value, quoted: true });
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new Error(`unterminated literal in ${sql}`);
        if (sql[i] === '\\') {
          if (i + 1 >= sql.length) throw new Error(`dangling escape in ${sql}`);
          value += sql[i + 1];
          i += 2;
          continue;
        }
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += sql[i++];
      }
      tokens.push({ type: 'string', value });
    } else if (c === ':' && /[a-zA-Z_]/.test(sql[i + 1] ?? '')) {
      const m = /^:[a-zA-Z_][a-zA-Z0-9_]*/.exec(sql.slice(i))!;
      tokens.push({ type: 'parameter', value: m[0].slice(1) });
      i += m[0].length;
    } else if (/[a-zA-Z_]/.test(c)) {
      const m = /^[a-zA-Z_][a-zA-Z0-9_$]*/.exec(sql.slice(i))!;
      tokens.push({ type: 'identifier', value: m[0], quoted: false });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(sql.slice(i))!;
      tokens.push({ type: 'number', value: m[0] });
      i += m[0].length;
    } else if ('.,;()=*'.includes(c)) {
      tokens.push({ type: 'punctuation', value: c });
      i++;
    } else {
      throw new Error(`unexpected character ${JSON.stringify(c)} at ${i} in ${sql}`);
    }
  }
  return tokens;
}

/** A cursor over tokens that reads keywords (case-insensitive), names and literals, or throws. */
export class TokenReader {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  /** Whether the next tokens are these keywords (unquoted identifiers, any case); consumes them if so. */
  accept(...keywords: string[]): boolean {
    for (let k = 0; k < keywords.length; k++) {
      const t = this.tokens[this.i + k];
      if (!t || t.type !== 'identifier' || t.quoted || t.value.toUpperCase() !== keywords[k]) return false;
    }
    this.i += keywords.length;
    return true;
  }

  expect(...keywords: string[]): void {
    if (!this.accept(...keywords)) throw new Error(`expected ${keywords.join(' ')} at token ${this.i}`);
  }

  acceptPunctuation(p: string): boolean {
    const t = this.tokens[this.i];
    if (t?.type === 'punctuation' && t.value === p) {
      this.i++;
      return true;
    }
    return false;
  }

  expectPunctuation(p: string): void {
    if (!this.acceptPunctuation(p)) throw new Error(`expected '${p}' at token ${this.i}`);
  }

  /** A name, quoted or not. */
  name(): { value: string; quoted: boolean } {
    const t = this.tokens[this.i++];
    if (t?.type !== 'identifier') throw new Error(`expected a name at token ${this.i - 1}`);
    return { value: t.value, quoted: t.quoted };
  }

  string(): string {
    const t = this.tokens[this.i++];
    if (t?.type !== 'string') throw new Error(`expected a string literal at token ${this.i - 1}`);
    return t.value;
  }

  /** The next token, without consuming it. */
  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new Error('unexpected end of statement');
    return t;
  }

  rest(): Token[] {
    const out = this.tokens.slice(this.i);
    this.i = this.tokens.length;
    return out;
  }
}

export interface Name {
  readonly value: string;
  readonly quoted: boolean;
}

/** The statements the handler sends, parsed. */
export type Statement =
  | {
      readonly kind: 'createExternalSchema';
      readonly ifNotExists: boolean;
      readonly schema: Name;
      readonly roleArn: string;
    }
  | { readonly kind: 'dropSchema'; readonly ifExists: boolean; readonly schema: Name }
  | {
      readonly kind: 'createMaterializedView';
      readonly view: readonly Name[];
      readonly autoRefresh: boolean;
      readonly columns: readonly Token[];
      readonly source: readonly Name[];
      readonly where: readonly Token[];
    }
  | { readonly kind: 'dropMaterializedView'; readonly ifExists: boolean; readonly view: readonly Name[] }
  | { readonly kind: 'set'; readonly name: string; readonly value: string }
  | { readonly kind: 'schemaExists'; readonly parameter: string };

function qualified(r: TokenReader): Name[] {
  const names = [r.name()];
  while (r.acceptPunctuation('.')) names.push(r.name());
  return names;
}

function end(r: TokenReader): void {
  r.acceptPunctuation(';');
  if (!r.done) throw new Error(`unexpected ${JSON.stringify(r.peek())} after the statement`);
}

/** Parses one statement of the handler's dialect, or throws. */
export function parseStatement(sql: string): Statement {
  const r = new TokenReader(tokenize(sql));
  if (r.accept('CREATE', 'EXTERNAL', 'SCHEMA')) {
    const ifNotExists = r.accept('IF', 'NOT', 'EXISTS');
    const schema = r.name();
    r.expect('FROM', 'KINESIS', 'IAM_ROLE');
    const roleArn = r.string();
    end(r);
    return { kind: 'createExternalSchema', ifNotExists, schema, roleArn };
  }
  if (r.accept('DROP', 'SCHEMA')) {
    const ifExists = r.accept('IF', 'EXISTS');
    const schema = r.name();
    end(r);
    return { kind: 'dropSchema', ifExists, schema };
  }
  if (r.accept('CREATE', 'MATERIALIZED', 'VIEW')) {
    const view = qualified(r);
    const autoRefresh = r.accept('AUTO', 'REFRESH', 'YES');
    if (!autoRefresh) r.accept('AUTO', 'REFRESH', 'NO');
    r.expect('AS', 'SELECT');
    const columns: Token[] = [];
    while (!r.accept('FROM')) columns.push(r.next());
    const source = qualified(r);
    const where: Token[] = [];
    if (r.accept('WHERE')) {
      while (r.peek() && !(r.peek()!.type === 'punctuation' && r.peek()!.value === ';')) where.push(r.next());
    }
    end(r);
    return { kind: 'createMaterializedView', view, autoRefresh, columns, source, where };
  }
  if (r.accept('DROP', 'MATERIALIZED', 'VIEW')) {
    const ifExists = r.accept('IF', 'EXISTS');
    const view = qualified(r);
    end(r);
    return { kind: 'dropMaterializedView', ifExists, view };
  }
  if (r.accept('SET')) {
    const name = r.name().value;
    r.expect('TO');
    const value = r.next().value;
    end(r);
    return { kind: 'set', name, value };
  }
  if (r.accept('SELECT')) {
    r.next();
    r.expect('FROM', 'PG_NAMESPACE', 'WHERE', 'NSPNAME');
    r.expectPunctuation('=');
    const t = r.next();
    if (t.type !== 'parameter') throw new Error('expected a parameter');
    end(r);
    return { kind: 'schemaExists', parameter: t.value };
  }
  throw new Error(`unsupported statement: ${sql}`);
}
