// What a browser can tell about a Python expression or script without running Python: the
// tokens are well formed (strings closed, brackets balanced, no characters Python rejects), an
// expression reads as one expression (no `=` assignment, no statement keywords, no two operands
// side by side), and nothing uses what Kasane's restricted Python refuses (names or attributes
// starting with "_", open/eval/exec …). The server compiles with RestrictedPython; anything this
// cannot see (a script's statements, the inside of an f-string) is refused there at deploy.
const KEYWORDS = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
  "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
  "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with",
  "yield",
]);
const CONSTANTS = new Set(["False", "None", "True"]);
const STATEMENTS = new Set([
  "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "except",
  "finally", "from", "global", "import", "nonlocal", "pass", "raise", "return", "try", "while",
  "with", "yield",
]);
// Kasane's policy refuses these statements in scripts too (app/engine/scripting.py).
const SCRIPT_REFUSED = new Set(["import", "try", "with", "class"]);
const UNSAFE_CALLS = new Set([
  "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "getattr", "setattr",
  "delattr", "hasattr", "type", "object", "super", "input", "memoryview", "classmethod",
  "staticmethod", "property", "help", "exit", "quit",
]);
const RESERVED_NAMES = new Set(["builtins", "breakpoint"]);
const INSPECT_ATTRIBUTES = new Set([
  "ag_await", "ag_code", "ag_frame", "co_code", "cr_await", "cr_code", "cr_frame", "cr_origin",
  "f_back", "f_builtins", "f_code", "f_generator", "f_globals", "f_locals", "f_trace", "gi_code",
  "gi_frame", "gi_yieldfrom", "tb_frame", "tb_next",
]);
const OPERATORS = [
  "**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", ">>", "<<", "<=", ">=", "==", "!=",
  "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "+", "-", "*", "/", "%", "@", "&", "|",
  "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
];
const BINARY = new Set([
  "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "==", "!=", "<", ">", "<=",
  ">=",
]);
const AUGMENTED = new Set([
  "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "<<=", ">>=", "&=", "|=", "^=",
]);
const CLOSING = { "(": ")", "[": "]", "{": "}" };
const CAMUNDA = "「${…}」や「#{…}」は Camunda などの式言語の書き方です。Python の式で書いてください";
const NAME_START = /[\p{L}\p{Nl}_]/u;
const NAME_PART = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]/u;
const DIGITS = String.raw`\d(?:_?\d)*`;
const NUMBER = new RegExp(
  String.raw`^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|` +
    String.raw`(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.?)(?:[eE][+-]?${DIGITS})?[jJ]?)`,
);
const STRING_START = /^([rRbBuUfF]{0,2})('''|"""|'|")/;
const STRING_PREFIXES = new Set(["", "r", "u", "f", "b", "br", "rb", "fr", "rf"]);

class PythonError extends Error {}

function isStringStart(rest) {
  const match = STRING_START.exec(rest);
  return Boolean(match) && STRING_PREFIXES.has(match[1].toLowerCase());
}

function fail(message) {
  throw new PythonError(message);
}

function readString(source, at, prefix, quote) {
  let i = at + prefix.length + quote.length;
  while (i < source.length) {
    const ch = source[i];
    if (ch === "\\") {
      i += 2;
      continue;
    }
    if (source.startsWith(quote, i)) return i + quote.length;
    if (quote.length === 1 && (ch === "\n" || ch === "\r")) break;
    i += 1;
  }
  return fail("文字列の引用符（' や \"）が閉じていません");
}

/** Python tokens (name, number, string, op, newline), or a PythonError saying what is wrong. */
function tokenize(source) {
  const tokens = [];
  const open = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const rest = source.slice(i);
    if (ch === " " || ch === "\t" || ch === "\f") {
      i += 1;
    } else if (ch === "#") {
      while (i < source.length && source[i] !== "\n" && source[i] !== "\r") i += 1;
    } else if (ch === "\\") {
      const next = source.slice(i + 1, i + 3);
      if (!/^(\r\n|\n|\r)/.test(next)) {
        fail("「\\」の使い方が正しくありません（行を続けるときだけ行末に書きます）");
      }
      i += next.startsWith("\r\n") ? 3 : 2;
    } else if (ch === "\n" || ch === "\r") {
      if (!open.length) tokens.push({ kind: "newline", text: "\n" });
      i += 1;
    } else if (isStringStart(rest)) {
      const [, prefix, quote] = STRING_START.exec(rest);
      const end = readString(source, i, prefix, quote);
      tokens.push({ kind: "string", text: source.slice(i, end), prefix: prefix.toLowerCase() });
      i = end;
    } else if (/[0-9]/.test(ch) || (ch === "." && /[0-9]/.test(source[i + 1] || ""))) {
      const text = NUMBER.exec(rest)[0];
      const after = source[i + text.length] || "";
      const leadingZero = /^\d[\d_]*$/.test(text) && /^0+[1-9]/.test(text.replace(/_/g, ""));
      if (NAME_PART.test(after) || leadingZero) {
        fail(`数値「${text}${NAME_PART.test(after) ? after : ""}」の書き方が正しくありません`);
      }
      tokens.push({ kind: "number", text });
      i += text.length;
    } else if (NAME_START.test(ch)) {
      let j = i + 1;
      while (j < source.length && NAME_PART.test(source[j])) j += 1;
      const text = source.slice(i, j);
      tokens.push({ kind: KEYWORDS.has(text) ? "keyword" : "name", text });
      i = j;
    } else {
      if (/^(&&|\|\||===)/.test(rest)) fail(invalidCharacter(rest));
      const op = OPERATORS.find((candidate) => rest.startsWith(candidate));
      if (!op) return fail(invalidCharacter(rest));
      if (CLOSING[op]) open.push(op);
      if (Object.values(CLOSING).includes(op)) {
        const last = open.pop();
        if (!last || CLOSING[last] !== op) fail(`閉じ括弧「${op}」に対応する開き括弧がありません`);
      }
      tokens.push({ kind: "op", text: op });
      i += op.length;
    }
  }
  if (open.length) fail(`括弧「${open[open.length - 1]}」が閉じていません`);
  return tokens;
}

function invalidCharacter(rest) {
  if (rest.startsWith("${") || rest.startsWith("#{")) return CAMUNDA;
  if (rest.startsWith("&&")) return "「&&」は Python では and と書きます";
  if (rest.startsWith("||")) return "「||」は Python では or と書きます";
  if (rest.startsWith("===")) return "「===」は Python では「==」と書きます";
  if (rest.startsWith("!")) return "「!」は Python では not と書きます（等しくないは !=）";
  const ch = String.fromCodePoint(rest.codePointAt(0));
  if (/[\u3000\uff01-\uff5e]/.test(ch)) return `全角の文字「${ch}」は使えません。半角で書いてください`;
  return `Python の式に使えない文字「${ch}」があります`;
}

/** Kasane's restrictions on names, attributes and calls, over a token list. */
function checkRestricted(tokens) {
  tokens.forEach((token, index) => {
    if (token.kind !== "name") return;
    const previous = tokens[index - 1];
    const isAttribute = previous && previous.kind === "op" && previous.text === ".";
    const { text } = token;
    if (text.startsWith("_") && text !== "_") {
      fail(`「${text}」のように「_」で始まる名前は使えません`);
    }
    if (text.endsWith("__roles__")) fail(`名前「${text}」は使えません`);
    if (isAttribute && INSPECT_ATTRIBUTES.has(text)) fail(`属性「${text}」は使えません`);
    if (isAttribute) return;
    const next = tokens[index + 1];
    if (RESERVED_NAMES.has(text)) fail(`名前「${text}」は使えません`);
    if (next && next.text === "(" && UNSAFE_CALLS.has(text)) {
      fail(`「${text}(…)」は Kasane の式やスクリプトでは使えません`);
    }
  });
}

/** Whether an `=` at `index` is a keyword argument or a lambda default (the only legal ones). */
function isKeywordArgument(tokens, index, frame) {
  const name = tokens[index - 1];
  const before = tokens[index - 2];
  if (!name || name.kind !== "name") return false;
  const afterSeparator = before && ["(", ",", "lambda"].includes(before.text);
  return afterSeparator && (frame.open === "(" || frame.lambdas > 0);
}

function newFrame(open) {
  return { open, lambdas: 0, ifs: 0, comprehension: false };
}

function closeFrame(frame) {
  if (frame.lambdas > 0) fail("「lambda」の後に「:」と式を書いてください");
  if (frame.ifs > 0) fail("「if」には「else」が必要です（例: a if 条件 else b）");
}

function checkOperand(token, tokens, index, frames) {
  const { kind, text } = token;
  const frame = frames[frames.length - 1];
  const previous = tokens[index - 1];
  const afterLambda = previous && previous.text === "lambda";
  if (["name", "number", "string"].includes(kind) || CONSTANTS.has(text) || text === "...") {
    return false;
  }
  if (text === "(" || text === "[" || text === "{") {
    frames.push(newFrame(text));
  } else if (["-", "+", "~", "not", "*", "**"].includes(text)) {
    // unary operators, and star arguments / unpacking
  } else if (text === "lambda") {
    frame.lambdas += 1;
  } else if (text === ":" && (frame.open === "[" || afterLambda)) {
    if (afterLambda) frame.lambdas -= 1;
  } else if (
    [")", "]", "}"].includes(text) &&
    previous &&
    (previous.text === frame.open || previous.text === "," || (text === "]" && previous.text === ":"))
  ) {
    closeFrame(frames.pop());
    return false;
  } else {
    fail(unexpected(token, true));
  }
  return true;
}

function checkOperator(token, tokens, index, frames) {
  const { kind, text } = token;
  const frame = frames[frames.length - 1];
  const previous = tokens[index - 1];
  if (kind === "string" && previous.kind === "string") return { expectOperand: false };
  if (BINARY.has(text) || ["and", "or", "in", "is"].includes(text)) return { expectOperand: true };
  if (text === "if") {
    if (!frame.comprehension) frame.ifs += 1;
  } else if (text === "else") {
    if (frame.ifs < 1) fail("「else」の前に「if」がありません（例: a if 条件 else b）");
    frame.ifs -= 1;
  } else if (text === "not") {
    const next = tokens[index + 1];
    if (!next || next.text !== "in") {
      fail("「not」の位置が正しくありません（「not in」か「not 条件」と書きます）");
    }
    return { expectOperand: true, skip: 1 };
  } else if (text === "for") {
    if (!frame.open) fail("内包表記（for）は括弧の中に書いてください");
    frame.comprehension = true;
  } else if (text === ".") {
    const next = tokens[index + 1];
    if (!next || next.kind !== "name") fail("「.」の後に属性の名前を書いてください");
    return { expectOperand: false, skip: 1 };
  } else if (text === "(" || text === "[") {
    frames.push(newFrame(text));
  } else if ([")", "]", "}"].includes(text)) {
    closeFrame(frames.pop());
    return { expectOperand: false };
  } else if (text === ":") {
    if (frame.lambdas > 0) frame.lambdas -= 1;
    else if (frame.open !== "{" && frame.open !== "[") fail("「:」の位置が正しくありません");
  } else if (text === "=") {
    if (!isKeywordArgument(tokens, index, frame)) {
      fail("「=」は代入です。等しいかを比べるときは「==」と書いてください");
    }
  } else if (text === ":=") {
    if (previous.kind !== "name" || !frame.open) fail("「:=」の位置が正しくありません");
  } else if (text !== ",") {
    fail(unexpected(token, false));
  }
  return { expectOperand: true };
}

/** The grammar of one Python expression, as far as tokens show it. */
function checkGrammar(tokens) {
  const frames = [newFrame(null)];
  let expectOperand = true;
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index];
    const { kind, text } = token;
    if (kind === "newline") {
      if (index < tokens.length - 1) {
        fail("式は1行で書いてください（改行するときは全体を括弧で囲みます）");
      }
      continue;
    }
    if (kind === "keyword" && STATEMENTS.has(text)) {
      fail(`「${text}」は文の書き方です。条件やタイマーには式だけを書いてください`);
    }
    if (kind === "op" && AUGMENTED.has(text)) fail(`「${text}」は代入です。式には書けません`);
    if (kind === "op" && (text === ";" || text === "->")) fail(`「${text}」は式には書けません`);
    if (expectOperand) {
      expectOperand = checkOperand(token, tokens, index, frames);
    } else {
      const step = checkOperator(token, tokens, index, frames);
      expectOperand = step.expectOperand;
      index += step.skip || 0;
    }
  }
  const last = tokens[tokens.length - 1];
  if (expectOperand && !(last && last.text === "," && frames.length === 1)) {
    fail(tokens.length ? "式が途中で終わっています" : "式がありません");
  }
  closeFrame(frames[0]);
}

function unexpected(token, expectOperand) {
  if (token.text === "=" || token.text === "==") return `「${token.text}」の前に比べる値を書いてください`;
  if (token.text === "&" || token.text === "|") {
    return `「${token.text}」の位置が正しくありません（かつ・または は and・or と書きます）`;
  }
  if (expectOperand) return `「${token.text}」の位置が正しくありません（値か名前が必要です）`;
  return `「${token.text}」の前に演算子（==、and など）が必要です`;
}

/** null when `source` reads as one allowed Python expression, else the problem in Japanese. */
function expressionProblem(source) {
  if (/^\s*[$#]\{/.test(source)) return CAMUNDA;
  try {
    const tokens = tokenize(source.trim());
    checkRestricted(tokens);
    checkGrammar(tokens);
    return null;
  } catch (error) {
    if (error instanceof PythonError) return error.message;
    throw error;
  }
}

/** null when nothing a browser can see is wrong with a script, else the problem in Japanese. */
function scriptProblem(source) {
  try {
    const tokens = tokenize(source);
    checkRestricted(tokens);
    const refused = tokens.find((t) => t.kind === "keyword" && SCRIPT_REFUSED.has(t.text));
    if (refused) fail(`「${refused.text}」は Kasane のスクリプトでは使えません`);
    return null;
  } catch (error) {
    if (error instanceof PythonError) return error.message;
    throw error;
  }
}

function unquote(token) {
  if (token.prefix.includes("b") || token.prefix.includes("f")) return undefined;
  const quote = /('''|"""|'|")$/.exec(token.text)[1];
  const body = token.text.slice(token.prefix.length + quote.length, token.text.length - quote.length);
  if (token.prefix.includes("r")) return body;
  if (/\\/.test(body)) return undefined; // escapes: the value is left to the server
  return body;
}

/**
 * The value of an expression made only of literals (strings joined by `+` or side by side, one
 * number, True/False/None), as { value }; undefined when it names anything (task data, helpers),
 * which only the running case can tell.
 */
function literalValue(source) {
  let tokens;
  try {
    tokens = tokenize(source.trim());
  } catch (error) {
    if (error instanceof PythonError) return undefined;
    throw error;
  }
  tokens = tokens.filter((t) => t.kind !== "newline");
  while (tokens.length > 1 && tokens[0].text === "(" && tokens[tokens.length - 1].text === ")") {
    tokens = tokens.slice(1, -1);
  }
  const [only] = tokens;
  if (tokens.length === 1 && (only.kind === "number" || CONSTANTS.has(only.text))) {
    return { value: null }; // a number, True, False or None: not text
  }
  let text = "";
  let expectString = true;
  for (const token of tokens) {
    if (token.kind === "string") {
      const part = unquote(token);
      if (part === undefined) return undefined;
      text += part;
      expectString = false;
    } else if (token.text === "+" && !expectString) {
      expectString = true;
    } else {
      return undefined;
    }
  }
  return tokens.length && !expectString ? { value: text } : undefined;
}

export { expressionProblem, literalValue, scriptProblem, tokenize, unquote };
