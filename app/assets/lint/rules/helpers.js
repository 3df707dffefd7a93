// Shared by Kasane's lint rules: walking the executable processes of a moddle tree and reading
// Kasane's properties, whether the SpiffWorkflow extension is typed (the modeler's descriptor)
// or generic (no descriptor: moddle keeps unknown elements as `$children` with plain attributes).
const SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";
const FORM_PROPERTY = "formJsonSchemaFilename";
const PYTHON_HINT = "Kasane の式は Python で書きます（例: approved == True、count < 3）";

/** Whether a moddle element is exactly of a BPMN type ("bpmn:Task" does not match a UserTask). */
function isKind(element, ...types) {
  return Boolean(element) && types.includes(element.$type);
}

function localName(type) {
  const name = String(type || "");
  return name.slice(name.indexOf(":") + 1).toLowerCase();
}

function namespaceOf(element) {
  const ns = (element.$descriptor && element.$descriptor.ns) || {};
  if (ns.uri) return ns.uri;
  const model = element.$model;
  const pkg = model && ns.prefix && model.getPackage && model.getPackage(ns.prefix);
  return (pkg && pkg.uri) || (ns.prefix === "spiffworkflow" ? SPIFF_NS : null);
}

/** A SpiffWorkflow extension element with this local name (case-insensitive). */
function isSpiff(element, name) {
  return (
    Boolean(element) &&
    typeof element === "object" &&
    localName(element.$type) === name.toLowerCase() &&
    namespaceOf(element) === SPIFF_NS
  );
}

/** Child elements of an extension element: typed (array properties) or generic (`$children`). */
function childrenOf(element) {
  const found = [];
  for (const [key, value] of Object.entries(element)) {
    if (Array.isArray(value) && (key === "$children" || !key.startsWith("$"))) {
      found.push(...value.filter((child) => child && typeof child === "object"));
    }
  }
  return found;
}

function extensions(element) {
  const holder = element && element.extensionElements;
  return (holder && holder.values) || [];
}

/** Kasane's properties on an element (`spiffworkflow:properties/spiffworkflow:property`), by name;
 * a property without a value maps to null, and a repeated name keeps its last value (as deploy). */
function kasaneProperties(element) {
  const properties = {};
  for (const holder of extensions(element)) {
    if (!isSpiff(holder, "properties")) continue;
    for (const property of childrenOf(holder)) {
      if (isSpiff(property, "property") && property.name != null) {
        properties[property.name] = property.value == null ? null : String(property.value);
      }
    }
  }
  return properties;
}

/** The text of a body element in either shape (typed `value`, generic `$body`). */
function bodyText(element) {
  const text = element.value != null ? element.value : element.$body;
  return text == null ? "" : String(text);
}

/** Whether deploy runs a process: BPMN leaves a missing isExecutable open, Kasane runs it. */
function isExecutable(process) {
  return process.isExecutable !== false;
}

function processes(definitions) {
  return (definitions.rootElements || []).filter((e) => isKind(e, "bpmn:Process"));
}

function executableProcesses(definitions) {
  return processes(definitions).filter(isExecutable);
}

/** Every flow element of a process or subprocess, nested subprocesses included, in order. */
function flowElements(container) {
  const found = [];
  for (const element of container.flowElements || []) {
    found.push(element);
    if (element.flowElements) found.push(...flowElements(element));
  }
  return found;
}

/** Every flow element of every executable process of the file. */
function runnableElements(definitions) {
  return executableProcesses(definitions).flatMap(flowElements);
}

/** Flow node id → lane, over every lane set of the process and of its subprocesses. */
function lanesByNode(process) {
  const lanes = new Map();
  const visitLaneSet = (laneSet) => {
    for (const lane of laneSet.lanes || []) {
      for (const node of lane.flowNodeRef || []) {
        if (node && node.id) lanes.set(node.id, lane);
      }
      if (lane.childLaneSet) visitLaneSet(lane.childLaneSet);
    }
  };
  const visitContainer = (container) => {
    for (const laneSet of container.laneSets || []) visitLaneSet(laneSet);
    for (const element of container.flowElements || []) {
      if (element.flowElements) visitContainer(element);
    }
  };
  visitContainer(process);
  return lanes;
}

/** The sequence flows leaving a node, in the container that holds it. */
function outgoingFlows(node) {
  const container = node.$parent;
  return ((container && container.flowElements) || []).filter(
    (flow) => isKind(flow, "bpmn:SequenceFlow") && flow.sourceRef === node,
  );
}

/** The values a vocabulary offers for a picker (`choices.forms` …). */
function choiceValues(vocabulary, key) {
  const choices = (vocabulary && vocabulary.choices && vocabulary.choices[key]) || [];
  return new Set(choices.map((choice) => String(choice.value)));
}

/** A rule factory for bpmnlint that checks the whole file once, from its definitions. */
function fileRule(checkFile) {
  return () => ({
    check(node, reporter) {
      if (!isKind(node, "bpmn:Definitions")) return undefined;
      checkFile(node, (element, message) => reporter.report(element.id, message));
      return false; // the rule has seen the whole file; bpmnlint need not walk it again
    },
  });
}

function clip(text, limit = 40) {
  const line = String(text).split(/\s+/).filter(Boolean).join(" ");
  return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
}

export {
  FORM_PROPERTY,
  PYTHON_HINT,
  SPIFF_NS,
  bodyText,
  childrenOf,
  choiceValues,
  clip,
  executableProcesses,
  extensions,
  fileRule,
  flowElements,
  isExecutable,
  isKind,
  isSpiff,
  kasaneProperties,
  lanesByNode,
  outgoingFlows,
  processes,
  runnableElements,
};
