// Deploy holds a diagram's conditions to its forms (the BPMN↔form contract): every name a
// condition reads is a field of a form the processes use, a setting, something a script writes, or
// provided by a deployed process deployed with it; a condition comparing a choice field with a text
// uses one of its choices. Mirrors app/services/design/contract.py. The vocabulary gives the fields
// of each form (`form_fields`), the settings (`process_variables`) and what each deployed process
// provides (`deployed_fields`); without `form_fields` this rule cannot judge and stays silent.
import {
  FORM_PROPERTY,
  bodyText,
  executableProcesses,
  extensions,
  fileRule,
  flowElements,
  isKind,
  isSpiff,
  kasaneProperties,
  processes,
} from "./helpers.js";
import { ANY, NOT_TEXT, conditionNames, scriptAssignments } from "./contract-names.js";
import { expressionProblem } from "./python.js";

// Names a condition may use that no form gives (contract.py's BUILTINS).
const BUILTINS = new Set([
  "True", "False", "None", "len", "any", "all", "min", "max", "int", "str", "bool",
]);
const UI_FORM_PROPERTY = "formUiSchemaFilename";

function merge(fields, name, choices) {
  if (fields.has(name) && fields.get(name) === ANY) return;
  if (choices === ANY) fields.set(name, ANY);
  else fields.set(name, new Set([...(fields.get(name) || []), ...choices]));
}

/** Merges names given as JSON ({name: [choices] or null}). */
function mergeAll(fields, provided) {
  for (const [name, choices] of Object.entries(provided || {})) {
    merge(fields, name, choices === null ? ANY : choices);
  }
}

function allElements(definitions) {
  return processes(definitions).flatMap(flowElements);
}

function scriptsOf(definitions) {
  const sources = [];
  for (const element of allElements(definitions)) {
    if (isKind(element, "bpmn:ScriptTask") && element.script) sources.push(element.script);
    for (const extension of extensions(element)) {
      if (isSpiff(extension, "preScript") || isSpiff(extension, "postScript")) {
        sources.push(bodyText(extension));
      }
    }
  }
  return sources;
}

/** The forms a file's executable processes use (user tasks, manual tasks and start events). */
function formKeys(definitions) {
  const keys = new Set();
  for (const process of executableProcesses(definitions)) {
    for (const element of flowElements(process)) {
      const properties = kasaneProperties(element);
      if (isKind(element, "bpmn:UserTask", "bpmn:ManualTask")) {
        for (const name of [FORM_PROPERTY, UI_FORM_PROPERTY]) {
          if (properties[name]) keys.add(properties[name]);
        }
      }
    }
    for (const start of process.flowElements || []) {
      const form = isKind(start, "bpmn:StartEvent") && kasaneProperties(start)[FORM_PROPERTY];
      if (form) keys.add(form);
    }
  }
  return keys;
}

/** Name → choices (array) or null (any value): what a file gives its conditions to read. */
export function providedNames(definitions, vocabulary) {
  const fields = new Map();
  const formFields = (vocabulary && vocabulary.form_fields) || {};
  for (const key of formKeys(definitions)) mergeAll(fields, formFields[key]);
  for (const source of scriptsOf(definitions)) {
    for (const [name, values] of scriptAssignments(String(source).trim())) {
      merge(fields, name, values.has(ANY) ? ANY : [...values]);
    }
  }
  const listed = [...fields].map(([name, choices]) => [name, choices === ANY ? null : [...choices]]);
  return Object.fromEntries(listed);
}

function problemOf(source, fields) {
  const names = conditionNames(source);
  if (!names) return null;
  for (const name of [...names.reads].filter((n) => !BUILTINS.has(n)).sort()) {
    if (!fields.has(name)) {
      return (
        `条件「${source}」が読む「${name}」は、このプロセスのどのフォームの項目にも、` +
        "設定にも、スクリプトで書く値にもありません。項目名を直すか、その項目をフォームに加えてください"
      );
    }
  }
  for (const [name, value] of names.compares) {
    const allowed = fields.get(name);
    if (allowed && !allowed.has(value)) {
      const listed = [...allowed].filter((v) => v !== NOT_TEXT).map(String).sort().join("、");
      return (
        `条件「${source}」の '${value}' は「${name}」の選択肢にありません` +
        `（選べる値：${listed}）。フォームの選択肢か条件を直してください`
      );
    }
  }
  return null;
}

export default function formContract(vocabulary) {
  return fileRule((definitions, report) => {
    if (!vocabulary || !vocabulary.form_fields) return;
    const fields = new Map();
    mergeAll(fields, providedNames(definitions, vocabulary));
    for (const name of vocabulary.process_variables || []) merge(fields, name, ANY);
    const own = new Set(processes(definitions).map((process) => process.id));
    for (const [key, provided] of Object.entries(vocabulary.deployed_fields || {})) {
      if (!own.has(key)) mergeAll(fields, provided);
    }
    for (const flow of allElements(definitions)) {
      const condition = isKind(flow, "bpmn:SequenceFlow") && flow.conditionExpression;
      const source = condition ? String(condition.body == null ? "" : condition.body).trim() : "";
      if (!source || expressionProblem(source)) continue;
      const problem = problemOf(source, fields);
      if (problem) report(flow, problem);
    }
  });
}
