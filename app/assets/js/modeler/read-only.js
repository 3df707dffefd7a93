// A modeler that only shows: for a draft awaiting approval or a reader without design rights. The
// diagram and every property stay visible (groups still open and close); nothing can be changed.
import RuleProvider from "diagram-js/lib/features/rules/RuleProvider";

const VERY_HIGH = 100000;

const EDITING_RULES = [
  "connection.create",
  "connection.reconnect",
  "connection.updateWaypoints",
  "elements.create",
  "elements.delete",
  "elements.move",
  "elements.paste",
  "element.copy",
  "shape.append",
  "shape.attach",
  "shape.create",
  "shape.replace",
  "shape.resize",
  "lane.add",
  "lane.split",
];

class ReadOnlyRules extends RuleProvider {
  init() {
    this.addRule(EDITING_RULES, VERY_HIGH, () => false);
  }
}

ReadOnlyRules.$inject = ["eventBus"];

class ReadOnlyGuard {
  constructor(eventBus, keyboard, propertiesPanel) {
    // No label editing on double click, no editing shortcuts (delete, paste, tools …).
    eventBus.on("element.dblclick", VERY_HIGH, () => false);
    keyboard.addListener(VERY_HIGH, () => true);
    // The standard entries have no read-only switch: their inputs are disabled as they appear.
    const root = propertiesPanel._container;
    const observer = new MutationObserver(() => disableInputs(root));
    observer.observe(root, { childList: true, subtree: true });
  }
}

ReadOnlyGuard.$inject = ["eventBus", "keyboard", "propertiesPanel"];

function disableInputs(root) {
  for (const input of root.querySelectorAll("input, select, textarea, [contenteditable=true]")) {
    if (input.isContentEditable) input.contentEditable = "false";
    else if (!input.disabled) input.disabled = true;
  }
}

export const ReadOnlyModule = {
  __init__: ["kasaneReadOnlyRules", "kasaneReadOnlyGuard"],
  kasaneReadOnlyRules: ["type", ReadOnlyRules],
  kasaneReadOnlyGuard: ["type", ReadOnlyGuard],
};
