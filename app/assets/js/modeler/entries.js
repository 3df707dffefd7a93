// The properties panel's entries for Kasane's declarations, one per vocabulary property: a picker
// where the vocabulary has choices, a checkbox, a whole-number field or (only if nothing else fits)
// a text field. Values are read from and written to the element's spiffworkflow:properties.
import {
  CheckboxEntry,
  CheckboxGroup,
  isCheckboxEntryEdited,
  isSelectEntryEdited,
  isTextFieldEntryEdited,
  SelectEntry,
  TextFieldEntry,
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { is } from "bpmn-js/lib/util/ModelUtil";

import { listValue, propertyValue, setProperty } from "./extensions.js";

export const ENTRY_PREFIX = "kasane-";

function useWriters() {
  return {
    moddle: useService("moddle"),
    modeling: useService("modeling"),
    commandStack: useService("commandStack"),
  };
}

/** Options for a picker: "none" first, then the choices, then a value the list does not know. */
export function pickerOptions(kasane, choices, current) {
  const options = [{ value: "", label: kasane.word("none") }, ...choices];
  for (const value of [].concat(current || [])) {
    if (value && !choices.some((choice) => choice.value === value)) {
      options.push({ value, label: kasane.word("unknown_choice", { value }) });
    }
  }
  return options;
}

function SelectProperty({ element, id, spec }) {
  const kasane = useService("config.kasane");
  const writers = useWriters();
  const choices = kasane.choices(spec.choices);
  return h(SelectEntry, {
    element,
    id,
    label: spec.label,
    description: spec.help || undefined,
    disabled: kasane.readOnly,
    getValue: () => propertyValue(element, spec.name),
    setValue: (value) => setProperty(element, spec.name, value, writers),
    getOptions: () => pickerOptions(kasane, choices, propertyValue(element, spec.name)),
  });
}

function MultiSelectProperty({ element, id, spec }) {
  const kasane = useService("config.kasane");
  const writers = useWriters();
  const current = listValue(element, spec.name);
  const options = pickerOptions(kasane, kasane.choices(spec.choices), current).slice(1);
  return h(CheckboxGroup, {
    element,
    id,
    label: spec.label,
    description: spec.help || undefined,
    disabled: kasane.readOnly,
    options,
    getValue: () => listValue(element, spec.name),
    setValue: (values) => setProperty(element, spec.name, values.join(","), writers),
  });
}

function CheckboxProperty({ element, id, spec }) {
  const kasane = useService("config.kasane");
  const writers = useWriters();
  return h(CheckboxEntry, {
    element,
    id,
    label: spec.label,
    description: spec.help || undefined,
    disabled: kasane.readOnly,
    getValue: () => propertyValue(element, spec.name) === "true",
    setValue: (checked) => setProperty(element, spec.name, checked ? "true" : "", writers),
  });
}

function TextProperty({ element, id, spec }) {
  const kasane = useService("config.kasane");
  const debounce = useService("debounceInput");
  const writers = useWriters();
  const whole = spec.input === "number";
  return h(TextFieldEntry, {
    element,
    id,
    label: spec.label,
    description: spec.help || undefined,
    disabled: kasane.readOnly,
    debounce,
    getValue: () => propertyValue(element, spec.name),
    validate: (value) =>
      whole && value && !/^\d+$/.test(value) ? kasane.word("whole_number") : null,
    setValue: (value, error) => {
      if (!error) setProperty(element, spec.name, (value || "").trim(), writers);
    },
  });
}

const KINDS = {
  select: [SelectProperty, isSelectEntryEdited],
  multiselect: [MultiSelectProperty, null],
  checkbox: [CheckboxProperty, isCheckboxEntryEdited],
  number: [TextProperty, isTextFieldEntryEdited],
  text: [TextProperty, isTextFieldEntryEdited],
};

/** Entries for the vocabulary's properties that apply to ``element``, in the vocabulary's order. */
export function propertyEntries(element, kasane) {
  return kasane.properties
    .filter((spec) => (spec.applies_to || []).some((type) => is(element, type)))
    .map((spec) => {
      const [Component, isEdited] = KINDS[spec.input] || KINDS.text;
      const id = `${ENTRY_PREFIX}${spec.name}`;
      // The component stays the same function between renders, so a field keeps its focus.
      return { id, spec, component: Component, isEdited: isEdited || undefined };
    });
}
