// Message events, send and receive tasks name a message defined in the file, and the message has
// a name (what sender and receiver share). Mirrors app/engine/checks.py (_message_problem).
import { fileRule, isKind, runnableElements } from "./helpers.js";

function messageProblem(message) {
  if (!isKind(message, "bpmn:Message")) {
    return (
      "どのメッセージを待つ（送る）かが指定されていないか、指定したメッセージがこのファイルにありません" +
      "（messageRef）。モデラーでこのイベントのメッセージを選んでください"
    );
  }
  if (!String(message.name || "").trim()) {
    return (
      `メッセージ「${message.id}」に名前がありません。` +
      "メッセージには送る側と受ける側で共通の名前を付けてください"
    );
  }
  return null;
}

export default function messages() {
  return fileRule((definitions, report) => {
    for (const element of runnableElements(definitions)) {
      const refs = [];
      if (isKind(element, "bpmn:SendTask", "bpmn:ReceiveTask")) refs.push(element.messageRef);
      for (const definition of element.eventDefinitions || []) {
        if (isKind(definition, "bpmn:MessageEventDefinition")) refs.push(definition.messageRef);
      }
      for (const message of refs) {
        const problem = messageProblem(message);
        if (problem) report(element, problem);
      }
    }
  });
}
