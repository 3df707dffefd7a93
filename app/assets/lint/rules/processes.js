// The file holds a process Kasane would run, each process and embedded subprocess can start and
// end, and only gateways and start events split the flow. Mirrors app/engine/checks.py
// (check_runnable) and the engine's parse errors as app/engine/engine_messages.py words them.
import {
  executableProcesses,
  fileRule,
  flowElements,
  isKind,
  outgoingFlows,
  processes,
} from "./helpers.js";

// Element kinds the engine lets more than one sequence flow leave.
const SPLITTING = [
  "bpmn:StartEvent", "bpmn:ExclusiveGateway", "bpmn:InclusiveGateway", "bpmn:ParallelGateway",
  "bpmn:EventBasedGateway", "bpmn:ComplexGateway",
];

function fileProblem(definitions, report) {
  const all = processes(definitions);
  if (!all.length) {
    report(
      definitions,
      "プロセスがありません（コラボレーションや図だけのファイルです）。実行するプロセスを含むファイルを指定してください",
    );
  } else if (!executableProcesses(definitions).length) {
    const which = all.length === 1 ? "このプロセスは" : `プロセス ${all.map((p) => p.id).join("、")} はどれも`;
    report(
      all[0],
      `${which}実行可能（isExecutable="true"）ではないため、何も登録されません。Kasane で動かすプロセスを「実行可能」にしてください`,
    );
  }
}

function count(container, type) {
  return (container.flowElements || []).filter((element) => isKind(element, type)).length;
}

export default function processRules() {
  return fileRule((definitions, report) => {
    fileProblem(definitions, report);
    for (const process of executableProcesses(definitions)) {
      if (!count(process, "bpmn:StartEvent")) {
        report(process, "開始イベントがありません。プロセスに開始イベントを1つ置いてください");
      }
      for (const element of flowElements(process)) {
        if (isKind(element, "bpmn:SubProcess", "bpmn:Transaction") && !element.triggeredByEvent) {
          const starts = count(element, "bpmn:StartEvent");
          if (starts !== 1) {
            report(element, `サブプロセスには開始イベントがちょうど1つ必要です（今は ${starts} 個）。1つにしてください`);
          } else if (!count(element, "bpmn:EndEvent")) {
            report(element, "サブプロセスに終了イベントがありません。終了イベントを置いてください");
          }
        }
        const splits = !SPLITTING.includes(element.$type) && outgoingFlows(element).length > 1;
        if (splits && !isKind(element, "bpmn:SequenceFlow")) {
          report(element, "この要素からは複数のフローを出せません。分岐はゲートウェイで書いてください");
        }
      }
    }
  });
}
