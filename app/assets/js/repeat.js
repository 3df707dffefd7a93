// Repeating rows in task forms (app/templates/forms/_fields.html): shows the row buttons, adds a row
// by cloning the repeat's <template>, removes a row, and renumbers the rest so that names stay
// goals.0, goals.1, ... and ids, labels and aria references keep pointing at the right elements.
// Without JavaScript the rows the server rendered (plus one blank row) submit as they are.

const RENAMED = ["name", "id", "for", "aria-describedby", "aria-labelledby", "data-repeat", "data-repeat-id"];

function own(container, selector) {
  return [...container.querySelectorAll(selector)].filter((el) => el.closest("[data-repeat]") === container);
}

function rowsOf(container) {
  const box = own(container, "[data-repeat-rows]")[0];
  return box ? [...box.children].filter((el) => el.hasAttribute("data-repeat-row")) : [];
}

function swapPrefix(word, from, to, separator) {
  if (word === from) return to;
  return word.startsWith(from + separator) ? to + word.slice(from.length) : null;
}

// Renames "goals.3" to "goals.2" (and "f-goals-3" to "f-goals-2") at the start of every name,
// id and reference under root, including rows still inside nested <template>s.
function rename(root, names, ids) {
  const elements = root instanceof Element ? [root, ...root.querySelectorAll("*")] : [...root.querySelectorAll("*")];
  for (const element of elements) {
    for (const attribute of RENAMED) {
      const value = element.getAttribute(attribute);
      if (!value) continue;
      const words = value.split(/\s+/).map(
        (word) => swapPrefix(word, names[0], names[1], ".") ?? swapPrefix(word, ids[0], ids[1], "-") ?? word,
      );
      element.setAttribute(attribute, words.join(" "));
    }
    if (element instanceof HTMLTemplateElement) rename(element.content, names, ids);
  }
}

function setIndex(container, row, index) {
  const old = row.dataset.repeatIndex;
  if (old !== String(index)) {
    const { repeat: name, repeatId: id } = container.dataset;
    rename(row, [`${name}.${old}`, `${name}.${index}`], [`${id}-${old}`, `${id}-${index}`]);
    row.dataset.repeatIndex = String(index);
  }
  for (const number of row.querySelectorAll("[data-repeat-number]")) {
    if (number.closest("[data-repeat-row]") === row) number.textContent = String(index + 1);
  }
}

function announce(container, text) {
  const status = own(container, "[data-repeat-status]")[0];
  if (status) status.textContent = text;
}

function showButtons(container, root) {
  for (const button of own(container, "[data-repeat-add], [data-repeat-remove]")) {
    if (root.contains(button)) button.hidden = false;
  }
}

function addRow(container) {
  const rows = rowsOf(container);
  const max = Number(container.dataset.repeatMax || 0);
  if (max && rows.length >= max) {
    announce(container, `これ以上追加できません（${max}行まで）。`);
    return;
  }
  const template = own(container, "template[data-repeat-template]")[0];
  const row = template && template.content.firstElementChild;
  if (!row) return;
  const fresh = row.cloneNode(true);
  setIndex(container, fresh, rows.length);
  own(container, "[data-repeat-rows]")[0].append(fresh);
  showButtons(container, fresh);
  initRepeats(fresh);
  const first = fresh.querySelector("input, select, textarea");
  if (first) first.focus();
  announce(container, "行を追加しました。");
}

function removeRow(container, row) {
  const legend = row.querySelector("legend");
  const label = legend ? legend.textContent.trim() : "行";
  row.remove();
  rowsOf(container).forEach((rest, index) => setIndex(container, rest, index));
  const add = own(container, "[data-repeat-add]")[0];
  if (add) add.focus();
  announce(container, `${label}を削除しました。`);
}

function setUp(container) {
  container.dataset.repeatReady = "true";
  showButtons(container, container);
  container.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || button.closest("[data-repeat]") !== container) return;
    if (button.hasAttribute("data-repeat-add")) {
      addRow(container);
    } else if (button.hasAttribute("data-repeat-remove")) {
      removeRow(container, button.closest("[data-repeat-row]"));
    }
  });
}

// Enhances every repeat under root that is not enhanced yet; safe to call again after adding content.
export function initRepeats(root = document) {
  const found = root instanceof Element && root.matches("[data-repeat]") ? [root] : [];
  for (const container of [...found, ...root.querySelectorAll("[data-repeat]")]) {
    if (!container.dataset.repeatReady) setUp(container);
  }
}
