// Import each BPMN file given on the command line with bpmn-moddle and the modeler's spiffworkflow
// descriptor, export it again, and print one JSON line per file: {file, warnings, xml} or
// {file, error}.
// With --defaults instead print the attributes bpmn-moddle leaves out when they hold their schema
// default ({"{uri}tag": {"attribute": "default"}}): the Python test treats them as absent.
// The Python test compares what went in with what came out; this only does what the modeler does.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { BpmnModdle } from "bpmn-moddle";

import { keepCarriageReturns } from "../../app/assets/js/modeler/xml.js";

const here = dirname(fileURLToPath(import.meta.url));
const descriptorPath = resolve(here, "../../app/assets/js/modeler/spiffworkflow.json");
const spiffworkflow = JSON.parse(await readFile(descriptorPath, "utf-8"));

// Read the file in the encoding its XML declaration names (the MIWG references use ISO-8859-1).
function decode(bytes) {
  const head = bytes.subarray(0, 200).toString("latin1");
  const declared = /^<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']/.exec(head);
  return new TextDecoder(declared ? declared[1] : "utf-8").decode(bytes);
}

async function roundTrip(file) {
  const moddle = new BpmnModdle({ spiffworkflow });
  try {
    const source = decode(await readFile(file));
    const { rootElement, warnings } = await moddle.fromXML(source, "bpmn:Definitions");
    const { xml } = await moddle.toXML(rootElement, { format: true });
    return { file, warnings: warnings.map((w) => w.message), xml: keepCarriageReturns(xml) };
  } catch (error) {
    return { file, error: String(error && error.message ? error.message : error) };
  }
}

function schemaDefaults() {
  const moddle = new BpmnModdle({ spiffworkflow });
  const defaults = {};
  for (const pkg of Object.values(moddle.registry.packageMap)) {
    const lowerCase = pkg.xml && pkg.xml.tagAlias === "lowerCase";
    for (const type of pkg.types.filter((t) => !t.extends)) {
      const tag = lowerCase ? type.name[0].toLowerCase() + type.name.slice(1) : type.name;
      const { properties } = moddle.getType(`${pkg.prefix}:${type.name}`).$descriptor;
      const found = {};
      for (const property of properties) {
        const own = property.ns.prefix === pkg.prefix;
        if (property.isAttr && property.default !== undefined && own) {
          found[property.ns.localName] = String(property.default);
        }
      }
      if (Object.keys(found).length) defaults[`{${pkg.uri}}${tag}`] = found;
    }
  }
  return defaults;
}

const args = process.argv.slice(2);
if (args[0] === "--defaults") {
  process.stdout.write(`${JSON.stringify(schemaDefaults())}\n`);
} else {
  for (const file of args) {
    process.stdout.write(`${JSON.stringify(await roundTrip(file))}\n`);
  }
}
