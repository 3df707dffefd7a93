// Timers: a kind (date, duration or cycle) with a value the engine can read — a quoted ISO 8601
// text ("P3D", "2030-04-01T09:00:00+09:00", "R3/PT1H") or an expression over case data
// (`revisit_after`, `'P' + str(days) + 'D'`), which is only evaluated when the timer starts.
// Mirrors app/engine/checks.py (_timer, _check_expressions, _check_timer).
import { PYTHON_HINT, clip, fileRule, isKind, runnableElements } from "./helpers.js";
import { expressionProblem, literalValue } from "./python.js";
import { timerValueAccepted } from "./iso8601.js";

const KINDS = ["timeDate", "timeDuration", "timeCycle"];
const EXAMPLE = '"P3D"（3日）や "2030-04-01T09:00:00+09:00"';

function timerProblem(definition) {
  const present = KINDS.filter((kind) => definition[kind]);
  if (!present.length) {
    return (
      "タイマーの種類と値が指定されていません。日時（timeDate）・期間（timeDuration）・" +
      '繰り返し（timeCycle）のどれかを選び、値を "P3D" のように書いてください'
    );
  }
  for (const kind of present) {
    const expression = definition[kind];
    const source = String(expression.body == null ? "" : expression.body).trim();
    const language = expression.language || "";
    if (source && language && !language.toLowerCase().includes("python")) {
      return `タイマーの式の言語（${language}）は評価できません。${PYTHON_HINT}`;
    }
    if (!source) return `タイマーの式が空です。${EXAMPLE} のように値を書いてください`;
    const syntax = expressionProblem(source);
    if (syntax) {
      return `タイマーの式「${clip(source)}」を Python の式として読めません（${syntax}）。${EXAMPLE} のように書いてください`;
    }
    const literal = literalValue(source);
    if (!literal) continue; // names case data: evaluated when the timer starts
    if (typeof literal.value !== "string" || !timerValueAccepted(kind, literal.value)) {
      const shown = typeof literal.value === "string" ? `'${literal.value}'` : source;
      return `タイマーの値 ${shown} はISO 8601として読めません。引用符で囲んだ ${EXAMPLE} のように書いてください`;
    }
  }
  return null;
}

export default function timers() {
  return fileRule((definitions, report) => {
    for (const event of runnableElements(definitions)) {
      for (const definition of event.eventDefinitions || []) {
        if (!isKind(definition, "bpmn:TimerEventDefinition")) continue;
        const problem = timerProblem(definition);
        if (problem) report(event, problem);
      }
    }
  });
}
