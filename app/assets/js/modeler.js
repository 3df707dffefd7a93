// The process designer's modeler: bpmn-js with the properties panel, Kasane's declarations and lint
// rules, for the page's [data-modeler] element (see app/templates/design/edit.html).
import Modeler from "bpmn-js/lib/Modeler";
import lintModule from "bpmn-js-bpmnlint";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";

import { createLintConfig } from "./../lint/index.js";
import { KasanePropertiesModule } from "./modeler/provider.js";
import { ReadOnlyModule } from "./modeler/read-only.js";
import { bindSaving } from "./modeler/saving.js";
import spiffworkflow from "./modeler/spiffworkflow.json";
import { translateModule, wordsOf } from "./modeler/words.js";

async function fetchOk(url, as) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return as === "json" ? response.json() : response.text();
}

// What Kasane's panel entries read through the "config.kasane" service.
function kasaneConfig(vocabulary, readOnly) {
  const word = wordsOf(vocabulary);
  const choices = vocabulary.choices || {};
  return {
    word,
    readOnly,
    properties: vocabulary.properties || [],
    choices: (name) => (name && choices[name]) || [],
  };
}

function lintingOf(vocabulary) {
  try {
    return { bpmnlint: createLintConfig(vocabulary), active: true };
  } catch (error) {
    // A broken rule set must not keep the designer from the diagram; deploy checks again anyway.
    console.error("Kasane lint rules could not be set up", error);
    return null;
  }
}

function createModeler(element, vocabulary, readOnly) {
  const linting = lintingOf(vocabulary);
  const modules = [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    KasanePropertiesModule,
    translateModule(vocabulary, document.documentElement.lang),
  ];
  if (linting) modules.push(lintModule);
  if (readOnly) modules.push(ReadOnlyModule);
  return new Modeler({
    container: element.querySelector("[data-modeler-canvas]"),
    propertiesPanel: {
      parent: element.querySelector("[data-modeler-properties]"),
      layout: { groups: { general: { open: true } } },
    },
    additionalModules: modules,
    moddleExtensions: { spiffworkflow },
    kasane: kasaneConfig(vocabulary, readOnly),
    ...(linting ? { linting } : {}),
  });
}

// The whole diagram in view, clear of the palette on the canvas's left; a diagram too large
// for that is shown from its top-left corner at a scale that can still be read.
function fitDiagram(canvas) {
  const { inner, outer } = canvas.viewbox();
  if (!inner.width || !inner.height) return;
  const container = canvas.getContainer();
  const palette = container.querySelector(".djs-palette");
  const pad = 24;
  const left = palette
    ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + pad
    : pad;
  const fit = Math.min(
    (outer.width - left - pad) / inner.width,
    (outer.height - 2 * pad) / inner.height,
  );
  const scale = Math.min(Math.max(fit, 0.7), 1);
  canvas.viewbox({
    x: inner.x - left / scale,
    y: inner.y - pad / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}

async function startModeler(element) {
  const status = element.querySelector("[data-modeler-status]");
  const readOnly = element.dataset.readOnly === "true";
  let vocabulary = {};
  try {
    let xml;
    [xml, vocabulary] = await Promise.all([
      fetchOk(element.dataset.xmlUrl, "text"),
      fetchOk(element.dataset.vocabularyUrl, "json"),
    ]);
    element.classList.toggle("modeler--read-only", readOnly);
    const modeler = createModeler(element, vocabulary, readOnly);
    const imported = await modeler.importXML(xml);
    // The text arrives decoded, so a declared encoding other than UTF-8 loses nothing.
    const warnings = imported.warnings.filter((w) => !/document encoding/.test(w.message));
    for (const warning of warnings) console.warn("Kasane modeler import:", warning.message);
    element.dataset.importWarnings = String(warnings.length);
    const word = wordsOf(vocabulary);
    if (status) {
      const count = warnings.length;
      status.textContent = count ? word("import_warnings", { count }) : "";
    }
    fitDiagram(modeler.get("canvas"));
    if (!readOnly) bindSaving(element, modeler, word);
    element.modeler = modeler;
    element.dataset.modelerReady = "true";
  } catch (error) {
    console.error("Kasane modeler could not start", error);
    element.dataset.modelerReady = "error";
    if (status) status.textContent = wordsOf(vocabulary)("load_failed");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll("[data-modeler]")) {
    startModeler(element);
  }
});
