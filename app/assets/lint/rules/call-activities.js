// A call activity names the process it calls, and that process is deployed already or is in the
// same file (or, on the command line, in a file linted with it). Mirrors app/engine/checks.py
// (_call_activity) and app/engine/specs.py (inspect).
import { choiceValues, executableProcesses, fileRule, isKind, runnableElements } from "./helpers.js";

export default function callActivities(vocabulary) {
  const deployed = choiceValues(vocabulary, "processes");
  return fileRule((definitions, report) => {
    const here = new Set(executableProcesses(definitions).map((process) => process.id));
    for (const call of runnableElements(definitions)) {
      if (!isKind(call, "bpmn:CallActivity")) continue;
      const called = String(call.calledElement || "").trim();
      if (!called) {
        report(call, "呼び出すプロセス（calledElement）が指定されていません。呼び出すプロセスを選んでください");
      } else if (!here.has(call.calledElement) && !deployed.has(call.calledElement)) {
        report(
          call,
          `呼び出すプロセス「${call.calledElement}」が見つかりません。` +
            "そのプロセスを先に（または一緒に）デプロイするか、呼び出し先を選び直してください",
        );
      }
    }
  });
}
