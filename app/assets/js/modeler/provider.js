// Kasane's additions to the standard BPMN properties panel: the "Kasane settings" group built from
// the vocabulary, and pickers instead of free text where a name must match something Kasane knows.
import { Group } from "@bpmn-io/properties-panel";
import { is } from "bpmn-js/lib/util/ModelUtil";

import { propertyEntries } from "./entries.js";
import {
  CALLED_PROCESS,
  CONDITION,
  hasCondition,
  hasMessage,
  LANE_QUEUE,
  MESSAGE,
} from "./flow-entries.js";

// After the standard provider (priority 1000), so its groups can be adjusted here.
const LOW_PRIORITY = 500;

export class KasanePropertiesProvider {
  constructor(propertiesPanel, kasane) {
    this._kasane = kasane;
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const kasane = this._kasane;
      const general = groups.find((group) => group.id === "general");
      const added = [];

      if (is(element, "bpmn:Lane") && general) {
        // A lane names its queue: the name is picked, not typed.
        general.entries = [LANE_QUEUE, ...general.entries.filter((entry) => entry.id !== "name")];
      }
      if (is(element, "bpmn:CallActivity") && general) {
        general.entries = [...general.entries, CALLED_PROCESS];
      }
      const entries = propertyEntries(element, kasane);
      if (entries.length) {
        added.push(group("kasane", kasane.word("kasane_group"), entries));
      }
      if (hasCondition(element)) {
        added.push(group("kasane-condition", kasane.word("condition"), [CONDITION]));
      }
      if (hasMessage(element)) {
        added.push(group("kasane-message", kasane.word("message"), [MESSAGE]));
      }
      // The standard message group offers free-text names and "create new"; ours picks known names.
      const kept = groups.filter((g) => g.id !== "message");
      const at = general ? kept.indexOf(general) + 1 : 0;
      kept.splice(at, 0, ...added);
      return kept;
    };
  }
}

KasanePropertiesProvider.$inject = ["propertiesPanel", "config.kasane"];

// A lane's name is its queue, picked in the panel: double-clicking a lane selects it instead of
// opening free-text label editing.
class LaneNamesFromPicker {
  constructor(eventBus) {
    eventBus.on("element.dblclick", 1500, ({ element }) =>
      is(element, "bpmn:Lane") ? false : undefined,
    );
  }
}

LaneNamesFromPicker.$inject = ["eventBus"];

function group(id, label, entries) {
  return { id, label, entries, component: Group, shouldOpen: true };
}

export const KasanePropertiesModule = {
  __init__: ["kasanePropertiesProvider", "kasaneLaneNames"],
  kasanePropertiesProvider: ["type", KasanePropertiesProvider],
  kasaneLaneNames: ["type", LaneNamesFromPicker],
};
