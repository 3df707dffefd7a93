// Elements Kasane cannot run: plain, service and business-rule tasks, complex gateways and data
// stores (anywhere in the file, since the engine refuses to parse one). Mirrors the rules table of
// app/engine/checks.py.
import { fileRule, runnableElements } from "./helpers.js";

const USER_TASK_HINT =
  "人が行う作業ならユーザータスクにしてレーンとフォーム（formJsonSchemaFilename）を指定し、" +
  "自動で行う処理ならスクリプトタスク（Python）にしてください";
const DATA_STORE =
  "データストアは Kasane では使えません（読み書きする先がありません）。" +
  "データはフォームとプロセスの変数で扱い、データストアを図から削除してください";
const PROBLEMS = {
  "bpmn:Task": `種類のないタスクは実行できません（作業項目にキューもフォームも付きません）。${USER_TASK_HINT}`,
  "bpmn:ServiceTask":
    `サービスタスクは Kasane では実行できません（外部のサービスを呼び出す仕組みがありません）。${USER_TASK_HINT}`,
  "bpmn:BusinessRuleTask":
    "業務ルールタスク（DMN）は Kasane では実行できません（DMN の決定表を読み込みません）。" +
    "判定はゲートウェイの条件式か、スクリプトタスク（Python）で書いてください",
  "bpmn:ComplexGateway": "複合ゲートウェイは実行できません。排他・包含・並行ゲートウェイで書き直してください",
  "bpmn:DataStoreReference": DATA_STORE,
};

export default function unsupportedElements() {
  return fileRule((definitions, report) => {
    for (const store of definitions.rootElements || []) {
      if (store.$type === "bpmn:DataStore") report(store, DATA_STORE);
    }
    for (const element of runnableElements(definitions)) {
      const problem = PROBLEMS[element.$type];
      if (problem) report(element, problem);
    }
  });
}
