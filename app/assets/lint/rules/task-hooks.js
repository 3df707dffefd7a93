// What completing a user task means for Kasane: `recordAs` names the record its form writes and
// `sharesInformation` the purpose for which it shares the case (so consent is checked). Mirrors
// app/services/hooks.py (problem_of); the record kinds come from the vocabulary's records_detail.
import {
  FORM_PROPERTY,
  choiceValues,
  fileRule,
  isKind,
  kasaneProperties,
  runnableElements,
} from "./helpers.js";

export default function taskHooks(vocabulary) {
  const records = (vocabulary && vocabulary.records_detail) || {};
  const purposes = choiceValues(vocabulary, "purposes");
  const formsRecorded = {};
  for (const [name, detail] of Object.entries(records)) formsRecorded[detail.form] = name;

  function problemOf(properties) {
    const form = properties[FORM_PROPERTY];
    const recordAs = properties.recordAs;
    const shares = properties.sharesInformation;
    if (shares != null && !purposes.has(shares)) {
      return `sharesInformation「${shares}」は共有の目的にありません（${[...purposes].join("、")} のいずれか）`;
    }
    if (recordAs == null) {
      if (form != null && Object.prototype.hasOwnProperty.call(formsRecorded, form)) {
        return (
          `フォーム ${form} の記録を書くには recordAs="${formsRecorded[form]}" を宣言して` +
          "ください（宣言がないと記録が書かれません）"
        );
      }
      return null;
    }
    const recorder = Object.prototype.hasOwnProperty.call(records, recordAs) ? records[recordAs] : null;
    if (!recorder) {
      return `recordAs「${recordAs}」は Kasane の記録の種類にありません（${Object.keys(records).sort().join("、")}）`;
    }
    if (form !== recorder.form) {
      return `recordAs「${recordAs}」はフォーム ${recorder.form} を読みます（このタスクは ${form == null ? "フォームなし" : form}）`;
    }
    if (recorder.shares && shares !== recorder.shares) {
      return (
        `この記録は情報を共有するため sharesInformation="${recorder.shares}" を宣言して` +
        "ください（宣言がないと本人の同意が確かめられません）"
      );
    }
    return null;
  }

  return fileRule((definitions, report) => {
    for (const task of runnableElements(definitions)) {
      if (!isKind(task, "bpmn:UserTask", "bpmn:ManualTask")) continue;
      const problem = problemOf(kasaneProperties(task));
      if (problem) report(task, problem);
    }
  });
}
