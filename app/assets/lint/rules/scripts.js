// Script tasks run Python: the format must be Python and the script not empty; scripts (and
// SpiffWorkflow pre/post scripts) must not use what Kasane's restricted Python refuses.
// Mirrors app/engine/checks.py (_script_task, _check_expressions); the full compile of a script's
// statements happens only on the server (see python.js).
import { bodyText, extensions, fileRule, isKind, isSpiff, runnableElements } from "./helpers.js";
import { scriptProblem } from "./python.js";

function scriptTaskProblem(task) {
  const format = String(task.scriptFormat || "").trim();
  if (format && !format.toLowerCase().includes("python")) {
    return (
      `スクリプトの形式「${format}」は実行できません。` +
      "Kasane は Python のスクリプトだけを実行します。Python で書き直してください"
    );
  }
  if (!String(task.script || "").trim()) {
    return (
      "スクリプトタスクにスクリプトがありません。実行する Python のスクリプトを書くか、" +
      "何もしないならタスクを削除してフローをつないでください"
    );
  }
  return null;
}

function scriptsOf(element) {
  const found = isKind(element, "bpmn:ScriptTask") && element.script ? [element.script] : [];
  for (const extension of extensions(element)) {
    if (isSpiff(extension, "preScript") || isSpiff(extension, "postScript")) {
      found.push(bodyText(extension));
    }
  }
  return found.filter((source) => String(source).trim());
}

export default function scripts() {
  return fileRule((definitions, report) => {
    for (const element of runnableElements(definitions)) {
      const problem = isKind(element, "bpmn:ScriptTask") ? scriptTaskProblem(element) : null;
      if (problem) {
        report(element, problem);
        continue;
      }
      for (const source of scriptsOf(element)) {
        const found = scriptProblem(String(source));
        if (found) report(element, `${found}。Python のスクリプトとして直してください`);
      }
    }
  });
}
