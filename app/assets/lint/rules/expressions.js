// Conditions (on sequence flows and conditional events) and multi-instance expressions are Python
// expressions that Kasane's restricted Python can compile. Mirrors app/engine/checks.py
// (_conditional_event, _check_expressions). What a browser cannot check is listed in python.js.
import { PYTHON_HINT, clip, fileRule, isKind, runnableElements } from "./helpers.js";
import { expressionProblem } from "./python.js";

function expressionsOf(element) {
  const found = [];
  if (isKind(element, "bpmn:SequenceFlow") && element.conditionExpression) {
    found.push(element.conditionExpression);
  }
  for (const definition of element.eventDefinitions || []) {
    if (isKind(definition, "bpmn:ConditionalEventDefinition") && definition.condition) {
      found.push(definition.condition);
    }
  }
  const loop = element.loopCharacteristics;
  if (isKind(loop, "bpmn:MultiInstanceLoopCharacteristics")) {
    for (const key of ["loopCardinality", "completionCondition"]) {
      if (loop[key]) found.push(loop[key]);
    }
  }
  return found;
}

function problemOf(expression) {
  const source = String(expression.body == null ? "" : expression.body).trim();
  const language = expression.language || "";
  if (!source) return null;
  if (language && !language.toLowerCase().includes("python")) {
    const known = ["FEEL", "XPath", "groovy", "javascript", "juel", "xslt"];
    const name = known.find((k) => language.toLowerCase().includes(k.toLowerCase())) || language;
    return `式の言語（${name}）は評価できません。${PYTHON_HINT}`;
  }
  const syntax = expressionProblem(source);
  return syntax ? `式「${clip(source)}」を Python の式として読めません（${syntax}）。${PYTHON_HINT}` : null;
}

export default function expressions() {
  return fileRule((definitions, report) => {
    for (const element of runnableElements(definitions)) {
      for (const definition of element.eventDefinitions || []) {
        const condition = definition.condition;
        const empty = !condition || !String(condition.body == null ? "" : condition.body).trim();
        if (isKind(definition, "bpmn:ConditionalEventDefinition") && empty) {
          report(element, `条件イベントに条件式がありません。${PYTHON_HINT}`);
        }
      }
      for (const expression of expressionsOf(element)) {
        const problem = problemOf(expression);
        if (problem) report(element, problem);
      }
    }
  });
}
