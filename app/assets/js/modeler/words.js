// The words the modeler shows: Kasane's from the vocabulary (already in the user's language), and a
// translation of bpmn-js's own English texts for a Japanese page.
import { JAPANESE } from "./translations-ja.js";

// Only for words an older server's vocabulary may not carry yet; the vocabulary's text always wins.
const FALLBACK = {
  none: "（なし）",
  unsaved: "保存していない変更があります",
  saving: "保存しています…",
  saved: "保存しました",
  load_failed: "図を読み込めませんでした",
  save_failed: "保存できませんでした。通信を確かめて、もう一度保存してください。",
  import_warnings: "図の一部を読み込めませんでした（{count}件）。保存すると、その部分は失われます。",
  whole_number: "0以上の整数を入れてください",
  unknown_choice: "{value}（一覧にありません）",
  kasane_group: "Kasane の設定",
  lane_queue: "担当キュー",
  condition: "条件式",
  called_process: "呼び出すプロセス",
  message: "メッセージ",
};

export function wordsOf(vocabulary) {
  const words = (vocabulary && vocabulary.words) || {};
  return (key, replacements = {}) => {
    const text = words[key] ?? FALLBACK[key] ?? key;
    return text.replace(/\{([^}]+)\}/g, (whole, name) => replacements[name] ?? whole);
  };
}

// A bpmn-js "translate" service: the vocabulary's translations, then Japanese when the page is.
export function translateModule(vocabulary, language) {
  const table = {
    ...(String(language).startsWith("ja") ? JAPANESE : {}),
    ...((vocabulary && vocabulary.translations) || {}),
  };
  function translate(template, replacements = {}) {
    const text = table[template] ?? template;
    return text.replace(/\{([^}]+)\}/g, (whole, name) => replacements[name] ?? whole);
  }
  return { translate: ["value", translate] };
}
