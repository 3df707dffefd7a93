// What a condition reads and compares, and what a script writes, read from Python tokens the way
// app/engine/contract.py reads them from the syntax tree (deploy's BPMN↔form contract).
import { tokenize, unquote } from "./python.js";

/** A script assigns something other than a constant: any value may result. */
export const ANY = null;
/** A constant that is not text (a number, True, None …): it never equals a compared text. */
export const NOT_TEXT = Symbol("not text");

const OPENING = ["(", "[", "{"];
const CLOSING = [")", "]", "}"];
// Tokens around `name == 'x'` that leave it a comparison of its own (not part of a longer one).
const BEFORE_COMPARE = new Set([undefined, "(", "[", "{", ",", ":", "and", "or", "not", "if", "else"]);
const AFTER_COMPARE = new Set([undefined, ")", "]", "}", ",", ":", "and", "or", "if", "else", "for"]);
const AUGMENTED = new Set([
  "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "<<=", ">>=", "&=", "|=", "^=",
]);
const COMPOUND = new Set([
  "if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "async",
]);

function safeTokens(source) {
  try {
    return tokenize(source);
  } catch {
    return null;
  }
}

function textOf(token) {
  return token ? token.text : undefined;
}

/** The value of one literal token: text, NOT_TEXT, or undefined (not a plain literal). */
function constantOf(token) {
  if (!token) return undefined;
  if (token.kind === "number" || ["True", "False", "None"].includes(token.text)) return NOT_TEXT;
  if (token.kind !== "string" || token.prefix.includes("f")) return undefined;
  return token.prefix.includes("b") ? NOT_TEXT : unquote(token);
}

/** Bracket depth before each token (an opening bracket counts inside, a closing one outside). */
function depths(tokens) {
  let depth = 0;
  return tokens.map((token) => {
    if (CLOSING.includes(token.text)) depth -= 1;
    const at = depth;
    if (OPENING.includes(token.text)) depth += 1;
    return at;
  });
}

/** Index of the bracket closing the one opened at `open`. */
function closing(tokens, open) {
  const level = depths(tokens);
  const found = tokens.findIndex((token, i) => i > open && level[i] === level[open]);
  return found < 0 ? tokens.length - 1 : found;
}

/** The plain texts of a tuple, list or set literal spanning tokens[open..close], or null. */
function collectionTexts(tokens, open, close) {
  const inner = tokens.slice(open + 1, close);
  const level = depths(inner);
  const items = [[]];
  for (const [i, token] of inner.entries()) {
    if (level[i] === 0 && token.text === ":") return null; // a dict
    if (level[i] === 0 && token.text === ",") items.push([]);
    else items[items.length - 1].push(token);
  }
  if (tokens[open].text === "{" && !inner.length) return null; // {} is a dict
  if (tokens[open].text === "(" && items.length < 2 && inner.length) return null; // ("x") is text
  return items.map((item) => (item.length === 1 ? constantOf(item[0]) : undefined))
    .filter((value) => typeof value === "string");
}

/** { reads, compares } of a condition, as contract.py's _read_names and _comparisons. */
export function conditionNames(source) {
  const tokens = safeTokens(source.trim());
  if (!tokens) return null;
  const bound = new Set();
  const skipped = new Set(); // attribute names, keyword arguments, lambda parameters
  tokens.forEach((token, i) => {
    if (token.kind !== "name") return;
    if (textOf(tokens[i - 1]) === ".") skipped.add(i);
    if (["=", ":="].includes(textOf(tokens[i + 1]))) skipped.add(i);
  });
  tokens.forEach((token, i) => {
    if (token.text !== "for" && token.text !== "lambda") return;
    const end = token.text === "for" ? "in" : ":";
    for (let j = i + 1; j < tokens.length && tokens[j].text !== end; j += 1) {
      if (token.text === "lambda") skipped.add(j);
      else if (tokens[j].kind === "name") bound.add(tokens[j].text);
    }
  });
  const isName = (i) => textOf(tokens[i]) !== undefined && tokens[i].kind === "name" && !skipped.has(i);
  const reads = new Set(
    tokens.filter((token, i) => isName(i) && !bound.has(token.text)).map((token) => token.text),
  );
  return { reads, compares: comparisons(tokens, isName) };
}

function comparisons(tokens, isName) {
  const found = [];
  const standsAlone = (first, last) =>
    BEFORE_COMPARE.has(textOf(tokens[first - 1])) && AFTER_COMPARE.has(textOf(tokens[last + 1]));
  tokens.forEach((token, i) => {
    if ((token.text === "==" || token.text === "!=") && standsAlone(i - 1, i + 1)) {
      const [nameAt, valueAt] = isName(i + 1) ? [i + 1, i - 1] : [i - 1, i + 1];
      const value = constantOf(tokens[valueAt]);
      if (isName(nameAt) && typeof value === "string") found.push([tokens[nameAt].text, value]);
    }
    if (token.text === "in" && OPENING.includes(textOf(tokens[i + 1]))) {
      const nameAt = textOf(tokens[i - 1]) === "not" ? i - 2 : i - 1;
      const close = closing(tokens, i + 1);
      if (!isName(nameAt) || !standsAlone(nameAt, close)) return;
      const texts = collectionTexts(tokens, i + 1, close) || [];
      for (const text of texts) found.push([tokens[nameAt].text, text]);
    }
  });
  return found;
}

function statements(tokens) {
  const level = depths(tokens);
  const found = [[]];
  for (const [i, token] of tokens.entries()) {
    if (level[i] === 0 && (token.kind === "newline" || token.text === ";")) found.push([]);
    else found[found.length - 1].push(token);
  }
  return found.filter((statement) => statement.length);
}

/** The body of a one-line compound statement (`if x: y = 1` → `y = 1`). */
function withoutHeader(statement) {
  let rest = statement;
  while (rest.length && COMPOUND.has(rest[0].text)) {
    const level = depths(rest);
    const colon = rest.findIndex((token, i) => level[i] === 0 && token.text === ":");
    if (colon < 0) return [];
    rest = rest.slice(colon + 1);
  }
  return rest;
}

/** Name → the constants a script assigns it (ANY among them: any value), as contract.assignments. */
export function scriptAssignments(source) {
  const tokens = safeTokens(source);
  const written = new Map();
  const add = (name, value) => written.set(name, (written.get(name) || new Set()).add(value));
  for (const statement of statements(tokens || []).map(withoutHeader)) {
    const [first, second] = statement;
    if (!first || first.kind !== "name") continue;
    if (second && (second.text === ":" || AUGMENTED.has(second.text))) {
      add(first.text, ANY);
      continue;
    }
    const level = depths(statement);
    const equals = statement.flatMap((token, i) => (level[i] === 0 && token.text === "=" ? [i] : []));
    const lastEquals = equals[equals.length - 1];
    const inLambda = statement.slice(0, lastEquals).some((token) => token.text === "lambda");
    if (!equals.length || inLambda) continue;
    const value = statement.slice(lastEquals + 1);
    const constant = value.length === 1 ? constantOf(value[0]) : undefined;
    let start = 0;
    for (const at of equals) {
      const target = statement.slice(start, at);
      if (target.length === 1 && target[0].kind === "name") add(target[0].text, constant ?? ANY);
      start = at + 1;
    }
  }
  return written;
}
