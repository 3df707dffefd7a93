// What the modeler does to XML around bpmn-moddle: shared by the bundle and the round-trip test.

// bpmn-moddle writes a carriage return inside a value (a name written "A&#xD;&#xA;B" by another
// tool) as a raw CR, which the next XML parser turns into a line feed or a space. It never writes
// a raw CR of its own or a CDATA section, so every raw CR in its output is a value's: escape it.
export function keepCarriageReturns(xml) {
  return xml.replace(/\r/g, "&#13;");
}
