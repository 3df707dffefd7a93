// Pickers for what the flow itself names: the queue a lane stands for, the process a call activity
// starts, the message an event or task waits for or sends, and a gateway's outgoing condition.
import {
  isSelectEntryEdited,
  isTextFieldEntryEdited,
  SelectEntry,
  TextFieldEntry,
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is, isAny } from "bpmn-js/lib/util/ModelUtil";

import { pickerOptions } from "./entries.js";
import { MULTI } from "./extensions.js";

function LaneQueue({ element, id }) {
  const kasane = useService("config.kasane");
  const modeling = useService("modeling");
  const name = () => getBusinessObject(element).get("name") || "";
  return h(SelectEntry, {
    element,
    id,
    label: kasane.word("lane_queue"),
    disabled: kasane.readOnly,
    getValue: name,
    setValue: (value) => modeling.updateProperties(element, { name: value || undefined }),
    getOptions: () => pickerOptions(kasane, kasane.choices("queues"), name()),
  });
}

function CalledProcess({ element, id }) {
  const kasane = useService("config.kasane");
  const modeling = useService("modeling");
  const called = () => getBusinessObject(element).get("calledElement") || "";
  return h(SelectEntry, {
    element,
    id,
    label: kasane.word("called_process"),
    disabled: kasane.readOnly,
    getValue: called,
    setValue: (value) => modeling.updateProperties(element, { calledElement: value || undefined }),
    getOptions: () => pickerOptions(kasane, kasane.choices("processes"), called()),
  });
}

function Condition({ element, id }) {
  const kasane = useService("config.kasane");
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const debounce = useService("debounceInput");
  const expression = () => getBusinessObject(element).get("conditionExpression");
  return h(TextFieldEntry, {
    element,
    id,
    label: kasane.word("condition"),
    disabled: kasane.readOnly,
    debounce,
    getValue: () => (expression() && expression().get("body")) || "",
    setValue: (value) => {
      const body = (value || "").trim();
      const current = expression();
      if (!body) {
        modeling.updateProperties(element, { conditionExpression: undefined });
      } else if (current) {
        // Keep the expression's language and any other attribute another tool wrote.
        modeling.updateModdleProperties(element, current, { body });
      } else {
        const made = bpmnFactory.create("bpmn:FormalExpression", { body });
        modeling.updateProperties(element, { conditionExpression: made });
      }
    },
  });
}

// Where a message reference lives: on the task itself, or on the event's message definition.
function messageHolder(element) {
  const businessObject = getBusinessObject(element);
  if (isAny(businessObject, ["bpmn:ReceiveTask", "bpmn:SendTask"])) return businessObject;
  if (!is(businessObject, "bpmn:Event")) return null;
  const definitions = businessObject.get("eventDefinitions") || [];
  return definitions.find((d) => is(d, "bpmn:MessageEventDefinition")) || null;
}

function definitionsOf(moddleElement) {
  let node = moddleElement;
  while (node && !is(node, "bpmn:Definitions")) node = node.$parent;
  return node;
}

function MessageRef({ element, id }) {
  const kasane = useService("config.kasane");
  const bpmnFactory = useService("bpmnFactory");
  const commandStack = useService("commandStack");
  const holder = messageHolder(element);
  const definitions = definitionsOf(holder);
  const messages = () => definitions.get("rootElements").filter((r) => is(r, "bpmn:Message"));
  const current = () => (holder.get("messageRef") && holder.get("messageRef").get("name")) || "";
  const choices = () => {
    const known = kasane.choices("messages");
    const own = messages()
      .map((m) => m.get("name"))
      .filter((name) => name && !known.some((choice) => choice.value === name))
      .map((name) => ({ value: name, label: name }));
    return [...known, ...own];
  };
  const setValue = (name) => {
    let message = name ? messages().find((m) => m.get("name") === name) : undefined;
    const commands = [];
    if (name && !message) {
      message = bpmnFactory.create("bpmn:Message", { name });
      message.$parent = definitions;
      commands.push({
        cmd: "element.updateModdleProperties",
        context: {
          element,
          moddleElement: definitions,
          properties: { rootElements: [...definitions.get("rootElements"), message] },
        },
      });
    }
    commands.push({
      cmd: "element.updateModdleProperties",
      context: { element, moddleElement: holder, properties: { messageRef: message } },
    });
    commandStack.execute(MULTI, commands);
  };
  return h(SelectEntry, {
    element,
    id,
    label: kasane.word("message"),
    disabled: kasane.readOnly,
    getValue: current,
    setValue,
    getOptions: () => pickerOptions(kasane, choices(), current()),
  });
}

export const LANE_QUEUE = {
  id: "kasane-laneQueue",
  component: LaneQueue,
  isEdited: isSelectEntryEdited,
};
export const CALLED_PROCESS = {
  id: "kasane-calledElement",
  component: CalledProcess,
  isEdited: isSelectEntryEdited,
};
export const CONDITION = {
  id: "kasane-condition",
  component: Condition,
  isEdited: isTextFieldEntryEdited,
};
export const MESSAGE = {
  id: "kasane-messageRef",
  component: MessageRef,
  isEdited: isSelectEntryEdited,
};

/** Whether a flow carries a condition the designer writes (it leaves a deciding gateway). */
export function hasCondition(element) {
  if (!is(element, "bpmn:SequenceFlow")) return false;
  const flow = getBusinessObject(element);
  const source = flow.get("sourceRef");
  if (!isAny(source, ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"])) return false;
  return source.get("default") !== flow || Boolean(flow.get("conditionExpression"));
}

export function hasMessage(element) {
  return Boolean(messageHolder(element));
}
