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
    // A plain wheel scrolls the page, not the diagram: zooming is on the buttons (and drag pans).
    const viewer = new NavigatedViewer({ container: canvasHolder, zoomScroll: { enabled: false } });
    const { warnings } = await viewer.importXML(xml);
    element.dataset.importWarnings = String(warnings.length);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    for (const id of idsFrom(element, "completed")) {
      if (registry.get(id)) canvas.addMarker(id, "completed");
    }
    const taken = new Set(idsFrom(element, "taken"));
    for (const flow of registry.filter((e) => e.type === "bpmn:SequenceFlow")) {
      if (taken.has(`${flow.source.id}>${flow.target.id}`)) canvas.addMarker(flow.id, "taken");
    }
    element.dataset.takenShown = String(
      registry.filter((e) => e.type === "bpmn:SequenceFlow" && canvas.hasMarker(e.id, "taken"))
        .length,
    );
    const active = idsFrom(element, "active").filter((id) => registry.get(id));
    for (const id of active) {
      canvas.addMarker(id, "active");
    }
    const waiting = idsFrom(element, "waiting").filter((id) => registry.get(id));
    for (const id of waiting) {
      if (!active.includes(id)) canvas.addMarker(id, "waiting");
    }
    const here = active.length ? active : waiting;
    const focus = () => focusOn(canvas, here.length ? registry.get(here[0]) : null);
    focus();
    bindControls(element, canvas, focus);
    if (status) status.textContent = "";
    element.dataset.diagramReady = "true";
  } catch (error) {
    element.dataset.diagramReady = "error";
    if (status) status.textContent = "図を表示できませんでした。";
  }
}

// At a readable scale, centred on the current task; the whole flow when nothing is waiting.
function focusOn(canvas, shape) {
  if (!shape) {
    canvas.zoom("fit-viewport", "auto");
    return;
  }
  canvas.zoom(1.0);
  const box = canvas.viewbox();
  canvas.viewbox({
    x: shape.x + shape.width / 2 - box.width / 2,
    y: shape.y + shape.height / 2 - box.height / 2,
    width: box.width,
    height: box.height,
  });
}

function bindControls(element, canvas, focus) {
  const actions = {
    "zoom-in": () => canvas.zoom(Math.min(canvas.zoom() * 1.25, 4)),
    "zoom-out": () => canvas.zoom(Math.max(canvas.zoom() / 1.25, 0.2)),
    fit: () => canvas.zoom("fit-viewport", "auto"),
    focus,
  };
  for (const button of element.querySelectorAll("[data-diagram-action]")) {
    const act = actions[button.dataset.diagramAction];
    if (!act) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      act();
      element.dataset.zoom = canvas.zoom().toFixed(2);
    });
  }
  element.dataset.zoom = canvas.zoom().toFixed(2);
}

document.addEventListener("DOMContentLoaded", () => {
  initRepeats();
  for (const element of document.querySelectorAll("[data-bpmn-url]")) {
    showDiagram(element);
  }
});
