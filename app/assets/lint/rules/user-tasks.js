// A user (or manual) task becomes a work item: it needs a lane (the queue), a form that exists,
// and whole-number dueInDays / priority. A start event's form must exist too.
// Mirrors app/engine/specs.py (_check_user_task, _check_form).
import {
  FORM_PROPERTY,
  choiceValues,
  executableProcesses,
  fileRule,
  flowElements,
  isKind,
  kasaneProperties,
  lanesByNode,
} from "./helpers.js";

const WHOLE_NUMBER = /^\p{Nd}+$/u;

export default function userTasks(vocabulary) {
  const forms = choiceValues(vocabulary, "forms");
  const formProblem = (key) =>
    forms.has(key) ? null : `フォーム '${key}' が見つかりません。forms/ に置くか、ファイル名を直してください`;

  return fileRule((definitions, report) => {
    for (const process of executableProcesses(definitions)) {
      const lanes = lanesByNode(process);
      for (const task of flowElements(process)) {
        if (!isKind(task, "bpmn:UserTask", "bpmn:ManualTask")) continue;
        const properties = kasaneProperties(task);
        const problem = taskProblem(task, properties, lanes, formProblem);
        if (problem) report(task, problem);
      }
      for (const start of process.flowElements || []) {
        const form = isKind(start, "bpmn:StartEvent") && kasaneProperties(start)[FORM_PROPERTY];
        const problem = form && formProblem(form);
        if (problem) report(start, problem);
      }
    }
  });
}

function taskProblem(task, properties, lanes, formProblem) {
  if (!lanes.has(task.id)) {
    return "ユーザータスクがレーンに属していません。担当の窓口（キュー）を決めるレーンの中に置いてください";
  }
  for (const number of ["dueInDays", "priority"]) {
    const value = properties[number];
    if (value && !WHOLE_NUMBER.test(value)) {
      return `${number} は0以上の整数で指定してください（今は「${value}」）`;
    }
  }
  const form = properties[FORM_PROPERTY];
  if (!form) {
    return `フォーム（${FORM_PROPERTY}）が指定されていません。forms/ にあるフォームのファイル名を指定してください`;
  }
  return formProblem(form);
}
