// Kasane's small front-end bundle: the BPMN diagram viewer and nothing a page cannot live without.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { initRepeats } from "./repeat.js";

function idsFrom(element, name) {
  const value = element.dataset[name] || "";
  return value.split(/\s+/).filter(Boolean);
}

async function showDiagram(element) {
  const status = element.querySelector("[data-diagram-status]");
  try {
    const response = await fetch(element.dataset.bpmnUrl, { credentials: "same-origin" });
    if (!response.ok) {
      throw new Error(String(response.status));
    }
    const xml = await response.text();
    const canvasHolder = element.querySelector("[data-diagram-canvas]");
    const viewer = new NavigatedViewer({ container: canvasHolder });
    const { warnings } = await viewer.importXML(xml);
    element.dataset.importWarnings = String(warnings.length);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    for (const id of idsFrom(element, "completed")) {
      if (registry.get(id)) canvas.addMarker(id, "completed");
    }
    for (const id of idsFrom(element, "active")) {
      if (registry.get(id)) canvas.addMarker(id, "active");
    }
    if (status) status.textContent = "";
    element.dataset.diagramReady = "true";
  } catch (error) {
    element.dataset.diagramReady = "error";
    if (status) status.textContent = "図を表示できませんでした。";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  initRepeats();
  for (const element of document.querySelectorAll("[data-bpmn-url]")) {
    showDiagram(element);
  }
});
