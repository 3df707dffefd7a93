// Every sequence flow joins two elements of the same process or subprocess. Mirrors
// app/engine/checks.py (_check_flows); a reference to a missing element is unresolved in the model.
import { fileRule, isKind, runnableElements } from "./helpers.js";

export default function sequenceFlows() {
  return fileRule((definitions, report) => {
    for (const flow of runnableElements(definitions)) {
      if (!isKind(flow, "bpmn:SequenceFlow")) continue;
      for (const [end, word] of [["sourceRef", "接続元"], ["targetRef", "接続先"]]) {
        const node = flow[end];
        if (!node || node.$parent !== flow.$parent) {
          const named = node && node.id ? `「${node.id}」` : "";
          report(flow, `シーケンスフローの${word}${named}が同じプロセスの中にありません。モデラーでフローをつなぎ直してください`);
          break;
        }
      }
    }
  });
}
