// Reading and writing Kasane's declarations on an element: <bpmn:extensionElements>
// <spiffworkflow:properties><spiffworkflow:property name="…" value="…"/>. Every write is one
// command on the command stack (so it can be undone) and leaves every other extension untouched.
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const PROPERTIES = "spiffworkflow:Properties";
const PROPERTY = "spiffworkflow:Property";
// bpmn-js-properties-panel's command that runs several commands as one undoable step.
export const MULTI = "properties-panel.multi-command-executor";

function propertiesOf(businessObject) {
  const extensions = businessObject.get("extensionElements");
  const values = (extensions && extensions.get("values")) || [];
  return values.find((value) => is(value, PROPERTIES)) || null;
}

/** The value of the Kasane property ``name`` on ``element`` ("" when it is not declared). */
export function propertyValue(element, name) {
  const properties = propertiesOf(getBusinessObject(element));
  const found = properties && properties.get("properties").find((p) => p.get("name") === name);
  return (found && found.get("value")) || "";
}

function create(moddle, type, attrs, parent) {
  const made = moddle.create(type, attrs);
  made.$parent = parent;
  return made;
}

/**
 * Declare ``name`` = ``value`` on ``element``; an empty value removes the declaration (and the
 * containers that would be left empty). The last argument holds bpmn-js's services.
 */
export function setProperty(element, name, value, { moddle, modeling, commandStack }) {
  const businessObject = getBusinessObject(element);
  const extensions = businessObject.get("extensionElements");
  const properties = propertiesOf(businessObject);
  const list = properties ? properties.get("properties") : [];
  const matching = list.filter((p) => p.get("name") === name);
  const wanted = value === undefined || value === null ? "" : String(value);

  if (!wanted) {
    if (!matching.length) return;
    const kept = list.filter((p) => !matching.includes(p));
    if (kept.length) {
      modeling.updateModdleProperties(element, properties, { properties: kept });
      return;
    }
    const others = extensions.get("values").filter((v) => v !== properties);
    if (others.length) {
      modeling.updateModdleProperties(element, extensions, { values: others });
    } else {
      modeling.updateProperties(element, { extensionElements: undefined });
    }
    return;
  }

  if (matching.length) {
    if (matching.length === 1 && matching[0].get("value") === wanted) return;
    // A second declaration of one name is a mistake the engine would silently resolve; keep one.
    const [first, ...extra] = matching;
    const commands = [
      {
        cmd: "element.updateModdleProperties",
        context: { element, moddleElement: first, properties: { value: wanted } },
      },
    ];
    if (extra.length) {
      const kept = list.filter((p) => !extra.includes(p));
      commands.push({
        cmd: "element.updateModdleProperties",
        context: { element, moddleElement: properties, properties: { properties: kept } },
      });
    }
    commandStack.execute(MULTI, commands);
    return;
  }

  if (properties) {
    const added = create(moddle, PROPERTY, { name, value: wanted }, properties);
    modeling.updateModdleProperties(element, properties, { properties: [...list, added] });
    return;
  }
  if (extensions) {
    const made = create(moddle, PROPERTIES, {}, extensions);
    made.set("properties", [create(moddle, PROPERTY, { name, value: wanted }, made)]);
    modeling.updateModdleProperties(element, extensions, {
      values: [...extensions.get("values"), made],
    });
    return;
  }
  const madeExtensions = create(moddle, "bpmn:ExtensionElements", {}, businessObject);
  const made = create(moddle, PROPERTIES, {}, madeExtensions);
  made.set("properties", [create(moddle, PROPERTY, { name, value: wanted }, made)]);
  madeExtensions.set("values", [made]);
  modeling.updateProperties(element, { extensionElements: madeExtensions });
}

/** A comma-separated property as a list (how ``showForms`` stores several forms). */
export function listValue(element, name) {
  return propertyValue(element, name)
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}
