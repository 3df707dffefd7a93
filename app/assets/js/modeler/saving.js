// Saving a draft from the modeler: the save button and Ctrl+S, optimistic locking with the page's
// lock version, the server's answer in the status line, and a warning before unsaved work is left.
import { keepCarriageReturns } from "./xml.js";

const ERROR_MARKER = "kasane-error";
const PROBLEM_MARKER = "kasane-problem";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** The modeler's XML as saved: formatted, with every value bpmn-moddle writes kept intact. */
export async function exportXml(modeler) {
  const { xml } = await modeler.saveXML({ format: true });
  return keepCarriageReturns(xml);
}

export function bindSaving(element, modeler, word) {
  const status = element.querySelector("[data-modeler-status]");
  const button = element.querySelector("[data-modeler-save]");
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const marked = { [ERROR_MARKER]: [], [PROBLEM_MARKER]: [] };
  let changes = 0;
  let savedAt = 0;
  let saving = false;

  const say = (text) => {
    if (status) status.textContent = text;
  };
  const dirty = () => changes !== savedAt;

  function mark(marker, ids) {
    for (const id of marked[marker]) {
      if (registry.get(id)) canvas.removeMarker(id, marker);
    }
    marked[marker] = ids.filter((id) => id && registry.get(id));
    for (const id of marked[marker]) canvas.addMarker(id, marker);
  }

  function showElement(id) {
    const shape = id && registry.get(id);
    if (!shape) return;
    mark(ERROR_MARKER, [id]);
    selection.select(shape);
    canvas.scrollToElement(shape);
  }

  async function answerOf(response) {
    try {
      return await response.json();
    } catch {
      return {};
    }
  }

  // What is still being typed (a panel field waits a moment before it writes; a label on the canvas
  // until it is left) belongs in what is saved.
  function commitTyping() {
    const directEditing = modeler.get("directEditing");
    if (directEditing.isActive()) directEditing.complete();
    const active = document.activeElement;
    if (active && active !== document.body && element.contains(active)) {
      active.blur();
      active.focus();
    }
  }

  async function save() {
    if (saving) return;
    commitTyping();
    saving = true;
    if (button) button.disabled = true;
    const savingAt = changes;
    say(word("saving"));
    try {
      const response = await fetch(element.dataset.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({
          xml: await exportXml(modeler),
          lock_version: Number(element.dataset.lockVersion),
        }),
      });
      const answer = await answerOf(response);
      element.dataset.saveStatus = String(response.status);
      // A 200 without a lock version is not our answer (an expired session shows the login page).
      if (response.ok && Number.isInteger(answer.lock_version)) {
        savedAt = savingAt;
        element.dataset.lockVersion = String(answer.lock_version);
        mark(ERROR_MARKER, []);
        mark(PROBLEM_MARKER, (answer.problems || []).map((problem) => problem.element_id));
        element.dataset.problems = String((answer.problems || []).length);
        showProblems(answer.problems || []);
        if (dirty()) {
          say(word("unsaved"));
        } else {
          say(answer.message || word("saved"));
          delete element.dataset.unsaved;
        }
        element.dataset.saved = String(answer.lock_version);
      } else {
        const error = answer.error || {};
        say(error.message || word("save_failed"));
        mark(ERROR_MARKER, []);
        showElement(error.element_id);
      }
    } catch (failure) {
      console.error("Kasane modeler could not save", failure);
      element.dataset.saveStatus = "failed";
      say(word("save_failed"));
    } finally {
      saving = false;
      if (button) button.disabled = false;
    }
  }

  modeler.on("commandStack.changed", () => {
    changes += 1;
    say(word("unsaved"));
    element.dataset.unsaved = "true";
  });
  if (button) button.addEventListener("click", save);
  // Captured before the canvas or the panel can swallow it; the browser's "save page" never opens.
  document.addEventListener(
    "keydown",
    (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault();
        save();
      }
    },
    true,
  );
  window.addEventListener("beforeunload", (event) => {
    if (!dirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  element.modelerSave = save;
}

// The page's 「反映前の確認」 list, kept in step with the server's answer to each save.
function showProblems(problems) {
  const holder = document.querySelector("[data-design-problems]");
  if (!holder) return;
  const list = document.createElement(problems.length ? "ul" : "p");
  list.dataset.designProblems = "";
  if (problems.length) {
    list.className = "field-errors";
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem.message;
      list.append(item);
    }
  } else {
    list.textContent = holder.dataset.noProblems || "";
  }
  list.dataset.noProblems = holder.dataset.noProblems || "";
  holder.replaceWith(list);
}
