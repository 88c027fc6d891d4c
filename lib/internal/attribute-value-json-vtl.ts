/**
 * API Gateway mapping-template (VTL) code that turns DynamoDB attribute values, as DynamoDB's JSON API returns them
 * (`{"S": "a"}`, `{"M": {"k": {"N": "1"}}}`, ...), into plain JSON.
 *
 * Velocity has no recursion API Gateway documents, and unrolling the conversion to a fixed depth made every read
 * method's template ~230 KB, past CloudFormation's 1 MB template limit for a stack with two read models. This walks
 * the value iteratively instead: an explicit stack of frames (one per open map or list, holding its position) and a
 * bounded `#foreach` that takes one step per element, so the template is the same few KB whatever the depth.
 */

/**
 * Values nested deeper than this (top-level attributes of an item are at depth 1) come back as their AttributeValue
 * JSON, whole, instead of plain JSON. DynamoDB itself stores at most 32 levels of nesting.
 */
export const ATTRIBUTE_VALUE_JSON_MAX_DEPTH = 32;

/**
 * Steps of the walk: one per element (map entry, list element) and one per closing bracket, in `#foreach` loops of
 * at most 1,000 iterations each (API Gateway's cap on a `#foreach`). 1,000 × 1,000 steps cover any response
 * DynamoDB can return: a GetItem item is at most 400 KB, a Query page at most 1 MB, and every element costs at least
 * 2 bytes there. The loops idle through at most 2,000 cheap iterations after the walk ends.
 */
const STEP_CHUNK = 1000;
const STEP_CHUNKS = 1000;

export interface AttributeValueJsonVtlOptions {
  /** VTL expression of the attribute value to render, e.g. `{"M": $item}` for the item `$item`. */
  readonly value: string;
  /** Depth of `value` itself: an item wrapped as a map is at 0, so that its attributes are at 1. @default 0 */
  readonly depth?: number;
  /** Values deeper than this render as their AttributeValue JSON. @default ATTRIBUTE_VALUE_JSON_MAX_DEPTH */
  readonly maxDepth?: number;
}

/**
 * VTL expression of `expr` escaped for a JSON string. `$util.escapeJavaScript` also escapes `'` as `\'`, which JSON
 * does not allow, so that escape is undone (the regex matches only an escaping backslash: a literal one is `\\`).
 */
export function jsonStringContentVtl(expr: string): string {
  return `$util.escapeJavaScript(${expr}).replaceAll("\\\\'","'")`;
}

/**
 * VTL that prints the attribute value `options.value` as plain JSON: S as a string, N as a number, BOOL, NULL as
 * null, B as its base64 string, SS/NS/BS as arrays, M as an object, L as an array; an unknown type as null. Maps
 * and lists deeper than `maxDepth`, and scalars there, print as their AttributeValue JSON instead. It sets VTL
 * variables named `$avj...` (VTL has no local scope). The output has no whitespace.
 *
 * A map's keys and a set's members are read with one `#foreach` each, so under API Gateway's cap of 1,000
 * iterations a map of more entries or a set of more members is cut at 1,000; list elements are indexed, not looped.
 */
export function attributeValueJsonVtl(options: AttributeValueJsonVtlOptions): string {
  const depth = options.depth ?? 0;
  const maxDepth = options.maxDepth ?? ATTRIBUTE_VALUE_JSON_MAX_DEPTH;
  for (const [name, value] of [
    ['depth', depth],
    ['maxDepth', maxDepth],
  ] as const) {
    if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${value}`);
  }
  // A frame is an open map or list: "c" its elements (a map's keys in "k"), "i" the next one, "n" their count,
  // "d" their depth, "e" the text that closes it. The root is a frame of one element that prints no brackets.
  const push =
    '#if($avjTop < $avjStack.size())#set($avjQ = $avjStack.set($avjTop, $avjF))' +
    '#else#set($avjQ = $avjStack.add($avjF))#end#set($avjTop = $avjTop + 1)';
  const step = [
    '#set($avjT = $avjTop - 1)#set($avjF = $avjStack.get($avjT))',
    '#if($avjF.i < $avjF.n)',
    '#if($avjF.i > 0),#end',
    `#if($avjF.m)#set($avjK = $avjF.k.get($avjF.i))"${jsonStringContentVtl('$avjK')}":`,
    '#set($avjV = $avjF.c.get($avjK))#else#set($avjV = $avjF.c.get($avjF.i))#end',
    '#set($avjI = $avjF.i + 1)#set($avjQ = $avjF.put("i", $avjI))#set($avjD = $avjF.d)',
    `#if($avjD > ${maxDepth})${renderValue(true, push)}#else${renderValue(false, push)}#end`,
    '#else$avjF.e#set($avjTop = $avjT)#end',
  ].join('');
  return [
    `#set($avjV = ${options.value})#set($avjStack = [])#set($avjTop = 0)`,
    `#set($avjF = {"c": [$avjV], "i": 0, "n": 1, "d": ${depth}, "m": false, "e": ""})${push}`,
    `#foreach($avjO in [1..${STEP_CHUNKS}])#if($avjTop > 0)`,
    `#foreach($avjP in [1..${STEP_CHUNK}])#if($avjTop > 0)${step}#end#end`,
    '#end#end',
  ].join('');
}

/**
 * Prints `$avjV` (at depth `$avjD`): a scalar whole, a map or list as its opening bracket and a pushed frame.
 * `raw` prints the AttributeValue JSON rather than plain JSON.
 */
function renderValue(raw: boolean, push: string): string {
  const wrap = (type: string, json: string) => (raw ? `{"${type}":${json}}` : json);
  const str = (expr: string) => `"${jsonStringContentVtl(expr)}"`;
  // A raw NS keeps DynamoDB's number strings; N values come from DynamoDB, which only stores valid numbers.
  const set = (type: string, quote: boolean) =>
    wrap(
      type,
      `[#set($avjS = "")#foreach($avjX in $avjV.${type})$avjS${quote ? str('$avjX') : '$avjX'}#set($avjS = ",")#end]`,
    );
  const frame = (elements: string, keys: boolean, close: string) =>
    `#set($avjE = $avjD + 1)` +
    (keys
      ? `#set($avjKeys = [])#foreach($avjX in ${elements}.keySet())#set($avjQ = $avjKeys.add($avjX))#end` +
        `#set($avjN = $avjKeys.size())` +
        `#set($avjF = {"c": ${elements}, "k": $avjKeys, "i": 0, "n": $avjN, "d": $avjE, "m": true, "e": "${close}"})`
      : `#set($avjN = ${elements}.size())` +
        `#set($avjF = {"c": ${elements}, "i": 0, "n": $avjN, "d": $avjE, "m": false, "e": "${close}"})`) +
    push;
  return [
    `#if($avjV.containsKey("S"))${wrap('S', str('$avjV.S'))}`,
    `#elseif($avjV.containsKey("N"))${raw ? wrap('N', '"$avjV.N"') : '$avjV.N'}`,
    `#elseif($avjV.containsKey("BOOL"))${wrap('BOOL', '$avjV.BOOL')}`,
    `#elseif($avjV.containsKey("NULL"))${raw ? wrap('NULL', 'true') : 'null'}`,
    `#elseif($avjV.containsKey("B"))${wrap('B', '"$avjV.B"')}`,
    `#elseif($avjV.containsKey("SS"))${set('SS', true)}`,
    `#elseif($avjV.containsKey("NS"))${set('NS', raw)}`,
    `#elseif($avjV.containsKey("BS"))${set('BS', true)}`,
    `#elseif($avjV.containsKey("M"))${raw ? '{"M":{' : '{'}${frame('$avjV.M', true, raw ? '}}' : '}')}`,
    `#elseif($avjV.containsKey("L"))${raw ? '{"L":[' : '['}${frame('$avjV.L', false, raw ? ']}' : ']')}`,
    '#{else}null#end',
  ].join('');
}
